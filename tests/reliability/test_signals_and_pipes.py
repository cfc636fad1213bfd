"""SIGTERM behaves like SIGINT (stop within a second, no temporary, manifest consistent, exit
143, a rerun gives byte-identical outputs), and output into a closed pipe ends quietly.

Real child processes and real signals; outputs compared with a run that was never interrupted.
"""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from reliability_helpers import no_traceback, temporaries

GENPOST = str(Path(sys.executable).with_name("genpost"))
EXR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "exr" / "singlepart.0001.exr"


def _outputs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("setext.*"))}


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, genpost, setext_args) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("sigterm_reference") / "out"
    proc = genpost(*setext_args(out, "--frames", "1001-1008"))
    assert proc.returncode == 0, proc.stderr
    return _outputs(out)


@pytest.mark.parametrize("when", ["planning", "frames"])
def test_sigterm_stops_cleanly_and_rerun_is_identical(tmp_path: Path, genpost, setext_args, reference, when: str) -> None:
    out = tmp_path / "out"
    argv = [GENPOST, *setext_args(out, "--frames", "1001-1008")]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    ready = (lambda: (out / ".genpost").is_dir()) if when == "planning" else (lambda: any(out.glob("setext.*.exr")))
    deadline = time.monotonic() + 120
    while not ready() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert proc.poll() is None, "the job finished before it could be stopped"
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    stderr = proc.communicate(timeout=60)[1]
    stopped = time.monotonic() - sent
    assert proc.returncode == 143, stderr
    assert stopped < 5.0, f"took {stopped:.1f} s to stop"
    assert "SIGTERM" in stderr
    no_traceback(stderr)
    assert not temporaries(out)
    if (out / "manifest.json").is_file():  # consistent: every recorded frame is there, whole
        for frame, entry in json.loads((out / "manifest.json").read_text())["frames"].items():
            for item in entry["outputs"]:
                data = (out / item["path"]).read_bytes()
                assert hashlib.sha256(data).hexdigest() == item["sha256"], frame
                assert data == reference[item["path"]], frame

    rerun = genpost(*setext_args(out, "--frames", "1001-1008"))
    assert rerun.returncode == 0, rerun.stderr
    assert _outputs(out) == reference


def _into_closed_pipe(*args: str) -> subprocess.CompletedProcess[str]:
    """Run genpost with stdout a pipe whose reader is already gone."""
    proc = subprocess.Popen([GENPOST, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    proc.stdout.close()
    stderr = proc.stderr.read() if proc.stderr else ""
    proc.wait(120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, "", stderr)


@pytest.mark.parametrize("args", [["generators"], ["exr-info", str(EXR)], ["samples", "--help"]],
                         ids=["generators", "exr-info", "help"])
def test_closed_pipe_ends_quietly(args: list[str]) -> None:
    if "exr-info" in args and not EXR.is_file():
        pytest.skip("../shared/data not found")
    proc = _into_closed_pipe(*args)
    no_traceback(proc.stderr)
    assert "BrokenPipe" not in proc.stderr and "Exception ignored" not in proc.stderr, proc.stderr
    assert proc.returncode in (0, 141), proc.stderr


@pytest.mark.parametrize("args", [["generators"], ["exr-info", str(EXR)]], ids=["generators", "exr-info"])
def test_closed_stdout_is_not_a_failure(args: list[str]) -> None:
    """Started with stdout closed (`genpost ... >&-`, a daemon, a scheduler with no stdout):
    Python's sys.stdout is None; the command still does its work and exits 0."""
    if "exr-info" in args and not EXR.is_file():
        pytest.skip("../shared/data not found")
    quoted = " ".join(f"'{a}'" for a in [GENPOST, *args])
    proc = subprocess.run(["sh", "-c", f"{quoted} >&-"], capture_output=True, text=True, timeout=120)
    no_traceback(proc.stderr)
    assert proc.returncode == 0 and "internal error" not in proc.stderr, proc.stderr


def test_full_stdout_is_named() -> None:
    """`genpost exr-info F > /dev/full`: exit 75 (no space: retry), the message names standard output."""
    if not EXR.is_file() or not Path("/dev/full").exists():
        pytest.skip("../shared/data or /dev/full not found")
    proc = subprocess.run(["sh", "-c", f"'{GENPOST}' exr-info '{EXR}' > /dev/full"], capture_output=True, text=True,
                          timeout=120)
    no_traceback(proc.stderr)
    assert proc.returncode == 75 and "standard output" in proc.stderr and "ENOSPC" in proc.stderr, proc.stderr


def test_head_takes_one_byte(tmp_path: Path) -> None:
    """`genpost exr-info F | head -c1` and `genpost generators | head -1` as a shell runs them."""
    if not EXR.is_file():
        pytest.skip("../shared/data not found")
    for pipeline in (f"'{GENPOST}' exr-info '{EXR}' | head -c1", f"'{GENPOST}' generators | head -1"):
        proc = subprocess.run(["sh", "-c", pipeline + "; exit 0"], capture_output=True, text=True, timeout=120)
        assert proc.stdout, pipeline
        no_traceback(proc.stderr)
        assert "BrokenPipe" not in proc.stderr and "Exception ignored" not in proc.stderr, proc.stderr
