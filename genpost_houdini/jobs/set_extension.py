"""Set extension locked to the shot.

For every pixel to extend (extend mask = 1) the job takes the first source that can see it:

1. another frame's plate, reprojected with depth and camera and z-tested (clean-plate
   projection; only plate pixels, never another frame's own extend region);
2. a generated keyframe, reprojected the same way;
3. the generator, only for what no frame and no keyframe saw.

Keyframes are chosen by coverage (greedy: the frame that sees most of what is still missing),
planned at low resolution over the whole shot range. The plan and the keyframes depend only on
the shot's inputs and the parameters, never on which frames a chunk renders, and are cached in
``out/.genpost/``: any chunking of the frame range gives identical pixels. The plate's own
pixels outside the mask are copied, never resampled. Frames are streamed (a small cache of
decoded frames), so memory does not grow with shot length.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import UsageError
from .common import ProgressFn
from ..provenance import file_stamp, hash_data, make_provenance
from ..shot.frames import format_frames, output_pattern
from ..consistency.blend import harmonise, ring_around
from .common import OUTPUT_COMPRESSION, derive_seed, frame_list, layer_is_current, merge_params, run_frames

log = logging.getLogger("genpost")

JOB_KIND = "setext"
OUTPUT_NAME = "setext"
LAYER_NAME = "setext.usda"

#: Source codes written to the `source` channel.
SOURCE_PLATE, SOURCE_OTHER_FRAME, SOURCE_KEYFRAME, SOURCE_GENERATED = 0, 1, 2, 3
#: Confidence per source (how much of the pixel is observation rather than invention).
CONFIDENCE = {SOURCE_PLATE: 1.0, SOURCE_OTHER_FRAME: 0.9, SOURCE_KEYFRAME: 0.6, SOURCE_GENERATED: 0.3}

#: Output channels: colour half (lossless zip), depth float; the small codes and [0, 1] values
#: are exact enough in half (0..3 exactly), which halves the bytes a 2K frame writes.
OUTPUT_KINDS = {"R": "colour", "G": "colour", "B": "colour", "A": "colour", "source": "mask", "matte": "mask", "confidence": "mask", "Z": "depth"}
OUTPUT_TYPES = {"source": "half", "matte": "half", "confidence": "half"}


#: Parameters a job file may hold for this job, with their defaults (None = required).
JOB_PARAMS: dict[str, Any] = {
    "stage": None,
    "camera": "",
    "plate": None,
    "depth": None,
    "extend": None,
    "frames": None,
    "generator": "classical",
    "model": "",
    "seed": 0,
    "prompt": "",
    "negative_prompt": "",
    "strength": 1.0,
    "runtime": "auto",
    "allow_pickle": False,
    "max_keyframes": 8,
    "max_sources": 8,
}
#: Parameters that are file paths (resolved relative to a job file).
PATH_PARAMS = ("stage", "plate", "depth", "extend", "model")

#: Width (pixels) of the ring of final pixels a reprojected patch is matched to (consistency.blend).
HARMONISE_RING = 4
#: Hole generation: tile size and context margin (pixels).
HOLE_TILE, HOLE_MARGIN = 160, 48
#: Keyframes stop when the best candidate would add less than this fraction of what was missing.
KEYFRAME_MIN_GAIN = 0.01


@dataclass
class SetExtensionParams:
    """Validated parameters of one set-extension job (the shot range, not a chunk)."""

    stage: str
    plate: str
    depth: str
    extend: str
    frames: list[int]
    camera: str | None = None
    generator: str = "classical"
    model: str | None = None
    seed: int = 0
    prompt: str = ""
    negative_prompt: str = ""
    strength: float = 1.0
    runtime: str = "auto"
    allow_pickle: bool = False
    max_keyframes: int = 8
    max_sources: int = 8

    @classmethod
    def from_mapping(cls, params: Mapping[str, Any]) -> "SetExtensionParams":
        values = merge_params("set-extension", JOB_PARAMS, params)
        frames = frame_list(values["frames"])
        if not 0.0 <= float(values["strength"]) <= 1.0:
            raise UsageError(f"strength must be within 0..1, got {values['strength']}")
        return cls(
            stage=str(values["stage"]),
            plate=str(values["plate"]),
            depth=str(values["depth"]),
            extend=str(values["extend"]),
            frames=frames,
            camera=values.get("camera") or None,
            generator=str(values["generator"]),
            model=values.get("model") or None,
            seed=int(values["seed"]),
            prompt=str(values["prompt"]),
            negative_prompt=str(values["negative_prompt"]),
            strength=float(values["strength"]),
            runtime=str(values["runtime"]),
            allow_pickle=bool(values["allow_pickle"]),
            max_keyframes=int(values["max_keyframes"]),
            max_sources=int(values["max_sources"]),
        )



# --------------------------------------------------------------------------------------------
# Planning at low resolution
# --------------------------------------------------------------------------------------------
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


def _low_res_view(view: Any, factor: int, width: int, height: int) -> Any:
    """The view of the pixels kept by ``image[o::f, o::f]`` (exact, no resampling)."""
    o = factor // 2
    scale = np.array([[1.0 / factor, 0.0, -o / factor], [0.0, 1.0 / factor, -o / factor], [0.0, 0.0, 1.0]])
    return dataclasses.replace(view, K=scale @ np.asarray(view.K, dtype=np.float64), width=width, height=height)


class SetExtension:
    """One set-extension job over a shot range; renders any subset of it."""

    def __init__(self, params: SetExtensionParams, out_dir: str | os.PathLike[str], *, progress: ProgressFn | None = None):
        from ..shot.shot import Shot

        self.params = params
        self.out_dir = Path(out_dir).absolute()
        self.work_dir = self.out_dir / ".genpost"
        self.progress = progress or (lambda fraction, message: None)
        self.shot = Shot.open(
            params.stage,
            camera=params.camera,
            depth=params.depth,
            frames=params.frames,
            plate=params.plate,
            mask=params.extend,
        )
        self._generator: Any = None
        self._plan: Plan | None = None
        self._keyframes: dict[int, np.ndarray] = {}
        self.generator_seconds = 0.0
        self.output = output_pattern(self.out_dir, OUTPUT_NAME)

    # -- identity -----------------------------------------------------------------------------
    def plan_key(self) -> str:
        """Hash of every input file (stamp) and every parameter that changes pixels."""
        p = self.params
        stamps = [[file_stamp(f) for f in self.shot.input_files(t)] for t in self.shot.frames]
        stage_stamp = file_stamp(p.stage)
        return hash_data(
            "setext-plan-v1",
            stage_stamp,
            self.shot.camera.prim_path,
            stamps,
            p.generator,
            p.model or "",
            p.seed,
            p.prompt,
            p.negative_prompt,
            p.strength,
            p.max_keyframes,
            p.max_sources,
        )

    def frame_inputs_hash(self, frame: int) -> str:
        return hash_data(self.plan.key, "frame", frame)

    @property
    def generator(self) -> Any:
        if self._generator is None:
            from ..generators.registry import get_generator

            options: dict[str, Any] = {}
            if self.params.runtime != "auto":
                options["runtime"] = self.params.runtime
            if self.params.model:
                options["model"] = self.params.model
            if self.params.allow_pickle:
                options["allow_pickle"] = True
            self._generator = get_generator(self.params.generator, **options)
            socket = os.environ.get(WORKER_SOCKET_ENV)
            if socket and self.params.generator != "classical":
                self._generator = _WorkerGenerator(self._generator, self.params.generator, options, socket)
        return self._generator

    # -- plan ---------------------------------------------------------------------------------
    @property
    def plan(self) -> Plan:
        if self._plan is None:
            self._plan = self._load_or_make_plan()
        return self._plan

    def _load_or_make_plan(self) -> Plan:
        import json

        from filelock import FileLock

        from ..atomic import write_json_atomic

        key = self.plan_key()
        path = self.work_dir / f"plan.{key[:16]}.json"
        self.work_dir.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.work_dir / "plan.lock")):
            if path.is_file():
                try:
                    plan = Plan.from_json(json.loads(path.read_text()))
                    if plan.key == key:
                        log.info("set extension: reusing plan %s (keyframes %s)", path.name, plan.keyframes)
                        return plan
                except (ValueError, KeyError, TypeError):
                    log.warning("set extension: %s is unreadable; planning again", path)
            plan = self._make_plan(key)
            write_json_atomic(path, plan.to_json())
        return plan

    def _make_plan(self, key: str) -> Plan:
        from ..conditioning.depth import DepthRange
        from ..geometry import reproject

        started = time.perf_counter()
        frames = self.shot.frames
        width, height = self.shot.resolution
        factor = max(1, int(round(max(width, height) / 200)))
        o = factor // 2
        depths, masks, views = {}, {}, {}
        for i, t in enumerate(frames):
            depth = self.shot.read("depth", t)
            mask = self.shot.read("mask", t)
            depths[t] = np.ascontiguousarray(depth[o::factor, o::factor])
            masks[t] = np.ascontiguousarray(mask[o::factor, o::factor])
            h, w = depths[t].shape
            views[t] = _low_res_view(self.shot.view(t), factor, w, h)
            self.progress(0.05 * (i + 1) / len(frames), f"planning: read frame {t}")
        depth_range = DepthRange.from_depths(depths.values())
        no_depth = {t: int((masks[t] & ~np.isfinite(depths[t])).sum()) for t in frames}
        worst = max(no_depth, key=lambda t: no_depth[t])
        if no_depth[worst]:
            log.warning(
                "set extension: the extend mask covers pixels with no depth (no hit) in %d frames (worst: frame %d, "
                "%.1f%% of its mask, %s): they cannot be locked by reprojection and are generated per frame; "
                "give the extension proxy geometry (or a far backdrop) in the depth render",
                sum(1 for v in no_depth.values() if v), worst, 100.0 * no_depth[worst] / max(1, int(masks[worst].sum())),
                self.shot.depth.path(worst),
            )

        # (1) clean-plate sources per frame: nearest in time first, a few spread over the shot.
        plate_ok = {t: (~masks[t]).astype(np.float32)[..., None] for t in frames}
        residual: dict[int, np.ndarray] = {}
        sources: dict[int, list[int]] = {}
        spread = frames[:: max(1, len(frames) // 12)]
        for i, t in enumerate(frames):
            missing = masks[t].copy()
            chosen: list[int] = []
            candidates = sorted((s for s in frames if s != t), key=lambda s: (abs(s - t), s))[:16]
            candidates += [s for s in spread if s != t and s not in candidates]
            for s in candidates:
                if not missing.any() or len(chosen) >= self.params.max_sources:
                    break
                sampled, valid = reproject(plate_ok[s], depths[s], views[s], depths[t], views[t], where=missing)
                seen = valid & (sampled[..., 0] > 0.99)
                if seen.sum() >= max(1, int(0.0005 * missing.size)):
                    chosen.append(s)
                    missing &= ~seen
            sources[t] = chosen
            residual[t] = missing
            self.progress(0.05 + 0.15 * (i + 1) / len(frames), f"planning: plate sources for frame {t}")
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
            self.progress(0.3, "planning: keyframe coverage")
            while len(keyframes) < self.params.max_keyframes:
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
            stats={"factor": factor, "seconds": round(elapsed, 3), "extend_pixels_low_res": total_mask},
        )

    # -- filling ------------------------------------------------------------------------------
    def _fill_from_plates(self, t: int, depth: np.ndarray, image: np.ndarray, source: np.ndarray, missing: np.ndarray) -> None:
        from ..geometry import reproject

        view_t = self.shot.view(t)
        for s in self.plan.sources.get(t, []):
            if not missing.any():
                return
            plate = self.shot.read("plate", s)
            keep = (~self.shot.read("mask", s)).astype(np.float32)
            src = np.concatenate([plate, keep[..., None]], axis=-1)
            ring = ring_around(missing, HARMONISE_RING)
            sampled, valid = reproject(src, self.shot.read("depth", s), self.shot.view(s), depth, view_t, where=missing | ring)
            seen_as_plate = valid & (sampled[..., 3] > 0.99)
            ok = seen_as_plate & missing
            image[ok] = harmonise(image, sampled[..., :3], ok, seen_as_plate & ring)
            source[ok] = SOURCE_OTHER_FRAME
            missing &= ~ok

    def _fill_from_keyframes(self, t: int, depth: np.ndarray, image: np.ndarray, source: np.ndarray, missing: np.ndarray, keyframes: Sequence[int]) -> None:
        from ..geometry import reproject

        view_t = self.shot.view(t)
        for k in keyframes:
            if not missing.any():
                return
            src = self.keyframe(k)
            if k == t:
                image[missing] = src[missing, :3]
                source[missing] = src[missing, 3]
                missing[:] = False
                return
            ring = ring_around(missing, HARMONISE_RING)
            sampled, valid = reproject(src, self.shot.read("depth", k), self.shot.view(k), depth, view_t, where=missing | ring)
            ok = valid & missing
            image[ok] = harmonise(image, sampled[..., :3], ok, valid & ring)
            # Plate content carried by a keyframe is still another frame's plate.
            from_plate = np.rint(sampled[..., 3]) <= SOURCE_OTHER_FRAME
            source[ok] = np.where(from_plate[ok], SOURCE_OTHER_FRAME, SOURCE_KEYFRAME)
            missing &= ~ok

    def _generate(self, t: int, depth: np.ndarray, image: np.ndarray, source: np.ndarray, missing: np.ndarray, purpose: str) -> float:
        """Fill ``missing`` with the generator; returns the seconds the generator took.

        Keyframes are generated whole. The few pixels no frame and no keyframe saw ("holes")
        are generated per tile with a margin of context, for generators that work frame by
        frame: small holes then cost in proportion to their size, not the frame's.
        """
        if not missing.any():
            return 0.0
        from ..conditioning.depth import DepthRange

        drange = DepthRange(self.plan.depth_near, self.plan.depth_far)
        norm_depth = drange.normalise(depth)
        started = time.perf_counter()
        if purpose == "keyframe" or getattr(self.generator, "temporal", False):
            windows = [(slice(0, missing.shape[0]), slice(0, missing.shape[1]), slice(0, missing.shape[0]), slice(0, missing.shape[1]))]
        else:
            windows = list(_hole_tiles(missing, HOLE_TILE, HOLE_MARGIN))
        for index, (ys, xs, core_y, core_x) in enumerate(windows):
            want = np.zeros_like(missing)
            want[core_y, core_x] = missing[core_y, core_x]
            sub_missing = want[ys, xs]
            if not sub_missing.any():
                continue
            result = self._generate_window(
                t, image[ys, xs], missing[ys, xs], sub_missing, norm_depth[ys, xs], f"{purpose}:{index}",
                camera=self._camera_options(t, depth, ys, xs),
            )
            fill = np.zeros_like(missing)
            fill[ys, xs] = sub_missing
            image[fill] = result[sub_missing]
            source[fill] = SOURCE_GENERATED
        missing[:] = False
        return time.perf_counter() - started

    def _camera_options(self, t: int, depth: np.ndarray, ys: slice, xs: slice) -> dict[str, Any]:
        """What a generator may use to reason in 3D about a window of frame ``t`` (options keys
        ``depth_metric``, ``K``, ``world_to_camera``, ``world_up``; K shifted to the window)."""
        from ..crowd.placement import up_vector

        view = self.shot.view(t)
        K = np.array(view.K, dtype=np.float64)
        K[0, 2] -= xs.start or 0
        K[1, 2] -= ys.start or 0
        return {
            "depth_metric": np.ascontiguousarray(depth[ys, xs], dtype=np.float32)[None],
            "K": K[None],
            "world_to_camera": np.asarray(view.world_to_camera, dtype=np.float64)[None],
            "world_up": up_vector(self.shot.camera.stage),
        }

    def _generate_window(self, t: int, image: np.ndarray, unknown: np.ndarray, generate: np.ndarray, depth: np.ndarray, purpose: str, *, camera: Mapping[str, Any] | None = None) -> np.ndarray:
        from ..generators.base import GenerationRequest

        p = self.params
        request = GenerationRequest(
            frames=[t],
            images=np.where(unknown[..., None], 0.0, image)[None].astype(np.float32),
            known=(~unknown)[None],
            generate=generate[None].copy(),
            depth=depth[None].astype(np.float32),
            seed=derive_seed(p.seed, t, purpose),
            prompt=p.prompt,
            negative_prompt=p.negative_prompt,
            strength=p.strength,
            colourspace="ACEScg",
            options=dict(camera or {}),
        )
        return np.asarray(self.generator.generate(request))[0]

    def keyframe(self, k: int) -> np.ndarray:
        """The completed keyframe as one (H, W, 4) array: R, G, B and the source code of each
        pixel (one gather reprojects both). Cached in memory and on disk."""
        if k in self._keyframes:
            return self._keyframes[k]
        from filelock import FileLock

        from ..imageio import exr

        plan = self.plan
        path = self.work_dir / "keyframes" / f"key.{plan.key[:16]}.{k:04d}.exr"
        path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(path) + ".lock"):
            if path.is_file():
                stack = exr.read_exr(path, ["R", "G", "B", "source"]).get(["R", "G", "B", "source"]).astype(np.float32)
            else:
                index = plan.keyframes.index(k)
                self.progress(0.3 + 0.1 * index / max(1, len(plan.keyframes)), f"keyframe {k}: filling")
                depth = self.shot.read("depth", k)
                image = self.shot.read("plate", k).copy()
                missing = self.shot.read("mask", k).copy()
                source = np.zeros(missing.shape, np.uint8)
                self._fill_from_plates(k, depth, image, source, missing)
                self._fill_from_keyframes(k, depth, image, source, missing, plan.keyframes[:index])
                seconds = self._generate(k, depth, image, source, missing, "keyframe")
                log.info("set extension: keyframe %d generated in %.1fs", k, seconds)
                self.generator_seconds += seconds
                exr.write_exr(
                    path,
                    {"R": image[..., 0], "G": image[..., 1], "B": image[..., 2], "source": source.astype(np.float32)},
                    kinds={"R": "data", "G": "data", "B": "data", "source": "id"},
                    metadata={"keyframe": k, "plan": plan.key},
                )
                stack = np.concatenate([image, source[..., None].astype(np.float32)], axis=-1)
        self._keyframes[k] = stack
        return stack

    def _hole_window(self, t: int) -> list[int]:
        """The frames of the temporal window holding ``t``: consecutive runs of the model's
        window length (4k+1), aligned to the shot's first frame, never to a chunk."""
        length = int(getattr(self.generator, "window", 0) or 33)
        length = max(1, (length - 1) // 4 * 4 + 1)
        first = self.shot.frames[0]
        index = (t - first) // length
        return [f for f in self.shot.frames if first + index * length <= f < first + (index + 1) * length]

    def _temporal_holes(self, t: int) -> np.ndarray:
        """Frame ``t``'s pixels as a video generator completes them over its whole window.

        The window is generated once (every frame's plate and keyframe projection as known
        pixels, what is still missing as the mask, the normalised depth as control) and cached
        per frame in ``.genpost/holes/``, so every chunk that touches it reads the same pixels.
        """
        from filelock import FileLock

        from ..conditioning.depth import DepthRange
        from ..generators.base import GenerationRequest
        from ..imageio import exr

        frames = self._hole_window(t)
        folder = self.work_dir / "holes"
        folder.mkdir(parents=True, exist_ok=True)
        path_of = lambda f: folder / f"hole.{self.plan.key[:16]}.{f:04d}.exr"  # noqa: E731
        with FileLock(str(folder / f"window.{frames[0]:04d}.lock")):
            if not path_of(t).is_file():
                drange = DepthRange(self.plan.depth_near, self.plan.depth_far)
                images, missing, depths = [], [], []
                for f in frames:
                    depth = self.shot.read("depth", f)
                    image = self.shot.read("plate", f).copy()
                    miss = self.shot.read("mask", f).copy()
                    src = np.zeros(miss.shape, np.uint8)
                    self._fill_from_plates(f, depth, image, src, miss)
                    self._fill_from_keyframes(f, depth, image, src, miss, self.plan.keyframes)
                    images.append(np.where(miss[..., None], 0.0, image).astype(np.float32))
                    missing.append(miss)
                    depths.append(drange.normalise(depth))
                known = ~np.stack(missing)
                request = GenerationRequest(
                    frames=list(frames),
                    images=np.stack(images),
                    known=known,
                    generate=~known,
                    depth=np.stack(depths),
                    seed=derive_seed(self.params.seed, frames[0], "holes-window"),
                    prompt=self.params.prompt,
                    negative_prompt=self.params.negative_prompt,
                    strength=self.params.strength,
                    colourspace="ACEScg",
                )
                started = time.perf_counter()
                result = np.asarray(self.generator.generate(request))
                self.generator_seconds += time.perf_counter() - started
                for i, f in enumerate(frames):
                    exr.write_exr(path_of(f), {c: result[i, ..., k] for k, c in enumerate("RGB")},
                                  kinds={c: "data" for c in "RGB"}, metadata={"window": frames[0], "plan": self.plan.key})
        return exr.read_exr(path_of(t), ["R", "G", "B"]).get(["R", "G", "B"]).astype(np.float32)

    def render(self, t: int) -> dict[str, np.ndarray]:
        """The output channels of frame ``t``."""
        depth = self.shot.read("depth", t)
        plate = self.shot.read("plate", t)
        mask = self.shot.read("mask", t)
        image = plate.copy()
        source = np.zeros(mask.shape, np.uint8)
        missing = mask.copy()
        self._fill_from_plates(t, depth, image, source, missing)
        self._fill_from_keyframes(t, depth, image, source, missing, self.plan.keyframes)
        if missing.any() and getattr(self.generator, "temporal", False):
            filled = self._temporal_holes(t)
            image[missing] = filled[missing]
            source[missing] = SOURCE_GENERATED
        else:
            self.generator_seconds += self._generate(t, depth, image, source, missing, "holes")
        image[~mask] = plate[~mask]  # the plate is never altered outside the mask
        confidence = np.zeros(mask.shape, np.float32)
        for code, value in CONFIDENCE.items():
            confidence[source == code] = value
        finite_depth = np.where(np.isfinite(depth), depth, np.float32(np.inf)).astype(np.float32)
        return {
            "R": image[..., 0],
            "G": image[..., 1],
            "B": image[..., 2],
            "A": np.ones(mask.shape, np.float32),
            "source": source.astype(np.float32),
            "matte": mask.astype(np.float32),
            "confidence": confidence,
            "Z": finite_depth,
        }

    # -- the job --------------------------------------------------------------------------------
    def run(self, frames: Sequence[int] | None = None, *, force: bool = False) -> dict[str, Any]:
        """Render ``frames`` (default: the shot range); skip frames already done with the same inputs."""
        from ..imageio import exr

        frames = list(self.shot.frames if frames is None else frames)
        started = time.perf_counter()
        plan = self.plan
        provenance_model: dict[str, Any] | None = None

        def render(t: int, inputs_hash: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
            nonlocal provenance_model
            channels = self.render(t)
            if provenance_model is None:
                provenance_model = dict(self.generator.provenance())
            prov = make_provenance(
                job=JOB_KIND,
                generator=self.params.generator,
                seed=self.params.seed,
                inputs_hash=inputs_hash,
                prompt=self.params.prompt,
                model=provenance_model,
                extra={"frame": t, "keyframes": plan.keyframes, "camera": self.shot.camera.prim_path},
            )
            return channels, prov

        def write(t: int, inputs_hash: str, data: tuple[dict[str, np.ndarray], dict[str, Any]]) -> list[Path]:
            channels, prov = data
            path = exr.write_exr(
                self.output.path(t),
                channels,
                kinds=OUTPUT_KINDS,
                types=OUTPUT_TYPES,
                compression=OUTPUT_COMPRESSION,
                metadata=prov,
                colourspace="ACEScg",
            )
            return [Path(path)]

        written, skipped = run_frames(
            out_dir=self.out_dir,
            frames=frames,
            shot_frames=self.shot.frames,
            inputs_hash=self.frame_inputs_hash,
            render=render,
            write=write,
            force=force,
            progress=self.progress,
            start=0.4,
        )
        layer = self.out_dir / LAYER_NAME
        if written or not layer_is_current(layer, self.plan.key):
            layer = self.write_layer(provenance_model)
        elapsed = time.perf_counter() - started
        return {
            "job": JOB_KIND,
            "out": str(self.out_dir),
            "images": str(self.output.hash_pattern),
            "layer": str(layer),
            "frames": format_frames(frames),
            "written": format_frames(written),
            "skipped": format_frames(skipped),
            "keyframes": plan.keyframes,
            "missing_after_plates": plan.missing_after_plates,
            "missing_after_keyframes": plan.missing_after_keyframes,
            "seconds": round(elapsed, 3),
            "generator_seconds": round(self.generator_seconds, 3),
        }

    def write_layer(self, model: Mapping[str, Any] | None) -> Path:
        from ..usd_out.aov_layer import write_card_layer

        if model is None:
            model = dict(self.generator.provenance())
        prov = make_provenance(
            job=JOB_KIND,
            generator=self.params.generator,
            seed=self.params.seed,
            inputs_hash=self.plan.key,
            prompt=self.params.prompt,
            model=model,
            extra={"keyframes": self.plan.keyframes, "frames": format_frames(self.shot.frames)},
        )
        return write_card_layer(
            self.out_dir / LAYER_NAME,
            camera=self.shot.camera,
            frames=self.shot.frames,
            image_name=f"{OUTPUT_NAME}.####.exr",
            resolution=self.shot.resolution,
            provenance=prov,
            colourspace="ACEScg",
            card_name="genpost_setext",
        )


#: Set by ``session_enter`` for a farm session's tasks: generate through that worker, where the
#: model stays loaded between tasks.
WORKER_SOCKET_ENV = "GENPOST_WORKER_SOCKET"


class _WorkerGenerator:
    """A model generator whose ``generate`` runs in the session's ``genpost worker``.

    Name, ``temporal`` and provenance come from the local instance (which never loads weights
    for them); the pixels come from the worker, which holds the model across tasks.
    """

    def __init__(self, local: Any, name: str, options: Mapping[str, Any], socket: str):
        self._local = local
        self.name = name
        self.options = dict(options)
        self.socket = socket
        self.temporal = bool(getattr(local, "temporal", False))

    def provenance(self) -> dict[str, Any]:
        return dict(self._local.provenance())

    def generate(self, request: Any, progress: Any = None) -> np.ndarray:
        from ..runtime.worker import WorkerClient

        client = WorkerClient(self.socket, autostart=True)
        return client.generate(request, self.name, self.options, progress=progress)


def session_enter(params: Mapping[str, Any]) -> dict[str, str]:
    """Farm session start: a model generator gets a ``genpost worker`` that keeps the model
    loaded for every task of the session; returns the environment for those tasks."""
    if str(params.get("generator") or "classical") == "classical":
        return {}
    from ..runtime.worker import WorkerClient, default_socket

    socket = default_socket().with_name(f"session-{os.getpid()}.sock")
    WorkerClient(socket).ensure_running()
    return {WORKER_SOCKET_ENV: str(socket)}


def session_exit(params: Mapping[str, Any]) -> dict[str, str]:
    """Farm session end: stop the session's worker (frees all GPU memory)."""
    socket = os.environ.get(WORKER_SOCKET_ENV)
    if socket:
        from ..runtime.worker import WorkerClient

        WorkerClient(socket, autostart=False).shutdown()
    return {}


def _hole_tiles(missing: np.ndarray, tile: int, margin: int):
    """(window rows, window cols, core rows, core cols) for every tile holding missing pixels."""
    h, w = missing.shape
    for y0 in range(0, h, tile):
        for x0 in range(0, w, tile):
            y1, x1 = min(y0 + tile, h), min(x0 + tile, w)
            if missing[y0:y1, x0:x1].any():
                yield (
                    slice(max(0, y0 - margin), min(h, y1 + margin)),
                    slice(max(0, x0 - margin), min(w, x1 + margin)),
                    slice(y0, y1),
                    slice(x0, x1),
                )


def run_job(params: Mapping[str, Any], frames: Sequence[int] | None = None, *, out_dir: str | os.PathLike[str], force: bool = False, progress: ProgressFn | None = None) -> dict[str, Any]:
    """The job-file entry point (``genpost run``): params as in :data:`JOB_PARAMS`."""
    job = SetExtension(SetExtensionParams.from_mapping(params), out_dir, progress=progress)
    return job.run(frames, force=force)
