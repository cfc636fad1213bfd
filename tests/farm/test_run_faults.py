"""`genpost run` on job files: chunk invariance, kill-and-resume, fail-fast bad input (toy job).

The toy job (toyjob.py) stands in for the real jobs towards the farm layer; the same checks on
the real set-extension job are in test_setext_farm.py.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import make_toy_job, read_outputs

from genpost_houdini.atomic import is_temporary
from genpost_houdini.cli import main


def _run(job: Path, *extra: str) -> int:
    return main(["run", str(job), "--progress", "none", *extra])


@pytest.mark.parametrize("chunks", [["1-12"], ["1-6", "7-12"], ["1-3", "4-12"], ["7-12", "1-6"]])
def test_chunkings_give_identical_outputs(tmp_path: Path, toy_kind: str, chunks: list[str]) -> None:
    ref = make_toy_job(tmp_path / "ref", range(1, 13), seed=3)
    assert _run(ref) == 0
    job = make_toy_job(tmp_path / "chunked", range(1, 13), seed=3)
    for c in chunks:
        assert _run(job, "--frames", c) == 0
    assert read_outputs(tmp_path / "chunked" / "out") == read_outputs(tmp_path / "ref" / "out")


def test_rerun_skips_and_force_redoes(tmp_path: Path, toy_kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    job = make_toy_job(tmp_path, range(1, 5))
    assert _run(job, "--json") == 0
    capsys.readouterr()
    assert _run(job, "--json") == 0
    result = json.loads(capsys.readouterr().out)[0]["result"]
    assert result == {"written": [], "skipped": [1, 2, 3, 4]}
    (tmp_path / "out" / "toy.0002.exr").write_bytes(b"damaged")
    assert _run(job, "--json") == 0
    assert json.loads(capsys.readouterr().out)[0]["result"]["written"] == [2]
    assert _run(job, "--json", "--force", "--frames", "3-4") == 0
    assert json.loads(capsys.readouterr().out)[0]["result"]["written"] == [3, 4]


def test_frames_outside_the_shot_are_refused(tmp_path: Path, toy_kind: str) -> None:
    job = make_toy_job(tmp_path, range(1, 5))
    assert _run(job, "--frames", "3-9") == 2


def test_bad_input_fails_fast_with_exit_3(tmp_path: Path, toy_cli: list[str]) -> None:
    job = make_toy_job(tmp_path, range(1, 9))
    (tmp_path / "plate" / "plate.0006.dat").unlink()
    proc = subprocess.run([*toy_cli, "run", str(job), "--frames", "1-8", "--progress", "none"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3, proc.stderr
    assert "plate.0006.dat" in proc.stderr
    assert not list((tmp_path / "out").glob("*.exr")) if (tmp_path / "out").exists() else True
    ok = subprocess.run([*toy_cli, "run", str(job), "--frames", "1-5", "--progress", "none"],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr


def test_sigkill_mid_chunk_then_rerun_is_byte_identical(tmp_path: Path, toy_kind: str, toy_cli: list[str]) -> None:
    frames = range(1, 13)
    ref = make_toy_job(tmp_path / "ref", frames, seed=9)
    assert _run(ref) == 0
    expected = read_outputs(tmp_path / "ref" / "out")

    job = make_toy_job(tmp_path / "killed", frames, seed=9, delay=0.25)
    out = tmp_path / "killed" / "out"
    proc = subprocess.Popen([*toy_cli, "run", str(job), "--progress", "none"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    saw_temporary = False
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            names = [p.name for p in out.iterdir()] if out.is_dir() else []
            for name in names:  # never a partial file under an output name
                if name in expected:
                    data = (out / name).read_bytes()
                    assert data == expected[name], f"{name} visible before complete"
            done = [n for n in names if n in expected]
            saw_temporary = saw_temporary or any(is_temporary(n) for n in names)
            if len(done) >= 4 and any(is_temporary(n) for n in names):
                break
            time.sleep(0.01)
        else:
            pytest.fail("the run never got 4 frames in")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    assert saw_temporary, "killed while a frame was being written"
    finished_before = sorted(n for n in expected if (out / n).exists())
    assert 4 <= len(finished_before) < len(expected)
    recorded = sorted(int(f) for f in json.loads((out / "manifest.json").read_text())["frames"])
    assert len(finished_before) - 1 <= len(recorded) <= len(finished_before)  # a kill may fall between publish and record

    rerun = subprocess.run([*toy_cli, "run", str(job), "--progress", "none", "--json"],
                           capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    result = json.loads(rerun.stdout)[0]["result"]
    assert result["skipped"] == recorded, "frames recorded before the kill are not redone"
    assert read_outputs(out) == expected
    assert not [p for p in out.rglob("*") if is_temporary(p.name)], "no temporary left behind"


def test_sigterm_mid_write_cleans_up_and_rerun_is_byte_identical(tmp_path: Path, toy_kind: str, toy_cli: list[str]) -> None:
    """SIGTERM (what OpenJD and Deadline send to cancel) while a frame is half written: the
    process stops within a second with exit 143, removes its temporary, records exactly the
    frames it published; the rerun finishes with the bytes of an uninterrupted run."""
    frames = range(1, 13)
    ref = make_toy_job(tmp_path / "ref", frames, seed=4)
    assert _run(ref) == 0
    expected = read_outputs(tmp_path / "ref" / "out")

    job = make_toy_job(tmp_path / "termed", frames, seed=4, delay=0.4)
    out = tmp_path / "termed" / "out"
    proc = subprocess.Popen([*toy_cli, "run", str(job), "--progress", "none"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            names = [p.name for p in out.iterdir()] if out.is_dir() else []
            if sum(n in expected for n in names) >= 2 and any(is_temporary(n) and n.startswith(".toy.") for n in names):
                break  # a frame is half written (its temporary, not the manifest's)
            time.sleep(0.005)
        else:
            pytest.fail("the run never got 2 frames in")
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        stderr = proc.communicate(timeout=30)[1]
        stopped = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, stderr
    assert stopped < 1.0, f"took {stopped:.2f} s to stop"
    assert "Traceback" not in stderr
    assert not [p for p in out.rglob("*") if is_temporary(p.name)], "the temporary in flight is removed"
    published = sorted(int(n[4:8]) for n in expected if (out / n).exists())
    recorded = sorted(int(f) for f in json.loads((out / "manifest.json").read_text())["frames"])
    assert recorded == published and 2 <= len(published) < 12
    for n in expected:
        if (out / n).exists():
            assert (out / n).read_bytes() == expected[n]
    rerun = subprocess.run([*toy_cli, "run", str(job), "--progress", "none", "--json"],
                           capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads(rerun.stdout)[0]["result"]["skipped"] == recorded
    assert read_outputs(out) == expected
