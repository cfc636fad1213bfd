"""Geometry locked to the shot: back-projection, projection, reprojection, splatting.

Depth is camera-space Z along the view axis (Karma's Pz), scene units. "No hit" values (NaN,
inf, >= 1e16, <= 0) are masked everywhere and never propagated: invalid output pixels are 0 and
their ``valid`` flag is False. Cameras are :class:`genpost_houdini.shot.camera.CameraView`
(OpenCV axes, ``K`` in pixels with centres at integers).
"""

from __future__ import annotations

from .depth import NO_HIT, clean_depth, valid_depth
from .projection import backproject, pixel_rays, project, relative_transform
from .splat import splat
from .reprojection import WarpResult, disocclusion_mask, reproject, reproject_depth, warp

__all__ = [
    "NO_HIT",
    "WarpResult",
    "backproject",
    "clean_depth",
    "disocclusion_mask",
    "pixel_rays",
    "project",
    "relative_transform",
    "reproject",
    "reproject_depth",
    "splat",
    "valid_depth",
    "warp",
]
