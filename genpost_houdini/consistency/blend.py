"""Seamless placement of reprojected pixels.

Pixels carried from another frame see the same surface, but real footage shades it a little
differently from each viewpoint (specular, vignetting, exposure). Placed as they are, patches
from different frames meet in soft seams. Here each patch gets a smooth multiplicative gain
field: on a ring of pixels the target already has (plate, or earlier patches) the gain is
exactly target / source; inside the patch it is interpolated by pull-push (Gortler et al.
1996), a fast approximation of a membrane. Deterministic, local, and bounded.
"""

from __future__ import annotations

import numpy as np

#: The largest correction, as a factor either way: beyond it the source is not the same surface.
MAX_GAIN = 1.5
_EPS = 1e-4


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """4-neighbour dilation of a boolean mask by ``radius`` pixels."""
    out = mask.copy()
    for _ in range(radius):
        grown = out.copy()
        grown[1:] |= out[:-1]
        grown[:-1] |= out[1:]
        grown[:, 1:] |= out[:, :-1]
        grown[:, :-1] |= out[:, 1:]
        out = grown
    return out


def pull_push(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Fill ``values`` (H, W, C) everywhere from the samples where ``weights`` (H, W) > 0."""
    h, w = weights.shape
    if h <= 1 and w <= 1:
        return values.copy()
    wv = values * weights[..., None]
    # Pull: 2x2 weighted averages (odd sizes padded by edge replication).
    ph, pw = h + (h & 1), w + (w & 1)
    wv_p = np.pad(wv, ((0, ph - h), (0, pw - w), (0, 0)), mode="edge")
    w_p = np.pad(weights, ((0, ph - h), (0, pw - w)), mode="edge")
    coarse_wv = wv_p.reshape(ph // 2, 2, pw // 2, 2, -1).sum(axis=(1, 3))
    coarse_w = w_p.reshape(ph // 2, 2, pw // 2, 2).sum(axis=(1, 3))
    coarse_v = np.where(coarse_w[..., None] > 0, coarse_wv / np.maximum(coarse_w[..., None], 1e-12), 0.0)
    filled_coarse = pull_push(coarse_v, np.minimum(coarse_w, 1.0))
    # Push: where this level has little weight, take the coarser estimate (bilinear, so the
    # filled field has no steps).
    up = _upsample2(filled_coarse, h, w)
    a = np.minimum(weights, 1.0)[..., None]
    return values * a + up * (1.0 - a)


def _upsample2(coarse: np.ndarray, h: int, w: int) -> np.ndarray:
    """Bilinear 2x upsampling of (h', w', C) to (h, w, C), pixel centres aligned."""

    def axis_weights(n_fine: int, n_coarse: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pos = np.clip((np.arange(n_fine) + 0.5) / 2.0 - 0.5, 0.0, n_coarse - 1)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, n_coarse - 1)
        return lo, hi, (pos - lo).astype(np.float32)

    y0, y1, fy = axis_weights(h, coarse.shape[0])
    x0, x1, fx = axis_weights(w, coarse.shape[1])
    rows = coarse[y0] * (1.0 - fy)[:, None, None] + coarse[y1] * fy[:, None, None]
    return rows[:, x0] * (1.0 - fx)[None, :, None] + rows[:, x1] * fx[None, :, None]


def harmonise(target: np.ndarray, sampled: np.ndarray, fill: np.ndarray, ring: np.ndarray) -> np.ndarray:
    """``sampled`` (H, W, 3) corrected to agree with ``target`` on ``ring``, for the ``fill`` pixels.

    Returns the corrected colours of the ``fill`` pixels, in ``fill``'s order (``[fill]``).
    With too few ring pixels the samples come back unchanged.
    """
    if ring.sum() < 16 or not fill.any():
        return sampled[fill]
    ys, xs = np.nonzero(fill | ring)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    t = np.clip(target[y0:y1, x0:x1], 0.0, None) + _EPS
    s = np.clip(sampled[y0:y1, x0:x1], 0.0, None) + _EPS
    r = ring[y0:y1, x0:x1]
    log_gain = np.zeros(t.shape, np.float32)
    log_gain[r] = np.clip(np.log(t[r] / s[r]), -np.log(MAX_GAIN), np.log(MAX_GAIN))
    field = pull_push(log_gain, r.astype(np.float32))
    f = fill[y0:y1, x0:x1]
    corrected = s[f] * np.exp(field[f]) - _EPS
    return corrected.astype(np.float32)
