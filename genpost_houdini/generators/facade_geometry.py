"""World-space geometry of one frame for the facade continuation (:mod:`.facade`).

Convention: the camera is :class:`~genpost_houdini.shot.camera.CameraView`'s (OpenCV axes,
pixel centres at integers), depth is planar metric Z (inf = no hit) held by the frame it was
rendered for; world points come from :func:`genpost_houdini.geometry.projection.backproject`
and go back through :func:`~genpost_houdini.geometry.projection.project`. Per pixel:
the world point, the surface normal (from the shorter neighbour difference, so a depth edge on
one side does not bend it), whether the surface is (near-)vertical, the world size of the pixel
(its footprint) and its height along ``up``; and the bilinear same-surface sampling
(:func:`sample_at`) the continuation and the period search both read with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

import numpy as np

from ..conditioning.morphology import box_sum
from ..errors import BadInputError
from ..geometry.projection import backproject, project
from ..imageio.policy import valid_depth
from ..shot.camera import CameraView

#: The option keys a job passes to describe the camera (all or none).
CAMERA_KEYS = ("depth_metric", "K", "world_to_camera", "world_up")
#: |normal . up| below this: a vertical surface.
VERTICAL_COS = 0.25


@dataclass(frozen=True)
class FrameCamera:
    """One frame's camera: metric depth (H, W) (inf = no hit), K (3, 3), world-to-camera (4, 4), up (3,)."""

    depth: np.ndarray
    K: np.ndarray
    world_to_camera: np.ndarray
    up: np.ndarray

    @property
    def view(self) -> CameraView:
        """The camera as a :class:`~genpost_houdini.shot.camera.CameraView` (OpenCV axes,
        pixel centres at integers) for :mod:`genpost_houdini.geometry`."""
        h, w = self.depth.shape
        return CameraView(K=self.K, world_to_camera=self.world_to_camera, width=w, height=h)


def camera_from_options(options: Mapping[str, Any], count: int, shape: tuple[int, int]) -> Optional[list[FrameCamera]]:
    """Per-frame cameras from a request's options; None when the request carries no camera.

    Raises BadInputError when only some of :data:`CAMERA_KEYS` are given or shapes disagree.
    """
    present = [k for k in CAMERA_KEYS if options.get(k) is not None]
    if not present:
        return None
    if len(present) != len(CAMERA_KEYS):
        missing = [k for k in CAMERA_KEYS if k not in present]
        raise BadInputError(f"classical generator: camera options incomplete, missing {', '.join(missing)}")
    h, w = shape
    depth = np.asarray(options["depth_metric"], dtype=np.float32)
    K = np.asarray(options["K"], dtype=np.float64)
    w2c = np.asarray(options["world_to_camera"], dtype=np.float64)
    up = np.asarray(options["world_up"], dtype=np.float64).reshape(-1)
    for name, arr, want in (("depth_metric", depth, (count, h, w)), ("K", K, (count, 3, 3)),
                            ("world_to_camera", w2c, (count, 4, 4))):
        if arr.shape != want:
            raise BadInputError(f"classical generator: option {name} has shape {arr.shape}, expected {want}")
    if up.shape != (3,) or not np.isfinite(up).all() or np.linalg.norm(up) < 1e-9:
        raise BadInputError(f"classical generator: option world_up must be a non-zero 3-vector, got {up!r}")
    if not (np.isfinite(K).all() and np.isfinite(w2c).all()):
        raise BadInputError("classical generator: K or world_to_camera holds NaN or inf")
    for i in range(count):
        if abs(np.linalg.det(K[i])) < 1e-12 or abs(np.linalg.det(w2c[i][:3, :3])) < 1e-12:
            raise BadInputError(f"classical generator: frame index {i}: K or world_to_camera is singular")
    up = up / np.linalg.norm(up)
    return [FrameCamera(depth[i], K[i], w2c[i], up) for i in range(count)]


@dataclass
class Geometry:
    world: np.ndarray  # (H, W, 3) float64, NaN where no hit
    valid: np.ndarray  # finite depth
    vertical: np.ndarray  # on a (near-)vertical surface
    normal: np.ndarray  # (H, W, 3)
    footprint: np.ndarray  # world size of a pixel (H, W), inf where unknown
    height: np.ndarray  # X . up
    up: np.ndarray


def _smaller_diff(a: np.ndarray, axis: int) -> np.ndarray:
    """Per pixel, the forward or backward difference along ``axis``, whichever is shorter
    (so a depth edge on one side does not bend the normal); NaN where neither exists."""
    d = np.diff(a, axis=axis)
    pad_shape = list(a.shape)
    pad_shape[axis] = 1
    nan = np.full(pad_shape, np.nan)
    fwd = np.concatenate([d, nan], axis=axis)
    bwd = np.concatenate([nan, d], axis=axis)
    nf = np.linalg.norm(fwd, axis=-1)
    nb = np.linalg.norm(bwd, axis=-1)
    use_b = np.isnan(nf) | (nb < nf)
    return np.where(use_b[..., None], bwd, fwd)


def geometry(cam: FrameCamera) -> Geometry:
    """World points, normals, pixel footprints and heights of one frame."""
    valid = valid_depth(cam.depth)
    world = backproject(cam.depth, cam.view, dtype=np.float64)
    du = _smaller_diff(world, 1)
    dv = _smaller_diff(world, 0)
    n = np.cross(du, dv)
    nn = np.linalg.norm(n, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        n = n / nn[..., None]
        cos_up = np.abs(n @ cam.up)
    vertical = valid & np.isfinite(cos_up) & (cos_up < VERTICAL_COS)
    foot = np.fmax(np.linalg.norm(du, axis=-1), np.linalg.norm(dv, axis=-1))
    foot = np.where(np.isfinite(foot), foot, np.inf)
    return Geometry(world=world, valid=valid, vertical=vertical, normal=n, footprint=foot,
                    height=world @ cam.up, up=cam.up)


def project_points(cam: FrameCamera, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, 3) world points -> pixel (u, v) float, NaN behind the camera."""
    uv, _ = project(pts, cam.view)
    return uv[:, 0], uv[:, 1]


def same_surface_at(g: Geometry, ok_src: np.ndarray, pts: np.ndarray, yy: np.ndarray, xx: np.ndarray,
                    slack: float) -> np.ndarray:
    """Whether integer pixels (yy, xx) are usable sources whose world point lies near ``pts``."""
    h, w = ok_src.shape
    inb = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
    yc, xc = np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)
    ok = inb & ok_src[yc, xc]
    dist = np.linalg.norm(g.world[yc, xc] - pts, axis=-1)
    tol = slack * g.footprint[yc, xc]
    return ok & (dist < tol)


def nearest_ok(cam: FrameCamera, g: Geometry, ok_src: np.ndarray, pts: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(whether the nearest pixel of each projected point is a source on its surface, row, col)."""
    uu, vv = project_points(cam, pts)
    fin = np.isfinite(uu) & np.isfinite(vv)
    xx = np.where(fin, np.rint(np.where(fin, uu, 0)), -1).astype(np.int64)
    yy = np.where(fin, np.rint(np.where(fin, vv, 0)), -1).astype(np.int64)
    return same_surface_at(g, ok_src, pts, yy, xx, 1.5) & fin, yy, xx


def sample_at(src: np.ndarray, ok_src: np.ndarray, cam: FrameCamera, g: Geometry, q: np.ndarray,
              foot: Optional[np.ndarray] = None) -> tuple[np.ndarray, np.ndarray]:
    """Bilinear colour at world points ``q`` (N, 3) from known pixels of the same surface:
    (colour sums (N, 3), weight sums (N,)); the colour is sums / weights where weights > 0.

    ``src`` is (H, W, C) or a pyramid (L, H, W, C) of ever wider blurs (:func:`blur_pyramid`); with
    ``foot`` (N,), the world size of the pixel being filled, a level as wide as that footprint
    is read, so a distant facade copied from a near one does not alias.
    """
    h, w = ok_src.shape
    uu, vv = project_points(cam, q)
    fin = np.isfinite(uu) & np.isfinite(vv)
    uu, vv = np.where(fin, uu, -10.0), np.where(fin, vv, -10.0)
    x0, y0 = np.floor(uu).astype(np.int64), np.floor(vv).astype(np.int64)
    fx, fy = uu - x0, vv - y0
    pyr = src if src.ndim == 4 else src[None]
    level = np.zeros(q.shape[0], dtype=np.int64)
    if foot is not None and pyr.shape[0] > 1:
        ratio = foot / g.footprint[np.clip(y0, 0, h - 1), np.clip(x0, 0, w - 1)]
        with np.errstate(invalid="ignore", divide="ignore"):
            level = np.clip(np.floor(np.log2(np.where(ratio > 1, ratio, 1.0))), 0, pyr.shape[0] - 1).astype(np.int64)
    acc = np.zeros((q.shape[0], pyr.shape[-1]))
    wsum = np.zeros(q.shape[0])
    for dy, dx, wt in ((0, 0, (1 - fx) * (1 - fy)), (0, 1, fx * (1 - fy)), (1, 0, (1 - fx) * fy), (1, 1, fx * fy)):
        yy, xx = y0 + dy, x0 + dx
        ok = same_surface_at(g, ok_src, q, yy, xx, 2.5) & fin
        wt = np.where(ok, wt, 0.0)
        acc += wt[:, None] * pyr[level, np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)]
        wsum += wt
    return acc, wsum


def blur_pyramid(image: np.ndarray, ok: np.ndarray, levels: int = 4) -> np.ndarray:
    """(levels, H, W, 3) float32: ``image`` where ``ok``, then box blurs over ``ok`` pixels
    of radius 1, 2, 4, ... (level k: about 2**k pixels wide)."""
    okf = ok.astype(np.float32)
    base = np.where(ok[..., None], image, 0.0).astype(np.float32)
    out = [base]
    for k in range(1, levels):
        r = 2 ** (k - 1)
        out.append((box_sum(base, r) / np.maximum(box_sum(okf, r), 1.0)[..., None]).astype(np.float32))
    return np.stack(out)
