"""Copernicus (Houdini 21) entry point for a Python Snippet COP.

Unverified against Houdini (none here): written to FIELD_NOTES' description of image layers
(``hou.ImageLayer.allBufferElements()`` / ``setAllBufferElements()``) and SideFX's Python
Snippet COP help (kwargs holds the input layers and the bound parameters; the snippet returns
a dict of named outputs; it cannot reach the node being cooked). Inside the snippet of
``genpost::generate::1.0`` (COP), with layer inputs ``C`` (RGB), ``depth`` and ``mask`` and bound
parameters ``generator``, ``model``, ``prompt``, ``seed``, ``strength`` and ``frame``::

    from genpost_houdini.houdini import cop
    return cop.snippet(kwargs)
"""

from __future__ import annotations

from typing import Any, Mapping

from .imagegen import generate_image


def layer_to_array(layer: Any, channels: int) -> Any:
    """A Copernicus image layer's buffer as (H, W, C) float32, row 0 = top."""
    import numpy as np

    w, h = layer.bufferResolution()
    data = np.frombuffer(layer.allBufferElements(), dtype=np.float32).reshape(h, w, channels)
    return data[::-1].copy()


def _bound(kwargs: Mapping[str, Any], name: str, default: Any) -> Any:
    """A bound parameter from kwargs; older callers passed the node, whose parameter is used then."""
    if name in kwargs:
        return kwargs[name]
    node = kwargs.get("node")
    if node is not None and node.parm(name) is not None:
        return node.evalParm(name)
    return default


def snippet(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Fill ``mask`` of ``C`` with the bound generator; returns ``{"C": layer}``."""
    import hou  # noqa: PLC0415

    colour, depth, mask = kwargs["C"], kwargs["depth"], kwargs["mask"]
    rgb = layer_to_array(colour, 3)
    frame = _bound(kwargs, "frame", None)
    out = generate_image(
        rgb, layer_to_array(depth, 1)[..., 0], layer_to_array(mask, 1)[..., 0],
        frame=int(hou.frame() if frame is None else frame),
        generator=str(_bound(kwargs, "generator", "classical") or "classical"),
        seed=int(_bound(kwargs, "seed", 0)),
        prompt=str(_bound(kwargs, "prompt", "")),
        strength=float(_bound(kwargs, "strength", 1.0)),
        model=str(_bound(kwargs, "model", "")),
        where="genpost::generate (COP)",
    )
    result = hou.ImageLayer()
    result.setDataWindow(colour.dataWindow())
    result.setAllBufferElements(out[::-1].astype("float32").tobytes())
    return {"C": result}
