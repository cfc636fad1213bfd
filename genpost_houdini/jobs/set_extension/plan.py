"""Set extension's whole-shot plan, made at low resolution.

:func:`make_plan` is a pure function of the low-resolution depth, extend masks and cameras of
every frame of the shot range (:func:`read_low_res`): it fixes the shot's depth range, the
clean-plate source frames of every frame, and the keyframes (greedy by coverage). It never
depends on which frames a chunk renders, so any chunking gives identical pixels; the job
caches it in ``out/.genpost/plan.<key>.json`` (:func:`load_or_make_plan`).

Conventions: low resolution keeps the pixels ``image[o::f, o::f]`` (``o = f // 2``), no
resampling; :func:`low_res_view` gives the matching camera (pixel centres at integers).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ...progress import ProgressFn

log = logging.getLogger("genpost")

#: Keyframes stop when the best candidate would add less than this fraction of what was missing.
KEYFRAME_MIN_GAIN = 0.01


@dataclass
class Plan:
    """Whole-shot decisions: depth range, clean-plate sources per frame, keyframes."""

    key: str
    depth_near: float
    depth_far: float
    sources: dict[int, list[int]]
    keyframes: list[int]
    missing_after_plates: float = 0.0
    missing_after_keyframes: float = 0.0
    stats: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["sources"] = {str(k): v for k, v in self.sources.items()}
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Plan":
        data = dict(data)
        data["sources"] = {int(k): list(v) for k, v in data["sources"].items()}
        return cls(**data)


@dataclass
class LowRes:
    """The shot's planning inputs: every ``factor``-th pixel of depth and extend mask (pixels
    that use the extension: matte > 0), the trusted plate there (a source), and the cameras of
    those pixels, per frame. ``trusted`` defaults to outside the mask."""

    factor: int
    depths: dict[int, np.ndarray]
    masks: dict[int, np.ndarray]
    views: dict[int, Any]
    trusted: dict[int, np.ndarray] | None = None


def low_res_view(view: Any, factor: int, width: int, height: int) -> Any:
    """The view of the pixels kept by ``image[o::f, o::f]`` (exact, no resampling)."""
    o = factor // 2
    scale = np.array([[1.0 / factor, 0.0, -o / factor], [0.0, 1.0 / factor, -o / factor], [0.0, 0.0, 1.0]])
    return dataclasses.replace(view, K=scale @ np.asarray(view.K, dtype=np.float64), width=width, height=height)


def read_low_res(shot: Any, progress: ProgressFn, plates: Any = None) -> LowRes:
    """Read the planning inputs of every frame of ``shot`` (about 200 pixels across); warn when
    the extend mask covers pixels without depth (they cannot be locked by reprojection).
    ``plates`` (a :class:`~.plates.PlateAnalysis`) gives the trusted plate; without it, the
    plate outside the mask is trusted."""
    frames = shot.frames
    width, height = shot.resolution
    factor = max(1, int(round(max(width, height) / 200)))
    o = factor // 2
    depths, masks, views, trusted = {}, {}, {}, {}
    for i, t in enumerate(frames):
        depth = shot.read("depth", t)
        need = shot.read("matte", t) > 0
        depths[t] = np.ascontiguousarray(depth[o::factor, o::factor])
        masks[t] = np.ascontiguousarray(need[o::factor, o::factor])
        h, w = depths[t].shape
        views[t] = low_res_view(shot.view(t), factor, w, h)
        if plates is not None:
            ys, xs = np.arange(h) * factor + o, np.arange(w) * factor + o
            trusted[t] = plates.trusted_points(t, ys, xs) & ~masks[t]
        progress(0.05 * (i + 1) / len(frames), f"planning: read frame {t}")
    no_depth = {t: int((masks[t] & ~np.isfinite(depths[t])).sum()) for t in frames}
    worst = max(no_depth, key=lambda t: no_depth[t])
    if no_depth[worst]:
        log.warning(
            "set extension: the extend mask covers pixels with no depth (no hit) in %d frames (worst: frame %d, "
            "%.1f%% of its mask, %s): they cannot be locked by reprojection and are generated per frame; "
            "give the extension proxy geometry (or a far backdrop) in the depth render",
            sum(1 for v in no_depth.values() if v), worst, 100.0 * no_depth[worst] / max(1, int(masks[worst].sum())),
            shot.depth.path(worst),
        )
    return LowRes(factor=factor, depths=depths, masks=masks, views=views, trusted=trusted if plates is not None else None)


def make_plan(
    key: str,
    frames: Sequence[int],
    low: LowRes,
    *,
    max_sources: int,
    max_keyframes: int,
    progress: ProgressFn | None = None,
) -> Plan:
    """The whole-shot plan from the low-resolution inputs (pure: same inputs, same plan).

    (1) Clean-plate sources per frame: nearest frames in time first, then a few spread over the
    shot, each kept when its plate (outside its own extend mask) sees enough of what is still
    missing. (2) Keyframes by coverage, lazy greedy, until ``max_keyframes`` or the best
    candidate adds less than :data:`KEYFRAME_MIN_GAIN` of what was missing.
    """
    from ...conditioning.depth import DepthRange
    from ...geometry import reproject

    progress = progress or (lambda fraction, message: None)
    started = time.perf_counter()
    frames = list(frames)
    depths, masks, views = low.depths, low.masks, low.views
    depth_range = DepthRange.from_depths(depths.values())

    # (1) clean-plate sources per frame: nearest in time first, a few spread over the shot.
    trusted = low.trusted if low.trusted is not None else {t: ~masks[t] for t in frames}
    plate_ok = {t: trusted[t].astype(np.float32)[..., None] for t in frames}
    residual: dict[int, np.ndarray] = {}
    sources: dict[int, list[int]] = {}
    spread = frames[:: max(1, len(frames) // 12)]
    for i, t in enumerate(frames):
        missing = masks[t].copy()
        chosen: list[int] = []
        candidates = sorted((s for s in frames if s != t), key=lambda s: (abs(s - t), s))[:16]
        candidates += [s for s in spread if s != t and s not in candidates]
        for s in candidates:
            if not missing.any() or len(chosen) >= max_sources:
                break
            sampled, valid = reproject(plate_ok[s], depths[s], views[s], depths[t], views[t], where=missing)
            seen = valid & (sampled[..., 0] > 0.99)
            if seen.sum() >= max(1, int(0.0005 * missing.size)):
                chosen.append(s)
                missing &= ~seen
        sources[t] = chosen
        residual[t] = missing
        progress(0.05 + 0.15 * (i + 1) / len(frames), f"planning: plate sources for frame {t}")
    total_mask = sum(int(masks[t].sum()) for t in frames)
    after_plates = sum(int(residual[t].sum()) for t in frames)

    # (2) keyframes by coverage, lazy greedy (coverage only shrinks as keyframes are added).
    ones = {t: np.ones(depths[t].shape + (1,), np.float32) for t in frames}
    step = max(1, math.ceil(len(frames) / 48))
    targets = frames[::step]

    def coverage(c: int, t: int) -> np.ndarray:
        if c == t:
            return residual[t].copy()
        if not residual[t].any():
            return residual[t].copy()
        _, valid = reproject(ones[c], depths[c], views[c], depths[t], views[t], where=residual[t])
        return valid & residual[t]

    def gain(c: int) -> int:
        return sum(int(coverage(c, t).sum()) for t in targets)

    keyframes: list[int] = []
    initial = sum(int(residual[t].sum()) for t in targets)
    if initial > 0:
        bounds = {c: gain(c) for c in frames[::step]}
        progress(0.3, "planning: keyframe coverage")
        while len(keyframes) < max_keyframes:
            best, best_gain = None, -1
            for c in sorted(bounds, key=lambda c: (-bounds[c], c)):
                if bounds[c] <= best_gain:
                    break
                bounds[c] = gain(c)
                if bounds[c] > best_gain or (bounds[c] == best_gain and best is not None and c < best):
                    best, best_gain = c, bounds[c]
            if best is None or best_gain <= max(0, int(KEYFRAME_MIN_GAIN * initial)):
                break
            keyframes.append(best)
            del bounds[best]
            for t in frames:
                residual[t] &= ~coverage(best, t)
            remaining = sum(int(residual[t].sum()) for t in targets)
            log.info("set extension: keyframe %d covers %d px; %.2f%% still missing", best, best_gain, 100.0 * remaining / max(initial, 1))
            if remaining <= 0.002 * initial:
                break
    after_keys = sum(int(residual[t].sum()) for t in frames)
    elapsed = time.perf_counter() - started
    log.info("set extension: planned in %.1fs: keyframes %s", elapsed, keyframes)
    return Plan(
        key=key,
        depth_near=depth_range.near,
        depth_far=depth_range.far,
        sources=sources,
        keyframes=keyframes,
        missing_after_plates=after_plates / max(total_mask, 1),
        missing_after_keyframes=after_keys / max(total_mask, 1),
        stats={"factor": low.factor, "seconds": round(elapsed, 3), "extend_pixels_low_res": total_mask},
    )


def load_or_make_plan(work_dir: Path, key: str, make: Callable[[], Plan]) -> Plan:
    """The plan cached as ``work_dir/plan.<key[:16]>.json``, or ``make()`` written there
    (atomically, under a file lock, so concurrent chunks plan once)."""
    import json

    from filelock import FileLock

    from ...atomic import write_json_atomic

    path = work_dir / f"plan.{key[:16]}.json"
    work_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(work_dir / "plan.lock")):
        if path.is_file():
            try:
                plan = Plan.from_json(json.loads(path.read_text()))
                if plan.key == key:
                    log.info("set extension: reusing plan %s (keyframes %s)", path.name, plan.keyframes)
                    return plan
            except (ValueError, KeyError, TypeError):
                log.warning("set extension: %s is unreadable; planning again", path)
        plan = make()
        write_json_atomic(path, plan.to_json())
    return plan
