"""Depth validity: which depth samples are real surface hits."""

from __future__ import annotations

import numpy as np

#: Depth at or beyond this is "no hit" (Karma writes 1e17; some files hold 1e30 or inf).
NO_HIT = 1e16


def valid_depth(depth: np.ndarray) -> np.ndarray:
    """Boolean mask of usable depth: finite, > 0 and < :data:`NO_HIT` (NaN is invalid)."""
    d = np.asarray(depth)
    return (d > 0) & (d < NO_HIT)


def clean_depth(depth: np.ndarray, fill: float = np.inf) -> tuple[np.ndarray, np.ndarray]:
    """``(depth32, valid)``: a float32 copy of ``depth`` with every invalid sample set to ``fill``."""
    d = np.asarray(depth)
    if d.ndim != 2:
        raise ValueError(f"depth must be (H, W), got shape {d.shape}")
    valid = valid_depth(d)
    out = np.where(valid, d, np.float32(fill)).astype(np.float32, copy=False)
    return out, valid
