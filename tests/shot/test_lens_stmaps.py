"""ST maps in Nuke's convention (R = s = (x + 0.5) / W, G = t = 1 - (y + 0.5) / H) and the
analytic radial lens used by the real-plate harness."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from genpost_houdini.errors import BadInputError
from genpost_houdini.shot.lens import (
    Lens, pixels_to_st, radial_stmaps, read_stmap, st_to_pixels, warp_stmap, write_stmap,
)


def _image(h: int = 24, w: int = 32) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.dstack([0.1 + 0.01 * x, 0.2 + 0.02 * y, 0.05 * np.sin(x / 3.0) + 0.5]).astype(np.float32)


def test_identity_map_reproduces_the_image() -> None:
    img = _image()
    y, x = np.mgrid[0:24, 0:32].astype(np.float64)
    st = pixels_to_st(x, y, 32, 24)
    assert np.allclose(st[0, 0], [0.5 / 32, 1 - 0.5 / 24])  # t is measured from the bottom
    out, valid = warp_stmap(img, st)
    assert valid.all()
    assert np.abs(out - img).max() < 1e-5


def test_map_samples_where_it_says() -> None:
    img = _image()
    y, x = np.mgrid[0:20, 0:28].astype(np.float64)
    out, valid = warp_stmap(img, pixels_to_st(x + 2.0, y + 3.0, 32, 24), filtername="triangle")
    assert valid.all()
    assert np.abs(out - img[3:23, 2:30]).max() < 1e-5
    # half a pixel right: the mean of two neighbours (bilinear)
    out, _ = warp_stmap(img, pixels_to_st(x + 0.5, y, 32, 24), filtername="triangle")
    assert np.abs(out - 0.5 * (img[:20, :28] + img[:20, 1:29])).max() < 1e-5


def test_samples_outside_the_input_are_invalid() -> None:
    img = _image()
    x = np.array([[-3.0, 5.0, 40.0]])
    y = np.array([[4.0, 4.0, 4.0]])
    out, valid = warp_stmap(img, pixels_to_st(x, y, 32, 24))
    assert valid.tolist() == [[False, True, False]]
    assert (out[~valid] == 0).all()


def test_radial_maps_invert_each_other() -> None:
    cg, plate = (200, 160), (180, 136)
    und, red = radial_stmaps(cg, plate, focal_px=100.0, k1=0.08, k2=0.01)
    assert und.shape == (160, 200, 2) and red.shape == (136, 180, 2)
    # plate pixel -> CG position (redistort) -> plate position (undistort, interpolated)
    xu, yu = st_to_pixels(red, *cg)
    back_x, ok = warp_stmap(st_to_pixels(und, *plate)[0].astype(np.float32), pixels_to_st(xu, yu, *cg), filtername="triangle")
    back_y, _ = warp_stmap(st_to_pixels(und, *plate)[1].astype(np.float32), pixels_to_st(xu, yu, *cg), filtername="triangle")
    yp, xp = np.mgrid[0:136, 0:180]
    assert ok.all()
    inner = (xu >= 0) & (xu <= cg[0] - 1) & (yu >= 0) & (yu <= cg[1] - 1)  # between CG pixel centres
    assert inner.mean() > 0.95
    assert np.abs(back_x[..., 0] - xp)[inner].max() < 0.02 and np.abs(back_y[..., 0] - yp)[inner].max() < 0.02
    # barrel (k1 > 0): a plate corner lies farther out in the undistorted frame
    assert xu[0, 0] < (200 - 1) / 2 - (180 - 1) / 2
    # the optical centre stays put: plate pixel (89.5, 67.5) is CG pixel (99.5, 79.5)
    assert abs(0.5 * (xu[67, 89] + xu[68, 90]) - 99.5) < 1e-3 and abs(0.5 * (yu[67, 89] + yu[68, 90]) - 79.5) < 1e-3


def test_no_distortion_same_size_is_identity() -> None:
    und, red = radial_stmaps((40, 30), (40, 30), focal_px=50.0, k1=0.0)
    y, x = np.mgrid[0:30, 0:40]
    for st in (und, red):
        sx, sy = st_to_pixels(st, 40, 30)
        assert np.abs(sx - x).max() < 1e-4 and np.abs(sy - y).max() < 1e-4


def test_stmap_files_round_trip_and_lens_checks(tmp_path: Path) -> None:
    und, red = radial_stmaps((40, 30), (36, 28), focal_px=30.0, k1=0.05)
    write_stmap(tmp_path / "und.exr", und)
    write_stmap(tmp_path / "red.exr", red)
    assert np.array_equal(read_stmap(tmp_path / "und.exr"), und)  # float32, lossless
    lens = Lens(str(tmp_path / "und.exr"), str(tmp_path / "red.exr"))
    lens.check(1001, (40, 30), (36, 28))
    with pytest.raises(BadInputError, match="CG renders"):
        lens.check(1001, (44, 30), (36, 28))
    with pytest.raises(BadInputError, match="plate"):
        lens.check(1001, (40, 30), (40, 30))
    with pytest.raises(BadInputError, match="does not exist"):
        Lens(str(tmp_path / "und.####.exr"), str(tmp_path / "red.exr")).undistort(1001)
