"""Every filesystem failure is a GenpostError naming the path: a file where the output folder
should be, a folder under a file, a read-only filesystem (exit 3); no space, I/O error (exit 75);
never a traceback, never a temporary left behind, and a rerun after the fault finishes the job.

Real failing filesystems where the machine allows them (tmpfs mounts in a user namespace: a
read-only one, a tiny one); faults injected at the OS boundary (``os.replace`` raising the errno
a full or failing disk gives) everywhere else, so every kind of file genpost publishes is covered.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
from pathlib import Path

import pytest
from reliability_helpers import no_traceback, temporaries

from genpost_houdini.cli import main


def test_output_folder_that_is_a_file(tmp_path: Path, genpost, setext_args) -> None:
    target = tmp_path / "render"
    target.write_text("not a folder")
    proc = genpost(*setext_args(target))
    assert proc.returncode == 3, proc.stderr
    assert str(target) in proc.stderr and "is a file" in proc.stderr
    no_traceback(proc.stderr)
    assert target.read_text() == "not a folder"


def test_output_folder_under_a_file(tmp_path: Path, genpost, setext_args) -> None:
    blocker = tmp_path / "shots"
    blocker.write_text("a file")
    proc = genpost(*setext_args(blocker / "sq010" / "out"))
    assert proc.returncode == 3, proc.stderr
    assert str(blocker) in proc.stderr and "not a folder" in proc.stderr
    no_traceback(proc.stderr)


@pytest.mark.parametrize("existing", [False, True], ids=["to-create", "existing"])
def test_read_only_filesystem(tmp_path: Path, genpost, setext_args, mount_namespace, existing: bool) -> None:
    mnt = tmp_path / "ro"
    mnt.mkdir()
    out = mnt / "out"
    cmd = " ".join(_quote(a) for a in [genpost_exe(), *setext_args(out)])
    prepare = f"mkdir {out} && mount -o remount,ro {mnt}" if existing else f"mount -o remount,ro {mnt}"
    script = f"mount -t tmpfs -o size=1m tmpfs {mnt} && {prepare} && {cmd}"
    proc = subprocess.run(mount_namespace(script), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 3, proc.stderr
    assert str(out) in proc.stderr and "EROFS" in proc.stderr
    no_traceback(proc.stderr)


def test_chmod_read_only_folder(tmp_path: Path, genpost, setext_args) -> None:
    if os.geteuid() == 0:
        pytest.skip("running as root: permission bits do not stop root (the read-only tmpfs test covers this)")
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        proc = genpost(*setext_args(folder / "out"))
    finally:
        folder.chmod(0o755)
    assert proc.returncode == 3, proc.stderr
    assert str(folder / "out") in proc.stderr and "EACCES" in proc.stderr
    no_traceback(proc.stderr)


def test_disk_full_then_rerun_finishes(tmp_path: Path, genpost, setext_args, mount_namespace) -> None:
    """A 160 KB tmpfs fills up mid-job: exit 75 naming the file, no temporary left; once the
    filesystem grows, a rerun finishes with the same bytes as a run that never failed."""
    reference = tmp_path / "reference"
    ok = genpost(*setext_args(reference, "--frames", "1001-1008"))
    assert ok.returncode == 0, ok.stderr

    mnt = tmp_path / "small"
    mnt.mkdir()
    out = mnt / "out"
    copy = tmp_path / "copy"
    cmd = " ".join(_quote(a) for a in [genpost_exe(), *setext_args(out, "--frames", "1001-1008")])
    script = (
        f"mount -t tmpfs -o size=160k tmpfs {mnt} || exit 99; "
        f"{cmd}; echo \"first=$?\"; "
        f"find {mnt} -name '*genpost-tmp*' | sed 's/^/TEMP /'; "
        f"mount -o remount,size=8m {mnt} || exit 98; "
        f"{cmd}; echo \"second=$?\"; "
        f"cp -r {out} {copy}"
    )
    proc = subprocess.run(mount_namespace(script), capture_output=True, text=True, timeout=600)
    assert "first=75" in proc.stdout, proc.stdout + proc.stderr
    assert "TEMP " not in proc.stdout, proc.stdout
    first_error = proc.stderr.split("genpost setext: error: ", 1)[1].splitlines()[0]
    assert str(mnt) in first_error and "ENOSPC" in first_error, first_error
    no_traceback(proc.stderr)
    assert "second=0" in proc.stdout, proc.stdout + proc.stderr
    for f in range(1001, 1009):
        name = f"setext.{f}.exr"
        assert (copy / name).read_bytes() == (reference / name).read_bytes(), name
    assert (copy / "setext.usda").read_text() == (reference / "setext.usda").read_text()


# -- faults injected at the OS boundary ---------------------------------------------------------
def _failing_replace(monkeypatch: pytest.MonkeyPatch, suffix: str, code: int) -> list[str]:
    """``os.replace`` raises ``code`` (as the kernel would) when publishing a file ending in ``suffix``."""
    real = os.replace
    hits: list[str] = []

    def replace(src, dst, *a, **kw):  # type: ignore[no-untyped-def]
        if os.fspath(dst).endswith(suffix):
            hits.append(os.fspath(dst))
            raise OSError(code, os.strerror(code), os.fspath(src))
        return real(src, dst, *a, **kw)

    monkeypatch.setattr(os, "replace", replace)
    return hits


@pytest.mark.parametrize(("suffix", "code", "exit_code", "redone"), [
    ("setext.usda", errno.ENOSPC, 75, ""),            # the USD layer (was: exit 1, pages of USD errors)
    ("manifest.json", errno.EIO, 75, "1001-1004"),    # the manifest: its first write claims the folder
    ("setext.1003.exr", errno.EACCES, 3, "1003-1004"),  # a frame: the frames before it are kept
    ("setext.usda", errno.EROFS, 3, ""),
])
def test_publish_failures_are_named(tmp_path: Path, setext_args, capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch, suffix: str, code: int, exit_code: int,
                                    redone: str) -> None:
    out = tmp_path / "out"
    hits = _failing_replace(monkeypatch, suffix, code)
    assert main(setext_args(out)) == exit_code
    err = capsys.readouterr().err
    assert hits, f"nothing published as *{suffix}"
    assert str(out / suffix) in err and errno.errorcode[code] in err, err
    no_traceback(err)
    assert not temporaries(out)
    monkeypatch.undo()
    assert main([*setext_args(out), "--json"]) == 0  # the fault is gone: the rerun finishes
    result = json.loads(capsys.readouterr().out)
    assert result["written"] == redone, result
    assert (out / "setext.usda").is_file()
    manifest = json.loads((out / "manifest.json").read_text())
    assert sorted(manifest["frames"]) == ["1001", "1002", "1003", "1004"]


def test_job_file_and_bundle_failures(tmp_path: Path, setext_args, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    job = tmp_path / "job.json"
    hits = _failing_replace(monkeypatch, "job.json", errno.ENOSPC)
    assert main([*setext_args(tmp_path / "out"), "--save-job", str(job)]) == 75
    err = capsys.readouterr().err
    assert hits and str(job) in err and "ENOSPC" in err
    assert not job.exists() and not temporaries(tmp_path)
    monkeypatch.undo()
    assert main([*setext_args(tmp_path / "out"), "--save-job", str(job)]) == 0
    capsys.readouterr()
    _failing_replace(monkeypatch, "template.yaml", errno.EROFS)
    assert main(["farm", "openjd", str(job), "--out", str(tmp_path / "bundle")]) == 3
    err = capsys.readouterr().err
    assert str(tmp_path / "bundle" / "template.yaml") in err and "EROFS" in err
    assert not temporaries(tmp_path / "bundle")


def genpost_exe() -> str:
    import sys

    return str(Path(sys.executable).with_name("genpost"))


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)
