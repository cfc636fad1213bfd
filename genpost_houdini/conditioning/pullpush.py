"""Pull-push interpolation (Gortler et al. 1996): fill an image everywhere from weighted samples.

The one implementation for every caller (set extension's gain fields, the classical
generator's pyramid estimates). Pull: 2x2 weighted averages down to one pixel (odd sizes padded
by edge replication). Push: back up, each level keeping its own value in proportion to its
weight (clipped to 1) and taking the coarser estimate, upsampled bilinearly with pixel centres
aligned, for the rest; so samples of weight 1 are kept exactly and the fill has no steps.

OpenImageIO's ``ImageBufAlgo.fillholes_pushpull`` does the same by alpha; measured on a
960x540 gradient with 5 % samples it was about 2x slower than this and 1.7x less accurate
in the holes (its pyramid is filtered by ``resize``), so this numpy version is kept.
"""

from __future__ import annotations

import numpy as np


def pull_push(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``values`` (H, W, C) filled everywhere from the samples where ``weights`` (H, W) > 0.

    Where ``weights >= 1`` the values are returned unchanged; with no sample at all (every
    weight 0) the values come back unchanged too.
    """
    wgt = np.asarray(weights, dtype=np.float32)
    h, w = wgt.shape
    if (h <= 1 and w <= 1) or wgt.min() >= 1.0 or wgt.max() <= 0.0:
        return values.copy()
    return _pull_push(values, wgt)


def _pull_push(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    h, w = weights.shape
    if h <= 1 and w <= 1:
        return values.copy()
    wv = values * weights[..., None]
    ph, pw = h + (h & 1), w + (w & 1)
    wv_p = np.pad(wv, ((0, ph - h), (0, pw - w), (0, 0)), mode="edge")
    w_p = np.pad(weights, ((0, ph - h), (0, pw - w)), mode="edge")
    coarse_wv = wv_p.reshape(ph // 2, 2, pw // 2, 2, -1).sum(axis=(1, 3))
    coarse_w = w_p.reshape(ph // 2, 2, pw // 2, 2).sum(axis=(1, 3))
    coarse_v = np.where(coarse_w[..., None] > 0, coarse_wv / np.maximum(coarse_w[..., None], 1e-12), 0.0)
    filled_coarse = _pull_push(coarse_v.astype(values.dtype, copy=False), np.minimum(coarse_w, 1.0))
    up = upsample(filled_coarse, h, w, 2)
    a = np.minimum(weights, 1.0)[..., None]
    return values * a + up * (1.0 - a)


def upsample(coarse: np.ndarray, h: int, w: int, step: int) -> np.ndarray:
    """Bilinear upsampling of a ``step``-times coarser (h', w', C) grid to (h, w, C), pixel
    centres aligned (fine pixel ``i`` sits at coarse ``(i + 0.5) / step - 0.5``), edges clamped."""

    def axis_weights(n_fine: int, n_coarse: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pos = np.clip((np.arange(n_fine) + 0.5) / step - 0.5, 0.0, n_coarse - 1)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, n_coarse - 1)
        return lo, hi, (pos - lo).astype(np.float32)

    y0, y1, fy = axis_weights(h, coarse.shape[0])
    x0, x1, fx = axis_weights(w, coarse.shape[1])
    rows = coarse[y0] * (1.0 - fy)[:, None, None] + coarse[y1] * fy[:, None, None]
    return rows[:, x0] * (1.0 - fx)[None, :, None] + rows[:, x1] * fx[None, :, None]
