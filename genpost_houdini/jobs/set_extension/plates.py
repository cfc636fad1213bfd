"""Set extension on real plates: what of each frame's plate may be trusted.

:func:`analyse_plates` looks at the whole shot once (deterministically, cached with the plan):

- the **screen** under the extend matte (``--screen auto|blue|green|none``), from a few frames;
- the plate's **grain** (``--grain auto|off``), measured on trusted pixels of a few frames;
- **moving content** in every frame's kept plate (multi-view photometric consistency at about
  ANALYSIS_SIZE pixels across, on box-filtered plates in the depth's space).

:func:`frame_trust` then gives, per frame at full resolution and in the depth's (CG) space, the
degrained plate and the *trusted* pixels: matte 0, outside the spill band, not of the screen's
colour, outside the holdout matte, not moving, and reached by the plate (lens overscan). Only
trusted pixels are ever a source or generator context.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from ...conditioning.grain import NO_GRAIN, GrainModel, degrain, measure_grain
from ...conditioning.plate import Screen, box_down, detect_screen, plate_flaws, screen_tinted, spill_band_px, untrusted_pixels
from ...conditioning.morphology import dilate
from ...conditioning.pullpush import pull_push
from ...shot.camera import box_view

log = logging.getLogger("genpost")

#: Moving content is found at about this many pixels across.
ANALYSIS_SIZE = 256
#: Frames sampled for the screen and for the grain.
SCREEN_FRAMES, GRAIN_FRAMES = 8, 3
#: A holdout matte is grown by this many pixels (its edges are soft and approximate).
HOLDOUT_GROW = 2


@dataclass
class PlateAnalysis:
    """The shot's plate conditions: screen, grain, and per frame the moving content, the
    unverified plate (needed by another frame, confirmed by no distant view) and the trusted
    plate (bool masks on ``factor`` x ``factor`` blocks of CG pixels)."""

    screen: Screen
    grain: GrainModel
    factor: int
    moving: dict[int, np.ndarray]
    trusted: dict[int, np.ndarray]
    unverified: dict[int, np.ndarray]

    def to_json(self) -> dict[str, Any]:
        return {"screen": self.screen.to_json(), "grain": self.grain.to_json(), "factor": self.factor,
                "moving_blocks": {str(t): int(m.sum()) for t, m in sorted(self.moving.items())}}

    def save(self, path: Path) -> None:
        """Write the masks (packed bits) and the JSON summary as one ``.npz`` atomically."""
        import io
        import json

        from ...atomic import write_bytes_atomic

        buf = io.BytesIO()
        arrays = {f"m{t}": np.packbits(m, axis=None) for t, m in self.moving.items()}
        arrays.update({f"t{t}": np.packbits(m, axis=None) for t, m in self.trusted.items()})
        arrays.update({f"u{t}": np.packbits(m, axis=None) for t, m in self.unverified.items()})
        shapes = {str(t): list(m.shape) for t, m in self.moving.items()}
        np.savez_compressed(buf, summary=np.frombuffer(json.dumps({**self.to_json(), "shapes": shapes}).encode(), np.uint8), **arrays)
        write_bytes_atomic(path, buf.getvalue())

    @classmethod
    def load(cls, path: Path) -> "PlateAnalysis":
        import json

        with np.load(path) as data:
            summary = json.loads(bytes(data["summary"]).decode())
            masks: dict[str, dict[int, np.ndarray]] = {"m": {}, "t": {}, "u": {}}
            for t, shape in summary["shapes"].items():
                for kind, found in masks.items():
                    found[int(t)] = np.unpackbits(data[f"{kind}{t}"], count=int(np.prod(shape))).reshape(shape).astype(bool)
        return cls(Screen.from_json(summary["screen"]), GrainModel.from_json(summary["grain"]), int(summary["factor"]),
                   masks["m"], masks["t"], masks["u"])

    def trusted_points(self, frame: int, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
        """Trusted (moving content excluded) at full-resolution pixel rows ``ys`` x columns
        ``xs`` (the blocks holding them; pixels past the last whole block take the last one)."""
        m = self.trusted[frame] & ~self.moving[frame] & ~self.unverified[frame]
        bi = np.minimum(np.asarray(ys) // self.factor, m.shape[0] - 1)
        bj = np.minimum(np.asarray(xs) // self.factor, m.shape[1] - 1)
        return m[np.ix_(bi, bj)]

    def moving_at(self, frame: int, shape: tuple[int, int]) -> np.ndarray:
        """Frame ``frame``'s moving content at full resolution ``shape`` (blocks, grown by a block
        and at least 2 pixels: a mover's anti-aliased fringe, half its colour, never leaks)."""
        return self._at(self.moving.get(frame), shape, grow=max(2, self.factor))

    def unverified_at(self, frame: int, shape: tuple[int, int]) -> np.ndarray:
        """Frame ``frame``'s unverified plate at full resolution ``shape``."""
        return self._at(self.unverified.get(frame), shape)

    def _at(self, m: np.ndarray | None, shape: tuple[int, int], grow: int | None = None) -> np.ndarray:
        out = np.zeros(shape, bool)
        if m is None or not m.any():
            return out
        f = self.factor
        up = np.repeat(np.repeat(m, f, axis=0), f, axis=1)
        h, w = min(shape[0], up.shape[0]), min(shape[1], up.shape[1])
        out[:h, :w] = up[:h, :w]
        return dilate(out, max(1, f // 2) if grow is None else grow)


def _flaws_raw(shot: Any, frame: int, screen: Screen) -> tuple[np.ndarray, np.ndarray]:
    """(hard, spill) untrusted plate pixels of ``frame`` in plate space, full resolution (the
    holdout counts as hard; see :func:`~genpost_houdini.conditioning.plate.plate_flaws`)."""
    plate = shot.read_plate_space("plate", frame)
    matte = shot.read_plate_space("matte", frame)
    hard, spill = plate_flaws(plate, matte, screen)
    if shot.holdout is not None:
        hard |= dilate(shot.read_plate_space("holdout", frame) > 0, HOLDOUT_GROW)
    return hard, spill & ~hard


def _untrusted_raw(shot: Any, frame: int, screen: Screen) -> np.ndarray:
    hard, spill = _flaws_raw(shot, frame, screen)
    return hard | spill


def soft_edge(matte: np.ndarray) -> bool:
    """True when the matte's edge ramps over 2 pixels or more on average (a keyed screen, not a
    hard CG or roto matte)."""
    full = matte >= 0.999
    ramp = (matte > 0) & ~full
    edge = dilate(full, 1) & ~full
    return bool(edge.any() and ramp.sum() >= 2 * edge.sum())


def analyse_plates(shot: Any, params: Any, progress: Callable[[float, str], None]) -> PlateAnalysis:
    """The shot's screen, grain and moving content (see the module docstring)."""
    from ...consistency.multiview import moving_masks

    frames = list(shot.frames)
    spread = lambda n: [frames[i] for i in sorted({round(k * (len(frames) - 1) / max(1, n - 1)) for k in range(min(n, len(frames)))})]  # noqa: E731
    samples = []
    for t in spread(SCREEN_FRAMES):
        samples.append((box_down(shot.read_plate_space("plate", t), 4), box_down(shot.read_plate_space("matte", t), 4)))
    screen = detect_screen(samples, params.screen)
    if screen.present and not screen.spill and soft_edge(shot.read_plate_space("matte", frames[len(frames) // 2])):
        screen = dataclasses.replace(screen, spill=True)  # a keyed screen: its light spills at the soft edge
    if screen.present:
        log.info("set extension: %s screen under the matte (colour %s)", screen.kind, tuple(round(c, 3) for c in screen.rgb or ()))
    grain = NO_GRAIN
    if params.grain == "auto":
        grain = measure_grain((shot.read_plate_space("plate", t), ~_untrusted_raw(shot, t, screen)) for t in spread(GRAIN_FRAMES))
        if grain.present:
            log.info("set extension: grain measured (correlation %.2f px); extended pixels are degrained and regrained", grain.blur)
    progress(0.02, "planning: screen and grain")

    width, height = shot.resolution
    factor = max(1, int(round(max(width, height) / ANALYSIS_SIZE)))
    band = max(1, math.ceil(spill_band_px(*shot.plate_resolution) / factor)) if screen.present and screen.spill else 1
    images, trusted, depths, views, needs = {}, {}, {}, {}, {}
    for i, t in enumerate(frames):
        plate = box_down(shot.read("plate", t), factor)
        matte = box_down(shot.read("matte", t), factor)
        bad = untrusted_pixels(plate, matte, screen, band=band)
        if shot.holdout is not None:
            bad |= box_down(shot.read("holdout", t), factor) > 0
        if shot.lens is not None:
            bad |= box_down(shot.covered(t).astype(np.float32), factor) < 0.999
        depth = box_down(shot.read("depth", t), factor)
        h, w = depth.shape
        images[t], trusted[t], depths[t], needs[t] = plate, ~bad, depth, matte > 0
        views[t] = box_view(shot.view(t), factor, w, h)
        progress(0.02 + 0.03 * (i + 1) / len(frames), f"planning: plates of frame {t}")
    noise = None
    if grain.present:
        scale = max(1.0 / factor, 0.35)  # box-filtered grain (correlated grain averages less)
        noise = lambda values: grain.sigma_at(values) * scale  # noqa: E731
    verdicts = moving_masks(frames, images, trusted, depths, views, noise=noise, needs=needs,
                            progress=lambda f, m: progress(0.05 + 0.05 * f, f"planning: {m}"))
    moving = {t: v.moving for t, v in verdicts.items()}
    unverified = {t: v.unverified for t, v in verdicts.items()}
    found = {t: int(m.sum()) for t, m in moving.items() if m.any()}

    if found:
        log.info("set extension: moving content in the kept plate of %d frames (never a source)", len(found))
    return PlateAnalysis(screen=screen, grain=grain, factor=factor, moving=moving, trusted=trusted, unverified=unverified)


@dataclass
class FrameTrust:
    """One frame in CG space: ``image`` (H, W, 3) the plate, degrained when the shot has grain;
    ``matte`` (H, W) the soft extend matte; ``need`` = matte > 0 (pixels that use the
    extension); ``trusted`` plate pixels that may be a source or context; ``anchor`` kept plate
    that is the set but not a source (spill on it, or unverified) the frame's own extension
    must meet too (with its own values: they are output beside the edge as they are)."""

    image: np.ndarray
    matte: np.ndarray
    need: np.ndarray
    trusted: np.ndarray
    anchor: np.ndarray


def frame_trust(shot: Any, analysis: PlateAnalysis, frame: int) -> FrameTrust:
    """See :class:`FrameTrust`; computed at full resolution."""
    from ...shot.lens import COLOUR_FILTER, MASK_FILTER, warp_stmap

    shape = shot.resolution[::-1]
    hard, spill = _flaws_raw(shot, frame, analysis.screen)
    raw = shot.read_plate_space("plate", frame)
    clean = raw
    if analysis.grain.present:  # the screen filled in smoothly first: degraining never mixes it in
        filled = np.where(hard[..., None], pull_push(raw, (~hard).astype(np.float32)), raw) if hard.any() else raw
        clean = degrain(filled, analysis.grain)
    if shot.lens is not None:
        und = shot.lens.undistort(frame)
        clean, _ = warp_stmap(clean, und, filtername=COLOUR_FILTER)
        masks, _ = warp_stmap(np.stack([hard, spill], axis=-1).astype(np.float32), und, filtername=MASK_FILTER)
        outside = ~shot.covered(frame)
        hard = (masks[..., 0] > 1e-3) | outside
        spill = (masks[..., 1] > 1e-3) & ~hard
    moving = analysis.moving_at(frame, shape)
    hard = hard | moving
    spill = (spill | analysis.unverified_at(frame, shape)) & ~hard  # the set, but not a source
    matte = shot.read("matte", frame)
    need = matte > 0
    if shot.lens is not None:
        need &= shot.covered(frame)
    clean = np.asarray(clean, np.float32)
    # the spill band anchors when the screen spills, with its own values (it is output beside
    # the edge as it is); visibly screen-tinted pixels do not; without spill the edge margin is
    # anti-aliased with the screen and anchors nothing, only unverified plate does
    anchor = spill & ~need & ~screen_tinted(clean, analysis.screen)
    if not (analysis.screen.present and analysis.screen.spill):
        anchor &= analysis.unverified_at(frame, shape)
    return FrameTrust(image=clean, matte=matte, need=need, trusted=~hard & ~spill & ~need,
                      anchor=anchor)


def work_region(trust: FrameTrust, radius: int) -> np.ndarray:
    """The pixels a frame's render fills: what uses the extension, and the untrusted plate within
    ``radius`` of it (the spill band, a mover at the edge), so blending meets trusted plate."""
    if not trust.need.any():
        return trust.need.copy()
    return trust.need | (~trust.trusted & dilate(trust.need, radius))


def load_or_analyse(work_dir: Path, key: str, make: Callable[[], PlateAnalysis]) -> PlateAnalysis:
    """The analysis cached as ``work_dir/plates.<key[:16]>.npz``, or ``make()`` written there."""
    from filelock import FileLock

    path = work_dir / f"plates.{key[:16]}.npz"
    work_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(work_dir / "plates.lock")):
        if path.is_file():
            try:
                return PlateAnalysis.load(path)
            except (OSError, ValueError, KeyError):
                log.warning("set extension: %s is unreadable; analysing the plates again", path)
        analysis = make()
        analysis.save(path)
    return analysis
