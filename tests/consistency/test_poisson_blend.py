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


# -- depth: nothing is matched across a discontinuity ----------------------------------------------

def _wall_and_post() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A wall at 20 m (colour: the linear field) filling the frame, with a dark post at 10 m
    standing in front of it through the domain's lower edge; the domain is wall only."""
    lin = _linear()
    depth = np.full((H, W), 20.0, np.float32)
    post = np.zeros((H, W), bool)
    post[50:, 60:66] = True
    depth[post] = 10.0
    truth = lin.copy()
    truth[post] = 0.02
    domain = np.zeros((H, W), bool)
    domain[10:60, 20:110] = True
    domain &= ~post
    return truth, depth, post, domain


def test_a_post_in_front_is_no_boundary_for_the_wall_behind() -> None:
    truth, depth, post, dom = _wall_and_post()
    for f_max in (60_000, 1500):  # full resolution and the coarse solve
        blind = poisson_blend(truth, truth + 0.1, dom, ~dom, max_unknowns=f_max, reach=40)
        seen = poisson_blend(truth, truth + 0.1, dom, ~dom, max_unknowns=f_max, reach=40, depth=depth)
        beside = np.zeros_like(dom)  # wall pixels of the domain just beside the post
        beside[50:58, 56:60] = True
        beside[50:58, 66:70] = True
        err_blind = np.abs(blind - truth)[beside].mean()
        err_seen = np.abs(seen - truth)[beside].mean()
        # without depth the dark post drags the wall towards it; with depth the wall takes its
        # own boundary (the wall around the domain) and stays within the blend's residual
        assert err_blind > 0.04, (f_max, err_blind)
        assert err_seen < 0.02, (f_max, err_seen)


def test_depth_links_keep_a_grazing_plane_and_cut_a_step() -> None:
    from genpost_houdini.consistency.poisson import depth_links

    y = np.arange(H, dtype=np.float32)[:, None] + np.zeros((1, W), np.float32)
    ground = 1.0 / (0.002 + 0.0012 * y)  # a ground plane: inverse depth affine in rows, ~7 % per row far off
    east, south = depth_links(ground)
    assert east.all() and south.all()
    stepped = ground.copy()
    stepped[:, 64:] *= 3.0  # a building edge: far behind from column 64
    east, south = depth_links(stepped)
    assert not east[:, 63].any() and east[:, :63].all() and east[:, 64:].all()
    assert south.all()


def test_same_surface_marks_what_stands_in_front() -> None:
    from genpost_houdini.consistency.poisson import same_surface

    truth, depth, post, dom = _wall_and_post()
    ok = same_surface(dom, depth, 3)
    near_dom = np.zeros_like(dom)
    near_dom[8:63, 18:112] = True
    assert not ok[post & near_dom & (np.arange(H)[:, None] < 63)].any()  # the post near the wall
    assert ok[~post].all()  # the wall itself, and pixels far from the domain
