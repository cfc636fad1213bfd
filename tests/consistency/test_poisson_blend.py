"""Poisson blending: analytic cases (offsets, linear fields, seams, coarse solves)."""

from __future__ import annotations

import numpy as np

from genpost_houdini.consistency.poisson import poisson_blend

H, W = 96, 128


def _linear() -> np.ndarray:
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    return np.dstack([0.01 * x + 0.005 * y + 0.1, 0.5 - 0.002 * x, 0.2 + 0.0 * x]).astype(np.float32)


def _domain() -> np.ndarray:
    d = np.zeros((H, W), bool)
    d[16:80, 20:110] = True
    return d


def test_offset_patch_takes_the_boundary_and_keeps_its_gradients() -> None:
    lin, dom = _linear(), _domain()
    out = poisson_blend(lin + 0.3, lin, dom, ~dom, tolerance=1e-6, max_iterations=200)
    assert np.abs(out[dom] - (lin + 0.3)[dom]).max() < 1e-3
    assert np.array_equal(out[~dom], lin[~dom])  # only the domain changes


def test_seam_between_patches_is_removed() -> None:
    lin, dom = _linear(), _domain()
    labels = np.zeros((H, W), np.int32)
    labels[:, 64:] = 1
    guide = lin.copy()
    guide[:, 64:] += 0.2  # the right patch came from a brighter view
    out = poisson_blend(lin, guide, dom, ~dom, labels, tolerance=1e-6, max_iterations=200)
    assert np.abs(out[dom] - lin[dom]).max() < 2e-3
    # without labels the step is guidance: it is kept (Poisson keeps every gradient)
    kept = poisson_blend(lin, guide, dom, ~dom, tolerance=1e-6, max_iterations=200)
    assert abs(float((kept[40, 64] - kept[40, 63])[0]) - 0.21) < 0.02


def test_neumann_sides_and_unconstrained_component() -> None:
    lin, dom = _linear(), _domain()
    fixed = np.zeros((H, W), bool)
    fixed[15, 20:110] = True  # only the top is known
    out = poisson_blend(lin + 0.1, lin, dom, fixed, tolerance=1e-6, max_iterations=300)
    assert np.abs(out[dom] - (lin + 0.1)[dom]).max() < 2e-3
    alone = poisson_blend(lin, lin + 5.0, dom, np.zeros((H, W), bool))
    assert np.allclose(alone[dom], (lin + 5.0)[dom], atol=1e-3)  # nothing to match: unchanged


def test_coarse_solve_of_a_large_domain_is_close() -> None:
    lin, dom = _linear(), _domain()
    rng = np.random.default_rng(0)
    texture = rng.normal(0, 0.02, (H, W, 3)).astype(np.float32)
    guide = lin + texture + 0.25
    out = poisson_blend(lin + texture, guide, dom, ~dom, max_unknowns=1500)
    inner = np.zeros_like(dom)
    inner[24:72, 28:102] = True
    err = (out - (lin + texture))[inner]
    assert np.abs(err.mean(axis=0)).max() < 0.01  # the 0.25 offset is gone
    # texture (the guide's gradients) is kept exactly: the correction is smooth
    assert np.abs(np.diff(out - guide, axis=1)[inner[:, 1:]]).max() < 0.02


def test_empty_domain_is_a_copy() -> None:
    lin = _linear()
    out = poisson_blend(lin + 1, lin, np.zeros((H, W), bool), np.ones((H, W), bool))
    assert np.array_equal(out, lin)
