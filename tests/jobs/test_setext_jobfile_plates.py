"""Job files carry set extension's real-plate parameters (issue 11 item 5): ``--save-job`` writes
screen, holdout, grain, undistort and redistort, and ``genpost run`` of that file gives the same
pixels as the direct run with the same flags (tiny distorted real plate: 4 frames, 80x60)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from genpost_houdini.cli import main
from genpost_houdini.imageio import exr
from genpost_houdini.samples.realplate import RealPlateSpec, build_real_plate

FRAMES = [1001, 1002, 1003, 1004]


@pytest.fixture(scope="module")
def real(tartanair: Path, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("jobfile_plates")
    return build_real_plate(root / "plate", stage=tartanair / "shot.usda", plate=str(tartanair / "plate.####.exr"),
                            depth=str(tartanair / "depth.####.exr"), frames=FRAMES,
                            spec=RealPlateSpec(downsample=8, edge_px=2.0, lens=(0.06, 0.01)))


def test_job_file_carries_the_plate_parameters(real, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flags = ["--screen", "none", "--grain", "off", "--holdout", real.moving]
    args = [*real.setext_args(), *flags]  # setext_args holds --undistort/--redistort for a lens
    assert "--undistort" in args and "--redistort" in args
    job = tmp_path / "job.json"
    assert main(["setext", *args, "--out", str(tmp_path / "from_job"), "--save-job", str(job)]) == 0
    doc = json.loads(job.read_text())
    text = json.dumps(doc)
    for value in ("none", "off"):
        assert f'"{value}"' in text
    for path in (real.moving, real.undistort, real.redistort):
        assert Path(path).name in text  # stored (relative to the job file or absolute)
    capsys.readouterr()
    assert main(["run", str(job), "--progress", "none", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)[0]["result"]
    assert result["screen"] == "none" and result["grain"] is False  # the job's values, not the defaults
    for key in ("warping_error", "plate_warping_error", "spill_pixels", "leaked_pixels", "grain_ratio", "edge_step"):
        assert key in result  # the plate QC beside the warping error
    assert result["warping_error"] is not None
    assert main(["setext", *args, "--out", str(tmp_path / "direct"), "--progress", "none"]) == 0
    for f in FRAMES:
        a = exr.read_exr(tmp_path / "from_job" / f"setext.{f:04d}.exr")
        b = exr.read_exr(tmp_path / "direct" / f"setext.{f:04d}.exr")
        assert (a.width, a.height) == real.plate_size  # redistorted into plate space
        assert a.channels == b.channels and np.array_equal(a.pixels, b.pixels)
