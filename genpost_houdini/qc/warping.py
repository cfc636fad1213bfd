"""Geometric warping error (Lai et al. 2018) with the shot's own depth and camera.

For each consecutive pair (t, t+1): frame t+1 is warped into t with depth and camera
(backward warp, z-tested, so only pixels visible in both count), and the squared difference
is averaged inside the region and, for reference, on the rest of the frame (the plate). No
flow network: the shot's geometry makes the warp and the visibility exact. Differences are
measured on a display-like encoding (x/(1+x), then gamma 1/2.2) so scene-linear highlights do
not dominate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from ..progress import ProgressFn
from ..shot.shot import Shot


def display_encode(rgb: np.ndarray) -> np.ndarray:
    """Scene-linear -> [0, 1): a cheap, monotonic tone curve for error measurement."""
    x = np.clip(rgb, 0.0, None, dtype=np.float32)
    return (x / (1.0 + x)) ** (1.0 / 2.2)


def format_error(value: float | None) -> str:
    """A warping error for people: ``1.234e-04``, or ``n/a`` when nothing was measured."""
    return "n/a (nothing to measure)" if value is None else f"{value:.3e}"


@dataclass
class WarpingReport:
    """Mean squared warping errors; None where no pixel was measured (never a made-up 0)."""

    frames: list[int]
    region_error: float | None
    plate_error: float | None
    region_pixels: int
    plate_pixels: int
    per_pair: list[dict[str, Any]] = field(default_factory=list)

    @property
    def measured(self) -> bool:
        """True when the region had pixels visible in consecutive frames."""
        return self.region_error is not None

    def to_json(self) -> dict[str, Any]:
        ratio = (self.region_error / self.plate_error
                 if self.region_error is not None and self.plate_error else None)
        return {
            "warping_error": self.region_error,
            "region": {"warping_error": self.region_error, "pixels": self.region_pixels},
            "plate": {"warping_error": self.plate_error, "pixels": self.plate_pixels},
            "ratio": ratio,
            "pairs": len(self.per_pair),
            "per_pair": self.per_pair,
            "frames": [self.frames[0], self.frames[-1]] if self.frames else [],
        }


def warping_error(
    shot: Shot,
    images: Callable[[int], np.ndarray],
    frames: Sequence[int],
    *,
    depth: Callable[[int], np.ndarray] | None = None,
    region: Callable[[int], np.ndarray] | None = None,
    progress: ProgressFn | None = None,
) -> WarpingReport:
    """Warping error of ``images`` (frame -> (H,W,3) scene-linear) over consecutive ``frames``.

    ``depth`` defaults to the shot's depth; ``region`` (frame -> bool mask) to ``shot.mask``,
    or the whole frame when the shot has no mask.
    """
    from ..geometry import reproject

    frames = sorted(frames)
    depth_of = depth or (lambda f: shot.read("depth", f))
    if region is None:
        region = (lambda f: shot.read("mask", f)) if shot.mask is not None else None
    pairs = []
    sums = {"region": [0.0, 0], "plate": [0.0, 0]}
    for i, (a, b) in enumerate(zip(frames[:-1], frames[1:])):
        img_a, img_b = display_encode(images(a)), display_encode(images(b))
        warped, valid = reproject(img_b, depth_of(b), shot.view(b), depth_of(a), shot.view(a))
        sq = np.mean((warped - img_a) ** 2, axis=-1)
        inside = region(a) if region is not None else np.ones(valid.shape, bool)
        if shot.lens is not None:  # only where the (distorted) images reach, in both frames
            covered, _ = reproject(shot.covered(b).astype(np.float32), depth_of(b), shot.view(b), depth_of(a), shot.view(a))
            valid = valid & shot.covered(a) & (covered[..., 0] > 0.999)
        entry: dict[str, Any] = {"frame": a, "next": b}
        for name, sel in (("region", valid & inside), ("plate", valid & ~inside)):
            n = int(sel.sum())
            sums[name][0] += float(sq[sel].sum())
            sums[name][1] += n
            entry[name] = float(sq[sel].mean()) if n else None
        pairs.append(entry)
        if progress:
            progress((i + 1) / max(1, len(frames) - 1), f"qc: frames {a}-{b}")
    mean = {k: (v[0] / v[1] if v[1] else None) for k, v in sums.items()}
    return WarpingReport(
        frames=list(frames),
        region_error=mean["region"],
        plate_error=mean["plate"],
        region_pixels=sums["region"][1],
        plate_pixels=sums["plate"][1],
        per_pair=pairs,
    )
