"""Back-projection of depth maps and projection of world points.

Convention:

- Pixel centres at integer ``(u, v)``, ``u`` right, ``v`` down; ``K`` in pixels for the image's
  own resolution (a ``CameraView`` carries ``K``, ``width``, ``height``).
- ``world_to_camera`` maps world points to OpenCV camera axes (x right, y down, z forward),
  column vectors: ``x_cam = M @ [X, Y, Z, 1]``. USD's -Z-forward, +Y-up camera is converted
  when the camera is read (:mod:`genpost_houdini.shot.camera`).
- Depth is **planar** camera-space ``Z`` (not ray distance), held by the frame it was rendered
  for: pixel ``(u, v)`` with depth ``Z`` is the camera point ``Z * K^-1 [u, v, 1]``. Ray
  distance is converted on reading (:mod:`genpost_houdini.shot.rays`).
- Invalid depth (no hit, NaN, <= 0; :func:`~genpost_houdini.imageio.policy.valid_depth`) gives
  NaN points; points at or behind the camera plane project to NaN.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..shot.rays import pixel_rays
from .depth import valid_depth

__all__ = ["backproject", "pixel_rays", "project", "relative_transform"]

if TYPE_CHECKING:  # pragma: no cover
    from ..shot.camera import CameraView


def _check_view_shape(depth: np.ndarray, view: "CameraView", what: str) -> None:
    if depth.shape != (view.height, view.width):
        raise ValueError(
            f"{what} is {depth.shape[1]}x{depth.shape[0]} but its camera view is {view.width}x{view.height}"
        )


def backproject(depth: np.ndarray, view: "CameraView", *, dtype: type = np.float32) -> np.ndarray:
    """World points (H, W, 3) of a depth map seen by ``view``; NaN where depth is invalid."""
    d = np.asarray(depth)
    _check_view_shape(d, view, "depth")
    valid = valid_depth(d)
    z = np.where(valid, d, 0.0).astype(np.float64)
    rays_dtype = np.float64 if np.dtype(dtype) == np.float64 else np.float32
    cam = pixel_rays(view.K, view.width, view.height, dtype=rays_dtype).astype(np.float64) * z[..., None]
    c2w = view.camera_to_world
    world = cam @ c2w[:3, :3].T + c2w[:3, 3]
    world[~valid] = np.nan
    return world.astype(dtype, copy=False)


def project(points_world: np.ndarray, view: "CameraView") -> tuple[np.ndarray, np.ndarray]:
    """Project world points (..., 3) into ``view``: ``(uv (..., 2), z (...))``.

    ``uv`` is in pixels (centres at integers); ``z`` is camera-space depth. Points at or behind
    the camera plane (z <= 0) and NaN points get NaN ``uv``.
    """
    p = np.asarray(points_world, dtype=np.float64)
    if p.shape[-1] != 3:
        raise ValueError(f"points must have shape (..., 3), got {p.shape}")
    M = view.world_to_camera
    cam = p @ M[:3, :3].T + M[:3, 3]
    z = cam[..., 2]
    pix = cam @ np.asarray(view.K, dtype=np.float64).T
    with np.errstate(divide="ignore", invalid="ignore"):
        uv = pix[..., :2] / pix[..., 2:3]
    uv[~(z > 0)] = np.nan
    return uv, z


def relative_transform(src_view: "CameraView", dst_view: "CameraView") -> np.ndarray:
    """4x4 matrix taking ``dst_view`` camera coordinates to ``src_view`` camera coordinates."""
    return src_view.world_to_camera @ np.linalg.inv(dst_view.world_to_camera)
