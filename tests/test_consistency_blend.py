"""Seamless placement: pull-push interpolation and gain harmonisation."""

from __future__ import annotations

import numpy as np

from genpost_houdini.consistency.blend import MAX_GAIN, dilate, harmonise, pull_push


def test_pull_push_keeps_samples_and_fills_smoothly() -> None:
    values = np.zeros((33, 47, 1), np.float32)
    weights = np.zeros((33, 47), np.float32)
    values[:, 0, 0], weights[:, 0] = 1.0, 1.0
    values[:, -1, 0], weights[:, -1] = 3.0, 1.0
    out = pull_push(values, weights)[..., 0]
    assert np.allclose(out[:, 0], 1.0) and np.allclose(out[:, -1], 3.0)
    mid = out[16]
    assert 1.0 <= mid.min() and mid.max() <= 3.0
    assert mid[5] < mid[23] < mid[41], "interpolates between the two sides"


def test_harmonise_removes_a_gain_step_and_is_bounded() -> None:
    h, w = 40, 60
    target = np.full((h, w, 3), 0.5, np.float32)
    sampled = target * 0.8  # the other view sees the surface 20 % darker
    fill = np.zeros((h, w), bool)
    fill[10:30, 15:45] = True
    ring = dilate(fill, 3) & ~fill
    fixed = harmonise(target, sampled, fill, ring)
    assert np.allclose(fixed, 0.5, atol=1e-3)
    dark = harmonise(target, target * 0.1, fill, ring)
    assert np.allclose(dark, 0.05 * MAX_GAIN, rtol=1e-2), "corrections are bounded: not the same surface"
    few = harmonise(target, sampled, fill, np.zeros_like(ring))
    assert np.allclose(few, 0.4), "without a ring the samples are unchanged"


def test_dilate_is_square_and_erode_undoes_it() -> None:
    from genpost_houdini.conditioning.morphology import erode

    m = np.zeros((9, 9), bool)
    m[4, 4] = True
    assert np.array_equal(np.argwhere(dilate(m, 2)), np.argwhere(np.pad(np.ones((5, 5), bool), 2)))
    assert np.array_equal(erode(dilate(m, 2), 2), m)
    edge = np.ones((5, 5), bool)
    assert erode(edge, 1).sum() == 9, "pixels outside the image count as unset"
    assert erode(edge, 1, outside=True).all(), "unless the border counts as set"


def test_ring_around_matches_full_dilation() -> None:
    from genpost_houdini.consistency.blend import ring_around

    m = np.zeros((30, 40), bool)
    m[5:9, 30:38] = True
    assert np.array_equal(ring_around(m, 3), dilate(m, 3) & ~m)
    assert not ring_around(np.zeros((4, 4), bool), 2).any()


def test_matching_patches_are_left_exactly_as_they_are() -> None:
    target = np.full((20, 20, 3), 0.5, np.float32)
    sampled = target * 1.001
    fill = np.zeros((20, 20), bool)
    fill[5:15, 5:15] = True
    out = harmonise(target, sampled, fill, dilate(fill, 2) & ~fill)
    assert np.array_equal(out, sampled[fill])
