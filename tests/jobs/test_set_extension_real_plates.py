"""Set extension on real plates, with default settings, scored against the truth.

The real TartanAir office shot is made into a real plate (samples.realplate: a blue screen over
a top region keyed into a soft spilled matte, a red object crossing the kept plate below the
screen, grain on every frame, exposure drift), at half resolution over 12 frames; and, apart,
into a distorted plate with ST maps and undistorted depth. What issue 11 is checked by is
measured by qc.truth_score (benchmarks/plates_eval.py prints the same at full resolution).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from genpost_houdini.cli import main
from genpost_houdini.imageio import exr
from genpost_houdini.qc.truth_score import score_real_plate
from genpost_houdini.samples.realplate import RealPlateSpec, build_real_plate

FRAMES = list(range(1001, 1013))
pytestmark = pytest.mark.slow


def _build(tartanair: Path, out: Path, frames: list[int], **spec) -> object:
    return build_real_plate(out, stage=tartanair / "shot.usda", plate=str(tartanair / "plate.####.exr"),
                            depth=str(tartanair / "depth.####.exr"), frames=frames,
                            spec=RealPlateSpec(downsample=2, edge_px=3.0, **spec))


def _setext(real, out: Path, *extra: str, capsys: pytest.CaptureFixture[str] | None = None) -> dict:
    if capsys is not None:
        capsys.readouterr()
    rc = main(["setext", *real.setext_args(), "--out", str(out), "--progress", "none", "--json", *extra])
    assert rc == 0
    return json.loads(capsys.readouterr().out) if capsys is not None else {}


@pytest.fixture(scope="module")
def real_run(tartanair: Path, tmp_path_factory: pytest.TempPathFactory):
    import contextlib
    import io

    root = tmp_path_factory.mktemp("realplate_run")
    real = _build(tartanair, root / "plate", FRAMES)
    out = root / "out"
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        rc = main(["setext", *real.setext_args(), "--out", str(out), "--progress", "none", "--json"])
    assert rc == 0
    score = score_real_plate(real, out)
    score["job"] = json.loads(text.getvalue())
    return real, out, score


def test_kept_plate_untouched_and_nothing_leaks(real_run) -> None:
    real, out, score = real_run
    assert score["kept_changed_pixels"] == 0
    assert score["leaked_pixels"] <= 0.0005 * score["full_pixels"]


def test_no_blue_cast_and_grain_like_the_plate(real_run) -> None:
    _, _, score = real_run
    assert score["cast_fraction"] <= score["cast_fraction_truth"] + 0.01
    assert 0.7 <= score["grain_ratio"] <= 1.4


def test_no_seam_at_the_matte_edge_and_seen_pixels_match(real_run) -> None:
    _, _, score = real_run
    # against the best output possible (the plate kept with its spill, the truth extended)
    assert score["edge_step_ratio_ideal"] <= 1.5
    assert score["median_error_seen"] <= 0.06
    # the soft edge shows the scene, not the screen mixed in (no dark blue line along the edge)
    assert score["ramp_error"] < 0.6 * score["ramp_error_plain"]


def test_setext_json_reports_the_plate_qc(real_run) -> None:
    _, _, score = real_run
    job = score["job"]
    assert job["screen"] == "blue" and job["grain"] is True and job["moving_frames"]
    assert job["spill_pixels"] <= 0.01 * score["full_pixels"]
    assert job["leaked_pixels"] <= 0.002 * score["full_pixels"]
    assert 0.7 <= job["grain_ratio"] <= 1.4
    assert job["edge_step_ratio"] <= 1.5
    assert job["warping_error"] is not None and job["plate_warping_error"] is not None


def test_setext_warping_error_is_the_one_qc_measures(real_run, capsys: pytest.CaptureFixture[str]) -> None:
    real, out, score = real_run
    capsys.readouterr()
    rc = main(["qc", "--stage", real.stage, "--depth", real.depth, "--images", str(out / "setext.####.exr"),
               "--region", real.matte, "--frames", real.frame_range, "--json"])
    assert rc == 0
    report = json.loads(capsys.readouterr().out)
    assert report["warping_error"] == pytest.approx(score["job"]["warping_error"], rel=1e-6)
    assert report["plate"]["warping_error"] == pytest.approx(score["job"]["plate_warping_error"], rel=1e-6)


def test_qc_reports_a_plate_left_unextended(real_run, tartanair: Path, capsys: pytest.CaptureFixture[str]) -> None:
    real, _, score = real_run
    capsys.readouterr()
    rc = main(["qc", "--stage", real.stage, "--depth", real.depth, "--images", real.plate, "--region", real.matte,
               "--plate", real.plate, "--frames", real.frame_range, "--json"])
    assert rc == 0
    report = json.loads(capsys.readouterr().out)
    assert report["screen"] == "blue"
    assert report["spill_pixels"] > 0.9 * score["full_pixels"]  # the screen itself, never extended
    assert report["leaked_pixels"] > 10 * max(1, score["job"]["leaked_pixels"])
    assert report["edge_step_ratio"] > 5
    assert report["warping_error"] is not None


def test_source_is_another_frame_only_for_whole_plate_weight(real_run) -> None:
    real, out, _ = real_run
    for f in (1004, 1009):
        img = exr.read_exr(out / f"setext.{f:04d}.exr")
        matte = exr.read_mask(real.path("matte", f))
        source = img.channel("source")
        assert (source[matte < 0.99] != 1).all()  # a soft edge mixes in this frame's own plate
        assert set(np.unique(source[matte == 0]).tolist()) == {0.0}
        assert np.array_equal(img.channel("matte"), matte.astype(np.float16).astype(np.float32))


def test_chunks_give_identical_pixels(tartanair: Path, real_run, tmp_path: Path) -> None:
    real, out, _ = real_run
    chunk = tmp_path / "chunk"
    rc = main(["setext", *real.setext_args()[:-2], "--frames", "1007-1008", "--shot-frames", real.frame_range,
               "--out", str(chunk), "--progress", "none"])
    assert rc == 0
    for f in (1007, 1008):
        a = exr.read_exr(out / f"setext.{f:04d}.exr")
        b = exr.read_exr(chunk / f"setext.{f:04d}.exr")
        assert a.channels == b.channels
        assert np.array_equal(a.pixels, b.pixels)


def test_lens_distortion(tartanair: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    real = _build(tartanair, tmp_path / "plate", FRAMES[:8], screen=None, moving=False, grain=0.0, drift=0.0,
                  lens=(0.06, 0.01))
    out = tmp_path / "out"
    result = _setext(real, out, capsys=capsys)
    assert result["screen"] == "none" and result["grain"] is False
    img = exr.read_exr(out / "setext.1004.exr")
    assert (img.width, img.height) == real.plate_size != real.cg_size  # plate space
    score = score_real_plate(real, out)
    assert score["kept_changed_pixels"] == 0
    assert score["median_error_seen"] <= 0.008
