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


def ring_around(mask: np.ndarray, radius: int) -> np.ndarray:
    """Pixels within ``radius`` of ``mask`` but outside it (worked on the mask's bounding box)."""
    ring = np.zeros_like(mask)
    ys, xs = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
    if not len(ys):
        return ring
    y0, y1 = max(0, ys[0] - radius), min(mask.shape[0], ys[-1] + radius + 1)
    x0, x1 = max(0, xs[0] - radius), min(mask.shape[1], xs[-1] + radius + 1)
    sub = mask[y0:y1, x0:x1]
    ring[y0:y1, x0:x1] = dilate(sub, radius) & ~sub
    return ring


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


#: Below this median log-gain on the ring a patch already matches and is left as it is.
SAME_SHADING = 0.004
#: The gain field is smooth: it is interpolated on a grid this many times coarser.
FIELD_STEP = 4


def coarse_field(values: np.ndarray, weights: np.ndarray, step: int = FIELD_STEP) -> np.ndarray:
    """Pull-push of sparse samples (H, W, C) on a ``step``-times coarser grid (weighted block
    means, holes filled): the smooth field, coarse."""
    h, w = weights.shape
    k = step
    hp, wp = -(-h // k) * k, -(-w // k) * k
    wv = np.pad(values * weights[..., None], ((0, hp - h), (0, wp - w), (0, 0)))
    ww = np.pad(weights, ((0, hp - h), (0, wp - w)))
    cw = ww.reshape(hp // k, k, wp // k, k).sum(axis=(1, 3))
    cv = wv.reshape(hp // k, k, wp // k, k, -1).sum(axis=(1, 3)) / np.maximum(cw[..., None], 1e-12)
    return pull_push(cv, np.minimum(cw, 1.0))


def sample_coarse(coarse: np.ndarray, ys: np.ndarray, xs: np.ndarray, step: int = FIELD_STEP) -> np.ndarray:
    """Bilinear samples of a ``step``-times coarser field at full-resolution pixels (ys, xs)
    (block centres aligned with the pixels they cover)."""
    k = step
    cy = np.clip((ys + 0.5) / k - 0.5, 0.0, coarse.shape[0] - 1)
    cx = np.clip((xs + 0.5) / k - 0.5, 0.0, coarse.shape[1] - 1)
    y0, x0 = np.floor(cy).astype(np.int64), np.floor(cx).astype(np.int64)
    y1, x1 = np.minimum(y0 + 1, coarse.shape[0] - 1), np.minimum(x0 + 1, coarse.shape[1] - 1)
    fy, fx = (cy - y0)[:, None].astype(np.float32), (cx - x0)[:, None].astype(np.float32)
    top = coarse[y0, x0] * (1 - fx) + coarse[y0, x1] * fx
    bottom = coarse[y1, x0] * (1 - fx) + coarse[y1, x1] * fx
    return top * (1 - fy) + bottom * fy


def upsample_coarse(coarse: np.ndarray, h: int, w: int, step: int = FIELD_STEP) -> np.ndarray:
    """A ``step``-times coarser field (h', w', C) interpolated bilinearly to (h, w, C) (the grid
    :func:`sample_coarse` samples, computed separably for a whole image)."""
    def axis(n: int, n_coarse: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pos = np.clip((np.arange(n) + 0.5) / step - 0.5, 0.0, n_coarse - 1)
        lo = np.floor(pos).astype(np.int64)
        return lo, np.minimum(lo + 1, n_coarse - 1), (pos - lo).astype(np.float32)

    y0, y1, fy = axis(h, coarse.shape[0])
    x0, x1, fx = axis(w, coarse.shape[1])
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
    sub_t, sub_s = target[y0:y1, x0:x1], sampled[y0:y1, x0:x1]
    r = ring[y0:y1, x0:x1]
    ratio = (np.maximum(sub_t[r], 0.0) + _EPS) / (np.maximum(sub_s[r], 0.0) + _EPS)
    ring_gain = np.clip(np.log(ratio), -np.log(MAX_GAIN), np.log(MAX_GAIN))
    if np.median(np.abs(ring_gain)) < SAME_SHADING:
        return sampled[fill]  # the patch already agrees with its surroundings
    log_gain = np.zeros(sub_t.shape, np.float32)
    log_gain[r] = ring_gain
    coarse = coarse_field(log_gain, r.astype(np.float32))
    fy, fx = np.nonzero(fill[y0:y1, x0:x1])  # row-major: the order of ``sampled[fill]``
    corrected = (np.maximum(sub_s[fy, fx], 0.0) + _EPS) * np.exp(sample_coarse(coarse, fy, fx)) - _EPS
    return corrected.astype(np.float32)
