"""Walkers: people crossing the region along straight lines over the shot.

A walker advances exactly one cycle step per element frame shown (the cycle's own speed scaled
by the person's height), so the planted foot stays put: no sliding at any playback speed. Paths
run along ``walk_direction`` (both ways, jittered by up to 10 degrees), enter and leave at the
region's edges, and no two walkers come closer than ``spacing`` at any frame of the shot.
Tracks are horizontal (region 2D coordinates, see :mod:`.region`), NaN while off the region.

Work is bounded: the walkers' swept lanes cover at most :data:`WALK_AREA_SHARE` of the region,
and all tracks together hold at most :data:`MAX_TRACK_SAMPLES` samples (walkers x frames).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .region import Region
from .sources import ElementInfo

#: Walkers' lanes over the shot may cover at most this share of the region.
WALK_AREA_SHARE = 0.35
#: Walkers x shot frames, at most (track memory: 16 bytes each, several copies).
MAX_TRACK_SAMPLES = 4_000_000
#: Tries per walker to find a path clear of the others.
TRIES = 8


@dataclass(frozen=True)
class WalkerPath:
    """Where a walker's path enters the region, its unit direction, length (region units),
    distance along it at the shot's first frame, step per element frame and clip offset."""

    start: np.ndarray
    direction: np.ndarray
    length: float
    s0: float
    step: float
    offset: int


def walker_cap(region: Region, wanted: int, spacing: float, person_height: float, frames: Sequence[int],
               fps: float) -> tuple[int, str | None]:
    """How many of ``wanted`` walkers the region takes over the shot, and a note when fewer.

    Walkers need a clear lane for the whole shot: their swept area (2 x spacing wide, their
    travel plus 2 x spacing long) stays within :data:`WALK_AREA_SHARE` of the region, so
    standing people still fill it; their tracks stay within :data:`MAX_TRACK_SAMPLES`.
    """
    if not wanted:
        return 0, None
    travel = 1.4 * (person_height / 1.75) * (frames[-1] - frames[0]) / fps
    sweep = 2.0 * spacing * (travel + 2.0 * spacing)
    cap = int(WALK_AREA_SHARE * region.weighted_area() / max(sweep, 1e-9))
    if cap < wanted:
        return cap, (f"crowd: {cap} walkers instead of {wanted}: their paths over the shot would cover more than "
                     f"{100 * WALK_AREA_SHARE:.0f} % of region {region.prim_path}")
    by_memory = MAX_TRACK_SAMPLES // max(len(frames), 1)
    if by_memory < wanted:
        return by_memory, (f"crowd: {by_memory} walkers instead of {wanted}: {len(frames)} frames of walking "
                           f"for each would be more than {MAX_TRACK_SAMPLES} track samples")
    return wanted, None


class _Lanes:
    """Accepted tracks and their bounding boxes (grown in place: no per-test copies)."""

    def __init__(self, capacity: int):
        self.tracks: list[np.ndarray] = []
        self.boxes = np.empty((max(capacity, 1), 4))

    def clashes(self, track: np.ndarray, box: np.ndarray, spacing: float) -> bool:
        """True when ``track`` comes within ``spacing`` of an accepted track at the same frame."""
        bx = self.boxes[:len(self.tracks)]
        near = np.nonzero((bx[:, 0] - spacing <= box[2]) & (bx[:, 2] + spacing >= box[0])
                          & (bx[:, 1] - spacing <= box[3]) & (bx[:, 3] + spacing >= box[1]))[0]
        for j in near:
            d = np.linalg.norm(self.tracks[j] - track, axis=1)
            if np.nanmin(d, initial=np.inf) < spacing:
                return True
        return False

    def add(self, track: np.ndarray, box: np.ndarray) -> None:
        self.boxes[len(self.tracks)] = box
        self.tracks.append(track)


def rotate_about(v: np.ndarray, axis: np.ndarray, angle: float) -> np.ndarray:
    """``v`` rotated by ``angle`` radians about the unit ``axis`` (Rodrigues)."""
    c, s = math.cos(angle), math.sin(angle)
    return v * c + np.cross(axis, v) * s + axis * float(axis @ v) * (1 - c)


def plan_walkers(region: Region, elements: Sequence[ElementInfo], people: Sequence[int], *, source: np.ndarray,
                 heights: np.ndarray, speeds: np.ndarray, u_offset: np.ndarray, draws: Sequence[np.random.Generator],
                 frames: Sequence[int], fps: float, spacing: float, axis: np.ndarray
                 ) -> tuple[dict[int, WalkerPath], dict[int, np.ndarray]]:
    """Paths for ``people`` (ids in order; each draws from its own ``draws[i]``): those placed
    get a :class:`WalkerPath` and a track (F, 2) over ``frames``; the rest stand."""
    t = np.array(frames, np.float64)
    first = frames[0]
    lanes = _Lanes(len(people))
    paths: dict[int, WalkerPath] = {}
    tracks: dict[int, np.ndarray] = {}
    for i in people:
        el = elements[source[i]]
        clip = next(iter(el.views("walk").values()))
        scale = heights[i] / (el.height_m or 1.75)
        step = clip.speed * scale / clip.fps
        rate = speeds[i] * clip.fps / fps
        offset = int(u_offset[i] * clip.length)
        k = np.floor(offset + rate * (t - first) + 1e-9) - offset
        travel = float(k[-1] * step)
        r = draws[i]
        for _ in range(TRIES):
            d = axis if r.random() < 0.5 else -axis
            ang = r.uniform(-0.17, 0.17)
            d = rotate_about(d, region.up, ang)
            p = region.sample(1, r)[0]
            reach = travel + 3.0
            n_s = int(math.ceil(reach / 0.2))
            along = np.linspace(-reach, reach, 2 * n_s + 1)
            inside, _, _ = region.locate(region.to_2d(p[None, :] + along[:, None] * d[None, :]))
            mid = n_s
            if not inside[mid]:
                continue
            lo_i = mid
            while lo_i > 0 and inside[lo_i - 1]:
                lo_i -= 1
            hi_i = mid
            while hi_i < len(along) - 1 and inside[hi_i + 1]:
                hi_i += 1
            a, b = along[lo_i], along[hi_i]
            entry_real, exit_real = lo_i > 0, hi_i < len(along) - 1
            length = b - a
            lo_s = -travel if entry_real else 0.0
            hi_s = length if exit_real else length - travel
            if hi_s < lo_s:
                continue
            s0 = float(r.uniform(lo_s, hi_s))
            start = p + d * a
            s = s0 + k * step
            on = (s >= 0) & (s <= length)
            xy = region.to_2d(start[None, :] + s[:, None] * d[None, :])
            track = np.where(on[:, None], xy, np.nan)
            if not on.any():
                continue
            box = np.array([np.nanmin(track[:, 0]), np.nanmin(track[:, 1]), np.nanmax(track[:, 0]), np.nanmax(track[:, 1])])
            if lanes.clashes(track, box, spacing):
                continue
            lanes.add(track, box)
            paths[i] = WalkerPath(start, d, float(length), s0, float(step), offset)
            tracks[i] = track
            break
    return paths, tracks
