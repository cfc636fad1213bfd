"""World-space facade continuation: a rendered facade with windows, its top to generate."""

from __future__ import annotations

import numpy as np
import pytest

from genpost_houdini.errors import BadInputError
from genpost_houdini.generators import GenerationRequest
from genpost_houdini.generators.classical import ClassicalGenerator
from genpost_houdini.generators.facade import REPEAT_BAND, continue_facades
from genpost_houdini.generators.facade_geometry import camera_from_options

WALL = np.array([0.55, 0.38, 0.28], np.float32)
GLASS = np.array([0.04, 0.06, 0.09], np.float32)
FRAME = np.array([0.80, 0.80, 0.76], np.float32)
SHOP = np.array([0.10, 0.35, 0.20], np.float32)
SKY = np.array([0.5, 0.6, 0.9], np.float32)


def facade_colour(s: np.ndarray, h: np.ndarray, storey: float, bay: float, ground: float) -> np.ndarray:
    """Albedo at facade coordinates s (along), h (height): a grid of framed windows above
    ``ground`` (a green shop front below it)."""
    ps, ph = np.mod(s, bay) / bay, np.mod(h - ground, storey) / storey
    outer = (ps > 0.22) & (ps < 0.78) & (ph > 0.28) & (ph < 0.80)
    inner = (ps > 0.27) & (ps < 0.73) & (ph > 0.33) & (ph < 0.75)
    col = np.where(outer[..., None], FRAME, WALL)
    col = np.where(inner[..., None], GLASS, col)
    return np.where((h < ground)[..., None], SHOP, col).astype(np.float32)


def render(width: int = 160, height: int = 120, cut: float = 7.2, storey: float = 3.0, bay: float = 2.5,
           ground: float = 0.0, ss: int = 3):
    """A plane facade (yawed 25 degrees) seen from the street, Y up; returns the truth image,
    metric depth (inf = sky), K, world_to_camera, the facade mask and the per-pixel height and
    position along the facade."""
    f = 0.9 * width
    K = np.array([[f, 0, (width - 1) / 2], [0, f, (height - 1) / 2], [0, 0, 1]], np.float64)
    # camera at (0, 1.7, 0) looking along world -Z, pitched up 20 degrees (OpenCV axes)
    pitch = np.radians(20)
    look = np.diag([1.0, -1.0, -1.0])  # world -> camera for a level camera looking down -Z
    rx = np.array([[1, 0, 0], [0, np.cos(pitch), np.sin(pitch)], [0, -np.sin(pitch), np.cos(pitch)]])
    R = rx @ look
    C = np.array([0.0, 1.7, 0.0])
    w2c = np.eye(4)
    w2c[:3, :3], w2c[:3, 3] = R, -R @ C
    # facade plane through (0, 0, -14) with its normal yawed 25 degrees from +Z
    yaw = np.radians(25)
    n = np.array([np.sin(yaw), 0.0, np.cos(yaw)])
    along = np.array([np.cos(yaw), 0.0, -np.sin(yaw)])
    p0 = np.array([0.0, 0.0, -14.0])
    o = (np.arange(ss) + 0.5) / ss - 0.5
    acc = np.zeros((height, width, 3), np.float64)
    v, u = np.mgrid[0:height, 0:width].astype(np.float64)
    for dy in o:
        for dx in o:
            rays = np.stack([(u + dx - K[0, 2]) / f, (v + dy - K[1, 2]) / f, np.ones_like(u)], -1) @ R  # world dirs
            t = ((p0 - C) @ n) / (rays @ n)
            hit = C + t[..., None] * rays
            ok = (t > 0) & (hit[..., 1] >= -3.0)
            col = facade_colour((hit - p0) @ along, hit[..., 1], storey, bay, ground)
            acc += np.where(ok[..., None], col, SKY)
    truth = (acc / ss**2).astype(np.float32)
    rays = np.stack([(u - K[0, 2]) / f, (v - K[1, 2]) / f, np.ones_like(u)], -1) @ R
    t = ((p0 - C) @ n) / (rays @ n)
    hit = C + t[..., None] * rays
    on = (t > 0) & (hit[..., 1] >= -3.0)
    z = np.where(on, t * ((rays @ R.T)[..., 2]), np.inf).astype(np.float32)
    heights = np.where(on, hit[..., 1], np.inf)
    along_pos = np.where(on, (hit - p0) @ along, np.inf)
    return truth, z, K, w2c, on, heights, along_pos


def make_request(truth, z, K, w2c, fill, with_camera: bool = True, seed: int = 3) -> GenerationRequest:
    finite = np.isfinite(z)
    near, far = float(z[finite].min()), float(z[finite].max()) * 1.05
    depth = np.ones(z.shape, np.float32)
    depth[finite] = (np.log(z[finite]) - np.log(near)) / (np.log(far) - np.log(near))
    images = np.where(fill[..., None], 0.0, truth)[None].astype(np.float32)
    options = {}
    if with_camera:
        options = {"depth_metric": z[None], "K": K[None], "world_to_camera": w2c[None],
                   "world_up": np.array([0.0, 1.0, 0.0])}
    return GenerationRequest(frames=[1001], images=images, known=~fill[None], generate=fill[None].copy(),
                             depth=np.clip(depth, 0, 1)[None], seed=seed, options=options)


@pytest.fixture(scope="module")
def scene():
    truth, z, K, w2c, on, heights, _ = render()
    fill = ~on | (heights >= 7.2)  # the set's top and the sky are to generate
    return truth, z, K, w2c, on, fill


def test_camera_continuation_reproduces_the_window_grid(scene) -> None:
    truth, z, K, w2c, on, fill = scene
    gen = ClassicalGenerator(quality="draft")
    with_cam = gen.generate(make_request(truth, z, K, w2c, fill))[0]
    plain = gen.generate(make_request(truth, z, K, w2c, fill, with_camera=False))[0]
    facade = fill & on
    err_cam = np.abs(with_cam[facade] - truth[facade]).mean()
    err_plain = np.abs(plain[facade] - truth[facade]).mean()
    assert err_cam < 0.4 * err_plain, (err_cam, err_plain)
    close = np.abs(with_cam[facade] - truth[facade]).max(axis=1) < 0.06
    assert close.mean() > 0.8, close.mean()
    # the contract holds on both paths
    for out in (with_cam, plain):
        assert np.isfinite(out).all()
        np.testing.assert_array_equal(out[~fill], truth[~fill])


def test_the_stage_finds_the_storey_and_fills_only_facade_pixels(scene) -> None:
    truth, z, K, w2c, on, fill = scene
    req = make_request(truth, z, K, w2c, fill)
    cam = camera_from_options(req.options, 1, fill.shape)[0]
    res = continue_facades(req.images[0], req.known[0], req.generate[0], req.depth[0], cam)
    assert res.mode == "vertical" and res.period == pytest.approx(3.0, rel=0.02)
    assert not (res.filled & ~(fill & on)).any()  # never the sky, never a known pixel
    assert res.filled.sum() > 0.8 * (fill & on).sum()
    np.testing.assert_array_equal(res.image[~res.filled], req.images[0][~res.filled])


def test_short_band_uses_the_bay_spacing_and_skips_the_shop_front() -> None:
    """A cut just above the first floor (one storey of windows over a shop front): the storey
    cannot be seen twice, so the bay spacing is the prior and shop-front colours never go up."""
    truth, z, K, w2c, on, heights, _ = render(cut=6.0, storey=2.5, bay=2.5, ground=3.0)
    fill = ~on | (heights >= 6.0)
    req = make_request(truth, z, K, w2c, fill)
    cam = camera_from_options(req.options, 1, fill.shape)[0]
    res = continue_facades(req.images[0], req.known[0], req.generate[0], req.depth[0], cam)
    assert res.mode == "horizontal-prior" and res.period == pytest.approx(2.5, rel=0.03)
    got = res.image[res.filled]
    assert res.filled.sum() > 0.4 * (fill & on).sum()
    assert (np.abs(got - SHOP).max(axis=1) < 0.05).mean() < 0.01
    # the storey phases the band shows are copies of the truth; the unseen rest is mirrored
    phase = np.mod(heights - 6.0, 2.5)
    copied = res.filled & (phase > (1 - REPEAT_BAND) * 2.5 + 0.1) & (phase < 2.4)
    assert copied.sum() > 0.2 * res.filled.sum()
    err = np.abs(res.image[copied] - truth[copied]).max(axis=1)
    assert (err < 0.06).mean() > 0.7 and np.median(err) < 0.03, ((err < 0.06).mean(), np.median(err))


def test_a_building_the_set_never_showed_gets_a_measured_facade() -> None:
    """Where no known pixel of the surface lies below (an unfilmed building), the texture of a
    measured piece facing the same way is used at the same height and bay phase."""
    truth, z, K, w2c, on, heights, pos = render(cut=6.0, storey=2.5, bay=2.5, ground=3.0)
    unfilmed = on & (pos > 4.0)
    assert unfilmed.sum() > 1000 and (on & ~unfilmed & (heights < 6.0)).sum() > 1000
    fill = ~on | (heights >= 6.0) | unfilmed
    req = make_request(truth, z, K, w2c, fill)
    cam = camera_from_options(req.options, 1, fill.shape)[0]
    res = continue_facades(req.images[0], req.known[0], req.generate[0], req.depth[0], cam)
    got = res.filled & unfilmed
    assert got.sum() > 0.4 * unfilmed.sum()
    # street level shows the shop front, the storeys above it the window grid (copied phases)
    low = got & (heights < 2.8)
    assert (np.abs(res.image[low] - SHOP).max(axis=1) < 0.05).mean() > 0.9
    phase = np.mod(heights - 6.0, 2.5)
    copied = got & (heights > 6.0) & (phase > (1 - REPEAT_BAND) * 2.5 + 0.1) & (phase < 2.4)
    err = np.abs(res.image[copied] - truth[copied]).max(axis=1)
    assert copied.sum() > 200 and np.median(err) < 0.03, (copied.sum(), np.median(err))


def test_camera_options_are_checked_and_can_be_turned_off(scene) -> None:
    truth, z, K, w2c, on, fill = scene
    req = make_request(truth, z, K, w2c, fill)
    partial = dict(req.options)
    del partial["K"]
    bad = GenerationRequest(frames=[1001], images=req.images, known=req.known, generate=req.generate,
                            depth=req.depth, options=partial)
    with pytest.raises(BadInputError, match="missing K"):
        ClassicalGenerator(quality="draft").generate(bad)
    wrong = dict(req.options, K=np.eye(3)[None].repeat(2, axis=0))
    with pytest.raises(BadInputError, match="K has shape"):
        camera_from_options(wrong, 1, fill.shape)
    # facade=False: the plain path, identical to a request without the camera
    off = ClassicalGenerator(quality="draft", facade=False).generate(req)
    plain = ClassicalGenerator(quality="draft").generate(make_request(truth, z, K, w2c, fill, with_camera=False))
    np.testing.assert_array_equal(off, plain)


def test_deterministic_with_camera(scene) -> None:
    truth, z, K, w2c, on, fill = scene
    gen = ClassicalGenerator(quality="draft")
    a = gen.generate(make_request(truth, z, K, w2c, fill, seed=5))
    b = gen.generate(make_request(truth, z, K, w2c, fill, seed=5))
    np.testing.assert_array_equal(a, b)
