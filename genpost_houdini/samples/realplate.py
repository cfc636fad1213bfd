"""A clean shot made into a *real plate*, with its truth: the evaluation harness of set extension.

:func:`build_real_plate` takes a clean, undistorted shot (USD camera, scene-linear plate, planar
Z depth; e.g. the TartanAir office shot) and writes what a set-extension job meets on set:

- a screen (blue or green) over a top region of the frame, keyed into a soft matte
  (``matte.####.exr``, channel ``A``) whose edge ramps over ``edge_px`` pixels; in that ramp the
  plate is a mix of screen and scene with screen light spilled onto it (``spill``), and a weaker
  spill (``spill_tail``) continues beyond the edge, decaying over ``spill_px`` pixels;
- a red object crossing the kept plate just below the screen (its alpha in
  ``moving.####.exr``): moving content that must never be copied into the extension;
- grain on every frame, per channel and intensity dependent, spatially a little correlated,
  fresh per frame; optionally exposure drift (a per-frame gain);
- optionally lens distortion: the plate is distorted (a radial lens, ``undistort.exr`` and
  ``redistort.exr`` ST maps in Nuke's convention, the CG frame an overscan of the plate) while
  depth and camera stay undistorted.

Truths, in plate space: ``truth.####.exr`` is the scene as the camera saw it without screen,
object and grain (exposure drift included), ``truth_grain.####.exr`` the same with the plate's
own grain (the reference for grain and edge measures). ``realplate.json`` lists every pattern
and the parameters (:meth:`RealPlate.to_json`). Deterministic for a given spec and seed.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..atomic import write_json_atomic
from ..conditioning.grain import gauss_blur
from ..conditioning.plate import box_down
from ..errors import UsageError

#: Scene-linear ACEScg screen colours.
SCREEN_RGB = {"blue": (0.035, 0.085, 0.42), "green": (0.055, 0.36, 0.075)}
#: The moving object's colour (a saturated red, absent from the office shot).
OBJECT_RGB = (0.55, 0.045, 0.035)
#: Grain: sigma of channel c at value v is ``grain * GRAIN_CHANNEL[c] * (GRAIN_BASE + GRAIN_SLOPE * v)``.
GRAIN_CHANNEL = (1.0, 0.8, 1.3)
GRAIN_BASE, GRAIN_SLOPE = 0.004, 0.035
#: Spatial correlation of the grain (Gaussian sigma in pixels before renormalisation).
GRAIN_BLUR = 0.6


@dataclass(frozen=True)
class RealPlateSpec:
    """How the clean shot is damaged. Lengths are in output pixels."""

    screen: str | None = "blue"
    band: float = 0.33
    edge_px: float = 6.0
    spill: float = 0.3
    spill_tail: float = 0.1
    spill_px: float = 1.5
    moving: bool = True
    object_size: tuple[float, float] = (0.12, 0.09)
    grain: float = 1.0
    drift: float = 0.02
    lens: tuple[float, float] | None = None
    overscan: float = 1.1
    downsample: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        if self.screen not in (None, "blue", "green"):
            raise UsageError(f"real plate: screen must be blue, green or None, got {self.screen!r}")
        if self.downsample < 1:
            raise UsageError(f"real plate: downsample must be >= 1, got {self.downsample}")


@dataclass
class RealPlate:
    """Where a built real plate lies (patterns use ####) and how it was made."""

    root: Path
    stage: str
    camera: str | None
    frames: list[int]
    plate: str
    depth: str
    matte: str
    truth: str
    truth_grain: str
    moving: str
    spec: RealPlateSpec
    plate_size: tuple[int, int]
    cg_size: tuple[int, int]
    screen_rgb: tuple[float, float, float] | None
    object_rgb: tuple[float, float, float] = OBJECT_RGB
    undistort: str | None = None
    redistort: str | None = None
    gains: dict[int, float] = field(default_factory=dict)

    def path(self, kind: str, frame: int) -> Path:
        pattern: str = getattr(self, kind)
        return Path(pattern.replace("####", f"{frame:04d}"))

    @property
    def frame_range(self) -> str:
        return f"{self.frames[0]}-{self.frames[-1]}"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["root"] = str(self.root)
        data["gains"] = {str(k): v for k, v in self.gains.items()}
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "RealPlate":
        d = dict(data)
        spec = dict(d.pop("spec"))
        for key in ("object_size", "lens"):
            if spec.get(key) is not None:
                spec[key] = tuple(spec[key])
        d["spec"] = RealPlateSpec(**spec)
        d["root"] = Path(d["root"])
        d["gains"] = {int(k): float(v) for k, v in d.get("gains", {}).items()}
        for key in ("plate_size", "cg_size", "screen_rgb", "object_rgb"):
            if d.get(key) is not None:
                d[key] = tuple(d[key])
        return cls(**d)

    def setext_args(self) -> list[str]:
        """``genpost setext`` arguments for this plate (default settings; add --out)."""
        args = ["--stage", self.stage, "--plate", self.plate, "--depth", self.depth, "--extend", self.matte,
                "--frames", self.frame_range]
        if self.camera:
            args += ["--camera", self.camera]
        if self.undistort and self.redistort:
            args += ["--undistort", self.undistort, "--redistort", self.redistort]
        return args


# ---------------------------------------------------------------------------------------------
# Pieces
# ---------------------------------------------------------------------------------------------

def unit_grain(shape: tuple[int, int, int], seed: int, blur: float = GRAIN_BLUR) -> np.ndarray:
    """Unit-variance, slightly correlated Gaussian noise (H, W, C) for one frame."""
    rng = np.random.default_rng(seed)
    n = rng.standard_normal(shape).astype(np.float32)
    n = gauss_blur(n, blur)
    return (n / max(float(n.std()), 1e-6)).astype(np.float32)


def grain_sigma(values: np.ndarray, amount: float) -> np.ndarray:
    """The harness grain's sigma per channel at ``values`` (H, W, 3)."""
    scale = amount * np.asarray(GRAIN_CHANNEL, np.float32)
    return scale * (GRAIN_BASE + GRAIN_SLOPE * np.maximum(values, 0.0))


def _matte(width: int, height: int, spec: RealPlateSpec) -> tuple[np.ndarray, np.ndarray]:
    """(soft matte in [0, 1], distance in pixels below the ramp) of the top screen region."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    edge = spec.band * height + 0.035 * height * np.sin(2 * np.pi * x / width * 1.3 + 0.7)
    u = np.clip((edge - y) / max(spec.edge_px, 1e-3) + 0.5, 0.0, 1.0)
    matte = u * u * (3.0 - 2.0 * u)  # smoothstep ramp over edge_px pixels
    below = y - (edge + 0.5 * spec.edge_px)
    return matte.astype(np.float32), below.astype(np.float32)


def _object_alpha(width: int, height: int, spec: RealPlateSpec, index: int, count: int) -> np.ndarray:
    """A rounded box crossing the frame left to right just below the screen (anti-aliased)."""
    ow, oh = spec.object_size[0] * width, spec.object_size[1] * height
    top = spec.band * height + 0.035 * height + 0.5 * spec.edge_px + 4.0 * max(spec.spill_px, 1.0) + 3.0
    cy = top + oh / 2
    progress = index / max(1, count - 1)
    cx = -0.6 * ow + progress * (width + 1.2 * ow)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    r = 0.3 * min(ow, oh)
    qx = np.maximum(np.abs(x - cx) - (ow / 2 - r), 0.0)
    qy = np.maximum(np.abs(y - cy) - (oh / 2 - r), 0.0)
    dist = np.sqrt(qx * qx + qy * qy) - r
    return np.clip(0.5 - dist, 0.0, 1.0).astype(np.float32)


def _screen(width: int, height: int, rgb: Sequence[float], seed: int) -> np.ndarray:
    """An uneven screen: the colour with +-8 % low-frequency variation."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    a, b, c = rng.uniform(0, 2 * np.pi, 3)
    var = 1.0 + 0.05 * np.sin(2 * np.pi * x / width + a) + 0.03 * np.sin(2 * np.pi * y / height * 1.7 + b) \
        + 0.02 * np.sin(2 * np.pi * (x + y) / (width + height) * 3 + c)
    return (var[..., None] * np.asarray(rgb, np.float32)).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------------------------

def build_real_plate(
    out_dir: str | os.PathLike[str],
    *,
    stage: str | os.PathLike[str],
    plate: str,
    depth: str,
    frames: Sequence[int],
    camera: str | None = None,
    spec: RealPlateSpec = RealPlateSpec(),
) -> RealPlate:
    """Make the clean shot (``stage``, ``plate``, ``depth`` patterns over ``frames``) into a real
    plate in ``out_dir``; return where everything is. See the module docstring."""
    from ..shot.lens import radial_stmaps, warp_stmap, write_stmap
    from ..imageio import exr
    from ..shot.camera import CameraTrack
    from ..shot.frames import FrameSeq

    frames = sorted(int(f) for f in frames)
    if not frames:
        raise UsageError("real plate: no frames")
    out = Path(out_dir).absolute()
    out.mkdir(parents=True, exist_ok=True)
    plate_seq, depth_seq = FrameSeq.parse(plate), FrameSeq.parse(depth)
    plate_seq.require(frames, "plate")
    depth_seq.require(frames, "depth")
    k = spec.downsample
    depth_pattern = str(depth_seq.hash_pattern)
    if k > 1:
        depth_pattern = str(out / "depth.####.exr")
        for f in frames:
            d = exr.read_depth(depth_seq.path(f))
            exr.write_exr(out / f"depth.{f:04d}.exr", {"Z": box_down(d, k)}, kinds={"Z": "depth"}, colourspace=None)
    first_clean = box_down(exr.read_rgb(plate_seq.path(frames[0])), k)
    cg_h, cg_w = first_clean.shape[:2]
    undistort_path = redistort_path = None
    redistort = None
    if spec.lens is not None:
        pw = int(round(cg_w / spec.overscan / 2)) * 2
        ph = int(round(cg_h / spec.overscan / 2)) * 2
        track = CameraTrack.open(Path(stage), camera)
        focal = float(track.view(frames[0], cg_w, cg_h).K[0, 0])
        undistort, redistort = radial_stmaps((cg_w, cg_h), (pw, ph), focal, *spec.lens)
        undistort_path, redistort_path = out / "undistort.exr", out / "redistort.exr"
        write_stmap(undistort_path, undistort, metadata={"lens": "radial", "k1": spec.lens[0], "k2": spec.lens[1]})
        write_stmap(redistort_path, redistort, metadata={"lens": "radial", "k1": spec.lens[0], "k2": spec.lens[1]})
    else:
        pw, ph = cg_w, cg_h

    screen_rgb = SCREEN_RGB[spec.screen] if spec.screen else None
    matte, below = _matte(pw, ph, spec)
    screen = _screen(pw, ph, screen_rgb, spec.seed) if screen_rgb else None
    tail = spec.spill_tail * np.exp(-np.maximum(below, 0.0) / max(spec.spill_px, 1e-3))
    spill = np.where(below <= 0, spec.spill, tail).astype(np.float32)
    spill *= 1.0 if screen is not None else 0.0
    gains: dict[int, float] = {}
    for i, f in enumerate(frames):
        clean = box_down(exr.read_rgb(plate_seq.path(f)), k)
        if redistort is not None:
            clean, _ = warp_stmap(clean, redistort)
        gain = 1.0 + spec.drift * float(np.sin(2 * np.pi * i / 17.0 + 0.4))
        gains[f] = gain
        scene = (clean * gain).astype(np.float32)
        alpha = _object_alpha(pw, ph, spec, i, len(frames)) if spec.moving else np.zeros((ph, pw), np.float32)
        shade = 1.0 + 0.15 * np.linspace(-1, 1, ph, dtype=np.float32)[:, None, None]
        obj = np.asarray(OBJECT_RGB, np.float32) * gain * shade
        filmed = scene * (1.0 - alpha[..., None]) + obj * alpha[..., None]
        if screen is not None:  # screen light spills onto the set, which the screen covers where keyed
            filmed = (filmed + spill[..., None] * screen * gain) * (1.0 - matte[..., None]) + screen * gain * matte[..., None]
        noise = unit_grain((ph, pw, 3), spec.seed * 100003 + f)
        grainy = filmed + grain_sigma(filmed, spec.grain) * noise
        truth_grain = scene + grain_sigma(scene, spec.grain) * noise
        rgb = {"R": "colour", "G": "colour", "B": "colour"}
        meta = {"realplate": f, "gain": gain}
        exr.write_exr(out / f"plate.{f:04d}.exr", {c: grainy[..., j] for j, c in enumerate("RGB")}, kinds=rgb, metadata=meta)
        exr.write_exr(out / f"truth.{f:04d}.exr", {c: scene[..., j] for j, c in enumerate("RGB")},
                      kinds={c: "data" for c in "RGB"}, types={c: "float" for c in "RGB"}, metadata=meta)
        exr.write_exr(out / f"truth_grain.{f:04d}.exr", {c: truth_grain[..., j] for j, c in enumerate("RGB")},
                      kinds={c: "data" for c in "RGB"}, types={c: "float" for c in "RGB"}, metadata=meta)
        exr.write_exr(out / f"matte.{f:04d}.exr", {"A": matte}, kinds={"A": "mask"}, colourspace=None)
        exr.write_exr(out / f"moving.{f:04d}.exr", {"A": alpha}, kinds={"A": "mask"}, colourspace=None)
    result = RealPlate(
        root=out, stage=str(Path(stage).absolute()), camera=camera, frames=frames,
        plate=str(out / "plate.####.exr"), depth=depth_pattern, matte=str(out / "matte.####.exr"),
        truth=str(out / "truth.####.exr"), truth_grain=str(out / "truth_grain.####.exr"),
        moving=str(out / "moving.####.exr"), spec=spec, plate_size=(pw, ph), cg_size=(cg_w, cg_h),
        screen_rgb=screen_rgb, undistort=str(undistort_path) if undistort_path else None,
        redistort=str(redistort_path) if redistort_path else None, gains=gains,
    )
    write_json_atomic(out / "realplate.json", result.to_json())
    return result


def load_real_plate(folder: str | os.PathLike[str]) -> RealPlate:
    """The :class:`RealPlate` described by ``folder/realplate.json``."""
    return RealPlate.from_json(json.loads((Path(folder) / "realplate.json").read_text()))
