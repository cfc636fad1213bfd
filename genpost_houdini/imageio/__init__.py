"""Images and colour: EXR read/write (OpenImageIO, atomic, hostile-file safe) and colour
conversion (OpenColorIO).

Names are re-exported lazily so ``import genpost_houdini.imageio`` stays cheap; import
``genpost_houdini.imageio.exr`` / ``.colour`` directly in library code.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ExrImage": "exr",
    "read_exr": "exr",
    "read_depth": "exr",
    "read_rgb": "exr",
    "read_mask": "exr",
    "write_exr": "exr",
    "exr_info": "exr",
    "SCENE_LINEAR": "colour",
    "load_config": "colour",
    "convert": "colour",
    "to_display": "colour",
    "from_display": "colour",
    "describe": "colour",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
