"""Mask morphology, the one set of rules for every caller (set extension's seam ring, the
classical generator's patch windows).

Convention: a pixel's neighbourhood of radius ``r`` is the square ``(2r+1) x (2r+1)`` window
around it (chessboard distance <= r), matching square patches; pixels outside the image count
as unset. Box sums use summed-area tables, so the cost does not grow with ``r``.
"""

from __future__ import annotations

import numpy as np


def box_sum(values: np.ndarray, r: int) -> np.ndarray:
    """Sum over the (2r+1)^2 window around each pixel of an (h, w, ...) array (outside = 0)."""
    h, w = values.shape[:2]
    if r <= 0:
        return values.copy()
    pads = [(r + 1, r), (r + 1, r)] + [(0, 0)] * (values.ndim - 2)
    s = np.pad(values, pads).cumsum(0).cumsum(1)
    k = 2 * r + 1
    return s[k:, k:] - s[:h, k:] - s[k:, :w] + s[:h, :w]


def box_count(mask: np.ndarray, r: int) -> np.ndarray:
    """Number of set pixels in the (2r+1)^2 window around each pixel (outside = unset)."""
    return box_sum(mask.astype(np.int32), r)


def dilate(mask: np.ndarray, r: int) -> np.ndarray:
    """Pixels with a set pixel within chessboard distance ``r`` (square dilation; worked on the
    mask's bounding box grown by ``r``)."""
    mask = np.asarray(mask, dtype=bool)
    if r <= 0:
        return mask.copy()
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    out = np.zeros_like(mask)
    if not rows.size:
        return out
    y0, y1 = max(0, rows[0] - r), min(mask.shape[0], rows[-1] + r + 1)
    x0, x1 = max(0, cols[0] - r), min(mask.shape[1], cols[-1] + r + 1)
    out[y0:y1, x0:x1] = box_count(mask[y0:y1, x0:x1], r) > 0
    return out


def erode(mask: np.ndarray, r: int, *, outside: bool = False) -> np.ndarray:
    """Pixels whose whole (2r+1)^2 window is set; pixels outside the image count as ``outside``
    (False: a pixel near the border erodes; True: the border does not erode the mask)."""
    if r <= 0:
        return np.asarray(mask, dtype=bool).copy()
    if outside:
        return ~dilate(~np.asarray(mask, dtype=bool), r)
    return box_count(mask, r) == (2 * r + 1) ** 2


def ring_around(mask: np.ndarray, r: int) -> np.ndarray:
    """Pixels within ``r`` of ``mask`` but outside it (worked on the mask's bounding box)."""
    ring = np.zeros_like(mask)
    ys, xs = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
    if not len(ys):
        return ring
    y0, y1 = max(0, ys[0] - r), min(mask.shape[0], ys[-1] + r + 1)
    x0, x1 = max(0, xs[0] - r), min(mask.shape[1], xs[-1] + r + 1)
    sub = mask[y0:y1, x0:x1]
    ring[y0:y1, x0:x1] = dilate(sub, r) & ~sub
    return ring


def distance_to(mask: np.ndarray, limit: int) -> np.ndarray:
    """Approximate chessboard distance (steps of ~1.4x) from each pixel to ``mask``, capped at
    ``limit``."""
    dist = np.where(mask, 0.0, np.inf).astype(np.float32)
    if not mask.any():
        return np.full(mask.shape, float(limit), np.float32)
    r = 1
    while r < limit and np.isinf(dist).any():
        grown = dilate(mask, r)
        dist[grown & np.isinf(dist)] = r
        r = max(r + 1, int(r * 1.4))
    dist[np.isinf(dist)] = limit
    return dist


def window_max(values: np.ndarray, r: int, fill: float = -np.inf) -> np.ndarray:
    """Maximum of an (h, w) array over the (2r+1)^2 window around each pixel (outside: ``fill``).
    Windows past 8 pixels are taken on 4x4 blocks: radius up to 4 * ceil(r / 4) + 3, never less."""
    return _window_extreme(np.asarray(values), r, np.maximum, fill)


def window_min(values: np.ndarray, r: int, fill: float = np.inf) -> np.ndarray:
    """Minimum over the (2r+1)^2 window; see :func:`window_max`."""
    return _window_extreme(np.asarray(values), r, np.minimum, fill)


def _window_extreme(values: np.ndarray, r: int, fn: np.ufunc, fill: float) -> np.ndarray:
    h, w = values.shape
    if r <= 0:
        return values.copy()
    if r > 8:
        k = 4
        hp, wp = -(-h // k) * k, -(-w // k) * k
        blocks = np.pad(values, ((0, hp - h), (0, wp - w)), constant_values=fill).reshape(hp // k, k, wp // k, k)
        coarse = _window_extreme(fn.reduce(fn.reduce(blocks, axis=3), axis=1), -(-r // k), fn, fill)
        return np.repeat(np.repeat(coarse, k, axis=0), k, axis=1)[:h, :w]
    out = values
    for axis in (0, 1):
        pad = [(0, 0), (0, 0)]
        pad[axis] = (r, r)
        p = np.pad(out, pad, constant_values=fill)
        n = out.shape[axis]
        acc = np.take(p, np.arange(0, n), axis=axis)
        for i in range(1, 2 * r + 1):
            acc = fn(acc, np.take(p, np.arange(i, i + n), axis=axis))
        out = acc
    return out
