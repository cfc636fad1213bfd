"""How the crowd sits in the plate: light direction, haze, defocus and the grade.

- **Light.** ``light_direction`` is the direction light *travels* (world space, from the light
  towards the scene; a UsdLux DistantLight shines along its local -Z). Without one given, the
  stage's brightest DistantLight at the shot's first frame, else a high default light (long
  shadows only from a real sun).
- **Haze.** Depth-based: a person at distance d keeps ``exp(-ln 2 * d / haze_distance)`` of
  their colour and takes the rest from the haze colour (the plate's farthest pixels when a
  plate is given). ``haze_distance`` is in metres (converted with the stage's metersPerUnit).
- **Motion blur.** ``shutter`` frames centred on the frame: the camera's shutter:open/close
  when authored, else 0.5.
- **Defocus.** From the shot camera's lens when it has one (fStop > 0 and focusDistance > 0):
  the circle of confusion of a thin lens, in pixels, per person.
- **Grade** (only with a plate): exposure and white balance from the plate's pixels on the
  region (the ground the crowd stands on), assuming ground of mid-grey albedo; a black lift
  from the plate's darkest pixels there; per person, the plate's brightness beside their feet
  relative to the region's (people in a building's shadow are darker).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from ..shot.shot import Shot
    from .region import Region

log = logging.getLogger("genpost")

#: ACEScg luminance weights.
LUMA = np.array([0.2722287168, 0.6740817658, 0.0536895174], np.float32)
#: The library elements are lit so that a pale pavement (albedo ~0.4) under the same light
#: would read this bright: the plate's ground luminance divided by it is the crowd's exposure.
REFERENCE_GROUND = 0.4
#: Default: a high light (elevation ~72 degrees) slightly from the side.
DEFAULT_ELEVATION = math.radians(72.0)


@dataclass
class Look:
    """Everything the renderer applies per person beyond the element itself."""

    light: np.ndarray  # (3,) unit, direction light travels
    light_source: str  # "parameter", the DistantLight's path, or "default"
    light_angle: float = 0.53  # degrees subtended by the light (penumbra)
    shadow_density: float = 0.6
    contact_density: float = 0.45
    haze_distance: float = 0.0  # scene units; 0 = none
    haze_colour: np.ndarray = field(default_factory=lambda: np.array([0.55, 0.6, 0.7], np.float32))
    gain: np.ndarray = field(default_factory=lambda: np.ones(3, np.float32))
    lift: np.ndarray = field(default_factory=lambda: np.zeros(3, np.float32))
    ground_luma: float = 0.0  # the region's median plate luminance (0 = no plate)
    lens: tuple[float, float, float, float] | None = None  # fStop, focus (units), focal mm, h-aperture mm
    meters_per_unit: float = 1.0
    shutter: float = 0.5

    def haze(self, distance: np.ndarray | float) -> np.ndarray | float:
        """Fraction of a person's colour kept at ``distance`` (scene units)."""
        if self.haze_distance <= 0:
            return np.ones_like(distance) if isinstance(distance, np.ndarray) else 1.0
        return np.exp(-math.log(2.0) * np.asarray(distance) / self.haze_distance)

    def coc_px(self, depth: float, width: int) -> float:
        """Circle of confusion diameter (pixels) at camera depth ``depth`` (scene units)."""
        if self.lens is None:
            return 0.0
        fstop, focus, focal_mm, aperture_mm = self.lens
        f = focal_mm / 1000.0
        s = focus * self.meters_per_unit
        z = max(depth * self.meters_per_unit, 1e-6)
        if s <= f or fstop <= 0:
            return 0.0
        coc_m = (f * f / (fstop * (s - f))) * abs(z - s) / z
        return float(coc_m * 1000.0 * width / aperture_mm)

    def to_json(self) -> dict[str, Any]:
        return {
            "light_direction": [round(float(v), 6) for v in self.light],
            "light_source": self.light_source,
            "shadow_density": self.shadow_density,
            "haze_distance": self.haze_distance,
            "haze_colour": [round(float(v), 5) for v in self.haze_colour],
            "grade_gain": [round(float(v), 5) for v in self.gain],
            "grade_lift": [round(float(v), 6) for v in self.lift],
            "lens": list(self.lens) if self.lens else None,
            "shutter": self.shutter,
        }


def parse_vector(text: str | Sequence[float] | None, what: str) -> np.ndarray | None:
    """``"x,y,z"`` (or a sequence) -> (3,) float64; None/"" -> None; UsageError otherwise."""
    from ..errors import UsageError

    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    try:
        vals = [float(v) for v in (text.replace(" ", "").split(",") if isinstance(text, str) else text)]
    except (TypeError, ValueError):
        vals = []
    if len(vals) != 3 or not all(math.isfinite(v) for v in vals):
        raise UsageError(f"{what} must be three numbers X,Y,Z (got {text!r})")
    return np.array(vals, np.float64)


def stage_distant_light(stage: Any, frame: float) -> tuple[np.ndarray, str, float] | None:
    """(direction of travel, prim path, angle in degrees) of the stage's brightest
    DistantLight, or None."""
    from pxr import Usd, UsdGeom, UsdLux

    best = None
    time = Usd.TimeCode(frame)
    for prim in stage.Traverse():
        if not prim.IsA(UsdLux.DistantLight):
            continue
        light = UsdLux.DistantLight(prim)
        intensity = float(light.GetIntensityAttr().Get(time) or 1.0) * 2.0 ** float(light.GetExposureAttr().Get(time) or 0.0)
        xf = np.array(UsdGeom.Xformable(prim).ComputeLocalToWorldTransform(time), dtype=np.float64)
        travel = -xf[2, :3]  # row-vector matrices: row 2 is the local Z axis in world
        norm = float(np.linalg.norm(travel))
        if norm < 1e-12:
            continue
        angle = float(light.GetAngleAttr().Get(time) or 0.53)
        if best is None or intensity > best[0]:
            best = (intensity, travel / norm, str(prim.GetPath()), angle)
    return None if best is None else (best[1], best[2], best[3])


def choose_light(direction: np.ndarray | None, stage: Any, frame: float, region: "Region") -> tuple[np.ndarray, str, float]:
    """The light for shadows: the parameter, else the stage's DistantLight, else the default."""
    if direction is not None:
        n = float(np.linalg.norm(direction))
        if n < 1e-9:
            from ..errors import UsageError

            raise UsageError("--light-direction must not be zero")
        return direction / n, "parameter", 0.53
    found = stage_distant_light(stage, frame)
    if found is not None:
        return found
    e1, e2 = region.basis
    horiz = (0.8 * e1 + 0.6 * e2) * math.cos(DEFAULT_ELEVATION)
    travel = horiz - region.up * math.sin(DEFAULT_ELEVATION)
    return travel / np.linalg.norm(travel), "default", 2.0


def camera_lens(shot: "Shot", frame: float) -> tuple[float, float, float, float] | None:
    cam = shot.camera.gf_camera(frame)
    fstop, focus = float(cam.fStop), float(cam.focusDistance)
    if fstop > 0 and focus > 0:
        return (fstop, focus, float(cam.focalLength), float(cam.horizontalAperture))
    return None


def camera_shutter(shot: "Shot", frame: float) -> float:
    """The camera's shutter interval in frames (shutter:close - shutter:open) when authored and
    positive, else 0.5 (a 180-degree shutter)."""
    from pxr import UsdGeom

    cam = UsdGeom.Camera(shot.camera.stage.GetPrimAtPath(shot.camera.prim_path))
    opened, closed = cam.GetShutterOpenAttr(), cam.GetShutterCloseAttr()
    if opened.HasAuthoredValue() or closed.HasAuthoredValue():
        interval = float(closed.Get(frame) or 0.0) - float(opened.Get(frame) or 0.0)
        return float(min(max(interval, 0.0), 1.0))
    return 0.5


def plate_grade(shot: "Shot", region: "Region", frames: Sequence[int]) -> dict[str, Any] | None:
    """Exposure, white balance, black level and haze colour from the plate (whole-shot: a few
    frames across the range, so every chunk grades alike). None without a plate."""
    from ..geometry import backproject

    if shot.plate is None:
        return None
    frames = sorted(frames)
    picks = sorted({frames[0], frames[len(frames) // 2], frames[-1]})
    ground, far = [], []
    for f in picks:
        plate = shot.read("plate", f)
        depth = shot.read("depth", f)
        view = shot.view(f)
        step = max(1, int(round(max(plate.shape[:2]) / 480)))
        pl, dp = plate[::step, ::step], depth[::step, ::step]
        finite = np.isfinite(dp)
        if finite.any():
            cut = np.quantile(dp[finite], 0.97)
            cand = pl[finite & (dp >= cut)]
            # Not a screen: haze is greyish (a blue or green screen would tint everyone).
            mx, mn = cand.max(axis=1), cand.min(axis=1)
            far.append(cand[(mx > 0) & (mn >= 0.4 * mx)])
        # Back-project only the pixels used: pixel (i, j) of the subsampled grid is pixel
        # (step i, step j) of the frame (centres at integers), so K scales by 1 / step.
        S = np.diag([1.0 / step, 1.0 / step, 1.0])
        coarse = dataclasses.replace(view, K=S @ view.K, width=dp.shape[1], height=dp.shape[0])
        world = backproject(dp, coarse)
        ok = np.isfinite(world).all(axis=-1)
        if not ok.any() or region.is_points:
            continue
        pts = world[ok]
        inside, surf, _ = region.locate(region.to_2d(pts))
        near = inside & (np.abs(np.sum((pts - surf) * region.up, axis=1)) < 0.25)
        near_full = np.zeros(ok.shape, bool)
        near_full[ok] = near
        ground.append(pl[near_full])
    out: dict[str, Any] = {}
    if far:
        f_pix = np.concatenate(far)
        if len(f_pix) >= 16:
            out["haze_colour"] = np.median(f_pix, axis=0).astype(np.float32)
    if ground and sum(len(g) for g in ground) >= 16:
        g = np.concatenate(ground)
        luma = g @ LUMA
        med = float(np.median(luma))
        if med > 0:
            exposure = float(np.clip(med / REFERENCE_GROUND, 0.1, 12.0))
            tint = np.median(g, axis=0) / max(med, 1e-6)
            tint = np.clip(tint, 0.5, 2.0) ** 0.5
            out["gain"] = (exposure * tint / float(tint @ LUMA)).astype(np.float32)
            out["lift"] = (np.quantile(g, 0.02, axis=0) * 0.25).astype(np.float32)
            out["ground_luma"] = med
    return out


def local_exposure(plate: np.ndarray, points_uv: np.ndarray, ground_luma: float) -> np.ndarray:
    """Per person, the plate's brightness at a few ground points beside the feet relative to the
    region's median: (N,) factors, softened and bounded (sun and shade, never a cut-out)."""
    h, w = plate.shape[:2]
    if ground_luma <= 0 or not len(points_uv):
        return np.ones(len(points_uv))
    uv = np.asarray(points_uv)  # (N, S, 2)
    x = np.clip(np.rint(uv[..., 0]), 0, w - 1).astype(np.int64)
    y = np.clip(np.rint(uv[..., 1]), 0, h - 1).astype(np.int64)
    inside = np.isfinite(uv).all(axis=-1) & (uv[..., 0] >= 0) & (uv[..., 0] < w) & (uv[..., 1] >= 0) & (uv[..., 1] < h)
    luma = plate[y, x] @ LUMA
    luma = np.where(inside, luma, np.nan)
    seen = inside.any(axis=1)
    med = np.full(len(luma), np.nan)
    if seen.any():
        med[seen] = np.nanmedian(luma[seen], axis=1)
    ratio = np.where(np.isfinite(med), med / ground_luma, 1.0)
    return np.clip(ratio, 0.35, 1.5) ** 0.8
