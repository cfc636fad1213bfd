"""Copernicus (Houdini 21+) entry point of the Python Snippet COP inside ``genpost::generate::1.0``.

The snippet (hda/generate_cop.toml) is ``return cop.snippet(kwargs)``. SideFX's help for the
Python Snippet COP: ``kwargs`` holds the input layers by port name and the bound parameters by
binding name; the snippet returns a dict of output layers by port name and cannot reach the node
it cooks in. Ports: ``C`` (RGBA, scene-linear), ``depth`` (Mono, camera-space Z), ``mask``
(Mono, 1 = generate) in, ``C`` out; bindings ``generator``, ``model``, ``prompt``, ``seed``,
``strength`` and ``frame``.

``hou.ImageLayer`` as the types-houdini stubs (21.0.512) give it: ``bufferResolution()``,
``allBufferElements(storagetype, channels)`` (converts to the layout asked for), ``freeze()``
(a writable copy with the same window and layout), ``storageType()``, ``channelCount()``,
``setStorageType()``, ``setAllBufferElements(bytes)``. Unverified without Houdini: that buffer
row 0 is the bottom row (as in volumes; images here are flipped to row 0 = top for the
generators) and that ``setAllBufferElements`` takes the bytes alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from .imagegen import generate_image

if TYPE_CHECKING:  # pragma: no cover
    import hou

#: Channels the colour port is read and written with (RGBA; alpha passes through).
COLOUR_CHANNELS = 4


def layer_to_array(layer: "hou.ImageLayer", channels: int) -> Any:
    """A Copernicus image layer's buffer as (H, W, channels) float32, row 0 = top."""
    import hou  # noqa: PLC0415
    import numpy as np

    w, h = layer.bufferResolution()[:2]
    raw = layer.allBufferElements(hou.imageLayerStorageType.Float32, channels)
    data = np.frombuffer(raw, dtype=np.float32).reshape(h, w, channels)
    return data[::-1].copy()


def array_to_layer(like: "hou.ImageLayer", array: Any) -> "hou.ImageLayer":
    """A writable copy of ``like`` (same window) holding ``array`` ((H, W, C), row 0 = top).

    The copy keeps ``like``'s channel count (extra channels of ``array`` are dropped); a layer
    stored as integers is switched to 32-bit floats first."""
    import hou  # noqa: PLC0415
    import numpy as np

    out = like.freeze()
    if out is None:
        raise RuntimeError("hou.ImageLayer.freeze() returned no layer")
    storage = out.storageType()
    if storage == hou.imageLayerStorageType.Float16:
        dtype: Any = np.float16
    else:
        if storage != hou.imageLayerStorageType.Float32:
            out.setStorageType(hou.imageLayerStorageType.Float32)
        dtype = np.float32
    channels = out.channelCount()
    pixels = np.asarray(array, dtype=np.float32)[::-1, :, :channels]
    out.setAllBufferElements(np.ascontiguousarray(pixels, dtype=dtype).tobytes())
    return out


def _bound(kwargs: Mapping[str, Any], name: str, default: Any) -> Any:
    value = kwargs.get(name)
    return default if value is None else value


def snippet(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Fill ``mask`` of ``C`` with the bound generator for the bound frame; returns ``{"C": layer}``.

    Alpha and every pixel outside the mask come back unchanged."""
    import hou  # noqa: PLC0415

    colour = kwargs["C"]
    rgba = layer_to_array(colour, COLOUR_CHANNELS)
    frame = _bound(kwargs, "frame", None)
    out = generate_image(
        rgba[..., :3], layer_to_array(kwargs["depth"], 1)[..., 0], layer_to_array(kwargs["mask"], 1)[..., 0],
        frame=int(hou.frame() if frame is None else frame),
        generator=str(_bound(kwargs, "generator", "") or "classical"),
        seed=int(_bound(kwargs, "seed", 0)),
        prompt=str(_bound(kwargs, "prompt", "")),
        strength=float(_bound(kwargs, "strength", 1.0)),
        model=str(_bound(kwargs, "model", "")),
        where="genpost::generate (COP)",
    )
    rgba[..., :3] = out
    return {"C": array_to_layer(colour, rgba)}
