"""Image measures of real-plate QC on images with known answers."""

from __future__ import annotations

import numpy as np

from genpost_houdini.qc.plates import edge_step_sums, edge_strips, hf_energy_sums, screen_cast

H, W = 80, 100


def _matte() -> np.ndarray:
    y = np.arange(H, dtype=np.float32)[:, None]
    return (np.clip((30 - y) / 6.0, 0.0, 1.0) * np.ones((1, W), np.float32)).astype(np.float32)


def test_hf_energy_of_white_noise() -> None:
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 0.1, (H, W, 3)).astype(np.float32)
    s, n = hf_energy_sums(noise, np.ones((H, W), bool))
    # 3x3 binomial high-pass of white noise keeps (1 - 2*(3/8)^... ) = 1 - 2*0.140625 + 0.140625 of the variance
    k = np.outer([0.25, 0.5, 0.25], [0.25, 0.5, 0.25])
    expected = 0.01 * ((1 - k[1, 1]) ** 2 + (k ** 2).sum() - k[1, 1] ** 2)
    assert abs(s / n - expected) < 0.05 * expected
    assert hf_energy_sums(np.full((H, W, 3), 0.4, np.float32), np.ones((H, W), bool))[0] == 0.0


def test_edge_step_is_the_offset_across_the_edge() -> None:
    matte = _matte()
    inside, outside, ramp = edge_strips(matte)
    assert inside.any() and outside.any() and ramp.any()
    assert (matte[inside] >= 0.999).all() and (matte[outside] == 0).all()
    flat = np.full((H, W, 3), 0.3, np.float32)
    s, n = edge_step_sums(flat, matte)
    assert n > 0 and s / n < 1e-9
    stepped = flat + 0.1 * (matte >= 0.5)[..., None]
    s, n = edge_step_sums(stepped, matte)
    assert abs(s / n - 0.1) < 1e-6
    hard = (matte >= 0.5).astype(np.float32)  # a hard matte is measured on both sides of its edge
    s, n = edge_step_sums(stepped, hard)
    assert abs(s / n - 0.1) < 1e-6


def test_screen_cast() -> None:
    img = np.full((2, 3, 3), 0.4, np.float32)
    img[0, 0] = (0.35, 0.38, 0.5)  # visibly blue
    img[0, 1] = (0.40, 0.40, 0.43)  # a touch cool, not a cast
    img[0, 2] = (0.10, 0.40, 0.12)  # green
    blue = screen_cast(img, "blue")
    assert blue[0, 0] and not blue[0, 1] and not blue[1].any()
    assert screen_cast(img, "green")[0, 2]
