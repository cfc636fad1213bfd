"""Set extension's three fill stages for one frame, in order of trust:

1. :meth:`Filler.fill_from_plates`: the plan's clean-plate source frames, reprojected with
   depth and camera and z-tested (only their plate pixels, never their own extend region);
2. :meth:`Filler.fill_from_keyframes`: the completed keyframes (:meth:`Filler.keyframe`),
   reprojected the same way;
3. :meth:`Filler.generate` (frame-by-frame generators, per tile) or
   :meth:`Filler.temporal_holes` (video generators, per window of frames): only what no frame
   and no keyframe saw.

Each stage fills a :class:`~.canvas.Canvas` where it is still missing and records where each
pixel came from. Only *trusted* plate pixels (:mod:`.plates`: no matte, spill, screen colour,
holdout or moving content) are sources or generator context; sources are degrained when the
shot has grain. Keyframes and video hole windows are cached under ``out/.genpost/`` (keyed by
the plan), so every chunk of frames reads the same pixels.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from collections import OrderedDict

from ...progress import ProgressFn
from ...seeds import derive_seed
from .canvas import KEYFRAME_LABEL, Canvas
from .params import SOURCE_KEYFRAME, SOURCE_OTHER_FRAME, SetExtensionParams
from .plan import Plan
from .plates import FrameTrust, PlateAnalysis, frame_trust, work_region

log = logging.getLogger("genpost")

#: Frames whose trust masks and degrained plates are kept in memory.
TRUST_CACHE = 12
#: Hole generation: tile size and context margin (pixels).
HOLE_TILE, HOLE_MARGIN = 160, 48


class Filler:
    """Fills frames of one shot under one plan; holds the generator and the keyframe cache."""

    def __init__(self, shot: Any, plan: Plan, params: SetExtensionParams, work_dir: Path, *, progress: ProgressFn,
                 plates: PlateAnalysis):
        self.shot = shot
        self.plan = plan
        self.plates = plates
        self._trust: "OrderedDict[int, FrameTrust]" = OrderedDict()
        #: Frame -> its final colour in CG space (set by the job): a video window's anchor frames.
        self.final_image: Any = None
        self.params = params
        self.work_dir = work_dir
        self.progress = progress
        self._generator: Any = None
        self._keyframes: dict[int, np.ndarray] = {}
        #: Seconds spent in the generator so far (keyframes, holes).
        self.generator_seconds = 0.0

    @property
    def generator(self) -> Any:
        """The job's generator (through the farm session's worker when one is set)."""
        if self._generator is None:
            from ...generators.registry import get_generator
            from ...runtime.worker.session import through_session

            name, options = self.params.generator, self.params.generator_options()
            self._generator = through_session(get_generator(name, **options), name, options)
        return self._generator

    # -- the frames' plates ------------------------------------------------------------------
    def trust(self, t: int) -> FrameTrust:
        """Frame ``t``'s degrained plate and trusted pixels (cached for a few frames)."""
        if t in self._trust:
            self._trust.move_to_end(t)
            return self._trust[t]
        value = frame_trust(self.shot, self.plates, t)
        self._trust[t] = value
        while len(self._trust) > TRUST_CACHE:
            self._trust.popitem(last=False)
        return value

    def canvas(self, t: int, *, keyframe: bool = False) -> Canvas:
        """Frame ``t`` ready to fill: its render's work region (what uses the extension and the
        untrusted plate next to it), or, for a keyframe, every untrusted pixel."""
        from ...conditioning.plate import spill_band_px

        tr = self.trust(t)
        work = ~tr.trusted if keyframe else work_region(tr, spill_band_px(*self.shot.plate_resolution) + 4)
        return Canvas.start(tr.image, tr.trusted, work, self.shot.read("depth", t))

    # -- stages 1 and 2: reprojection -------------------------------------------------------
    def fill_from_plates(self, t: int, depth: np.ndarray, c: Canvas) -> None:
        from ...geometry import reproject

        view_t = self.shot.view(t)
        for s in self.plan.sources.get(t, []):
            if not c.missing.any():
                return
            tr = self.trust(s)
            src = np.concatenate([tr.image, tr.trusted.astype(np.float32)[..., None]], axis=-1)
            ring = c.ring()
            sampled, valid = reproject(src, self.shot.read("depth", s), self.shot.view(s), depth, view_t, where=c.missing | ring)
            seen = valid & (sampled[..., 3] > 0.99)
            c.put(seen & c.missing, sampled[..., :3], seen, label=s, plate=sampled[..., 3], other=SOURCE_OTHER_FRAME)

    def fill_from_keyframes(self, t: int, depth: np.ndarray, c: Canvas, keyframes: Sequence[int]) -> None:
        from ...geometry import reproject

        view_t = self.shot.view(t)
        for k in keyframes:
            if not c.missing.any():
                return
            src = self.keyframe(k)
            if k == t:  # the keyframe is this frame: its pixels as they are, with their records
                m = c.missing
                c.image[m] = src[m, :3]
                c.source[m] = src[m, 3]
                c.plate[m] = src[m, 4]
                c.other[m] = np.where(src[m, 3] >= SOURCE_KEYFRAME, src[m, 3], 0)
                c.label[m] = KEYFRAME_LABEL + k
                c.known |= m
                c.missing = np.zeros_like(m)
                return
            ring = c.ring()
            sampled, valid = reproject(src, self.shot.read("depth", k), self.shot.view(k), depth, view_t, where=c.missing | ring)
            c.put(valid & c.missing, sampled[..., :3], valid, label=KEYFRAME_LABEL + k, plate=sampled[..., 4], other=SOURCE_KEYFRAME)

    # -- stage 3: generation ----------------------------------------------------------------
    def generate(self, t: int, depth: np.ndarray, c: Canvas, purpose: str) -> float:
        """Fill what is still missing with the generator; returns the seconds it took.

        Keyframes are generated whole. The few pixels no frame and no keyframe saw ("holes")
        are generated per tile with a margin of context, for generators that work frame by
        frame: small holes then cost in proportion to their size, not the frame's. Context is
        the known pixels only (trusted plate and what is filled).
        """
        missing = c.missing
        if not missing.any():
            return 0.0
        from ...conditioning.depth import DepthRange

        drange = DepthRange(self.plan.depth_near, self.plan.depth_far)
        norm_depth = drange.normalise(depth)
        started = time.perf_counter()
        if purpose == "keyframe" or getattr(self.generator, "temporal", False):
            windows = [(slice(0, missing.shape[0]), slice(0, missing.shape[1]), slice(0, missing.shape[0]), slice(0, missing.shape[1]))]
        else:
            windows = list(hole_tiles(missing, HOLE_TILE, HOLE_MARGIN))
        unknown = ~c.known
        for index, (ys, xs, core_y, core_x) in enumerate(windows):
            want = np.zeros_like(missing)
            want[core_y, core_x] = missing[core_y, core_x]
            sub_missing = want[ys, xs]
            if not sub_missing.any():
                continue
            result = self._generate_window(
                t, c.image[ys, xs], unknown[ys, xs], sub_missing, norm_depth[ys, xs], f"{purpose}:{index}",
                camera=self._camera_options(t, depth, ys, xs),
            )
            fill = np.zeros_like(missing)
            fill[ys, xs] = sub_missing
            c.put_generated(fill, result[sub_missing])
        c.missing = np.zeros_like(missing)
        return time.perf_counter() - started

    def _camera_options(self, t: int, depth: np.ndarray, ys: slice, xs: slice) -> dict[str, Any]:
        """What a generator may use to reason in 3D about a window of frame ``t`` (options keys
        ``depth_metric``, ``K``, ``world_to_camera``, ``world_up``; K shifted to the window)."""
        from ...crowd.placement import up_vector

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
        from ...generators.base import GenerationRequest

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

    # -- keyframes ---------------------------------------------------------------------------
    def keyframe(self, k: int) -> np.ndarray:
        """The completed keyframe as one (H, W, 5) array: R, G, B, the source code of each pixel
        and its other-frame plate weight (one gather reprojects them all). Every untrusted pixel
        of the keyframe is filled (matte, spill, screen, holdout, moving content), so none of
        them is ever carried into another frame. Cached in memory and on disk (degrained)."""
        if k in self._keyframes:
            return self._keyframes[k]
        from filelock import FileLock

        from ...imageio import exr

        plan = self.plan
        names = ["R", "G", "B", "source", "plate"]
        path = self.work_dir / "keyframes" / f"key.{plan.key[:16]}.{k:04d}.exr"
        path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(path) + ".lock"):
            if path.is_file():
                stack = exr.read_exr(path, names).get(names).astype(np.float32)
            else:
                index = plan.keyframes.index(k)
                self.progress(0.3 + 0.1 * index / max(1, len(plan.keyframes)), f"keyframe {k}: filling")
                depth = self.shot.read("depth", k)
                c = self.canvas(k, keyframe=True)
                self.fill_from_plates(k, depth, c)
                self.fill_from_keyframes(k, depth, c, plan.keyframes[:index])
                seconds = self.generate(k, depth, c, "keyframe")
                c.blend()
                log.info("set extension: keyframe %d generated in %.1fs", k, seconds)
                self.generator_seconds += seconds
                plate = np.where(c.filled, c.plate, 1.0).astype(np.float32)  # its own plate is plate too
                exr.write_exr(
                    path,
                    {"R": c.image[..., 0], "G": c.image[..., 1], "B": c.image[..., 2],
                     "source": c.source.astype(np.float32), "plate": plate},
                    kinds={"R": "data", "G": "data", "B": "data", "source": "id", "plate": "data"},
                    metadata={"keyframe": k, "plan": plan.key},
                )
                stack = np.concatenate([c.image, c.source[..., None].astype(np.float32), plate[..., None]], axis=-1)
        self._keyframes[k] = stack
        return stack

    # -- video generators: hole windows ------------------------------------------------------
    def hole_window(self, t: int) -> Any:
        """The generator window whose pixels are final for frame ``t``
        (:func:`~genpost_houdini.generators.windows.window_producing`): the generator's window
        length and overlap, laid from the shot's first frame, never from a chunk's."""
        from ...generators.windows import generator_window, window_producing

        length, overlap = generator_window(self.generator)
        return window_producing(t, length=length, overlap=overlap, origin=self.shot.frames[0])

    def _hole_path(self, f: int) -> Path:
        return self.work_dir / "holes" / f"hole.{self.plan.key[:16]}.{f:04d}.exr"

    def temporal_holes(self, t: int) -> np.ndarray:
        """Frame ``t``'s pixels as a video generator completes them over its whole window.

        Each window is generated once and cached per frame in ``.genpost/holes/``, so every
        chunk that touches it reads the same pixels: its frames' plate and keyframe projections
        as known pixels, what is still missing to generate, the normalised depth as control,
        and its anchor frames (shared with the window before, generated first) as final, fully
        known pixels. One request is exactly one generator window (``shot_first`` passed).
        """
        from ...imageio import exr

        self._ensure_window(self.hole_window(t))
        return exr.read_exr(self._hole_path(t), ["R", "G", "B"]).get(["R", "G", "B"]).astype(np.float32)

    def _ensure_window(self, win: Any) -> None:
        from filelock import FileLock

        from ...conditioning.depth import DepthRange
        from ...generators.base import GenerationRequest
        from ...generators.windows import window_at
        from ...imageio import exr

        shot_frames = set(self.shot.frames)
        frames = [f for f in win.frames if f in shot_frames]
        anchors = [f for f in win.anchors if f in shot_frames] if win.index > 0 else []
        produced = [f for f in frames if f not in anchors]
        if all(self._hole_path(f).is_file() for f in produced):
            return
        if anchors:  # the window before makes them final (iteratively from the shot's start)
            self._ensure_window(window_at(win.index - 1, length=win.length, overlap=win.overlap, origin=self.shot.frames[0]))
        folder = self.work_dir / "holes"
        folder.mkdir(parents=True, exist_ok=True)
        with FileLock(str(folder / f"window.{win.start:04d}.lock")):
            if all(self._hole_path(f).is_file() for f in produced):
                return
            drange = DepthRange(self.plan.depth_near, self.plan.depth_far)
            images, known, todo, depths = [], [], [], []
            for f in frames:
                depth = self.shot.read("depth", f)
                depths.append(drange.normalise(depth))
                if f in anchors:  # final: the window before produced its pixels
                    images.append(self.final_image(f) if self.final_image is not None else
                                  exr.read_exr(self._hole_path(f), ["R", "G", "B"]).get(["R", "G", "B"]).astype(np.float32))
                    known.append(np.ones(depth.shape, bool))
                    todo.append(np.zeros(depth.shape, bool))
                    continue
                c = self.canvas(f)
                self.fill_from_plates(f, depth, c)
                self.fill_from_keyframes(f, depth, c, self.plan.keyframes)
                images.append(np.where(c.known[..., None], c.image, 0.0).astype(np.float32))
                known.append(c.known)
                todo.append(c.missing)
            request = GenerationRequest(
                frames=list(frames),
                images=np.stack(images),
                known=np.stack(known),
                generate=np.stack(todo),
                depth=np.stack(depths),
                seed=derive_seed(self.params.seed, win.start, "holes-window"),
                prompt=self.params.prompt,
                negative_prompt=self.params.negative_prompt,
                strength=self.params.strength,
                colourspace="ACEScg",
                shot_first=self.shot.frames[0],
            )
            started = time.perf_counter()
            result = np.asarray(self.generator.generate(request))
            self.generator_seconds += time.perf_counter() - started
            for i, f in enumerate(frames):
                if f in produced:
                    exr.write_exr(self._hole_path(f), {c: result[i, ..., k] for k, c in enumerate("RGB")},
                                  kinds={c: "data" for c in "RGB"}, metadata={"window": win.start, "plan": self.plan.key})


def hole_tiles(missing: np.ndarray, tile: int, margin: int) -> Iterator[tuple[slice, slice, slice, slice]]:
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
