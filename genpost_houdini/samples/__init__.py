"""The bundled default shot, built procedurally with no downloads (see :mod:`.street`).

``build_street(out_dir, frames=48, width=960, height=540)`` writes a USD stage with a camera
move, the filmed set and the extension's proxy geometry, and per-frame plate / depth / extend
mask / truth EXRs; it returns a :class:`SampleShot` describing the paths.
"""

from __future__ import annotations

from .street import CAMERA_PATH, CROWD_REGION_PATH, EXTENSION_SCOPE, SET_SCOPE, SampleShot, build_street

__all__ = ["SampleShot", "build_street", "CAMERA_PATH", "CROWD_REGION_PATH", "SET_SCOPE", "EXTENSION_SCOPE"]
