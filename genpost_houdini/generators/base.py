"""The Generator interface every backend implements, and the request it receives.

A generator fills the pixels a job could not project from any frame. It receives a
:class:`GenerationRequest` (frames, scene-linear images with the known pixels filled in, masks,
shot-normalised depth) and returns scene-linear images of the same shape that are equal to the
request's images wherever ``known`` is set. :func:`enforce_result` checks and enforces that last
part for every backend, so a backend cannot alter plate pixels even by accident.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Protocol, runtime_checkable

import numpy as np

from ..errors import OutputCheckError
from ..progress import ProgressFn
from ..runtime.request import GenerationRequest

__all__ = ["GenerationRequest", "Generator", "GeneratorInfo", "ProgressFn", "enforce_result"]


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
    #: What the backend takes for granted about the shot (its ``assumptions`` class attribute).
    assumptions: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "available": self.available,
            "reason": self.reason,
            "temporal": self.temporal,
            "description": self.description,
            "origin": self.origin,
        }
        if self.assumptions:  # only backends that state some (the listing's keys stay as they were)
            out["assumptions"] = list(self.assumptions)
        return out


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
