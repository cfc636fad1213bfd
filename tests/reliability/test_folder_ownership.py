"""An output folder belongs to one job: another job (other parameters, other inputs) is refused
with exit 3 naming both, ``--force`` hands the folder over; the chunks of one job share it; two
runs of one job at once never compute a frame twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from reliability_helpers import no_traceback

from genpost_houdini.atomic import write_bytes_atomic
from genpost_houdini.cli import main
from genpost_houdini.errors import FolderOwnedError
from genpost_houdini.jobs.workunit import Manifest, job_record
from genpost_houdini.jobs.common import run_frames
from genpost_houdini.shot.frames import parse_frame_range

GENPOST = str(Path(sys.executable).with_name("genpost"))


def _frames_bytes(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.glob("setext.*.exr"))}


def test_another_job_is_refused_then_force_hands_over(tmp_path: Path, setext_args, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(setext_args(out, "--seed", "1")) == 0
    first = _frames_bytes(out)
    capsys.readouterr()

    assert main(setext_args(out, "--seed", "2")) == 3
    err = capsys.readouterr().err
    assert str(out) in err and "seed 1 there, 2 here" in err and "--force" in err, err
    no_traceback(err)
    assert _frames_bytes(out) == first, "the other job's frames are untouched"

    assert main(setext_args(out, "--seed", "2", "--force", "--json")) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["written"] == "1001-1004"
    owner = json.loads((out / "manifest.json").read_text())["job"]
    assert owner["kind"] == "setext" and owner["parameters"]["seed"] == 2
    assert "frames" not in owner["parameters"]
    assert _frames_bytes(out) != first

    assert main(setext_args(out, "--seed", "1")) == 3, "the folder now belongs to seed 2"
    assert "seed 2 there, 1 here" in capsys.readouterr().err


def test_inputs_through_a_symlinked_folder_are_the_same_job(tmp_path: Path, tiny_shot: dict, setext_args) -> None:
    """A farm worker or a wrangler that reaches the shot through a symlink runs the same job."""
    out = tmp_path / "out"
    assert main(setext_args(out)) == 0
    link = tmp_path / "shot_link"
    link.symlink_to(Path(tiny_shot["plate"]).parent, target_is_directory=True)
    linked = [str(link / Path(a).name) if a in (tiny_shot["plate"], tiny_shot["depth"], tiny_shot["extend"]) else a
              for a in setext_args(out, "--frames", "1001-1006")]
    assert linked != setext_args(out, "--frames", "1001-1006")
    assert main(linked) == 0


def test_other_inputs_are_another_job(tmp_path: Path, tiny_shot: dict, setext_args, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(setext_args(out)) == 0
    other_mask = tmp_path / "mask"
    other_mask.mkdir()
    for f in range(1001, 1005):
        name = Path(tiny_shot["extend"].replace("####", str(f)))
        (other_mask / name.name).write_bytes(name.read_bytes())
    args = setext_args(out)
    args[args.index("--extend") + 1] = str(other_mask / "extend.####.exr")
    capsys.readouterr()
    assert main(args) == 3
    err = capsys.readouterr().err
    assert "extend" in err and str(other_mask) in err


def test_chunks_and_ranges_of_one_job_share_the_folder(tmp_path: Path, tiny_shot: dict, setext_args,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """Identity is inputs and parameters, never frames: farm chunks of a job file, a longer shot
    range and relative paths for the same inputs all write into one folder."""
    out = tmp_path / "out"
    job = tmp_path / "job.json"
    assert main([*setext_args(out, "--frames", "1001-1008"), "--save-job", str(job)]) == 0
    for chunk in ("1005-1008", "1001-1004"):
        assert main(["run", str(job), "--frames", chunk, "--progress", "none"]) == 0
    reference = _frames_bytes(out)
    assert len(reference) == 8
    shot_dir = Path(tiny_shot["plate"]).parent
    cwd = os.getcwd()
    os.chdir(shot_dir)
    try:
        args = setext_args(out, "--frames", "1003-1004", "--shot-frames", "1001-1008", "--json")
        args[args.index("--plate") + 1] = "plate.$F4.exr"  # relative, Houdini token: the same files
        capsys.readouterr()
        assert main(args) == 0
        assert json.loads(capsys.readouterr().out)["skipped"] == "1003-1004"
    finally:
        os.chdir(cwd)
    assert main(setext_args(out, "--frames", "1001-1002")) == 0, "a shorter shot range is the same job"
    assert _frames_bytes(out)["setext.1008.exr"] == reference["setext.1008.exr"]


def _job(seed: int) -> dict:
    return {"kind": "toy", "parameters": {"seed": seed, "plate": "/shots/a/plate.####.exr"}}


def test_manifest_ownership_and_hand_over(tmp_path: Path) -> None:
    (tmp_path / "a.exr").write_bytes(b"frame")
    first = Manifest(tmp_path, job=_job(1))
    first.record(1, "h1", [tmp_path / "a.exr"])
    with pytest.raises(FolderOwnedError, match="seed 1 there, 2 here"):
        Manifest(tmp_path, job=_job(2))
    assert Manifest(tmp_path, job=_job(1)).is_done(1, "h1"), "the same job reopens its folder"
    taken = Manifest(tmp_path, job=_job(2), take_over=True)
    assert taken.frames() == [], "the previous job's frames are not the new job's"
    doc = json.loads((tmp_path / "manifest.json").read_text())
    assert doc["job"] == job_record(_job(2))
    with pytest.raises(FolderOwnedError, match="handed over"):
        first.record(2, "h2", [tmp_path / "a.exr"])  # the old run stops at its next record
    assert Manifest(tmp_path).frames() == [], "a manifest opened without a job leaves the owner alone"
    assert json.loads((tmp_path / "manifest.json").read_text())["job"]["identity"] == job_record(_job(2))["identity"]


def test_two_runs_at_once_never_compute_a_frame_twice(tmp_path: Path) -> None:
    """Two runs of one job over the same frames, at the same time (real OS locks, one per
    frame): every frame is rendered once, by one of them, and recorded."""
    frames = list(range(1, 17))
    rendered: list[tuple[str, int]] = []
    lock = threading.Lock()

    def run(name: str) -> tuple[list[int], list[int]]:
        def render(t: int, digest: str) -> bytes:
            with lock:
                rendered.append((name, t))
            time.sleep(0.03)
            return f"frame {t}".encode()

        def write(t: int, digest: str, data: bytes) -> list[Path]:
            return [write_bytes_atomic(tmp_path / f"f.{t:04d}.dat", data)]

        return run_frames(out_dir=tmp_path, frames=frames, shot_frames=frames, inputs_hash=lambda t: f"h{t}",
                          render=render, write=write, force=False, progress=lambda f, m: None)

    results: dict[str, tuple[list[int], list[int]]] = {}
    threads = [threading.Thread(target=lambda n=n: results.__setitem__(n, run(n))) for n in ("a", "b")]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    done = [t for _, t in rendered]
    assert sorted(done) == frames, f"each frame rendered exactly once: {sorted(done)}"
    assert {n for n, _ in rendered} == {"a", "b"}, "both runs did part of the work"
    for name, (written, skipped) in results.items():
        assert sorted(written + skipped) == frames, name
    assert Manifest(tmp_path).frames() == frames


def test_two_genpost_runs_at_once(tmp_path: Path, setext_args) -> None:
    """The same with the real command line: two `genpost run` of one job file started together."""
    out = tmp_path / "out"
    job = tmp_path / "job.json"
    assert main([*setext_args(out, "--frames", "1001-1008"), "--save-job", str(job)]) == 0
    procs = [subprocess.Popen([GENPOST, "run", str(job), "--progress", "none", "--json"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    written: list[int] = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=300)
        assert p.returncode == 0, stderr
        text = json.loads(stdout)[0]["result"]["written"]
        written += parse_frame_range(text) if text else []
    assert sorted(written) == list(range(1001, 1009)), "every frame computed once, by one of the runs"
