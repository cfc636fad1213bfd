"""USD camera tracks: per-frame intrinsics ``K`` and OpenCV ``world_to_camera`` matrices.

Conventions (docs/internals.md): ``K`` is 3x3 in pixels with pixel centres at integer
coordinates, +x right, +y down; ``world_to_camera`` is 4x4 for column vectors with OpenCV camera
axes (x right, y down, z forward). One USD time code is one frame (Houdini's convention).

The camera's world transform comes from ``UsdGeom.Camera.GetCamera(t).transform``, which
includes animated parents; xformOps are never parsed here. Apertures are conformed to the image
aspect with ``UsdRender.Settings.aspectRatioConformPolicy`` semantics (default
``expandAperture``); aperture offsets shift the principal point.
"""

from __future__ import annotations

import os
import dataclasses
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np

from ..errors import BadInputError, DamagedFileError, UnknownCameraError, UsageError

if TYPE_CHECKING:  # pragma: no cover
    from pxr import Usd

#: The conform policies of ``UsdRender.Settings.aspectRatioConformPolicy``.
CONFORM_POLICIES: tuple[str, ...] = (
    "expandAperture",
    "cropAperture",
    "adjustApertureWidth",
    "adjustApertureHeight",
    "adjustPixelAspectRatio",
)
DEFAULT_CONFORM_POLICY = "expandAperture"

#: USD camera axes (x right, y up, looking down -z) -> OpenCV camera axes.
_USD_TO_OPENCV = np.diag([1.0, -1.0, -1.0, 1.0])


@dataclass(frozen=True)
class CameraView:
    """One camera at one frame and resolution: ``K`` (3x3) and ``world_to_camera`` (4x4)."""

    K: np.ndarray
    world_to_camera: np.ndarray
    width: int
    height: int
    near: float = 0.0
    far: float = float("inf")

    @property
    def camera_to_world(self) -> np.ndarray:
        """Inverse of ``world_to_camera`` (OpenCV camera axes to world)."""
        return np.linalg.inv(self.world_to_camera)

    @property
    def position(self) -> np.ndarray:
        """Camera centre in world space, shape (3,)."""
        return self.camera_to_world[:3, 3].copy()

    @property
    def resolution(self) -> tuple[int, int]:
        return self.width, self.height


def _open_stage(stage: "str | os.PathLike[str] | Usd.Stage") -> "Usd.Stage":
    from pxr import Usd

    if isinstance(stage, Usd.Stage):
        return stage
    path = Path(os.fspath(stage))
    if not path.is_file():
        raise BadInputError(f"USD stage {path} does not exist")
    try:
        opened = Usd.Stage.Open(str(path))
    except Exception as exc:  # pxr raises Tf.ErrorException
        raise DamagedFileError(f"cannot open USD stage {path}: {exc}") from exc
    if opened is None:
        raise DamagedFileError(f"cannot open USD stage {path}")
    return opened


def _sampled_range(prim: Any) -> tuple[float, float] | None:
    """See :attr:`CameraTrack.sampled_range`."""
    from pxr import UsdGeom

    attrs = [prim.GetAttribute(n) for n in UsdGeom.Camera.GetSchemaAttributeNames(False)]
    node = prim
    while node and not node.IsPseudoRoot():
        xformable = UsdGeom.Xformable(node)
        if xformable:
            attrs += [op.GetAttr() for op in xformable.GetOrderedXformOps()]
            if xformable.GetResetXformStack():
                break
        node = node.GetParent()
    lo, hi = float("inf"), float("-inf")
    for attr in attrs:
        if not attr or attr.GetNumTimeSamples() < 2:
            continue
        times = attr.GetTimeSamples()
        lo, hi = min(lo, times[0]), max(hi, times[-1])
    return (lo, hi) if lo <= hi else None


def list_cameras(stage: "str | os.PathLike[str] | Usd.Stage") -> list[str]:
    """Prim paths of every camera on the stage (instance proxies included), in traversal order."""
    from pxr import UsdGeom

    from pxr import Usd

    opened = _open_stage(stage)
    prims = opened.Traverse(Usd.TraverseInstanceProxies(Usd.PrimDefaultPredicate))
    return [str(p.GetPath()) for p in prims if p.IsA(UsdGeom.Camera)]


def _stage_conform_policy(stage: "Usd.Stage") -> str | None:
    """The policy of the stage's render settings (the stage's chosen one, else the only one)."""
    from pxr import UsdRender

    settings = UsdRender.Settings.GetStageRenderSettings(stage)
    if not settings:
        found = [p for p in stage.Traverse() if p.IsA(UsdRender.Settings)]
        if len(found) != 1:
            return None
        settings = UsdRender.Settings(found[0])
    value = settings.GetAspectRatioConformPolicyAttr().Get()
    return str(value) if value else None


def conform_apertures(h_ap: float, v_ap: float, aspect: float, policy: str) -> tuple[float, float]:
    """Apertures conformed to the image ``aspect`` (width / height), as UsdRender defines it.

    ``adjustPixelAspectRatio`` keeps both apertures (pixels become non-square, fx != fy).
    Offsets are unchanged: the window grows or shrinks about its (offset) centre.
    """
    if policy not in CONFORM_POLICIES:
        raise UsageError(f"unknown aspect ratio conform policy {policy!r}: one of {', '.join(CONFORM_POLICIES)}")
    if policy == "adjustPixelAspectRatio":
        return h_ap, v_ap
    if policy == "adjustApertureWidth":
        return v_ap * aspect, v_ap
    if policy == "adjustApertureHeight":
        return h_ap, h_ap / aspect
    wider = h_ap / v_ap > aspect
    if policy == "expandAperture":
        return (h_ap, h_ap / aspect) if wider else (v_ap * aspect, v_ap)
    # cropAperture
    return (v_ap * aspect, v_ap) if wider else (h_ap, h_ap / aspect)


def intrinsics_from_apertures(
    focal: float,
    h_ap: float,
    v_ap: float,
    h_off: float,
    v_off: float,
    width: int,
    height: int,
    policy: str = DEFAULT_CONFORM_POLICY,
) -> np.ndarray:
    """``K`` (3x3, pixels, centres at integers, +y down) from USD camera lens attributes."""
    if width <= 0 or height <= 0:
        raise UsageError(f"resolution must be positive, got {width}x{height}")
    h_ap, v_ap = conform_apertures(h_ap, v_ap, width / height, policy)
    fx = width * focal / h_ap
    fy = height * focal / v_ap
    cx = width * (0.5 - h_off / h_ap) - 0.5
    cy = height * (0.5 + v_off / v_ap) - 0.5
    return np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]], dtype=np.float64)


class CameraTrack:
    """A USD camera prim, sampled per frame. Build with :meth:`open`."""

    def __init__(
        self,
        stage: "Usd.Stage",
        prim_path: str,
        *,
        conform_policy: str | None = None,
        frame_range: tuple[int, int] | None = None,
        fps: float | None = None,
    ) -> None:
        from pxr import UsdGeom

        self.stage = stage
        self.prim_path = prim_path
        self._camera = UsdGeom.Camera(stage.GetPrimAtPath(prim_path))
        real = stage.GetRootLayer().realPath
        self.stage_path: Path | None = Path(real) if real else None
        policy = conform_policy or _stage_conform_policy(stage) or DEFAULT_CONFORM_POLICY
        if policy not in CONFORM_POLICIES:
            raise UsageError(
                f"unknown aspect ratio conform policy {policy!r}: one of {', '.join(CONFORM_POLICIES)}"
            )
        self.conform_policy = policy
        if frame_range is None:
            frame_range = (int(round(stage.GetStartTimeCode())), int(round(stage.GetEndTimeCode())))
        if frame_range[1] < frame_range[0]:
            raise UsageError(f"frame range {frame_range[0]}-{frame_range[1]} ends before it starts")
        self.frame_range: tuple[int, int] = (int(frame_range[0]), int(frame_range[1]))
        if fps is None:
            layer = stage.GetRootLayer()
            fps = stage.GetFramesPerSecond() if layer.HasFramesPerSecond() else stage.GetTimeCodesPerSecond()
        if not fps or fps <= 0:
            raise BadInputError(f"stage {self.stage_path}: frames per second must be positive, got {fps}")
        self.fps = float(fps)
        self._gf_cache = lru_cache(maxsize=64)(self._gf_camera_uncached)

    @classmethod
    def open(
        cls,
        stage: "str | os.PathLike[str] | Usd.Stage",
        camera: str | None = None,
        *,
        conform_policy: str | None = None,
        frame_range: tuple[int, int] | None = None,
        fps: float | None = None,
    ) -> "CameraTrack":
        """Open ``camera`` (a prim path) on ``stage``, or the only camera when ``camera`` is None.

        Raises UnknownCameraError (listing the cameras found) when the prim is missing or not a
        camera, when there is no camera, or when there are several and none was named.
        ``frame_range`` and ``fps`` override the stage metadata; ``conform_policy`` overrides
        the stage's UsdRender.Settings (default expandAperture).
        """
        from pxr import Sdf, UsdGeom

        opened = _open_stage(stage)
        where = opened.GetRootLayer().realPath or opened.GetRootLayer().identifier

        def found() -> str:  # traversing a large stage is not free: only when needed
            cameras = list_cameras(opened)
            return ", ".join(cameras) if cameras else "none"

        if camera is None:
            cameras = list_cameras(opened)
            if not cameras:
                raise UnknownCameraError(f"stage {where} has no camera (no UsdGeom.Camera prim). Cameras found: none")
            if len(cameras) > 1:
                raise UnknownCameraError(
                    f"stage {where} has {len(cameras)} cameras; name one with --camera. "
                    f"Cameras found: {', '.join(cameras)}"
                )
            camera = cameras[0]
        camera = str(camera)
        if not Sdf.Path.IsValidPathString(camera) or not Sdf.Path(camera).IsAbsolutePath():
            raise UnknownCameraError(f"camera {camera!r} is not an absolute prim path. Cameras found: {found()}")
        prim = opened.GetPrimAtPath(camera)
        if not prim or not prim.IsValid():
            raise UnknownCameraError(f"camera prim {camera} does not exist on stage {where}. Cameras found: {found()}")
        if not prim.IsA(UsdGeom.Camera):
            raise UnknownCameraError(
                f"prim {camera} on stage {where} is a {prim.GetTypeName() or 'typeless prim'}, "
                f"not a camera. Cameras found: {found()}"
            )
        return cls(opened, str(prim.GetPath()), conform_policy=conform_policy, frame_range=frame_range, fps=fps)

    @property
    def sampled_range(self) -> tuple[float, float] | None:
        """(first, last) time sample of everything that moves or reshapes the camera, or None
        when nothing does (a static camera is valid at any frame).

        Counted: the xformOps of the camera and of every ancestor up to a ``resetXformStack``,
        and the camera's own attributes (focal length, apertures and offsets, clipping range,
        projection...). Only attributes with two or more samples are animated; outside their
        range USD would hold the nearest sample and the camera would silently stop moving.
        """
        if not hasattr(self, "_sampled_range"):
            self._sampled_range = _sampled_range(self.stage.GetPrimAtPath(self.prim_path))
        return self._sampled_range

    def check_frames(self, frames: "Iterable[float]") -> None:
        """BadInputError naming the camera and its sampled range when a frame lies outside it."""
        import math

        frames = list(frames)
        bad = [f for f in frames if not math.isfinite(float(f))]
        if bad:
            raise BadInputError(f"camera {self.prim_path}: frame {bad[0]} is not a number")
        sampled = self.sampled_range
        if sampled is None:
            return
        lo, hi = sampled
        eps = 1e-6
        outside = [f for f in frames if not lo - eps <= float(f) <= hi + eps]
        if outside:
            where = self.stage_path or "<in-memory stage>"
            shown = ", ".join(f"{float(f):g}" for f in outside[:5]) + (f" and {len(outside) - 5} more" if len(outside) > 5 else "")
            raise BadInputError(
                f"camera {self.prim_path} on stage {where} is animated over frames {lo:g}-{hi:g} (its time "
                f"samples); frame{'s' if len(outside) > 1 else ''} {shown} lie{'' if len(outside) > 1 else 's'} "
                f"outside that range, where the camera would hold its last sample instead of moving"
            )

    @property
    def frames(self) -> list[int]:
        """Every frame of :attr:`frame_range`, inclusive."""
        return list(range(self.frame_range[0], self.frame_range[1] + 1))

    def _gf_camera_uncached(self, frame: float) -> Any:
        from pxr import Gf

        self.check_frames([frame])
        cam = self._camera.GetCamera(float(frame))
        if cam.projection != Gf.Camera.Perspective:
            raise BadInputError(
                f"camera {self.prim_path} at frame {frame:g} is orthographic; only perspective is supported"
            )
        if cam.horizontalAperture <= 0 or cam.verticalAperture <= 0 or cam.focalLength <= 0:
            raise BadInputError(
                f"camera {self.prim_path} at frame {frame:g}: focal length and apertures must be positive "
                f"(focal {cam.focalLength}, apertures {cam.horizontalAperture} x {cam.verticalAperture})"
            )
        return cam

    def gf_camera(self, frame: float) -> Any:
        """The ``Gf.Camera`` at ``frame`` (world transform includes animated parents)."""
        return self._gf_cache(float(frame))

    def intrinsics(self, frame: float, width: int, height: int) -> np.ndarray:
        """``K`` (3x3 float64, pixels) at ``frame`` for a ``width`` x ``height`` image."""
        cam = self.gf_camera(frame)
        return intrinsics_from_apertures(
            cam.focalLength,
            cam.horizontalAperture,
            cam.verticalAperture,
            cam.horizontalApertureOffset,
            cam.verticalApertureOffset,
            int(width),
            int(height),
            self.conform_policy,
        )

    def camera_to_world(self, frame: float) -> np.ndarray:
        """4x4 column-vector matrix from OpenCV camera axes to world at ``frame``."""
        usd_c2w = np.array(self.gf_camera(frame).transform, dtype=np.float64).T
        return usd_c2w @ _USD_TO_OPENCV

    def world_to_camera(self, frame: float) -> np.ndarray:
        """4x4 column-vector matrix from world to OpenCV camera axes at ``frame``."""
        return np.linalg.inv(self.camera_to_world(frame))

    def near_far(self, frame: float) -> tuple[float, float]:
        """The clipping range at ``frame``."""
        clip = self.gf_camera(frame).clippingRange
        return float(clip.min), float(clip.max)

    def view(self, frame: float, width: int, height: int) -> CameraView:
        """The camera at ``frame`` for a ``width`` x ``height`` image."""
        near, far = self.near_far(frame)
        return CameraView(
            K=self.intrinsics(frame, width, height),
            world_to_camera=self.world_to_camera(frame),
            width=int(width),
            height=int(height),
            near=near,
            far=far,
        )

    def __repr__(self) -> str:
        start, end = self.frame_range
        where = self.stage_path or "<in-memory>"
        return f"CameraTrack({where}:{self.prim_path}, frames {start}-{end}, {self.fps:g} fps)"


def box_view(view: "CameraView", factor: int, width: int, height: int) -> "CameraView":
    """The view of ``box_down(image, factor)``: block (i, j) is centred on full-resolution pixel
    ``(f j + (f - 1) / 2, f i + (f - 1) / 2)`` (pixel centres at integers)."""
    s = 1.0 / factor
    scale = np.array([[s, 0.0, (s - 1.0) / 2.0], [0.0, s, (s - 1.0) / 2.0], [0.0, 0.0, 1.0]])
    return dataclasses.replace(view, K=scale @ np.asarray(view.K, dtype=np.float64), width=width, height=height)
