"""Shot-global depth normalisation.

Generators see depth as a [0, 1] image (0 near, 1 far). The range is computed once for the
whole shot, never per frame, so the same surface keeps the same value as the camera moves
(per-frame normalisation is a classic source of flicker). The mapping is logarithmic, which
spreads near detail and compresses the far distance the way disparity does; "no hit" is 1.

Convention: input depth is planar camera-space ``Z`` in scene units (invalid depth, by
:func:`~genpost_houdini.imageio.policy.valid_depth`, maps to 1); output 0 = near, 1 = far.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

from ..errors import InvalidDepthError
from ..imageio.policy import valid_depth


@dataclass(frozen=True)
class DepthRange:
    """Near and far (scene units) of a shot's depth, robust to outliers (percentiles)."""

    near: float
    far: float

    @classmethod
    def from_depths(cls, depths: Iterable[np.ndarray], low: float = 0.5, high: float = 99.5) -> "DepthRange":
        """Percentile range over every valid pixel of the given depth maps (subsampled)."""
        samples = []
        for depth in depths:
            sub = depth[::4, ::4]
            sub = sub[valid_depth(sub)]
            if sub.size:
                samples.append(sub.astype(np.float32, copy=False))
        if not samples:
            raise InvalidDepthError("no valid depth in any frame of the shot: cannot normalise depth")
        allv = np.concatenate(samples)
        near, far = np.percentile(allv, [low, high])
        near = float(max(near, 1e-4))
        far = float(max(far, near * 1.001))
        return cls(near, far)

    def normalise(self, depth: np.ndarray) -> np.ndarray:
        """Depth -> [0, 1] float32, log-spaced between near and far; no hit -> 1."""
        out = np.ones(depth.shape, np.float32)
        ok = valid_depth(depth)
        span = np.log(self.far) - np.log(self.near)
        out[ok] = (np.log(depth[ok]) - np.log(self.near)) / span
        return np.clip(out, 0.0, 1.0, out=out)

    def to_json(self) -> dict[str, float]:
        return {"near": self.near, "far": self.far}
