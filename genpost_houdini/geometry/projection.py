"""Pixel rays, back-projection of depth maps and projection of world points."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from .depth import valid_depth

if TYPE_CHECKING:  # pragma: no cover
    from ..shot.camera import CameraView


@lru_cache(maxsize=16)
def _rays_cached(k_bytes: bytes, width: int, height: int, dtype: str) -> np.ndarray:
    K = np.frombuffer(k_bytes, dtype=np.float64).reshape(3, 3)
    k_inv = np.linalg.inv(K)
    u = np.arange(width, dtype=np.float64)
    v = np.arange(height, dtype=np.float64)
    rays = np.empty((height, width, 3), dtype=np.float64)
    for i in range(3):
        rays[..., i] = k_inv[i, 0] * u[None, :] + (k_inv[i, 1] * v[:, None] + k_inv[i, 2])
    # Normalise so z == 1 exactly (a general K^-1 has third row (0, 0, 1) anyway).
    rays /= rays[..., 2:3]
    rays = rays.astype(dtype)
    rays.flags.writeable = False
    return rays


def pixel_rays(K: np.ndarray, width: int, height: int, *, dtype: type = np.float32) -> np.ndarray:
    """Camera-space rays through every pixel centre, shape (H, W, 3), z == 1 (read-only, cached;
    float32 unless ``dtype`` says otherwise)."""
    K64 = np.ascontiguousarray(K, dtype=np.float64)
    return _rays_cached(K64.tobytes(), int(width), int(height), np.dtype(dtype).name)


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
