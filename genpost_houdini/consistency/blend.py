"""Seamless placement of reprojected pixels.

Pixels carried from another frame see the same surface, but real footage shades it a little
differently from each viewpoint (specular, vignetting, exposure). Placed as they are, patches
from different frames meet in soft seams. Here each patch gets a smooth multiplicative gain
field: on a ring of pixels the target already has (plate, or earlier patches) the gain is
exactly target / source; inside the patch it is interpolated by pull-push
(:mod:`genpost_houdini.conditioning.pullpush`), a fast approximation of a membrane.
Deterministic, local, and bounded.
"""

from __future__ import annotations

import numpy as np

from ..conditioning.morphology import dilate, ring_around
from ..conditioning.pullpush import pull_push, upsample

__all__ = ["MAX_GAIN", "dilate", "harmonise", "pull_push", "ring_around"]

#: The largest correction, as a factor either way: beyond it the source is not the same surface.
MAX_GAIN = 1.5
_EPS = 1e-4


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


def harmonise(target: np.ndarray, sampled: np.ndarray, fill: np.ndarray, ring: np.ndarray) -> np.ndarray:
    """``sampled`` (H, W, 3) corrected to agree with ``target`` on ``ring``, for the ``fill`` pixels.

    Returns the corrected colours of the ``fill`` pixels, in ``fill``'s order (``[fill]``).
    With too few ring pixels the samples come back unchanged.
    """
    if ring.sum() < 16 or not fill.any():
        return sampled[fill]
    both = fill | ring
    ys, xs = np.flatnonzero(both.any(axis=1)), np.flatnonzero(both.any(axis=0))
    y0, y1, x0, x1 = ys[0], ys[-1] + 1, xs[0], xs[-1] + 1
    sub_t, sub_s = target[y0:y1, x0:x1], sampled[y0:y1, x0:x1]
    r = ring[y0:y1, x0:x1]
    ratio = (np.maximum(sub_t[r], 0.0) + _EPS) / (np.maximum(sub_s[r], 0.0) + _EPS)
    ring_gain = np.clip(np.log(ratio), -np.log(MAX_GAIN), np.log(MAX_GAIN))
    if np.median(np.abs(ring_gain)) < SAME_SHADING:
        return sampled[fill]  # the patch already agrees with its surroundings
    log_gain = np.zeros(sub_t.shape, np.float32)
    log_gain[r] = ring_gain
    coarse = coarse_field(log_gain, r.astype(np.float32))
    sub_fill = fill[y0:y1, x0:x1]  # row-major: the order of ``sampled[fill]``
    field = upsample(coarse, y1 - y0, x1 - x0, FIELD_STEP)  # separable: cheaper than per-pixel taps
    corrected = (np.maximum(sub_s[sub_fill], 0.0) + _EPS) * np.exp(field[sub_fill]) - _EPS
    return corrected.astype(np.float32)
