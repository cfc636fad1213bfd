"""A plain test scene for crowds: a wide ground plane seen from eye height, analytic depth.

:func:`build_ground` writes ``ground.usda`` (Y-up, metres; ``/world/cam``, a camera at eye
height pitched slightly down and trucking slowly to the right; ``/world/plaza``, a rectangle on
y = 0, the crowd region) and ``depth.####.exr`` (``Z``: planar camera-space depth of the plane,
OpenCV axes, pixel centres at integers, inf above the horizon). No plate: nothing grades the
crowd. The shape of the issue's held-out check for ``genpost crowd``; tests and
``benchmarks/crowd_looks.py`` use it.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class GroundScene:
    """The scene's geometry (everything the analytic depth and projection need)."""

    width: int = 640
    height: int = 360
    first_frame: int = 1
    last_frame: int = 4
    eye: float = 1.65  # camera height, metres
    pitch: float = -5.0  # degrees (negative: looking down)
    focal: float = 28.0  # mm
    h_aperture: float = 36.0  # mm
    region: tuple[float, float, float, float] = (-14.0, 14.0, -34.0, -4.0)  # x0, x1, z0, z1 on y = 0
    truck: float = 0.15  # metres per frame to the right

    def camera_x(self, frame: float) -> float:
        return self.truck * (frame - self.first_frame)

    def depth(self) -> np.ndarray:
        """(H, W) float32 planar depth of the ground plane (inf above the horizon)."""
        W, H = self.width, self.height
        fx = W * self.focal / self.h_aperture
        cy = H / 2 - 0.5
        v, u = np.mgrid[0:H, 0:W].astype(np.float64)
        p = math.radians(self.pitch)
        # OpenCV ray (z = 1) -> USD camera axes (x, -y, -z), then the camera's rotation about X.
        dy_usd, dz_usd = -(v - cy) / fx, -1.0
        dy = dy_usd * math.cos(p) - dz_usd * math.sin(p)
        with np.errstate(divide="ignore"):
            return np.where(dy < -1e-9, -self.eye / dy, np.inf).astype(np.float32)


def build_ground(out_dir: str | os.PathLike[str], scene: GroundScene = GroundScene()) -> dict[str, str]:
    """Write the stage and depth EXRs into ``out_dir``; returns stage, camera, region, depth."""
    from pxr import Gf, Usd, UsdGeom, Vt

    from ..imageio import exr

    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    s = scene
    stage = Usd.Stage.CreateNew(str(root / "ground.usda"))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.y)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    stage.SetStartTimeCode(s.first_frame)
    stage.SetEndTimeCode(s.last_frame)
    stage.SetFramesPerSecond(24)
    stage.SetTimeCodesPerSecond(24)
    UsdGeom.Xform.Define(stage, "/world")
    cam = UsdGeom.Camera.Define(stage, "/world/cam")
    cam.CreateFocalLengthAttr(s.focal)
    cam.CreateHorizontalApertureAttr(s.h_aperture)
    cam.CreateVerticalApertureAttr(s.h_aperture * s.height / s.width)
    t = cam.AddTranslateOp()
    r = cam.AddRotateXYZOp()
    for f in range(s.first_frame, s.last_frame + 1):
        t.Set(Gf.Vec3d(s.camera_x(f), s.eye, 0.0), Usd.TimeCode(f))
        r.Set(Gf.Vec3f(s.pitch, 0.0, 0.0), Usd.TimeCode(f))
    x0, x1, z0, z1 = s.region
    mesh = UsdGeom.Mesh.Define(stage, "/world/plaza")
    mesh.CreatePointsAttr(Vt.Vec3fArray([Gf.Vec3f(x0, 0, z1), Gf.Vec3f(x1, 0, z1), Gf.Vec3f(x1, 0, z0), Gf.Vec3f(x0, 0, z0)]))
    mesh.CreateFaceVertexCountsAttr([4])
    mesh.CreateFaceVertexIndicesAttr([0, 1, 2, 3])
    stage.GetRootLayer().Save()
    depth = s.depth()
    for f in range(s.first_frame, s.last_frame + 1):
        exr.write_exr(root / f"depth.{f:04d}.exr", {"Z": depth}, kinds={"Z": "depth"})
    return {"stage": str(root / "ground.usda"), "camera": "/world/cam", "region": "/world/plaza",
            "depth": str(root / "depth.####.exr"), "frames": f"{s.first_frame}-{s.last_frame}"}


__all__ = ["GroundScene", "build_ground"]
