"""Copernicus (Houdini 21) entry point for a Python Snippet COP.

Unverified against Houdini (none here): written to FIELD_NOTES' description of image layers
(``hou.ImageLayer.allBufferElements()`` / ``setAllBufferElements()``). Inside a Python Snippet
COP with inputs ``C`` (RGB), ``depth`` and ``mask``::

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


def snippet(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Fill ``mask`` of ``C`` with the node's generator; returns ``{"C": layer}``."""
    import hou  # noqa: PLC0415

    node = kwargs["node"]
    colour, depth, mask = kwargs["C"], kwargs["depth"], kwargs["mask"]
    rgb = layer_to_array(colour, 3)
    out = generate_image(
        rgb, layer_to_array(depth, 1)[..., 0], layer_to_array(mask, 1)[..., 0],
        frame=int(hou.frame()),
        generator=node.evalParm("generator") if node.parm("generator") else "classical",
        seed=node.evalParm("seed") if node.parm("seed") else 0,
        where=node.path(),
    )
    result = hou.ImageLayer()
    result.setDataWindow(colour.dataWindow())
    result.setAllBufferElements(out[::-1].astype("float32").tobytes())
    return {"C": result}
