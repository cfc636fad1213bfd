"""The generation request: what a generator is asked to fill, as the runtime carries it.

Jobs build it, generators receive it (:mod:`genpost_houdini.generators.base` re-exports it),
and the worker sends it over its socket (:mod:`.worker.protocol`); it lives here, below both,
so the runtime never imports a generator.

Conventions: images scene-linear (H, W) with row 0 at the top; ``depth`` shot-normalised to
[0, 1] (0 near, 1 far / no hit) by :class:`~genpost_houdini.conditioning.depth.DepthRange`;
frame numbers are the shot's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from ..errors import BadInputError, UsageError

#: Depth values may exceed [0, 1] by this much (float rounding in the caller); they are clipped.
_DEPTH_SLACK = 1e-4


def _as_mask(value: Any, name: str, shape: tuple[int, ...]) -> np.ndarray:
    arr = np.asarray(value)
    if arr.shape != shape:
        raise BadInputError(f"generation request: {name} has shape {arr.shape}, expected {shape}")
    if arr.dtype == np.bool_:
        return arr
    if arr.dtype.kind not in "biuf":
        raise UsageError(f"generation request: {name} must be a bool mask, got dtype {arr.dtype}")
    if not np.all((arr == 0) | (arr == 1)):
        raise BadInputError(f"generation request: {name} holds values other than 0 and 1")
    return arr.astype(bool)


def _check_frames(frames: Any, count: int) -> list[int]:
    try:
        out = [int(f) for f in frames]
    except (TypeError, ValueError) as exc:
        raise UsageError(f"generation request: frames must be integers ({exc})") from None
    if any(isinstance(f, float) and not float(f).is_integer() for f in frames):
        raise UsageError(f"generation request: frames must be integers, got {list(frames)}")
    if len(out) != count:
        raise BadInputError(f"generation request: {len(out)} frame numbers for {count} images")
    if len(set(out)) != len(out):
        raise BadInputError(f"generation request: repeated frame numbers {out}")
    return out


@dataclass
class GenerationRequest:
    """What a generator is asked to fill. Validated (and normalised) on construction.

    * ``frames``: the frame numbers, one per image (unique).
    * ``images`` (F, H, W, 3) float32 scene-linear; finite wherever ``known``. Values elsewhere
      are ignored: non-finite ones are replaced by 0 in the stored copy.
    * ``known`` (F, H, W) bool: pixels that are final (plate, reprojected); never altered.
    * ``generate`` (F, H, W) bool: pixels to fill; must not overlap ``known``.
    * ``depth`` (F, H, W) float32, shot-normalised: 0 near, 1 far / no hit; finite, in [0, 1].
    * ``seed``: non-negative integer; per-frame randomness must derive from (seed, frame number).
    * ``shot_first``: the shot's first frame number, or None (then the request's first frame):
      video generators lay their windows from it (:mod:`.windows`), so every chunk of a shot
      and the job agree on where windows start.

    Raises :class:`BadInputError` for wrong data (shapes disagree, NaN in known pixels or depth,
    masks overlapping) and :class:`UsageError` for wrong types.
    """

    frames: list[int]
    images: np.ndarray
    known: np.ndarray
    generate: np.ndarray
    depth: np.ndarray
    seed: int = 0
    prompt: str = ""
    negative_prompt: str = ""
    strength: float = 1.0
    colourspace: str = "ACEScg"
    options: dict[str, Any] = field(default_factory=dict)
    shot_first: Optional[int] = None

    def __post_init__(self) -> None:
        images = np.asarray(self.images)
        if images.ndim != 4 or images.shape[-1] != 3:
            raise BadInputError(f"generation request: images must be (F, H, W, 3), got shape {images.shape}")
        if images.dtype.kind != "f":
            raise UsageError(f"generation request: images must be floating point, got dtype {images.dtype}")
        f, h, w = images.shape[:3]
        if f == 0 or h == 0 or w == 0:
            raise BadInputError(f"generation request: empty images of shape {images.shape}")
        self.frames = _check_frames(self.frames, f)
        self.known = _as_mask(self.known, "known", (f, h, w))
        self.generate = _as_mask(self.generate, "generate", (f, h, w))
        overlap = self.known & self.generate
        if overlap.any():
            i = int(np.argmax(overlap.reshape(f, -1).any(axis=1)))
            raise BadInputError(
                f"generation request: frame {self.frames[i]}: {int(overlap[i].sum())} pixels are both "
                "known and to generate"
            )

        images = images.astype(np.float32, copy=True)
        finite = np.isfinite(images).all(axis=-1)
        bad = self.known & ~finite
        if bad.any():
            i = int(np.argmax(bad.reshape(f, -1).any(axis=1)))
            raise BadInputError(
                f"generation request: frame {self.frames[i]}: {int(bad[i].sum())} known pixels are NaN or inf"
            )
        images[~finite] = 0.0
        self.images = images

        depth = np.asarray(self.depth)
        if depth.shape != (f, h, w):
            raise BadInputError(f"generation request: depth has shape {depth.shape}, expected {(f, h, w)}")
        if depth.dtype.kind != "f":
            raise UsageError(f"generation request: depth must be floating point, got dtype {depth.dtype}")
        depth = depth.astype(np.float32)
        for i in range(f):
            d = depth[i]
            if not np.isfinite(d).all():
                raise BadInputError(
                    f"generation request: frame {self.frames[i]}: depth holds NaN or inf "
                    "(shot-normalised depth must be finite; 1 = far / no hit)"
                )
            lo, hi = float(d.min()), float(d.max())
            if lo < -_DEPTH_SLACK or hi > 1 + _DEPTH_SLACK:
                raise BadInputError(
                    f"generation request: frame {self.frames[i]}: depth range [{lo:g}, {hi:g}] is not "
                    "shot-normalised to [0, 1]"
                )
        self.depth = np.clip(depth, 0.0, 1.0)

        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise UsageError(f"generation request: seed must be a non-negative integer, got {self.seed!r}")
        self.seed = int(self.seed)
        try:
            self.strength = float(self.strength)
        except (TypeError, ValueError):
            raise UsageError(f"generation request: strength must be a number, got {self.strength!r}") from None
        if not 0.0 <= self.strength <= 1.0:
            raise UsageError(f"generation request: strength must be in [0, 1], got {self.strength}")
        if not isinstance(self.options, dict):
            raise UsageError("generation request: options must be a dict")
        if self.shot_first is not None:
            if isinstance(self.shot_first, bool) or not isinstance(self.shot_first, (int, np.integer)):
                raise UsageError(f"generation request: shot_first must be a frame number, got {self.shot_first!r}")
            self.shot_first = int(self.shot_first)
            if self.shot_first > min(self.frames):
                raise BadInputError(
                    f"generation request: shot_first {self.shot_first} is after frame {min(self.frames)} of the request"
                )

    @property
    def window_origin(self) -> int:
        """The frame video windows are laid from: ``shot_first``, else the first frame asked."""
        return self.shot_first if self.shot_first is not None else min(self.frames)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(F, H, W)."""
        f, h, w = self.images.shape[:3]
        return int(f), int(h), int(w)

    def frame(self, index: int) -> "GenerationRequest":
        """A one-frame request for ``self.frames[index]`` (same seed, prompt and options)."""
        sl = slice(index, index + 1)
        return GenerationRequest(
            frames=[self.frames[index]],
            images=self.images[sl],
            known=self.known[sl],
            generate=self.generate[sl],
            depth=self.depth[sl],
            seed=self.seed,
            prompt=self.prompt,
            negative_prompt=self.negative_prompt,
            strength=self.strength,
            colourspace=self.colourspace,
            options=dict(self.options),
            shot_first=self.shot_first,
        )
