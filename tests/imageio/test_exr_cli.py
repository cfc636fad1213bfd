"""`genpost exr-info`: JSON on good files; exit 3 with a message naming the file on every file
of the OpenEXR damaged corpus (no crash, no hang)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from genpost_houdini.imageio.exr import write_exr

ROOT = Path(__file__).resolve().parents[2]
PER_FILE_TIMEOUT_S = 20


def _genpost() -> list[str]:
    exe = Path(sys.executable).with_name("genpost")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("genpost")
    return [found] if found else [sys.executable, "-m", "genpost_houdini.cli"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*_genpost(), *args], capture_output=True, text=True, timeout=60, cwd=ROOT)


def test_exr_info_json_on_shared_file(shared_data: Path) -> None:
    f = shared_data / "exr" / "singlepart.0001.exr"
    proc = _run("exr-info", "--header-only", str(f))
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["channels"][:5] == ["R", "G", "B", "A", "Z"]
    assert info["types"]["R"] == "half"
    assert info["data_window"]["x"] == 654 and info["data_window"]["width"] == 911
    assert info["display_window"]["width"] == 2048 and info["display_window"]["height"] == 1556
    assert info["compression"] == "zips"


def test_exr_info_reports_our_metadata(tmp_path: Path) -> None:
    path = write_exr(tmp_path / "out.exr", {"R": np.zeros((4, 4)), "G": np.zeros((4, 4)), "B": np.zeros((4, 4)),
                                            "Z": np.ones((4, 4))}, metadata={"seed": 7, "model": {"id": "x"}})
    proc = _run("exr-info", str(path))
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["types"] == {"R": "half", "G": "half", "B": "half", "Z": "float"}
    assert info["metadata"] == {"seed": 7, "model": {"id": "x"}, "colourspace": "ACEScg"}
    assert info["colourspace"] == "ACEScg"


def test_exr_info_missing_file_exit_3(tmp_path: Path) -> None:
    proc = _run("exr-info", str(tmp_path / "missing.exr"))
    assert proc.returncode == 3
    assert "missing.exr" in proc.stderr and proc.stdout == ""


def _damaged(shared_data: Path) -> list[Path]:
    files = sorted(p for p in (shared_data / "exr" / "damaged").iterdir() if p.is_file())
    assert len(files) >= 150
    return files


def test_damaged_sample_through_the_executable(shared_data: Path) -> None:
    """A spread of the corpus through the real `genpost` executable, one process per file."""
    files = _damaged(shared_data)
    for f in files[:: max(1, len(files) // 4)]:
        proc = subprocess.run([*_genpost(), "exr-info", str(f)], capture_output=True, text=True,
                              timeout=PER_FILE_TIMEOUT_S, cwd=ROOT)
        assert proc.returncode == 3, f"{f.name}: rc {proc.returncode}\n{proc.stderr}"
        assert f.name in proc.stderr and proc.stdout == ""


_CORPUS_SCRIPT = textwrap.dedent(
    """
    import contextlib, io, json, signal, sys
    from genpost_houdini.cli import main

    class Hang(Exception):
        pass

    def on_alarm(signum, frame):
        raise Hang()

    signal.signal(signal.SIGALRM, on_alarm)
    timeout = int(sys.argv[1])
    for path in sys.argv[2:]:
        print("START", path, flush=True)  # the last START names the file if the process dies
        out, err = io.StringIO(), io.StringIO()
        signal.alarm(timeout)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                rc = main(["exr-info", path])
        except Hang:
            rc = "timeout"
        finally:
            signal.alarm(0)
        print("RESULT", json.dumps({"path": path, "rc": rc, "stdout": out.getvalue(), "stderr": err.getvalue()}),
              flush=True)
    """
)


def test_every_damaged_file_exits_3(shared_data: Path) -> None:
    """All of the corpus through the CLI entry point, in a child process so a crash cannot take
    pytest down (the child names the file it died on); a per-file alarm catches hangs."""
    files = _damaged(shared_data)
    proc = subprocess.run(
        [sys.executable, "-c", _CORPUS_SCRIPT, str(PER_FILE_TIMEOUT_S), *map(str, files)],
        capture_output=True, text=True, timeout=PER_FILE_TIMEOUT_S * 4 + 2 * len(files), cwd=ROOT,
        env={**os.environ, "PYTHONFAULTHANDLER": "1"},
    )
    lines = proc.stdout.splitlines()
    results = [json.loads(line[len("RESULT "):]) for line in lines if line.startswith("RESULT ")]
    if proc.returncode != 0 or len(results) != len(files):
        started = [line for line in lines if line.startswith("START ")]
        last = started[-1] if started else "?"
        pytest.fail(f"corpus run died (rc {proc.returncode}) on {last}\n{proc.stderr[-2000:]}")
    bad = []
    for r in results:
        name = Path(r["path"]).name
        if r["rc"] != 3 or name not in r["stderr"] or r["stdout"] or "internal error" in r["stderr"]:
            bad.append(f"{name}: rc={r['rc']} {r['stderr'][:200]!r}")
    assert not bad, "\n".join(bad)


def test_isolated_verification(tmp_path: Path, shared_data: Path) -> None:
    from genpost_houdini.errors import DamagedFileError
    from genpost_houdini.imageio.exr import exr_info, verify_pixels_isolated

    good = write_exr(tmp_path / "good.exr", {"Z": np.ones((8, 8))})
    verify_pixels_isolated(good)
    # a sound header over corrupt pixel data: header checks pass, decoding fails in the child
    corrupt = [f for f in _damaged(shared_data)[:60] if _header_ok(f)]
    assert corrupt
    with pytest.raises(DamagedFileError, match=corrupt[0].name):
        verify_pixels_isolated(corrupt[0])
    with pytest.raises(DamagedFileError, match="did not finish"):
        verify_pixels_isolated(good, timeout=0.001)
    assert exr_info(good, verify=False)["channels"] == ["Z"]


def _header_ok(path: Path) -> bool:
    from genpost_houdini.errors import DamagedFileError
    from genpost_houdini.imageio.exr import exr_info

    try:
        exr_info(path, verify=False)
    except DamagedFileError:
        return False
    return True
