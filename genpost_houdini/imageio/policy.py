"""Depth and mask policy: which channel is depth or a matte, and what depth means "no hit".

Conventions: depth is camera-space Z along the view axis (planar Z, Karma's Pz), in scene
units, held by the frame it was rendered for. "No hit" (NaN, inf, >= :data:`NO_HIT_DEPTH`,
<= 0) becomes ``np.inf`` when read; a negative finite value is an error. A matte is clipped to
[0, 1] (NaN -> 0).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..errors import InvalidDepthError

#: Depth channel names, in order of preference (matched case-insensitively).
DEPTH_ALIASES: tuple[str, ...] = (
    "Z", "depth.Z", "depth", "Pz", "Pz.Z", "cameraDepth", "cameraDepth.Z", "depth.V", "zdepth",
    "z_depth", "Z.Z",
)
#: Mask channel names when none is given: dedicated matte names first, then the single-channel
#: fallbacks (Y for a luminance matte, R for a one-channel red matte).
MASK_ALIASES: tuple[str, ...] = ("A", "mask", "matte", "alpha", "mask.A", "matte.A", "Y", "R")
#: Depth at or beyond this is "no hit" (Karma writes 1e17; some files hold 1e30 or inf). The one
#: no-hit threshold of the project: readers, geometry and the Houdini glue all use it.
NO_HIT_DEPTH = 1e16


def valid_depth(depth: np.ndarray) -> np.ndarray:
    """Boolean mask of usable depth: finite, > 0 and < :data:`NO_HIT_DEPTH` (NaN is invalid)."""
    d = np.asarray(depth)
    return (d > 0) & (d < NO_HIT_DEPTH)


def match_channel(available: Sequence[str], aliases: Sequence[str]) -> str | None:
    """The first of ``aliases`` among ``available`` (exact name first, then any case), or None."""
    lower = {c.lower(): c for c in reversed(list(available))}
    for alias in aliases:
        if alias in available:
            return alias
        hit = lower.get(alias.lower())
        if hit is not None:
            return hit
    return None


def find_depth_channel(channels: Sequence[str]) -> str | None:
    """The depth channel among ``channels`` by :data:`DEPTH_ALIASES`, or None."""
    return match_channel(channels, DEPTH_ALIASES)


def find_mask_channel(channels: Sequence[str]) -> str | None:
    """The mask channel among ``channels`` by :data:`MASK_ALIASES`, or None."""
    return match_channel(channels, MASK_ALIASES)


def depth_from_raw(depth: np.ndarray, where: str, name: str) -> np.ndarray:
    """``depth`` (a channel as read, modified in place) with every no-hit pixel set to ``inf``.

    Raises :class:`InvalidDepthError` naming ``where`` and the channel ``name`` when a finite
    value is negative or no pixel is valid.
    """
    with np.errstate(invalid="ignore"):
        negative = np.isfinite(depth) & (depth < 0)
        n_negative = int(np.count_nonzero(negative))
        if n_negative:
            raise InvalidDepthError(
                f"{where}: depth channel {name!r} has {n_negative} negative values (min "
                f"{float(depth[negative].min()):g}); expected positive camera-space Z"
            )
        no_hit = ~valid_depth(depth)
    if no_hit.all():
        raise InvalidDepthError(f"{where}: depth channel {name!r} has no valid pixel (all no-hit, NaN or zero)")
    depth[no_hit] = np.inf
    return depth


def mask_from_raw(mask: np.ndarray) -> np.ndarray:
    """``mask`` (a channel as read, modified in place) clipped to [0, 1], NaN -> 0."""
    np.nan_to_num(mask, copy=False, nan=0.0, posinf=1.0, neginf=0.0)
    np.clip(mask, 0.0, 1.0, out=mask)
    return mask
