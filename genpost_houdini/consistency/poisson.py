"""Gradient-domain (Poisson) blending of an assembled extension into the plate around it.

The extension is assembled from patches (other frames' plates, keyframes, generated pixels),
each already gain-matched to its surroundings (:mod:`.blend`). What is left are small steps
where patches meet and where the extension meets the plate. Here the extension ``X`` over the
``domain`` solves

    laplacian(X) = div(G)  in the domain,    X = boundary values on ``fixed`` neighbours,

with ``G`` the guide's (the assembled extension's) gradients, except across *seams* (neighbours
with different patch labels) where ``G = 0``: every patch keeps its own texture, and the offsets
at seams and at the boundary are spread smoothly over the patches (Perez et al. 2003). Domain
pixels next to neither (the image border, untrusted plate) have no constraint (Neumann).

Across a depth discontinuity there is no continuity to enforce: with the frame's ``depth``, a
fixed pixel off the surfaces of the domain next to it (a kept lamp post in front of the
extended facade) is no boundary value, and neighbours on different surfaces are not linked
(:func:`same_surface`; depth is the depth render's, planar or not: only ratios are compared).

Solved for the correction ``C = X - guide`` (smooth except at seams) by conjugate gradients
preconditioned with an aggregation multigrid V-cycle (piecewise-constant 2x2 aggregates, whose
Galerkin coarse operator is again a 4-neighbour graph Laplacian), over the domain's bounding
box, all channels at once. Deterministic (fixed iteration rules, no randomness).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..conditioning.morphology import window_max, window_min

#: Relative residual at which conjugate gradients stop, and their iteration cap.
TOLERANCE, MAX_ITERATIONS = 1e-3, 60
#: Damped-Jacobi weight and sweeps before/after each coarse correction; coarsest grid size.
JACOBI_WEIGHT, SWEEPS, COARSEST = 0.8, 2, 8
#: Larger problems are solved on a coarser grid (see :func:`poisson_blend`).
MAX_UNKNOWNS = 60_000
#: Neighbours whose depths differ by more than this fraction lie on different surfaces.
DEPTH_TOLERANCE = 0.05
#: A depth step this many times the steps beside it is a discontinuity (see :func:`depth_links`).
STEP_FACTOR = 3.0
#: Depth given to pixels with no finite positive depth (no hit: the sky): far, one surface.
NO_HIT_DEPTH = 1e9


@dataclass
class _Level:
    """A 4-neighbour graph Laplacian plus Dirichlet diagonal on a grid: ``we[y, x]`` links
    (y, x)-(y, x+1), ``ws[y, x]`` links (y, x)-(y+1, x); ``diag`` includes fixed neighbours."""

    we: np.ndarray
    ws: np.ndarray
    diag: np.ndarray
    unknown: np.ndarray

    def apply(self, x: np.ndarray) -> np.ndarray:
        """A @ x for x of shape (C, H, W) (zero outside the unknowns)."""
        y = self.diag * x
        t = self.we * x[:, :, 1:]
        y[:, :, :-1] -= t
        t = self.we * x[:, :, :-1]
        y[:, :, 1:] -= t
        t = self.ws * x[:, 1:, :]
        y[:, :-1, :] -= t
        t = self.ws * x[:, :-1, :]
        y[:, 1:, :] -= t
        return y

    def coarsen(self) -> "_Level":
        h, w = self.diag.shape
        h2, w2 = (h + 1) // 2, (w + 1) // 2
        pad = lambda a, hh, ww: np.pad(a, ((0, hh - a.shape[0]), (0, ww - a.shape[1])))  # noqa: E731
        we = pad(self.we, 2 * h2, 2 * w2)  # we has width w-1
        ws = pad(self.ws, 2 * h2, 2 * w2)
        unk = pad(self.unknown, 2 * h2, 2 * w2)
        dg = pad(self.diag, 2 * h2, 2 * w2)
        # external edges between blocks: east edges leaving column 2X+1, south edges leaving row 2Y+1
        we_c = (we[0::2, 1::2] + we[1::2, 1::2])[:, : w2 - 1]
        ws_c = (ws[1::2, 0::2] + ws[1::2, 1::2])[: h2 - 1, :]
        internal = we[0::2, 0::2] + we[1::2, 0::2] + ws[0::2, 0::2] + ws[0::2, 1::2]
        diag_c = dg[0::2, 0::2] + dg[0::2, 1::2] + dg[1::2, 0::2] + dg[1::2, 1::2] - 2.0 * internal
        unk_c = unk[0::2, 0::2] | unk[0::2, 1::2] | unk[1::2, 0::2] | unk[1::2, 1::2]
        return _Level(we_c.astype(np.float32), ws_c.astype(np.float32), np.where(unk_c, diag_c, 0.0).astype(np.float32), unk_c)


def _restrict(r: np.ndarray) -> np.ndarray:
    c, h, w = r.shape
    h2, w2 = (h + 1) // 2, (w + 1) // 2
    p = np.pad(r, ((0, 0), (0, 2 * h2 - h), (0, 2 * w2 - w)))
    return p[:, 0::2, 0::2] + p[:, 0::2, 1::2] + p[:, 1::2, 0::2] + p[:, 1::2, 1::2]


def _prolong(e: np.ndarray, h: int, w: int) -> np.ndarray:
    return np.repeat(np.repeat(e, 2, axis=1), 2, axis=2)[:, :h, :w]


def _vcycle(levels: list[_Level], i: int, r: np.ndarray) -> np.ndarray:
    lv = levels[i]
    inv = np.where(lv.diag > 0, JACOBI_WEIGHT / np.maximum(lv.diag, 1e-12), 0.0).astype(np.float32)
    if i == len(levels) - 1:
        x = inv * r
        for _ in range(40):
            x += inv * (r - lv.apply(x))
        return x
    x = inv * r
    for _ in range(SWEEPS - 1):
        x += inv * (r - lv.apply(x))
    coarse = _vcycle(levels, i + 1, _restrict(r - lv.apply(x)))
    x += _prolong(coarse, *lv.diag.shape)
    for _ in range(SWEEPS):
        x += inv * (r - lv.apply(x))
    return x


def log_depth(depth: np.ndarray) -> np.ndarray:
    """log of ``depth`` (H, W), with NO_HIT_DEPTH where it is not finite and positive."""
    z = np.asarray(depth, np.float32)
    return np.log(np.where(np.isfinite(z) & (z > 0), z, np.float32(NO_HIT_DEPTH))).astype(np.float32)


def depth_links(depth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(east (H, W-1), south (H-1, W)) bool: neighbours on one surface. A step in log depth
    above DEPTH_TOLERANCE and above STEP_FACTOR times the smaller of the steps beside it on the
    same line is a discontinuity; a plane at a grazing angle (large but even steps) stays linked."""
    return _links(log_depth(depth))


def _links(lz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`depth_links` of log depth ``lz``."""
    return _links_along_x(lz), _links_along_x(lz.T).T


def _links_along_x(lz: np.ndarray) -> np.ndarray:
    d = np.abs(np.diff(lz, axis=1))
    inf = np.float32(np.inf)
    left = np.pad(d, ((0, 0), (1, 0)), constant_values=inf)[:, :-1]
    right = np.pad(d, ((0, 0), (0, 1)), constant_values=inf)[:, 1:]
    beside = np.minimum(left, right)
    return (d <= np.float32(np.log1p(DEPTH_TOLERANCE))) | (d <= STEP_FACTOR * beside)


def same_surface(domain: np.ndarray, depth: np.ndarray, radius: int, tolerance: float = DEPTH_TOLERANCE) -> np.ndarray:
    """(H, W) bool: pixels whose depth lies within ``tolerance`` (relative) of the depth range of
    the ``domain`` pixels within ``radius`` (chessboard), or with no domain pixel that near.
    False marks what lies in front of (or behind) everything of the domain near it."""
    return _same_surface_log(domain, log_depth(depth), radius, tolerance)


def _same_surface_log(domain: np.ndarray, lz: np.ndarray, radius: int, tolerance: float = DEPTH_TOLERANCE) -> np.ndarray:
    """:func:`same_surface` of log depth ``lz``."""
    big = np.float32(1e30)
    hi = window_max(np.where(domain, lz, -big), radius, -big)
    lo = window_min(np.where(domain, lz, big), radius, big)
    tol = np.float32(np.log1p(tolerance))
    return (hi < -big / 2) | ((lz >= lo - tol) & (lz <= hi + tol))


def _solve(b: np.ndarray, g: np.ndarray, dom: np.ndarray, fix: np.ndarray, lab: np.ndarray | None,
           tolerance: float, max_iterations: int, weight: np.ndarray | None = None, screen: float = 0.0,
           links: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """The correction (C, H, W) on ``dom`` for planar boundary ``b`` and guide ``g``; ``links``
    (:func:`depth_links`): neighbours on different surfaces are not linked."""
    h, w = dom.shape

    link_e = np.ones((h, w - 1), bool)
    link_s = np.ones((h - 1, w), bool)
    if links is not None:
        link_e, link_s = links
    we = (dom[:, :-1] & dom[:, 1:] & link_e).astype(np.float32)
    ws = (dom[:-1, :] & dom[1:, :] & link_s).astype(np.float32)
    fe = dom[:, :-1] & fix[:, 1:] & link_e   # unknown (y, x) with a fixed east neighbour
    fw = fix[:, :-1] & dom[:, 1:] & link_e   # unknown (y, x+1) with a fixed west neighbour
    fs = dom[:-1, :] & fix[1:, :] & link_s
    fn = fix[:-1, :] & dom[1:, :] & link_s
    dd = np.zeros((h, w), np.float32)
    dd[:, :-1] += fe
    dd[:, 1:] += fw
    dd[:-1, :] += fs
    dd[1:, :] += fn
    diag = np.zeros((h, w), np.float32)
    diag[:, :-1] += we
    diag[:, 1:] += we
    diag[:-1, :] += ws
    diag[1:, :] += ws
    diag += dd
    diag[~dom] = 0.0

    # Right-hand side of L C = r for the correction C = X - g. Each edge has a guidance G (what
    # X_q - X_p should be, east/south neighbours q): the guide's difference, or across a seam the
    # gradient continued from either side (a smooth shading gradient survives, the step goes),
    # scaled by the edge's ``weight`` (damped guidance near the boundary fades structure in).
    # Across an edge to a fixed pixel G is the guide's gradient continued from the pixel's other
    # side when that is in the domain (a linear guide is then reproduced exactly).
    wt = np.ones((h, w), np.float32) if weight is None else weight.astype(np.float32)
    r = np.zeros_like(g)
    de = g[:, :, 1:] - g[:, :, :-1]  # guide differences of east edges (x -> x+1)
    ds = g[:, 1:, :] - g[:, :-1, :]
    ge, gs = de.copy(), ds.copy()  # guidance before weighting
    if lab is not None:
        # a seam runs between solid patches only: where labels interleave pixel by pixel (a
        # fragmented fill) the guide's own gradient is the best estimate and is kept
        solid = _solid(lab, dom)
        se = (we > 0) & (lab[:, :-1] != lab[:, 1:]) & solid[:, :-1] & solid[:, 1:]
        ss = (ws > 0) & (lab[:-1, :] != lab[1:, :]) & solid[:-1, :] & solid[1:, :]
        ge = np.where(se, _seam_gradient(g, dom, lab), ge)
        gs = np.where(ss, np.swapaxes(_seam_gradient(np.swapaxes(g, 1, 2), dom.T, lab.T), 1, 2), gs)
    jump_e = we * (de - np.minimum(wt[:, :-1], wt[:, 1:]) * ge)
    jump_s = ws * (ds - np.minimum(wt[:-1, :], wt[1:, :]) * gs)
    r[:, :, :-1] += jump_e
    r[:, :, 1:] -= jump_e
    r[:, :-1, :] += jump_s
    r[:, 1:, :] -= jump_s
    inner_e = dom[:, :-1] & dom[:, 1:] & link_e
    inner_s = dom[:-1, :] & dom[1:, :] & link_s
    # fixed east neighbour of p=(y, x): continued gradient g_p - g_west
    cont = np.zeros_like(g)
    cont[:, :, 1:] = np.where(inner_e, de, 0.0)
    r[:, :, :-1] += fe * (b[:, :, 1:] - g[:, :, :-1] - wt[:, :-1] * cont[:, :, :-1])
    cont = np.zeros_like(g)  # fixed west neighbour of p=(y, x+1): continued g_p - g_east
    cont[:, :, :-1] = np.where(inner_e, -de, 0.0)
    r[:, :, 1:] += fw * (b[:, :, :-1] - g[:, :, 1:] - wt[:, 1:] * cont[:, :, 1:])
    cont = np.zeros_like(g)
    cont[:, 1:, :] = np.where(inner_s, ds, 0.0)
    r[:, :-1, :] += fs * (b[:, 1:, :] - g[:, :-1, :] - wt[:-1, :] * cont[:, :-1, :])
    cont = np.zeros_like(g)
    cont[:, :-1, :] = np.where(inner_s, -ds, 0.0)
    r[:, 1:, :] += fn * (b[:, :-1, :] - g[:, 1:, :] - wt[1:, :] * cont[:, 1:, :])
    # an isolated domain component without any fixed neighbour is singular: no correction there
    # (the Neumann problem is determined only up to a constant); pin it with a tiny diagonal.
    # screening (corrections fade with distance) where the guidance is whole: where it is damped
    # (the fade band along the kept plate) the correction continues the boundary undiminished
    screened = np.float32(screen) * wt
    diag = np.where(dom, np.maximum(diag + screened, 1e-3), 0.0).astype(np.float32)
    r[:, ~dom] = 0.0

    levels = [_Level(we, ws, diag, dom)]
    while min(levels[-1].diag.shape) > COARSEST:
        levels.append(levels[-1].coarsen())
    x = np.zeros_like(r)
    res = r.copy()
    z = _vcycle(levels, 0, res)
    p = z.copy()
    rz = np.einsum("chw,chw->c", res, z)
    norm0 = np.sqrt(np.einsum("chw,chw->c", r, r))
    for _ in range(max_iterations):
        if np.all(np.sqrt(np.einsum("chw,chw->c", res, res)) <= tolerance * np.maximum(norm0, 1e-20)):
            break
        ap = levels[0].apply(p)
        denom = np.einsum("chw,chw->c", p, ap)
        alpha = np.where(denom > 0, rz / np.where(denom > 0, denom, 1.0), 0.0).astype(np.float32)
        x += alpha[:, None, None] * p
        res -= alpha[:, None, None] * ap
        z = _vcycle(levels, 0, res)
        rz_new = np.einsum("chw,chw->c", res, z)
        beta = np.where(rz > 0, rz_new / np.where(rz > 0, rz, 1.0), 0.0).astype(np.float32)
        p = z + beta[:, None, None] * p
        rz = rz_new
    return x


def _solid(lab: np.ndarray, dom: np.ndarray) -> np.ndarray:
    """(H, W) bool: domain pixels with at least 5 of their 8 neighbours in the same patch."""
    h, w = lab.shape
    p = np.pad(lab, 1, mode="edge")
    same = np.zeros((h, w), np.int8)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            if dy == 1 and dx == 1:
                continue
            same += p[dy:dy + h, dx:dx + w] == lab
    return dom & (same >= 5)


def _seam_gradient(g: np.ndarray, dom: np.ndarray, lab: np.ndarray) -> np.ndarray:
    """(C, H, W-1): for each east edge (x, x+1), the mean of the one-sided gradients
    g[x] - g[x-1] and g[x+2] - g[x+1] that lie within one patch of the domain (0 if none)."""
    c, h, w = g.shape
    d = g[:, :, 1:] - g[:, :, :-1]  # (C, H, W-1): gradient of edge (x, x+1)
    same = dom[:, :-1] & dom[:, 1:] & (lab[:, :-1] == lab[:, 1:])
    total = np.zeros((c, h, w - 1), np.float32)
    count = np.zeros((h, w - 1), np.float32)
    total[:, :, 1:] += d[:, :, :-1] * same[:, :-1]  # left: edge (x-1, x)
    count[:, 1:] += same[:, :-1]
    total[:, :, :-1] += d[:, :, 1:] * same[:, 1:]   # right: edge (x+1, x+2)
    count[:, :-1] += same[:, 1:]
    return total / np.maximum(count, 1.0)


def _block_log_depth(lz: np.ndarray, dom: np.ndarray, f: int) -> np.ndarray:
    """(h', w'): each f x f block's log depth, the median of its domain pixels' (all its pixels'
    mean where it has none): a median keeps a block straddling a discontinuity on one side."""
    import warnings

    h, w = dom.shape
    hp, wp = -(-h // f) * f, -(-w // f) * f
    padded = np.pad(np.where(dom, lz, np.nan), ((0, hp - h), (0, wp - w)), constant_values=np.nan)
    blocks = padded.reshape(hp // f, f, wp // f, f).transpose(0, 2, 1, 3).reshape(hp // f, wp // f, f * f)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN blocks: filled below
        median = np.nanmedian(blocks, axis=-1)
    whole = _block_mean(lz[..., None], np.ones(dom.shape, np.float32), f)[0][..., 0]
    return np.where(np.isfinite(median), median, whole).astype(np.float32)


def _block_mean(values: np.ndarray, weights: np.ndarray, f: int) -> tuple[np.ndarray, np.ndarray]:
    """(weighted means (h', w', C), weight sums (h', w')) over f x f blocks (edges zero-padded)."""
    h, w = weights.shape
    hp, wp = -(-h // f) * f, -(-w // f) * f
    wv = np.pad(values * weights[..., None], ((0, hp - h), (0, wp - w), (0, 0)))
    ww = np.pad(weights, ((0, hp - h), (0, wp - w)))
    sw = ww.reshape(hp // f, f, wp // f, f).sum(axis=(1, 3))
    sv = wv.reshape(hp // f, f, wp // f, f, -1).sum(axis=(1, 3))
    return (sv / np.maximum(sw[..., None], 1e-12)).astype(np.float32), sw


def poisson_blend(
    boundary: np.ndarray,
    guide: np.ndarray,
    domain: np.ndarray,
    fixed: np.ndarray,
    labels: np.ndarray | None = None,
    *,
    tolerance: float = TOLERANCE,
    max_iterations: int = MAX_ITERATIONS,
    max_unknowns: int = MAX_UNKNOWNS,
    weight: np.ndarray | None = None,
    reach: float | None = None,
    depth: np.ndarray | None = None,
) -> np.ndarray:
    """The blended extension (H, W, C) on ``domain`` (``guide`` elsewhere).

    ``boundary`` (H, W, C): values at ``fixed`` pixels (Dirichlet). ``guide`` (H, W, C): the
    assembled extension, whose gradients are kept. ``domain``/``fixed`` (H, W) bool, disjoint.
    ``labels`` (H, W) int: neighbours in the domain with different labels form a seam (no
    guidance across it); None: no seams. ``weight`` (H, W) in [0, 1] scales the guidance (0: a
    membrane that only continues the boundary; default 1). ``reach`` (pixels): a screened
    Poisson equation whose corrections fade over about that distance from where they arise
    (None: they spread over the whole domain); the screening scales with ``weight``, so where
    the guidance is damped the correction carries the boundary undiminished. When the domain's bounding box holds more than
    ``max_unknowns`` pixels, the correction is solved on a coarser grid (2x2, 4x4... block
    means) and interpolated bilinearly: it is smooth away from seams, and seams then soften
    over a block instead of showing a step. ``depth`` (H, W): the frame's depth; fixed pixels
    off the surfaces of the domain near them are no boundary (:func:`same_surface`, within a
    block or 2 pixels), and neighbours on different surfaces are not linked (pixels, or blocks
    by the median depth of their domain pixels).
    """
    from ..conditioning.pullpush import upsample
    from .blend import coarse_field

    guide = np.asarray(guide, np.float32)
    out = guide.copy()
    domain = np.asarray(domain, bool)
    fixed = np.asarray(fixed, bool) & ~domain
    if not domain.any():
        return out
    ys, xs = np.flatnonzero(domain.any(axis=1)), np.flatnonzero(domain.any(axis=0))
    f = 1
    while (ys[-1] - ys[0] + 1) * (xs[-1] - xs[0] + 1) > max_unknowns * f * f:
        f *= 2
    y0, y1 = max(0, ys[0] - f), min(domain.shape[0], ys[-1] + 1 + f)  # a margin of one block:
    x0, x1 = max(0, xs[0] - f), min(domain.shape[1], xs[-1] + 1 + f)  # fixed blocks around
    dom = domain[y0:y1, x0:x1]
    fix = fixed[y0:y1, x0:x1]
    lz = None
    if depth is not None:
        lz = log_depth(np.asarray(depth)[y0:y1, x0:x1])
        fix = fix & _same_surface_log(dom, lz, max(2, f))
    g = guide[y0:y1, x0:x1]
    b = np.asarray(boundary, np.float32)[y0:y1, x0:x1]
    lab = None if labels is None else np.asarray(labels)[y0:y1, x0:x1]
    wgt = None if weight is None else np.asarray(weight, np.float32)[y0:y1, x0:x1]
    if f == 1:
        screen = 0.0 if not reach else 1.0 / float(reach) ** 2
        corr = np.moveaxis(_solve(np.moveaxis(b, -1, 0), np.moveaxis(g, -1, 0), dom, fix, lab, tolerance, max_iterations, wgt, screen, None if lz is None else _links(lz)), 0, -1)
        sub = out[y0:y1, x0:x1]
        sub[dom] += corr[dom]
        return out
    g_c, n_dom = _block_mean(g, dom.astype(np.float32), f)
    b_c, n_fix = _block_mean(b, fix.astype(np.float32), f)
    fix_c = (n_fix > 0) & (n_fix >= n_dom)  # mostly known blocks hold the boundary
    dom_c = (n_dom > 0) & ~fix_c
    lab_c = None
    if lab is not None:  # a block's label: that of its first domain pixel in raster order
        h, w = dom.shape
        hp, wp = -(-h // f) * f, -(-w // f) * f
        big = np.iinfo(np.int64).max
        order = np.where(dom, np.arange(h * w).reshape(h, w), big)
        order = np.pad(order, ((0, hp - h), (0, wp - w)), constant_values=big)
        first = order.reshape(hp // f, f, wp // f, f).min(axis=(1, 3))
        lab_c = np.where(first < big, lab.reshape(-1)[np.minimum(first, h * w - 1)], -1)
    wgt_c = None if wgt is None else _block_mean(wgt[..., None], dom.astype(np.float32), f)[0][..., 0]
    screen_c = 0.0 if not reach else (f / float(reach)) ** 2
    links_c = None if lz is None else _links(_block_log_depth(lz, dom, f))  # links of the solved grid only
    corr_c = np.moveaxis(_solve(np.moveaxis(b_c, -1, 0), np.moveaxis(g_c, -1, 0), dom_c, fix_c, lab_c, tolerance, max_iterations, wgt_c, screen_c, links_c), 0, -1)
    mixed = fix_c & (n_dom > 0)  # boundary blocks holding domain pixels: correct the mismatch
    corr_c[mixed] = (b_c - g_c)[mixed]
    field = upsample(coarse_field(corr_c, (dom_c | mixed).astype(np.float32), 1), dom.shape[0], dom.shape[1], f)
    sub = out[y0:y1, x0:x1]
    sub += np.where(dom[..., None], field, 0.0).astype(np.float32)
    return out
