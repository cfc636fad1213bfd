"""Poisson-disk spacing and neighbour queries in the horizontal plane, vectorised (no
per-point Python loop).

:func:`poisson_fill` throws darts in parallel phases on a grid of cells ``radius / sqrt(2)``
wide (Wei 2008): a cell holds at most one point, cells three apart never conflict, so every
cell of a phase is tested at once against its 5 x 5 neighbourhood. :func:`pairs_within` finds
all pairs closer than a radius with a hash grid, in steps of bounded size (for walkers' paths,
neighbours, QC); :func:`neighbour_pairs` does so for people over a whole shot.
"""

from __future__ import annotations

import math

import numpy as np

#: Grids bigger than this many cells are refused (the caller widens the spacing first).
MAX_CELLS = 8_000_000
#: :func:`pairs_within` tests at most this many candidate pairs at once (~100 MB of temporaries).
MAX_STEP_PAIRS = 2_000_000


def poisson_fill(xy: np.ndarray, radius: float, rng: np.random.Generator) -> np.ndarray:
    """Indices of a subset of candidate points ``xy`` (N, 2) no two closer than ``radius``.

    Candidates compete in random order within their cell; with enough candidates per cell the
    result is a maximal Poisson-disk set over the area the candidates cover.
    """
    xy = np.asarray(xy, np.float64)
    if not len(xy):
        return np.zeros(0, np.int64)
    cell = radius / math.sqrt(2.0)
    lo = xy.min(axis=0)
    ij = np.floor((xy - lo) / cell).astype(np.int64)
    gx, gy = int(ij[:, 0].max()) + 1, int(ij[:, 1].max()) + 1
    if gx * gy > MAX_CELLS:
        raise ValueError(f"poisson_fill: {gx}x{gy} cells is too many (widen the spacing)")
    key = ij[:, 0] * gy + ij[:, 1]
    order = np.lexsort((rng.random(len(xy)), key))
    key_sorted = key[order]
    first = np.searchsorted(key_sorted, key_sorted, side="left")
    rank = np.empty(len(xy), np.int64)
    rank[order] = np.arange(len(xy)) - first
    # Occupancy, padded by two cells on each side: the accepted candidate's index, or -1.
    occ = np.full((gx + 4, gy + 4), -1, np.int64)
    offsets = np.array([(dx, dy) for dx in range(-2, 3) for dy in range(-2, 3) if abs(dx) + abs(dy) < 4])
    phase = (ij[:, 0] % 3) * 3 + (ij[:, 1] % 3)
    r2 = radius * radius
    by_rank = np.argsort(rank, kind="stable")
    rank_sorted = rank[by_rank]
    bounds = np.searchsorted(rank_sorted, np.arange(int(rank.max()) + 2))
    for t in range(int(rank.max()) + 1):
        trial = by_rank[bounds[t]:bounds[t + 1]]
        for ph in rng.permutation(9):
            cand = trial[phase[trial] == ph]
            if not len(cand):
                continue
            ci, cj = ij[cand, 0] + 2, ij[cand, 1] + 2
            cand = cand[occ[ci, cj] < 0]
            if not len(cand):
                continue
            ci, cj = ij[cand, 0] + 2, ij[cand, 1] + 2
            nb = occ[ci[:, None] + offsets[None, :, 0], cj[:, None] + offsets[None, :, 1]]  # (m, 21)
            has = nb >= 0
            d2 = np.where(has, np.sum((xy[np.maximum(nb, 0)] - xy[cand][:, None, :]) ** 2, axis=-1), np.inf)
            ok = (d2 >= r2).all(axis=1)
            occ[ci[ok], cj[ok]] = cand[ok]
    got = occ[occ >= 0]
    return np.sort(got)


def pairs_within(a: np.ndarray, b: np.ndarray | None, radius: float, *, chunk: int = 200_000,
                 step: int = MAX_STEP_PAIRS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All pairs (i in a, j in b) with distance < ``radius``: (i, j, distance). With ``b`` None,
    pairs within ``a`` itself, each once (i < j). Points are (N, D) with D = 2 or 3; the grid
    is over the first two coordinates. Work is done in steps of at most ``step`` candidate
    pairs (bounded memory per step; only the pairs found are kept)."""
    a = np.asarray(a, np.float64)
    self_pairs = b is None
    b = a if b is None else np.asarray(b, np.float64)
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    if not len(a) or not len(b) or radius <= 0:
        return empty
    finite_b = np.nonzero(np.isfinite(b).all(axis=1))[0]
    if not len(finite_b):
        return empty
    lo = b[finite_b, :2].min(axis=0)
    bij = np.floor((b[finite_b, :2] - lo) / radius).astype(np.int64)
    span = int(bij[:, 1].max()) + 3
    bkey = (bij[:, 0] + 1) * span + (bij[:, 1] + 1)
    order = np.argsort(bkey, kind="stable")
    bkey_sorted = bkey[order]
    bidx = finite_b[order]
    out_i, out_j, out_d = [], [], []
    finite_a = np.nonzero(np.isfinite(a).all(axis=1))[0]
    for s in range(0, len(finite_a), chunk):
        ia_all = finite_a[s:s + chunk]
        aij = np.floor((a[ia_all, :2] - lo) / radius).astype(np.int64)
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                kx, ky = aij[:, 0] + dx + 1, aij[:, 1] + dy + 1
                valid = (ky >= 0) & (ky < span) & (kx >= 0)
                k = np.where(valid, kx * span + ky, -1)
                lo_all = np.searchsorted(bkey_sorted, k, side="left")
                n_all = np.where(valid, np.searchsorted(bkey_sorted, k, side="right") - lo_all, 0)
                cum = np.cumsum(n_all)
                r0 = 0
                while r0 < len(n_all):
                    # Rows r0..r1-1 hold at most `step` candidates (at least one row per step).
                    base = int(cum[r0 - 1]) if r0 else 0
                    r1 = max(int(np.searchsorted(cum, base + step, side="right")), r0 + 1)
                    n, lo_i = n_all[r0:r1], lo_all[r0:r1]
                    total = int(n.sum())
                    rows = ia_all[r0:r1]
                    r0 = r1
                    if not total:
                        continue
                    rep = np.repeat(np.arange(len(rows)), n)
                    start = np.repeat(lo_i - np.concatenate([[0], np.cumsum(n)[:-1]]), n)
                    jj = bidx[start + np.arange(total)]
                    ii = rows[rep]
                    d = np.sqrt(np.sum((a[ii] - b[jj]) ** 2, axis=1))
                    keep = d < radius
                    if self_pairs:
                        keep &= ii < jj
                    out_i.append(ii[keep])
                    out_j.append(jj[keep])
                    out_d.append(d[keep])
    if not out_i:
        return empty
    return np.concatenate(out_i), np.concatenate(out_j), np.concatenate(out_d)


def near_any(query: np.ndarray, ref: np.ndarray, radius: float) -> np.ndarray:
    """(N,) bool: which ``query`` points lie within ``radius`` of any ``ref`` point."""
    i, _, _ = pairs_within(query, ref, radius)
    hit = np.zeros(len(query), bool)
    hit[i] = True
    return hit


def neighbour_pairs(tracks: list[np.ndarray], radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i < j, sorted) of people within ``radius`` of each other at some frame. A
    track is (F, 2) (NaN when absent) or (1, 2) for someone standing still. Memory is bounded
    by the pairs found (the caller bounds ``radius`` by the density)."""
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64))
    if not tracks:
        return empty
    static = np.array([k for k, tr in enumerate(tracks) if len(tr) == 1], np.int64)
    moving = [k for k, tr in enumerate(tracks) if len(tr) > 1]
    found_i: list[np.ndarray] = []
    found_j: list[np.ndarray] = []
    pts = np.concatenate([tracks[k] for k in static]) if len(static) else np.zeros((0, 2))
    if len(static):
        i, j, _ = pairs_within(pts, None, radius)
        found_i.append(static[i])
        found_j.append(static[j])
    if moving:
        lengths = [len(tracks[k]) for k in moving]
        samples = np.concatenate([tracks[k] for k in moving])
        owner = np.repeat(np.array(moving, np.int64), lengths)
        fidx = np.concatenate([np.arange(n) for n in lengths])
        finite = np.isfinite(samples).all(axis=1)
        samples, owner, fidx = samples[finite], owner[finite], fidx[finite]
        if len(static) and len(samples):
            i, j, _ = pairs_within(samples, pts, radius)
            found_i.append(owner[i])
            found_j.append(static[j])
        if len(samples):
            span = float(np.ptp(samples[:, 0])) + 4 * radius + 1.0
            shifted = samples.copy()
            shifted[:, 0] += fidx * span  # same frame only
            i, j, _ = pairs_within(shifted, None, radius)
            other = owner[i] != owner[j]
            found_i.append(owner[i][other])
            found_j.append(owner[j][other])
    if not found_i:
        return empty
    a, b = np.concatenate(found_i), np.concatenate(found_j)
    n = len(tracks)
    key = np.unique(np.minimum(a, b) * n + np.maximum(a, b))
    return key // n, key % n
