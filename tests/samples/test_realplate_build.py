"""The real-plate harness: a clean real shot made into a real plate, and its scorer on a
known-perfect and a known-bad output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from genpost_houdini.shot.lens import st_to_pixels
from genpost_houdini.imageio import exr
from genpost_houdini.qc.truth_score import score_real_plate
from genpost_houdini.samples.realplate import RealPlateSpec, build_real_plate, load_real_plate

FRAMES = list(range(1001, 1007))


def _build(tartanair: Path, out: Path, **spec) -> object:
    return build_real_plate(out, stage=tartanair / "shot.usda", plate=str(tartanair / "plate.####.exr"),
                            depth=str(tartanair / "depth.####.exr"), frames=FRAMES,
                            spec=RealPlateSpec(downsample=4, edge_px=3.0, **spec))


@pytest.fixture(scope="module")
def real(tartanair: Path, tmp_path_factory: pytest.TempPathFactory):
    return _build(tartanair, tmp_path_factory.mktemp("realplate"))


def test_build_layout(real) -> None:
    assert real.plate_size == real.cg_size == (160, 120)
    again = load_real_plate(real.root)
    assert again.to_json() == real.to_json()
    matte = exr.read_mask(real.path("matte", 1003))
    ramp = (matte > 0) & (matte < 1)
    assert 2 <= ramp.sum(axis=0).mean() <= 4  # a soft edge of ~edge_px pixels in every column
    plate = exr.read_rgb(real.path("plate", 1003))
    assert np.median(plate[matte >= 0.999], axis=0)[2] > 0.3  # blue screen under the matte
    alpha = [exr.read_mask(real.path("moving", f)) for f in FRAMES]
    xs = [np.nonzero(a.max(axis=0) > 0.5)[0].mean() for a in alpha if (a > 0.5).any()]
    assert len(xs) >= 4 and np.all(np.diff(xs) > 0)  # the object crosses left to right
    assert all(((a > 0) & (matte > 0)).sum() == 0 for a in alpha)  # in the kept plate
    truth_g = exr.read_rgb(real.path("truth_grain", 1003))
    truth = exr.read_rgb(real.path("truth", 1003))
    clean = (matte == 0) & (alpha[2] == 0)
    clean[: int(np.nonzero(matte.max(axis=1) > 0)[0].max()) + 12] = False  # beyond the spill
    assert np.abs(plate[clean] - truth_g[clean]).max() < 2e-3 * (1 + np.abs(truth_g[clean]).max())
    grain = (truth_g - truth)[clean]
    assert 0.01 < grain.std() < 0.04


def test_lens_build(tartanair: Path, tmp_path: Path) -> None:
    real = _build(tartanair, tmp_path, screen=None, moving=False, grain=0.0, drift=0.0, lens=(0.06, 0.01))
    assert real.cg_size == (160, 120) and real.plate_size == (146, 110)
    assert exr.read_rgb(real.path("plate", 1001)).shape == (110, 146, 3)
    assert exr.read_depth(real.path("depth", 1001)).shape == (120, 160)
    from genpost_houdini.shot.lens import read_stmap

    und, red = read_stmap(real.undistort), read_stmap(real.redistort)
    assert und.shape == (120, 160, 2) and red.shape == (110, 146, 2)
    x, y = st_to_pixels(red, 160, 120)
    assert x.min() > -0.5 and x.max() < 159.5 and y.min() > -0.5 and y.max() < 119.5  # overscan covers the plate


def _write_output(real, out: Path, ext_of) -> None:
    for f in FRAMES:
        plate = exr.read_rgb(real.path("plate", f))
        matte = exr.read_mask(real.path("matte", f))
        rgb = plate * (1 - matte[..., None]) + ext_of(f) * matte[..., None]
        rgb[matte == 0] = plate[matte == 0]
        exr.write_exr(out / f"setext.{f:04d}.exr", {**{c: rgb[..., i] for i, c in enumerate("RGB")}, "source": np.ones(matte.shape, np.float32)},
                      kinds={"R": "colour", "G": "colour", "B": "colour", "source": "mask"})


def test_score_of_a_perfect_and_of_a_bad_output(real, tmp_path: Path) -> None:
    _write_output(real, tmp_path / "perfect", lambda f: exr.read_rgb(real.path("truth_grain", f)))
    good = score_real_plate(real, tmp_path / "perfect")
    assert good["kept_changed_pixels"] == 0 and good["leaked_pixels"] == 0
    assert abs(good["grain_ratio"] - 1) < 1e-3 and abs(good["edge_step_ratio_ideal"] - 1) < 1e-3
    assert good["cast_fraction"] <= good["cast_fraction_truth"] + 1e-3  # half rounding
    assert good["seen_pixels"] > 0 and good["median_error_seen"] < 0.03

    def bad(f: int) -> np.ndarray:  # the plate itself: blue screen, no grain fix, red object
        return exr.read_rgb(real.path("plate", f)) * 1.0

    _write_output(real, tmp_path / "bad", bad)
    poor = score_real_plate(real, tmp_path / "bad")
    assert poor["cast_fraction"] > 0.9 and poor["median_error_seen"] > 0.1
