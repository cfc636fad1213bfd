"""What the diffusers backends (wan-vace, sd-inpaint-depth) share: colour to and from the
model's display space, fitting frames to the model's grid and back, and the depth control image.

Contracts:
* The model sees display-space values in [0, 1] (OpenColorIO view of the request's colour
  space); its output returns through the inverse view, so generated scene-linear values are
  not clamped at 1.0. Inputs are rounded to half precision first, so conditioning read back from
  a half-float EXR is bit-identical to conditioning held in memory.
* :class:`GridFit` resizes (keeping aspect) so the area is at most ``max_area``, then pads
  bottom/right to multiples of the model's grid by repeating edge pixels; :meth:`GridFit.back`
  crops and resizes to plate resolution. Masks are resized so that every plate pixel to generate
  is covered in model space (any coverage counts).
* Plate pixels never pass through the model: :func:`composite` takes generated pixels only where
  the request asked for them and copies everything else from ``request.images``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np


def torch_dtype(name: str) -> Any:
    import torch

    return getattr(torch, name)


def quantise_half(images: np.ndarray) -> np.ndarray:
    """Round to float16 and back (what a half-float EXR holds), clipped to half's range."""
    return np.clip(images, -65504.0, 65504.0).astype(np.float16).astype(np.float32)


def to_model_rgb(images: np.ndarray, colourspace: str) -> np.ndarray:
    """Scene-linear (..., 3) in ``colourspace`` -> display space in [0, 1] for the model."""
    from ..imageio.colour import to_display

    out = to_display(quantise_half(images), src=colourspace)
    return np.clip(np.nan_to_num(out, nan=0.0), 0.0, 1.0).astype(np.float32)


def from_model_rgb(images: np.ndarray, colourspace: str) -> np.ndarray:
    """Display-space model output (..., 3) in [0, 1] -> scene-linear ``colourspace`` (inverse view)."""
    from ..imageio.colour import from_display

    return np.asarray(from_display(np.asarray(images, dtype=np.float32), dst=colourspace), dtype=np.float32)


def depth_control(depth: np.ndarray, invert: bool = True) -> np.ndarray:
    """Shot-normalised depth (..., H, W) -> an RGB control image (..., H, W, 3) in [0, 1].

    ``invert``: near = bright (the convention of the depth estimators depth ControlNets and
    VACE were trained with); our depth is 0 near, 1 far.
    """
    d = np.clip(np.asarray(depth, dtype=np.float32), 0.0, 1.0)
    if invert:
        d = 1.0 - d
    return np.repeat(d[..., None], 3, axis=-1)


@dataclass(frozen=True)
class GridFit:
    """Plate (height, width) -> model (height, width): resize to (rh, rw), pad to (mh, mw)."""

    height: int
    width: int
    rh: int
    rw: int
    mh: int
    mw: int

    @classmethod
    def make(cls, height: int, width: int, multiple: int, max_area: int | None = None) -> "GridFit":
        scale = 1.0
        if max_area and height * width > max_area:
            scale = math.sqrt(max_area / float(height * width))
        rh = max(1, int(round(height * scale)))
        rw = max(1, int(round(width * scale)))
        mh = int(math.ceil(rh / multiple) * multiple)
        mw = int(math.ceil(rw / multiple) * multiple)
        if max_area and mh * mw > max_area and scale < 1.0:  # padding pushed it over: round down
            rh = max(multiple, (rh // multiple) * multiple)
            rw = max(multiple, (rw // multiple) * multiple)
            mh, mw = rh, rw
        return cls(height, width, rh, rw, mh, mw)

    @property
    def identity(self) -> bool:
        return (self.rh, self.rw, self.mh, self.mw) == (self.height, self.width, self.height, self.width)

    def _resize(self, arr: np.ndarray, size: tuple[int, int], mode: str) -> np.ndarray:
        """Resize (N, H, W, C) float32 with torch (antialiased bilinear when shrinking)."""
        import torch
        import torch.nn.functional as F

        if arr.shape[1:3] == size:
            return arr
        t = torch.from_numpy(np.ascontiguousarray(arr)).permute(0, 3, 1, 2)
        shrink = size[0] < arr.shape[1] or size[1] < arr.shape[2]
        if mode == "area":
            out = F.interpolate(t, size=size, mode="area") if shrink else F.interpolate(t, size=size, mode="nearest")
        else:
            out = F.interpolate(t, size=size, mode="bilinear", align_corners=False, antialias=shrink)
        return out.permute(0, 2, 3, 1).contiguous().numpy()

    def _pad(self, arr: np.ndarray) -> np.ndarray:
        ph, pw = self.mh - arr.shape[1], self.mw - arr.shape[2]
        if ph == 0 and pw == 0:
            return arr
        return np.pad(arr, ((0, 0), (0, ph), (0, pw), (0, 0)), mode="edge")

    def forward(self, images: np.ndarray) -> np.ndarray:
        """(N, H, W, C) plate resolution -> (N, mh, mw, C) model resolution (edge padding)."""
        return self._pad(self._resize(images.astype(np.float32), (self.rh, self.rw), "bilinear"))

    def forward_mask(self, mask: np.ndarray) -> np.ndarray:
        """(N, H, W) bool -> (N, mh, mw) bool: True wherever any plate pixel under it is True.

        The padding is False (kept: it is repeated edge content, nothing to generate)."""
        m = mask.astype(np.float32)[..., None]
        small = self._resize(m, (self.rh, self.rw), "area")[..., 0] > 0.0
        out = np.zeros((mask.shape[0], self.mh, self.mw), dtype=bool)
        out[:, : self.rh, : self.rw] = small
        return out

    def back(self, images: np.ndarray) -> np.ndarray:
        """(N, mh, mw, C) model output -> (N, H, W, C) plate resolution (crop, then resize)."""
        cropped = np.ascontiguousarray(images[:, : self.rh, : self.rw])
        return self._resize(cropped.astype(np.float32), (self.height, self.width), "bilinear")


def composite(images: np.ndarray, generated: np.ndarray, where: np.ndarray) -> np.ndarray:
    """``images`` with ``generated`` copied in where ``where`` (N, H, W) is True; a new array."""
    out = np.array(images, dtype=np.float32, copy=True)
    out[where] = generated[where]
    return out


class DiffusersBackend:
    """What the diffusers generators share: the device/dtype choice (made once, logged) and the
    provenance record (model card + this run's settings + the last seed used).

    Subclasses set ``name``, ``PIPELINE_CLASS`` and ``device_pref``/``dtype_pref`` and implement
    ``_model_provenance()`` and ``_provenance_settings()``.
    """

    name = ""
    PIPELINE_CLASS = ""
    device_pref: Any = None
    dtype_pref: Any = None
    _choice: Any = None
    _provenance: Any = None
    _last_seed: Any = None

    def _device(self) -> Any:
        if self._choice is None:
            from ..runtime.device import choose_device

            self._choice = choose_device(self.device_pref, dtype=self.dtype_pref)
        return self._choice

    def _model_provenance(self) -> dict[str, Any]:  # pragma: no cover - overridden
        raise NotImplementedError

    def _provenance_settings(self) -> dict[str, Any]:  # pragma: no cover - overridden
        raise NotImplementedError

    def provenance(self) -> dict[str, Any]:
        """model_id, weights_hash, licence (+ pipeline, device, dtype, settings, last seed)."""
        if self._provenance is None:
            self._provenance = self._model_provenance()
        choice = self._device()
        out = dict(self._provenance)
        out.update({"generator": self.name, "pipeline": self.PIPELINE_CLASS, "device": choice.device, "dtype": choice.dtype})
        out.update(self._provenance_settings())
        if self._last_seed is not None:
            out["seed"] = self._last_seed
        return out
