"""Depth validity: which depth samples are real surface hits (the rule itself is
:mod:`genpost_houdini.imageio.policy`'s)."""

from __future__ import annotations

import numpy as np

from ..imageio.policy import NO_HIT_DEPTH as NO_HIT
from ..imageio.policy import valid_depth

__all__ = ["NO_HIT", "clean_depth", "valid_depth"]


def clean_depth(depth: np.ndarray, fill: float = np.inf) -> tuple[np.ndarray, np.ndarray]:
    """``(depth32, valid)``: a float32 copy of ``depth`` with every invalid sample set to ``fill``."""
    d = np.asarray(depth)
    if d.ndim != 2:
        raise ValueError(f"depth must be (H, W), got shape {d.shape}")
    valid = valid_depth(d)
    out = np.where(valid, d, np.float32(fill)).astype(np.float32, copy=False)
    return out, valid
