"""The default generator: depth-guided patch synthesis continues texture, honours the contract."""

from __future__ import annotations

import numpy as np
import pytest

from genpost_houdini.errors import BadInputError, UsageError
from genpost_houdini.generators import GenerationRequest, get_generator
from genpost_houdini.generators.classical import ClassicalGenerator

MORTAR = np.array([0.60, 0.58, 0.55], np.float32)
BRICK = np.array([0.45, 0.12, 0.06], np.float32)


def bricks(h: int = 64, w: int = 96, bh: int = 8, bw: int = 16) -> np.ndarray:
    """A running-bond brick wall, scene-linear (H, W, 3)."""
    y, x = np.mgrid[0:h, 0:w]
    row = y // bh
    xs = x + (row % 2) * (bw // 2)
    mortar = (y % bh == 0) | (xs % bw == 0)
    img = np.where(mortar[..., None], MORTAR, BRICK).astype(np.float32)
    return img


def request(img, hole, depth=None, seed=0, frames=(1001,), **options) -> GenerationRequest:
    f = len(frames)
    h, w = hole.shape
    if depth is None:
        depth = np.full((h, w), 0.5, np.float32)
    images = np.repeat(img[None], f, axis=0).copy()
    images[:, hole] = 0.0  # what a job leaves where nothing is known
    return GenerationRequest(
        frames=list(frames),
        images=images,
        known=np.repeat(~hole[None], f, axis=0),
        generate=np.repeat(hole[None], f, axis=0),
        depth=np.repeat(depth[None], f, axis=0),
        seed=seed,
        options=options,
    )


def _hole(h=64, w=96, y0=20, y1=44, x0=36, x1=64) -> np.ndarray:
    m = np.zeros((h, w), bool)
    m[y0:y1, x0:x1] = True
    return m


def test_fill_continues_a_brick_pattern_and_keeps_known_pixels() -> None:
    img, hole = bricks(), _hole()
    req = request(img, hole)
    out = ClassicalGenerator().generate(req)
    assert out.shape == req.images.shape and out.dtype == np.float32 and np.isfinite(out).all()
    np.testing.assert_array_equal(out[req.known], req.images[req.known])  # bit-exact
    err = np.abs(out[0][hole] - img[hole]).max(axis=1)
    # a periodic texture is reproduced: almost every filled pixel is the true brick or mortar
    assert np.mean(err < 0.05) > 0.85, np.mean(err < 0.05)
    # and both materials appear in proportion (a smear would be neither)
    is_mortar = np.abs(out[0][hole] - MORTAR).max(axis=1) < 0.05
    assert 0.1 < is_mortar.mean() < 0.5


def test_depth_decides_what_is_copied() -> None:
    """Above a near wall the hole is far (depth 1): it must copy the far content, not the wall."""
    h, w = 64, 96
    y, x = np.mgrid[0:h, 0:w]
    near = np.where(((x // 4) % 2 == 0)[..., None], [0.8, 0.1, 0.1], [0.1, 0.1, 0.8])  # red/blue stripes
    far = np.where(((y // 6 + x // 6) % 2 == 0)[..., None], [0.1, 0.7, 0.1], [0.6, 0.6, 0.1])  # checker
    img = np.where((x < w // 2)[..., None], near, far).astype(np.float32)
    depth = np.where(x < w // 2, 0.2, 1.0).astype(np.float32)
    hole = np.zeros((h, w), bool)
    hole[:24] = True
    depth[:24] = 1.0  # the extension above the near wall is far backdrop
    out = ClassicalGenerator().generate(request(img, hole, depth))[0]
    top_left = out[:20, : w // 2 - 4]
    green = top_left[..., 1] > np.maximum(top_left[..., 0], top_left[..., 2]) * 0.9
    assert green.mean() > 0.9, green.mean()  # far checker colours, no red/blue stripes


def noise(h: int = 64, w: int = 96) -> np.ndarray:
    """An irregular texture: many fills are equally good, so the seed shows."""
    rng = np.random.default_rng(5)
    return (0.05 + 0.5 * rng.random((h, w, 3))).astype(np.float32)


def test_deterministic_per_seed_and_per_frame() -> None:
    img, hole = noise(), _hole()
    gen = ClassicalGenerator(quality="draft")
    a = gen.generate(request(img, hole, seed=1))
    b = gen.generate(request(img, hole, seed=1))
    c = gen.generate(request(img, hole, seed=2))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # several frames at once (non-temporal): each equals its own one-frame call
    two = gen.generate(request(img, hole, seed=1, frames=(1001, 1002)))
    np.testing.assert_array_equal(two[0], a[0])
    one = gen.generate(request(img, hole, seed=1, frames=(1002,)))
    np.testing.assert_array_equal(two[1], one[0])
    assert not np.array_equal(two[0], two[1])  # seeds derive from the frame number


def test_hole_at_the_border_and_thin_known_area() -> None:
    img = bricks(48, 64)
    hole = np.zeros((48, 64), bool)
    hole[:40] = True  # only 8 rows known: the patch must shrink to fit
    out = get_generator("classical", quality="draft").generate(request(img, hole))
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(out[0][~hole], img[~hole])


def test_options_and_errors() -> None:
    with pytest.raises(UsageError, match="quality"):
        ClassicalGenerator(quality="ultra")
    with pytest.raises(UsageError, match="patch_size"):
        ClassicalGenerator(patch_size=4)
    with pytest.raises(UsageError, match="unknown option 'colour'"):
        get_generator("classical", colour="red")
    ClassicalGenerator(model=None, runtime="auto")  # generic job options are ignored
    img, hole = bricks(), _hole()
    with pytest.raises(UsageError, match="quality"):
        ClassicalGenerator().generate(request(img, hole, quality="nope"))
    nothing = np.ones((64, 96), bool)
    req = request(img, np.zeros((64, 96), bool))
    req = GenerationRequest(frames=[7], images=req.images, known=~nothing[None], generate=nothing[None],
                            depth=req.depth)
    with pytest.raises(BadInputError, match="frame 7.*no known pixel"):
        ClassicalGenerator().generate(req)


def test_progress_is_reported() -> None:
    seen: list[float] = []
    ClassicalGenerator(quality="draft").generate(request(bricks(), _hole()), progress=lambda f, m: seen.append(f))
    assert seen and seen[-1] == 1.0 and all(0.0 <= f <= 1.0 for f in seen)
    assert seen == sorted(seen)


def test_real_plate_fill_is_plausible(tartanair) -> None:
    """A hole in a real plate (TartanAir office, downsized): contract holds, fill is close to truth."""
    from genpost_houdini.imageio.exr import read_depth, read_rgb

    rgb = read_rgb(tartanair / "plate.1036.exr")[::4, ::4].copy()  # 160x120
    z = read_depth(tartanair / "depth.1036.exr")[::4, ::4]
    d = np.log(z)
    depth = ((d - d.min()) / (d.max() - d.min())).astype(np.float32)
    hole = np.zeros(depth.shape, bool)
    hole[70:100, 95:140] = True  # floor tiles and the wall's foot
    out = ClassicalGenerator().generate(request(rgb, hole, depth))[0]
    np.testing.assert_array_equal(out[~hole], rgb[~hole])
    err = np.abs(out[hole] - rgb[hole]).mean()
    flat = np.abs(rgb[~hole].mean(axis=0) - rgb[hole]).mean()  # filling with the mean colour
    assert err < 0.8 * flat, (err, flat)


def test_far_hole_without_far_sources_becomes_a_smooth_sky() -> None:
    """Set extension above a set with no sky in the plate: no-hit pixels get a sky, not texture."""
    img = bricks()
    depth = np.full((64, 96), 0.3, np.float32)
    hole = np.zeros((64, 96), bool)
    hole[:24] = True
    depth[:24] = 1.0
    out = ClassicalGenerator().generate(request(img, hole, depth))[0]
    sky = out[:24]
    assert np.abs(np.diff(sky, axis=0)).max() < 0.05 and np.abs(np.diff(sky, axis=1)).max() < 1e-6
    assert (sky[..., 2] > sky[..., 0]).all()  # bluish, not brick red
    # when the plate does show far content, it is copied instead
    depth[24:40, :] = 1.0
    out2 = ClassicalGenerator().generate(request(img, hole, depth))[0]
    fill = out2[:24]
    palette = np.minimum(np.abs(fill - BRICK).max(axis=2), np.abs(fill - MORTAR).max(axis=2))
    assert (palette < 0.05).mean() > 0.9


def test_import_stays_light() -> None:
    import subprocess
    import sys

    code = ("import sys, genpost_houdini.generators, genpost_houdini.generators.classical; "
            "bad = [m for m in ('torch', 'diffusers', 'hou', 'pdg') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
