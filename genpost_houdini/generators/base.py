"""The Generator interface every backend implements, and the request it receives.

A generator fills the pixels a job could not project from any frame. It receives a
:class:`GenerationRequest` (frames, scene-linear images with the known pixels filled in, masks,
shot-normalised depth) and returns scene-linear images of the same shape that are equal to the
request's images wherever ``known`` is set. :func:`enforce_result` checks and enforces that last
part for every backend, so a backend cannot alter plate pixels even by accident.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Protocol, runtime_checkable

import numpy as np

from ..errors import BadInputError, OutputCheckError, UsageError
from ..progress import ProgressFn


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


def enforce_result(request: GenerationRequest, result: Any, *, generator: str = "generator") -> np.ndarray:
    """Check a backend's output against the contract and return it conformed.

    The result must have the request's (F, H, W, 3) shape and be finite wherever the request
    asked for pixels; known pixels are copied back from ``request.images`` bit-exactly, and any
    pixel that is neither known nor generated keeps the request's value when the backend left it
    non-finite. Raises :class:`OutputCheckError` naming the generator and frame otherwise.
    """
    out = np.asarray(result)
    if out.shape != request.images.shape:
        raise OutputCheckError(
            f"{generator}: returned images of shape {out.shape}, expected {request.images.shape}"
        )
    if out.dtype.kind != "f":
        raise OutputCheckError(f"{generator}: returned dtype {out.dtype}, expected float32")
    out = out.astype(np.float32, copy=True)
    finite = np.isfinite(out).all(axis=-1)
    bad = request.generate & ~finite
    if bad.any():
        i = int(np.argmax(bad.reshape(len(request.frames), -1).any(axis=1)))
        raise OutputCheckError(
            f"{generator}: frame {request.frames[i]}: {int(bad[i].sum())} generated pixels are NaN or inf"
        )
    keep = request.known | ~finite
    out[keep] = request.images[keep]
    return out


@dataclass(frozen=True)
class GeneratorInfo:
    """What ``genpost generators`` lists about one backend."""

    name: str
    available: bool
    reason: str = ""
    temporal: bool = False
    description: str = ""
    origin: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "available": self.available,
            "reason": self.reason,
            "temporal": self.temporal,
            "description": self.description,
            "origin": self.origin,
        }


@runtime_checkable
class Generator(Protocol):
    """A backend that fills ``request.generate``.

    ``temporal`` True means the backend wants windows of 4k+1 consecutive frames and keeps them
    consistent; False means frames are filled independently (a job may pass one keyframe). A
    temporal backend says its ``window`` (4k+1 frames) and ``overlap`` (anchor frames shared
    with the previous window); without them :data:`.windows.DEFAULT_WINDOW` /
    :data:`.windows.DEFAULT_OVERLAP` apply. Windows are laid from ``request.window_origin``.
    ``generate`` returns (F, H, W, 3) float32 scene-linear, equal to ``request.images`` wherever
    ``request.known`` (backends should finish with :func:`enforce_result`). ``provenance``
    returns at least ``model_id``, ``weights_hash`` and ``licence``.
    """

    name: str
    temporal: bool

    def generate(self, request: GenerationRequest, progress: Optional[ProgressFn] = None) -> np.ndarray: ...

    def provenance(self) -> dict[str, Any]: ...
