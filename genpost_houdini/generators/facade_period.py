"""The storey (or bay) period of a facade: self-similarity of its known texture under world
shifts ``X -> X - p * direction`` that land on known pixels of the same surface (:mod:`.facade`).

A coarse log grid of candidate periods, the smallest clear dip of the self-difference relative
to that of unrelated pixels (a fundamental, not a multiple), then a fine bilinear refinement.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from .facade_geometry import FrameCamera, Geometry, nearest_ok, sample_at


def _shift_scores(cam: FrameCamera, g: Geometry, feat: np.ndarray, ok_src: np.ndarray, sy: np.ndarray,
                  sx: np.ndarray, direction: np.ndarray, periods: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean |feature difference| between samples and their shifts by -p * direction, and the
    number of pairs that landed on the same surface, per candidate period."""
    pts = g.world[sy, sx]
    fs = feat[sy, sx]
    scores = np.full(periods.size, np.inf)
    counts = np.zeros(periods.size, dtype=np.int64)
    for i, p in enumerate(periods):
        q = pts - p * direction
        ok, yy, xx = nearest_ok(cam, g, ok_src, q)
        if ok.sum() == 0:
            continue
        d = np.abs(fs[ok] - feat[yy[ok], xx[ok]]).mean()
        scores[i], counts[i] = d, int(ok.sum())
    return scores, counts


def _pick_period(periods: np.ndarray, scores: np.ndarray, counts: np.ndarray, baseline: float,
                 min_pairs: int, max_score: float = 0.7, min_dip: float = 0.12) -> Optional[tuple[float, float]]:
    """(period, normalised score) of the smallest period at a clear dip of the curve, or None."""
    s = np.where(counts >= min_pairs, scores / max(baseline, 1e-9), np.inf)
    good: list[int] = []
    running_max = -np.inf
    for i in range(s.size):
        if np.isfinite(s[i]):
            left = s[i - 1] if i > 0 else np.inf
            right = s[i + 1] if i + 1 < s.size else np.inf
            if s[i] <= left and s[i] <= right and s[i] < max_score and running_max >= s[i] + min_dip:
                good.append(i)
            running_max = max(running_max, s[i])
    if not good:
        return None
    best = min(s[i] for i in good)
    for i in good:  # smallest period that is nearly as good: a fundamental, not a multiple
        if s[i] <= best + 0.05:
            return float(periods[i]), float(s[i])
    return None


def _samples(mask: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.nonzero(mask)
    if ys.size > limit:
        take = np.linspace(0, ys.size - 1, limit).astype(np.int64)
        ys, xs = ys[take], xs[take]
    return ys, xs


def estimate_period(cam: FrameCamera, g: Geometry, feat: np.ndarray, ok_src: np.ndarray,
                    direction: np.ndarray, lo: float, hi: float, samples: int = 3000,
                    max_score: float = 0.7) -> Optional[tuple[float, float]]:
    """(period, score) of the known texture along ``direction`` (a (3,) vector or (H, W, 3) field) in
    [lo, hi] world units, or None when there is no clear one (no dip of the self-difference,
    relative to that of unrelated pixels, below ``max_score``). Coarse log grid, then refined."""
    if not hi > lo > 0:
        return None
    sy, sx = _samples(ok_src, samples)
    if sy.size < 100:
        return None
    dirs = direction[sy, sx] if direction.ndim == 3 else direction
    fs = feat[sy, sx]
    perm = np.roll(np.arange(sy.size), sy.size // 2 + 1)
    baseline = float(np.abs(fs - fs[perm]).mean())
    min_pairs = max(60, sy.size // 20)
    periods = np.exp(np.arange(np.log(lo), np.log(hi), np.log(1.025)))
    if periods.size < 3:
        return None

    def scores_for(ps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _shift_scores(cam, g, feat, ok_src, sy, sx, dirs, ps)

    scores, counts = scores_for(periods)
    picked = _pick_period(periods, scores, counts, baseline, min_pairs, max_score=max_score)
    if picked is None:
        return None
    p, score = picked
    # refine on a fine grid: bilinear samples, the same pairs for every candidate
    fine = p * np.linspace(0.975, 1.025, 21)
    pts = g.world[sy, sx]
    src = np.where(ok_src[..., None], feat, 0.0)
    diffs = np.full((fine.size, sy.size), np.nan)
    for i, pf in enumerate(fine):
        acc, wsum = sample_at(src, ok_src, cam, g, pts - pf * dirs)
        good = wsum > 0.9
        diffs[i, good] = np.abs(fs[good] - acc[good] / wsum[good, None]).mean(axis=1)
    common = np.isfinite(diffs).all(axis=0)
    if common.sum() < min_pairs:
        return p, score
    return float(fine[int(np.argmin(diffs[:, common].mean(axis=1)))]), score
