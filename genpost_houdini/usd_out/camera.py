"""Author a USD camera from intrinsics ``K`` and ``world_to_camera``: the inverse of
:class:`genpost_houdini.shot.camera.CameraTrack` (a solved or synthetic camera into a stage).

Convention: ``K`` is in pixels for a ``width`` x ``height`` image, pixel centres at integers,
+y down; ``world_to_camera`` uses OpenCV camera axes (x right, y down, z forward), column
vectors. USD cameras look down -Z with +Y up, lenses in millimetres (tenths of a scene unit by
the schema's convention, which only the ratios below depend on):

- ``horizontalAperture`` is chosen (default 36), ``focalLength = fx * hAp / width``,
  ``verticalAperture = height * focalLength / fy`` (the image aspect when ``fx == fy``);
- ``horizontalApertureOffset = hAp * (0.5 - (cx + 0.5) / width)`` and
  ``verticalApertureOffset = vAp * ((cy + 0.5) / height - 0.5)`` (USD's +y is up);
- the camera's transform is ``camera_to_world @ diag(1, -1, -1, 1)`` (OpenCV -> USD axes),
  authored as one time-sampled ``xformOp:transform``.

Square pixels read back exactly under any conform policy; non-square pixels (``fx != fy``) need
the ``adjustPixelAspectRatio`` policy when the camera is read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

import numpy as np

from ..errors import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from pxr import Usd

#: OpenCV camera axes -> USD camera axes (and back: the matrix is its own inverse).
OPENCV_TO_USD = np.diag([1.0, -1.0, -1.0, 1.0])


def lens_from_intrinsics(K: np.ndarray, width: int, height: int, *, horizontal_aperture: float = 36.0) -> dict[str, float]:
    """USD lens attributes (focalLength, apertures, offsets) giving ``K`` for a ``width`` x
    ``height`` image. Skew is refused (USD cameras have none)."""
    K = np.asarray(K, dtype=np.float64)
    if K.shape != (3, 3) or abs(K[0, 1]) > 1e-12 or not np.allclose(K[2], [0.0, 0.0, 1.0]):
        raise UsageError(f"K must be [[fx, 0, cx], [0, fy, cy], [0, 0, 1]] (no skew), got {K.tolist()}")
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    if fx <= 0 or fy <= 0 or width <= 0 or height <= 0:
        raise UsageError(f"focal lengths and resolution must be positive (fx {fx}, fy {fy}, {width}x{height})")
    h_ap = float(horizontal_aperture)
    focal = fx * h_ap / width
    v_ap = height * focal / fy
    return {
        "focalLength": focal,
        "horizontalAperture": h_ap,
        "verticalAperture": v_ap,
        "horizontalApertureOffset": h_ap * (0.5 - (cx + 0.5) / width),
        "verticalApertureOffset": v_ap * ((cy + 0.5) / height - 0.5),
    }


def author_camera(
    stage: "Usd.Stage",
    prim_path: str,
    views: Mapping[float, object],
    *,
    horizontal_aperture: float = 36.0,
) -> str:
    """Define (or overwrite) the camera ``prim_path`` on ``stage`` with one time sample per
    frame of ``views`` (frame -> :class:`~genpost_houdini.shot.camera.CameraView`: ``K``,
    ``world_to_camera``, ``width``, ``height``, ``near``, ``far``). Returns the prim path."""
    from pxr import Gf, UsdGeom

    if not views:
        raise UsageError("author_camera needs at least one frame")
    cam = UsdGeom.Camera.Define(stage, prim_path)
    cam.CreateProjectionAttr(UsdGeom.Tokens.perspective)
    xform = cam.MakeMatrixXform()
    attrs = {
        "focalLength": cam.CreateFocalLengthAttr(),
        "horizontalAperture": cam.CreateHorizontalApertureAttr(),
        "verticalAperture": cam.CreateVerticalApertureAttr(),
        "horizontalApertureOffset": cam.CreateHorizontalApertureOffsetAttr(),
        "verticalApertureOffset": cam.CreateVerticalApertureOffsetAttr(),
    }
    clipping = cam.CreateClippingRangeAttr()
    for frame, view in sorted(views.items()):
        lens = lens_from_intrinsics(view.K, view.width, view.height, horizontal_aperture=horizontal_aperture)  # type: ignore[attr-defined]
        for name, attr in attrs.items():
            attr.Set(lens[name], float(frame))
        c2w_usd = np.linalg.inv(np.asarray(view.world_to_camera, dtype=np.float64)) @ OPENCV_TO_USD  # type: ignore[attr-defined]
        xform.Set(Gf.Matrix4d(c2w_usd.T.tolist()), float(frame))
        near, far = float(getattr(view, "near", 0.0) or 0.1), float(getattr(view, "far", np.inf))
        clipping.Set(Gf.Vec2f(near, far if np.isfinite(far) else 1e6), float(frame))
    return prim_path
