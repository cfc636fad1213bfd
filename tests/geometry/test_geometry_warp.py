"""Back-projection, reprojection, splatting and disocclusion on an analytic scene.

The scene: a wall at Z = 10 and a card at Z = 5 spanning world X in [-0.5, 0.5], seen by cameras
looking down +Z (OpenCV axes) that differ by a translation along X. Depth and visibility are
known exactly, so every answer can be checked.
"""

from __future__ import annotations

import numpy as np
import pytest

from genpost_houdini.geometry import (
    backproject,
    disocclusion_mask,
    project,
    reproject,
    reproject_depth,
    splat,
    valid_depth,
    warp,
)
from genpost_houdini.shot.camera import CameraView

W, H, F = 96, 64, 80.0
WALL, CARD, CARD_X = 10.0, 5.0, (-0.5, 0.5)


def _view(tx: float, width: int = W, height: int = H) -> CameraView:
    K = np.array([[F, 0, width / 2 - 0.5], [0, F, height / 2 - 0.5], [0, 0, 1.0]])
    w2c = np.eye(4)
    w2c[0, 3] = -tx
    return CameraView(K=K, world_to_camera=w2c, width=width, height=height)


def _depth(view: CameraView) -> np.ndarray:
    u = np.arange(view.width, dtype=np.float64)
    x_dir = (u - view.K[0, 2]) / view.K[0, 0]
    cam_x = view.position[0]
    on_card = (cam_x + x_dir * CARD >= CARD_X[0]) & (cam_x + x_dir * CARD <= CARD_X[1])
    row = np.where(on_card, CARD, WALL)
    return np.tile(row, (view.height, 1)).astype(np.float32)


def _texture(view: CameraView) -> np.ndarray:
    """A colour that is a smooth function of the world point seen (so warps can be checked)."""
    pts = backproject(_depth(view), view).astype(np.float64)
    channels = [np.sin(pts[..., 0]) + 2, np.cos(pts[..., 1]) + 2, pts[..., 2] / 10, np.ones(pts.shape[:2])]
    return np.stack(channels, -1).astype(np.float32)


def test_valid_depth_masks_every_no_hit_value() -> None:
    d = np.array([np.inf, 1e17, 1e30, np.nan, 0.0, -1.0, -np.inf, 2.5, 1e15], dtype=np.float32)
    assert valid_depth(d).tolist() == [False] * 7 + [True, True]


def test_backproject_and_project_round_trip() -> None:
    view = CameraView(
        K=np.array([[70.0, 0, 40.2], [0, 75.0, 29.7], [0, 0, 1]]),
        world_to_camera=np.array([[0.0, 0, 1, 2], [1, 0, 0, -1], [0, 1, 0, 3], [0, 0, 0, 1]]),
        width=80,
        height=60,
    )
    depth = np.full((60, 80), 4.0, dtype=np.float32)
    depth[10, 20] = np.nan
    depth[11, 21] = 1e17
    pts = backproject(depth, view)
    assert np.isnan(pts[10, 20]).all() and np.isnan(pts[11, 21]).all()
    uv, z = project(pts, view)
    v, u = np.mgrid[0:60, 0:80]
    ok = valid_depth(depth)
    np.testing.assert_allclose(uv[ok], np.stack([u, v], -1)[ok], atol=2e-3)
    np.testing.assert_allclose(z[ok], 4.0, rtol=1e-5)
    behind = np.linalg.inv(view.world_to_camera) @ np.array([0, 0, -1.0, 1])
    assert np.isnan(project(behind[:3], view)[0]).all()


def test_identity_warp_is_exact() -> None:
    view = _view(0.0)
    depth = _depth(view)
    depth[5:9, 5:9] = np.inf
    image = _texture(view)
    image[5:9, 5:9] = 0
    out, valid = reproject(image, depth, view, depth, view)
    np.testing.assert_array_equal(valid, valid_depth(depth))
    np.testing.assert_array_equal(out, image)


def test_translation_shifts_the_wall_and_rejects_disocclusions() -> None:
    src, dst = _view(0.0), _view(0.6)
    src_depth, dst_depth = _depth(src), _depth(dst)
    image = _texture(src)
    out, valid = reproject(image, src_depth, src, dst_depth, dst)
    expected = _texture(dst)  # the same world points, seen from the destination
    assert valid.mean() > 0.7
    # Interior: both horizontal neighbours valid and on the same surface, so no tap is dropped.
    interior = valid.copy()
    interior[:, 1:] &= valid[:, :-1] & (dst_depth[:, 1:] == dst_depth[:, :-1])
    interior[:, :-1] &= valid[:, 1:] & (dst_depth[:, :-1] == dst_depth[:, 1:])
    np.testing.assert_allclose(out[interior], expected[interior], atol=2e-3)
    # At surface edges the z-test drops taps: the nearest same-surface sample is within a pixel.
    np.testing.assert_allclose(out[valid], expected[valid], atol=0.03)

    # Analytic visibility: a destination wall pixel is seen by the source iff its world point
    # projects into the source frame onto the wall (not behind the card).
    u = np.arange(W)
    x_world = dst.position[0] + (u - dst.K[0, 2]) / F * dst_depth[0]
    u_src = F * x_world / dst_depth[0] + src.K[0, 2]
    xs_card = src.position[0] + (u_src - src.K[0, 2]) / F * CARD
    blocked = (dst_depth[0] == WALL) & (xs_card > CARD_X[0]) & (xs_card < CARD_X[1])
    outside = (u_src < -0.5) | (u_src > W - 0.5)
    seen = ~blocked & ~outside
    core = seen.copy()  # away from edges by a pixel, where bilinear taps may straddle
    core[1:] &= seen[:-1]
    core[:-1] &= seen[1:]
    assert blocked.sum() >= 4
    assert not valid[:, blocked].any(), "z-test let occluded wall pixels through"
    assert valid[:, core].all()
    assert (out[~valid] == 0).all()


def test_no_hit_values_never_propagate() -> None:
    src, dst = _view(0.0), _view(0.1)
    src_depth, dst_depth = _depth(src), _depth(dst)
    for i, bad in enumerate([np.nan, np.inf, 1e17, 1e30, 0.0, -3.0]):
        src_depth[10 + i, 30:40] = bad
        dst_depth[20 + i, 50:60] = bad
    image = _texture(src)
    image[40, 5] = np.nan  # a bad source pixel far from the others
    out, valid = reproject(image, src_depth, src, dst_depth, dst)
    assert np.isfinite(out).all()
    assert not valid[20:26, 50:60].any()
    assert (out[~valid] == 0).all()
    depth, dvalid = reproject_depth(src_depth, src, dst_depth, dst)
    assert np.isfinite(depth).all() and (depth[~dvalid] == 0).all()


def test_where_restricts_work_and_matches_the_full_warp() -> None:
    src, dst = _view(0.0), _view(0.3)
    src_depth, dst_depth = _depth(src), _depth(dst)
    image = _texture(src)
    full, full_valid = reproject(image, src_depth, src, dst_depth, dst)
    where = np.zeros((H, W), dtype=bool)
    where[::3, 10:70] = True
    part, part_valid = reproject(image, src_depth, src, dst_depth, dst, where=where)
    np.testing.assert_array_equal(part_valid, full_valid & where)
    np.testing.assert_allclose(part[where], full[where], atol=1e-6)
    assert (part[~where] == 0).all()
    empty, empty_valid = reproject(image, src_depth, src, dst_depth, dst, where=np.zeros((H, W), bool))
    assert not empty_valid.any() and not empty.any()


def test_threads_do_not_change_results() -> None:
    src, dst = _view(0.0, 300, 200), _view(0.2, 300, 200)
    args = (_texture(src), _depth(src), src, _depth(dst), dst)
    one = warp(*args, threads=1)
    many = warp(*args, threads=4)
    np.testing.assert_array_equal(one.valid, many.valid)
    np.testing.assert_array_equal(one.image, many.image)


@pytest.mark.parametrize("channels", [1, 2, 3, 4, 5])
def test_any_channel_count(channels: int) -> None:
    src, dst = _view(0.0), _view(0.2)
    tex = _texture(src)
    image = np.concatenate([tex] * 2, -1)[..., :channels]
    out, valid = reproject(image, _depth(src), src, _depth(dst), dst)
    assert out.shape == (H, W, channels)
    ref, _ = reproject(tex[..., :1], _depth(src), src, _depth(dst), dst)
    np.testing.assert_array_equal(out[..., 0], ref[..., 0])
    two_d, _ = reproject(tex[..., 0], _depth(src), src, _depth(dst), dst)
    assert two_d.shape == (H, W, 1)


def test_reproject_depth_gives_destination_depth() -> None:
    src, dst = _view(0.0), _view(0.3)
    depth, valid = reproject_depth(_depth(src), src, _depth(dst), dst, rel_tolerance=0.2)
    assert valid.mean() > 0.7
    np.testing.assert_allclose(depth[valid], _depth(dst)[valid], rtol=1e-4)


def test_splat_z_buffer_keeps_the_nearest_surface() -> None:
    src, dst = _view(0.0), _view(0.3)
    src_depth = _depth(src)
    image = _texture(src)
    out, depth, covered = splat(image, src_depth, src, dst)
    dst_depth = _depth(dst)
    assert covered.mean() > 0.7
    # Where the card and the wall both land, the card (nearer) wins; every covered depth
    # equals the analytic destination depth.
    np.testing.assert_allclose(depth[covered], dst_depth[covered], rtol=1e-5)
    np.testing.assert_allclose(out[covered], _texture(dst)[covered], atol=0.05)
    assert np.isinf(depth[~covered]).all() and (out[~covered] == 0).all()
    same, same_depth, same_cov = splat(image, src_depth, src, src)
    assert same_cov.all()
    np.testing.assert_array_equal(same, image)
    np.testing.assert_allclose(same_depth, src_depth, rtol=1e-6)


def test_disocclusion_mask() -> None:
    src, dst = _view(0.0), _view(0.3)
    src_depth, dst_depth = _depth(src), _depth(dst)
    dst_depth[:4] = np.inf
    mask = disocclusion_mask(src_depth, src, dst_depth, dst)
    _, valid = reproject(np.zeros((H, W, 1), np.float32), src_depth, src, dst_depth, dst)
    np.testing.assert_array_equal(mask, ~valid)
    assert mask[:4].all()
    strict = disocclusion_mask(src_depth, src, dst_depth, dst, include_no_hit=False)
    assert not strict[:4].any() and strict[4:].sum() == mask[4:].sum() > 0


def test_shape_mismatch_is_refused() -> None:
    src, dst = _view(0.0), _view(0.2)
    with pytest.raises(ValueError, match="source depth"):
        reproject(_texture(src), _depth(src)[:-1], src, _depth(dst), dst)
    with pytest.raises(ValueError, match="source image"):
        reproject(_texture(src)[:-1], _depth(src), src, _depth(dst), dst)
    with pytest.raises(ValueError, match="where"):
        reproject(_texture(src), _depth(src), src, _depth(dst), dst, where=np.ones((2, 2), bool))
