"""Placing a crowd on a region prim: Poisson-disk spacing, standing and walking people.

Everything derives from (seed, instance id) and the *shot* range, so a rerun, or any chunk of
frames, sees the same crowd. Distances are horizontal (see :mod:`.region`).

- **Count.** :func:`clamp_count` bounds the count by the region's capacity (and
  :data:`MAX_INSTANCES`) before anything is allocated; :func:`spacing_floor` keeps the spacing
  physical (so a tiny ``--min-spacing`` cannot make a small region hold thousands).
- **Walkers** (a fraction of the people whose source has a walk cycle) cross the region along
  straight lines (``walk_direction`` both ways, default the region's long axis), entering and
  leaving at its edges (:mod:`.walkers`: feet locked to the ground, bounded lanes).
- **Standers** fill the rest by parallel dart throwing (:func:`.poisson.poisson_fill`), thinned
  by the region's density primvar; none stands on a walker's path.
- No two people are closer than ``spacing`` at any frame of the shot.
- **Facing**: standers face ``facing`` ("random", "camera", or a world direction) or a point
  of interest ``look_at``; walkers face where they walk.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ..errors import UsageError
from .poisson import near_any, neighbour_pairs, pairs_within, poisson_fill
from .region import PACKING, Region, up_vector  # noqa: F401  (up_vector: set extension imports it from here)
from .sources import ElementInfo
from .stagger import stagger
from .variation import OFFSET_BUCKETS, deal_looks, separate_neighbours
from .walkers import plan_walkers, walker_cap

log = logging.getLogger("genpost")

#: Hard bound on the number of people, whatever the region holds (work per frame grows with it:
#: 5,000 people render in seconds per frame at 2K, in bounded memory).
MAX_INSTANCES = 5_000
#: Bound on Poisson candidates (memory: ~50 bytes each).
MAX_CANDIDATES = 1_500_000
#: No two people closer than this share of the mean person height (14 cm for 1.75 m): a
#: smaller --min-spacing is raised to it (people would stand inside each other; it also bounds
#: how many fit on a small region).
MIN_SPACING_SHARE = 0.08
#: Neighbours (for "never share source, colourway and offset bucket") are those within
#: max(3 x spacing, 1.5); in a denser crowd the radius shrinks so each has about this many
#: (bounded work and memory: ~N x this / 2 pairs).
MAX_NEIGHBOURS = 48
#: Walkers fade in and out over this many metres at the region's edges (no popping).
EDGE_FADE = 0.2


@dataclass(frozen=True)
class Instance:
    """One crowd member. ``position`` is where the feet are at the shot's first frame (a walker
    not yet on the region: where it will enter); ``heading`` the horizontal way they face."""

    id: int
    position: tuple[float, float, float]
    source: int
    offset: int  # element frames into the clip at the shot's first frame
    flip: bool  # mirror image
    gain: tuple[float, float, float]
    height: float
    variant: int = 0  # colourway (0 = as filmed)
    bucket: int = 0  # offset bucket: which quarter of the clip the offset falls in
    speed: float = 1.0  # playback speed of the element
    heading: tuple[float, float, float] = (0.0, 0.0, 1.0)
    walking: bool = False
    path_start: tuple[float, float, float] = (0.0, 0.0, 0.0)  # walker: where the path enters the region
    path_length: float = 0.0
    s0: float = 0.0  # walker: distance along the path at the shot's first frame
    step: float = 0.0  # walker: metres per element frame

    def variation_key(self) -> tuple[int, int, int]:
        """What neighbours never share: (source, colourway, offset bucket)."""
        return (self.source, self.variant, self.bucket)

    def look(self) -> tuple[int, int]:
        return (self.source, self.variant)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id, "source": self.source, "variant": self.variant, "offset": self.offset,
            "bucket": self.bucket, "flip": self.flip, "speed": round(self.speed, 4), "walking": self.walking,
            "position": [round(float(v), 6) for v in self.position],
            "heading": [round(float(v), 6) for v in self.heading],
            "gain": [round(float(v), 6) for v in self.gain],
            "height": round(float(self.height), 6),
        }
        if self.walking:
            out["path"] = {"start": [round(float(v), 6) for v in self.path_start], "length": round(self.path_length, 6),
                           "s0": round(self.s0, 6), "step": round(self.step, 6)}
        return out


@dataclass
class FrameState:
    """Where everyone is at one (possibly fractional) frame."""

    position: np.ndarray  # (N, 3) feet, world (NaN when absent)
    present: np.ndarray  # (N,) bool
    fade: np.ndarray  # (N,) 0..1 (walkers at the region's edges)
    heading: np.ndarray  # (N, 3)
    counter: np.ndarray  # (N,) int: element frames since the clip's start (modulo the clip length)
    velocity: np.ndarray  # (N, 3) world units per frame


@dataclass
class CrowdLayout:
    """The placed crowd and how it moves over the shot."""

    instances: list[Instance]
    region: Region
    elements: list[ElementInfo]
    first_frame: int
    fps: float
    spacing: float
    requested: int
    capacity: int
    notes: list[str] = field(default_factory=list)

    def rate(self, inst: Instance) -> float:
        """Element frames per shot frame for ``inst``'s clip."""
        el = self.elements[inst.source]
        kind = "walk" if inst.walking else ("idle" if el.views("idle") else "loop")
        clips = el.views(kind) or {c.view: c for c in el.clips}
        fps = next(iter(clips.values())).fps if kind != "loop" else self.fps
        return inst.speed * fps / self.fps

    def _arrays(self) -> dict[str, np.ndarray]:
        """Per-person arrays, made once (instances are frozen)."""
        cached = getattr(self, "_cache", None)
        if cached is None:
            n = len(self.instances)
            walkers = [i for i in self.instances if i.walking]
            cached = {
                "pos": np.array([i.position for i in self.instances], np.float64).reshape(n, 3),
                "heading": np.array([i.heading for i in self.instances], np.float64).reshape(n, 3),
                "rate": np.array([self.rate(i) for i in self.instances], np.float64),
                "offset": np.array([i.offset for i in self.instances], np.float64),
                "walk": np.array([i.walking for i in self.instances], bool),
                "start": np.array([i.path_start for i in walkers], np.float64).reshape(-1, 3),
                "length": np.array([i.path_length for i in walkers], np.float64),
                "step": np.array([i.step for i in walkers], np.float64),
                "s0": np.array([i.s0 for i in walkers], np.float64),
            }
            self._cache = cached
        return cached

    def state(self, frame: float) -> FrameState:
        arr = self._arrays()
        n = len(self.instances)
        pos = arr["pos"].copy()
        heading = arr["heading"]
        present = np.ones(n, bool)
        fade = np.ones(n)
        vel = np.zeros((n, 3))
        rate, offset, walk = arr["rate"], arr["offset"], arr["walk"]
        counter = np.floor(offset + rate * (frame - self.first_frame) + 1e-9).astype(np.int64)
        if walk.any():
            idx = np.nonzero(walk)[0]
            start, length, step = arr["start"], arr["length"], arr["step"]
            s = arr["s0"] + (counter[idx] - offset[idx]) * step
            # Within a frame's shutter a walker moves continuously (motion blur).
            frac = (offset[idx] + rate[idx] * (frame - self.first_frame)) - counter[idx]
            s = s + np.clip(frac, 0.0, 1.0) * step * (np.abs(frame - np.round(frame)) > 1e-6)
            on = (s >= 0) & (s <= length)
            xy = self.region.to_2d(start + heading[idx] * s[:, None])
            inside, world, _ = self.region.locate(xy)
            ok = on & inside
            world = np.where(ok[:, None], world, start + heading[idx] * s[:, None])
            pos[idx] = world
            present[idx] = ok
            fade[idx] = np.clip(np.minimum(s, length - s) / EDGE_FADE, 0.0, 1.0)
            vel[idx] = heading[idx] * (step * rate[idx])[:, None]
        return FrameState(pos, present, fade, heading, counter, vel)


def spacing_floor(spacing: float, person_height: float = 1.75) -> tuple[float, str | None]:
    """(spacing to use, message or None): ``spacing`` raised to :data:`MIN_SPACING_SHARE` of
    ``person_height`` when below it."""
    if not spacing > 0 or not math.isfinite(spacing):
        raise UsageError(f"--min-spacing must be a positive distance (got {spacing})")
    if not person_height > 0 or not math.isfinite(person_height):
        raise UsageError(f"--person-height must be a positive height (got {person_height})")
    floor = MIN_SPACING_SHARE * person_height
    if spacing >= floor:
        return spacing, None
    return floor, (f"crowd: --min-spacing {spacing:g} is closer than people can stand; using {floor:g} "
                   f"({100 * MIN_SPACING_SHARE:.0f} % of --person-height {person_height:g})")


def clamp_count(region: Region, count: int, spacing: float) -> tuple[int, int, str | None]:
    """(count to place, capacity, message or None): the count bounded by what the region holds
    ``spacing`` apart and by :data:`MAX_INSTANCES`. Cheap: nothing is allocated per person."""
    if count < 1:
        raise UsageError("--count must be at least 1")
    if not spacing > 0 or not math.isfinite(spacing):
        raise UsageError(f"--min-spacing must be a positive distance (got {spacing})")
    capacity = region.capacity(spacing)
    limit = min(capacity, MAX_INSTANCES)
    if count <= limit:
        return count, capacity, None
    if capacity <= MAX_INSTANCES:
        what = (f"{len(region.points)} points" if region.is_points
                else f"{region.weighted_area():.1f} square units at --min-spacing {spacing:g}")
        msg = f"crowd: --count {count} is more than region {region.prim_path} holds ({what}: at most {capacity}); placing up to {limit}"
    else:
        msg = f"crowd: --count {count} is more than the {MAX_INSTANCES} people genpost places in one job; placing up to {limit}"
    return limit, capacity, msg


def _facing(mode: str | Sequence[float], look_at: Sequence[float] | np.ndarray | None, pos: np.ndarray, region: Region,
            camera_pos: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Unit horizontal headings (N, 3) for standers at ``pos``."""
    n = len(pos)
    up = region.up
    e1, e2 = region.basis

    def flat(v: np.ndarray) -> np.ndarray:
        v = v - np.outer(v @ up, up) if v.ndim == 2 else v - up * float(v @ up)
        norm = np.linalg.norm(v, axis=-1, keepdims=True)
        return v / np.maximum(norm, 1e-9)

    if look_at is not None:
        target = np.asarray(look_at, np.float64)
        base, jitter = flat(target[None, :] - pos), math.radians(15)
    elif isinstance(mode, str) and mode == "camera":
        base, jitter = flat(camera_pos[None, :] - pos), math.radians(20)
    elif isinstance(mode, str) and mode == "random":
        ang = rng.uniform(0, 2 * math.pi, n)
        return np.cos(ang)[:, None] * e1 + np.sin(ang)[:, None] * e2
    else:
        d = flat(np.asarray(mode, np.float64))
        if not np.isfinite(d).all() or np.linalg.norm(d) < 0.5:
            raise UsageError(f"--facing {mode}: a horizontal direction is needed (not straight up or down)")
        base, jitter = np.repeat(d[None, :], n, axis=0), math.radians(25)
    ang = rng.uniform(-jitter, jitter, n)
    b1, b2 = base @ e1, base @ e2
    a = np.arctan2(b2, b1) + ang
    return np.cos(a)[:, None] * e1 + np.sin(a)[:, None] * e2


def place_crowd(
    region: Region,
    elements: Sequence[ElementInfo],
    *,
    count: int,
    seed: int,
    frames: Sequence[int],
    fps: float,
    spacing: float = 0.6,
    walkers: float = 0.3,
    facing: str | Sequence[float] = "random",
    look_at: Sequence[float] | np.ndarray | None = None,
    walk_direction: Sequence[float] | np.ndarray | None = None,
    person_height: float = 1.75,
    height_sd: float = 0.04,
    colourways: int = 6,
    camera_pos: np.ndarray | None = None,
    neighbour_radius: float | None = None,
    cameras: Sequence[np.ndarray] | None = None,
) -> CrowdLayout:
    """Place up to ``count`` people (clamped by :func:`clamp_count`) on ``region``; with
    ``cameras`` (camera positions across the shot), standers hidden behind others are staggered
    into gaps (:func:`.stagger.stagger`)."""
    if not elements:
        raise UsageError("no crowd source given")
    if not 0.0 <= walkers <= 1.0:
        raise UsageError(f"--walkers must be a fraction 0..1 (got {walkers})")
    requested = count
    spacing, floor_note = spacing_floor(spacing, person_height)
    count, capacity, note = clamp_count(region, count, spacing)
    notes = [n for n in (floor_note, note) if n]
    for n in notes:
        log.warning(n)
    frames = sorted(frames)
    first = frames[0]
    cam = np.zeros(3) if camera_pos is None else np.asarray(camera_pos, np.float64)
    rng = np.random.default_rng([int(seed), 0x5EED])
    n_src = len(elements)
    source, variant = deal_looks(count, n_src, colourways, rng)
    # Per-person draws depend on (seed, id) only.
    draws = [np.random.default_rng([int(seed), i + 1]) for i in range(count)]
    walk_ok = np.array([elements[s].can_walk for s in source], bool)
    n_walk = int(round(walkers * count)) if not region.is_points else 0
    n_walk, walk_note = walker_cap(region, n_walk, spacing, person_height, frames, fps)
    if walk_note:
        notes.append(walk_note)
        log.info(walk_note)
    if n_walk and not walk_ok.any():
        notes.append("crowd: no source has a walk cycle (an element description with clips); everyone stands")
        log.info(notes[-1])
        n_walk = 0
    want_walk = np.zeros(count, bool)
    if n_walk:
        cand = np.nonzero(walk_ok)[0]
        want_walk[rng.permutation(cand)[:n_walk]] = True

    heights = np.empty(count)
    speeds = np.empty(count)
    flips = np.empty(count, bool)
    gains = np.empty((count, 3))
    u_offset = np.empty(count)
    for i, r in enumerate(draws):
        el = elements[source[i]]
        base = (el.height_m or 1.75) * person_height / 1.75
        heights[i] = base * float(np.clip(1.0 + height_sd * r.standard_normal(), 1 - 2.5 * height_sd, 1 + 2.5 * height_sd))
        speeds[i] = float(r.uniform(0.9, 1.1) if want_walk[i] else r.uniform(0.8, 1.25))
        flips[i] = bool(r.random() < 0.5)
        brightness = 1.0 + 0.04 * (2 * r.random() - 1)
        gains[i] = brightness * (1.0 + 0.02 * (2 * r.random(3) - 1))
        u_offset[i] = r.random()

    # Walkers: straight lines across the region, no two closer than `spacing` at any frame.
    axis = np.asarray(walk_direction, np.float64) if walk_direction is not None else region.long_axis()
    axis = axis - region.up * float(axis @ region.up)
    if np.linalg.norm(axis) < 1e-6:
        raise UsageError("--walk-direction must be horizontal (not along the up axis)")
    axis /= np.linalg.norm(axis)
    walker_info, walker_tracks = plan_walkers(
        region, elements, [int(w) for w in np.nonzero(want_walk)[0]], source=source, heights=heights, speeds=speeds,
        u_offset=u_offset, draws=draws, frames=frames, fps=fps, spacing=spacing, axis=axis)
    walk_tracks = list(walker_tracks.values())
    n_walkers = len(walker_info)

    # Standers: a Poisson-disk fill, thinned by density, off the walkers' paths.
    n_stand = count - n_walkers
    stand_pos = np.zeros((0, 3))
    spare = np.zeros((0, 3))
    if n_stand > 0:
        stand_pos, spare = _standers(region, n_stand, spacing, rng, walk_tracks)
        if len(stand_pos) < n_stand:
            notes.append(f"crowd: region {region.prim_path} fits {len(stand_pos) + n_walkers} people "
                         f"{spacing:g} apart (asked {requested})")
            log.warning(notes[-1])
    stand_ids = [i for i in range(count) if i not in walker_info][: len(stand_pos)]
    if cameras is not None and len(cameras) and len(stand_pos) > 1 and not region.is_points:
        # Cheat hidden background people into gaps nearby, as an AD would: spare sites are the
        # Poisson set's unused ones and free ground (density-weighted, off walkers' paths).
        extra = region.sample(4 * len(stand_pos), np.random.default_rng([int(seed), 0x57A6]), weighted=True)
        if walk_tracks:
            samples = np.concatenate([tr[np.isfinite(tr).all(axis=1)] for tr in walk_tracks])
            if len(samples):
                extra = extra[~near_any(region.to_2d(extra), samples, spacing)]
        stand_pos, moved = stagger(stand_pos, np.concatenate([spare, extra]), heights[stand_ids], cameras,
                                   region.up, region.basis, radius=max(3.0 * spacing, 1.5), spacing=spacing)
        if moved:
            log.info("crowd: %d standing people moved into gaps so their heads show from the camera", moved)
    headings = _facing(facing, look_at, stand_pos, region, cam, rng) if len(stand_pos) else np.zeros((0, 3))

    # Assemble in id order (ids 1..N, contiguous).
    keep = sorted(list(walker_info) + stand_ids)
    stand_index = {i: k for k, i in enumerate(stand_ids)}
    rows = []
    for i in keep:
        el = elements[source[i]]
        if i in walker_info:
            path = walker_info[i]
            clip_len = next(iter(el.views("walk").values())).length
            pos = path.start + path.direction * min(max(path.s0, 0.0), path.length)
            rows.append(dict(position=pos, heading=path.direction, walking=True, path_start=path.start,
                             path_length=path.length, s0=path.s0, step=path.step, offset=path.offset, clip_len=clip_len))
        else:
            k = stand_index[i]
            clips = el.views("idle") or el.views("loop") or {0: el.clips[0]}
            clip_len = next(iter(clips.values())).length
            rows.append(dict(position=stand_pos[k], heading=headings[k], walking=False, offset=int(u_offset[i] * clip_len),
                             clip_len=clip_len))
    src = source[keep]
    var = variant[keep]
    bucket = np.array([row["offset"] * OFFSET_BUCKETS // max(row["clip_len"], 1) for row in rows], np.int64)

    # Neighbours (within the radius at any frame) never share source, colourway and bucket.
    radius = neighbour_radius if neighbour_radius is not None else max(3.0 * spacing, 1.5)
    # Bounded work: in a dense crowd the radius holds about MAX_NEIGHBOURS people.
    radius = min(radius, math.sqrt(MAX_NEIGHBOURS * max(region.weighted_area(), 1e-9) / (math.pi * max(len(keep), 1))))
    radius = max(radius, 1.5 * spacing)
    layout_tracks = _tracks(rows, region, walker_tracks, keep)
    pairs = neighbour_pairs(layout_tracks, radius)
    var, bucket, left = separate_neighbours(src, var, bucket, pairs, colourways)
    if left:
        notes.append(f"crowd: {left} neighbouring pairs share source, colourway and offset bucket "
                     "(too few sources or colourways for this density)")
        log.warning(notes[-1])
    instances = []
    for new_id, (i, row) in enumerate(zip(keep, rows), start=1):
        clip_len = row["clip_len"]
        b = int(bucket[new_id - 1])
        offset = int(row["offset"])
        offset = _offset_in_bucket(offset, b, clip_len)
        b = offset * OFFSET_BUCKETS // max(clip_len, 1)
        instances.append(Instance(
            id=new_id,
            position=tuple(float(v) for v in row["position"]),  # type: ignore[arg-type]
            source=int(src[new_id - 1]),
            offset=offset,
            flip=bool(flips[i]),
            gain=tuple(float(v) for v in gains[i]),  # type: ignore[arg-type]
            height=float(heights[i]),
            variant=int(var[new_id - 1]),
            bucket=b,
            speed=float(speeds[i]),
            heading=tuple(float(v) for v in row["heading"]),  # type: ignore[arg-type]
            walking=bool(row["walking"]),
            path_start=tuple(float(v) for v in row.get("path_start", (0.0, 0.0, 0.0))),  # type: ignore[arg-type]
            path_length=float(row.get("path_length", 0.0)),
            s0=float(row.get("s0", 0.0)),
            step=float(row.get("step", 0.0)),
        ))
    return CrowdLayout(instances, region, list(elements), first, fps, spacing, requested, capacity, notes)


def _offset_in_bucket(offset: int, bucket: int, length: int) -> int:
    """``offset`` moved into ``bucket`` (of :data:`OFFSET_BUCKETS` per clip), same phase within."""
    length = max(int(length), 1)
    if offset * OFFSET_BUCKETS // length == bucket:
        return offset
    lo = -(-bucket * length // OFFSET_BUCKETS)  # first offset of the bucket
    hi = -(-(bucket + 1) * length // OFFSET_BUCKETS) - 1  # last
    within = offset - (-(-(offset * OFFSET_BUCKETS // length) * length // OFFSET_BUCKETS))
    return int(min(max(lo + max(within, 0), lo), max(hi, lo), length - 1))


def _standers(region: Region, n: int, spacing: float, rng: np.random.Generator,
              walk_tracks: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``n`` world positions, Poisson-disk spaced, density-thinned, off walkers' paths;
    and the spare sites of the same Poisson set (for :func:`.stagger.stagger`)."""
    if region.is_points:
        pts = region.points[rng.permutation(len(region.points))]
        keep = poisson_fill(region.to_2d(pts), spacing, rng)
        pts = pts[keep]
        order = rng.permutation(len(pts))
        return pts[order[:n]], pts[order[n:]]
    weighted = max(region.weighted_area(), 1e-9)
    radius = max(spacing, math.sqrt(PACKING * weighted / (1.5 * n)))
    area = max(region.area(), 1e-9)
    cells = 2.0 * area / (radius * radius)
    m = int(min(MAX_CANDIDATES, max(2000, 12 * cells)))
    cand = region.sample(m, rng, weighted=False)
    xy = region.to_2d(cand)
    picked = poisson_fill(xy, radius, rng)
    pts, pxy = cand[picked], xy[picked]
    if walk_tracks:
        samples = np.concatenate([tr[np.isfinite(tr).all(axis=1)] for tr in walk_tracks])
        clear = ~near_any(pxy, samples, spacing) if len(samples) else np.ones(len(pts), bool)
        pts, pxy = pts[clear], pxy[clear]
    if region.has_density:
        dens = region.density_at(pts)
        keep = rng.random(len(pts)) < dens
        pts = pts[keep]
    order = rng.permutation(len(pts))
    return pts[order[:n]], pts[order[n:]]


def _tracks(rows: list[dict[str, Any]], region: Region, walker_tracks: dict[int, np.ndarray],
            keep: list[int]) -> list[np.ndarray]:
    """Per person (in ``rows`` order) the horizontal track over the shot: (F, 2) for walkers,
    (1, 2) for standers."""
    return [walker_tracks[i] if row["walking"] else region.to_2d(np.asarray(row["position"])[None, :])
            for i, row in zip(keep, rows)]


def repetition_pairs(instances: Sequence[Instance], visible_ids: set[int], radius: float) -> list[tuple[int, int]]:
    """Pairs of visible neighbours (within ``radius`` at the first frame) sharing source,
    colourway and offset bucket."""
    vis = [i for i in instances if i.id in visible_ids]
    if len(vis) < 2:
        return []
    pts = np.array([i.position for i in vis])
    a, b, _ = pairs_within(pts, None, radius)
    return [(vis[i].id, vis[j].id) for i, j in zip(a, b) if vis[i].variation_key() == vis[j].variation_key()]
