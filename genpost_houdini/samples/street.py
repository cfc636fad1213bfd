"""The bundled default shot: a street set with a blue-screen cut, built procedurally.

:func:`build_street` writes, into one folder:

- ``street.usda``: Y-up, metres; ``/shot/camera`` (time-sampled dolly/crane/pan), the filmed set
  under ``/shot/set`` (ground, pavements, lower storeys up to the cut, lamp posts), the proxy
  geometry of the extension under ``/shot/extension`` (upper storeys, the far street, a sky
  dome so every pixel has finite depth) and ``/shot/crowd_region`` (a pavement strip mesh, guide
  purpose, for the crowd job);
- per frame ``plate.####.exr`` (R,G,B scene-linear ACEScg half; blue screen wherever the
  extension is), ``depth.####.exr`` (``Z``: camera-space depth, finite everywhere),
  ``extend.####.exr`` (``mask``: 1 = generate, 0 = keep the plate) and ``truth.####.exr`` (the
  full set as the extension should look, for QC);
- the plate also shows what the set does not hold (:mod:`.props`): a car driving through the
  kept plate (``holdout.####.exr``, ``mask``: its coverage, what ``--holdout`` takes) and a rig
  (a C-stand with a flag) to remove, whose roto the extend mask holds; neither is in the truth,
  the depth or the stage;
- ``shot.json``: :meth:`SampleShot.to_json`;
- ``extras/``: the bundled extras library (:mod:`.extras`), its patterns in ``crowd_sources``.

The renderer reads the camera back from the written stage, so its K and extrinsics are exactly
what :class:`genpost_houdini.shot.camera.CameraTrack` computes from the USD.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .. import __version__
from ..atomic import ensure_folder, remove_stale_temporaries, write_json_atomic
from ..errors import UsageError
from ..limits import MAX_FRAMES, MAX_WORKERS, bounded
from ..shot.frames import FrameSeq
from ..usd_out.save import save_layer
from . import scene as sc

log = logging.getLogger("genpost")

#: Bumped whenever the pixels or the stage change, so cached builds are not reused.
SAMPLE_VERSION = 3
STAGE_NAME = "street.usda"
CAMERA_PATH = "/shot/camera"
SET_SCOPE = "/shot/set"
EXTENSION_SCOPE = "/shot/extension"
CROWD_REGION_PATH = "/shot/crowd_region"
DEPTH_CHANNEL = "Z"
EXTEND_CHANNEL = "mask"
HOLDOUT_CHANNEL = "mask"
#: The per-frame files of a build.
FRAME_KINDS = ("plate", "depth", "extend", "truth", "holdout")
COLOURSPACE = "ACEScg"
_KIND_NAMES = {sc.KIND_BRICK: "brick", sc.KIND_CONCRETE: "concrete", sc.KIND_STUCCO: "stucco",
               sc.KIND_PAVEMENT: "pavement", sc.KIND_METAL: "metal"}


@dataclass(frozen=True)
class SampleShot:
    """Where a built sample shot lies, and what it is (paths are absolute; patterns use ####)."""

    root: Path
    stage: Path
    camera: str
    first_frame: int
    last_frame: int
    width: int
    height: int
    fps: float
    plate: str
    depth: str
    extend: str
    truth: str
    crowd_region: str
    set_scope: str = SET_SCOPE
    extension_scope: str = EXTENSION_SCOPE
    cut_height: float = sc.CUT_HEIGHT
    seed: int = 0
    crowd_sources: tuple[str, ...] = ()  # the extras library beside the shot (samples.extras)
    holdout: str = ""  # the moving car's coverage per frame (``--holdout``)

    @property
    def frames(self) -> list[int]:
        return list(range(self.first_frame, self.last_frame + 1))

    @property
    def frame_range(self) -> str:
        """``"1001-1048"``."""
        return f"{self.first_frame}-{self.last_frame}"

    @property
    def resolution(self) -> tuple[int, int]:
        return self.width, self.height

    def frame_path(self, kind: str, frame: int) -> Path:
        """The file of ``kind`` (plate, depth, extend, truth, holdout) for ``frame``."""
        pattern: str = getattr(self, kind)
        return Path(pattern.replace("####", f"{frame:04d}"))

    def to_json(self) -> dict[str, Any]:
        """The paths and patterns as printed by ``genpost samples street``."""
        return {
            "root": str(self.root),
            "stage": str(self.stage),
            "camera": self.camera,
            "frames": self.frame_range,
            "first_frame": self.first_frame,
            "last_frame": self.last_frame,
            "resolution": [self.width, self.height],
            "fps": self.fps,
            "plate": self.plate,
            "depth": self.depth,
            "extend": self.extend,
            "truth": self.truth,
            "holdout": self.holdout,
            "crowd_region": self.crowd_region,
            "set_scope": self.set_scope,
            "extension_scope": self.extension_scope,
            "depth_channel": DEPTH_CHANNEL,
            "extend_channel": EXTEND_CHANNEL,
            "holdout_channel": HOLDOUT_CHANNEL,
            "colourspace": COLOURSPACE,
            "cut_height": self.cut_height,
            "seed": self.seed,
            "crowd_sources": list(self.crowd_sources),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "SampleShot":
        return cls(
            root=Path(data["root"]), stage=Path(data["stage"]), camera=data["camera"],
            first_frame=int(data["first_frame"]), last_frame=int(data["last_frame"]),
            width=int(data["resolution"][0]), height=int(data["resolution"][1]), fps=float(data["fps"]),
            plate=data["plate"], depth=data["depth"], extend=data["extend"], truth=data["truth"],
            crowd_region=data["crowd_region"], set_scope=data["set_scope"],
            extension_scope=data["extension_scope"], cut_height=float(data["cut_height"]),
            seed=int(data["seed"]), crowd_sources=tuple(data.get("crowd_sources") or ()),
            holdout=str(data.get("holdout") or ""),
        )


# ---------------------------------------------------------------------------------------------
# USD authoring
# ---------------------------------------------------------------------------------------------

_BOX_FACES = [0, 2, 3, 1, 4, 5, 7, 6, 0, 1, 5, 4, 2, 6, 7, 3, 0, 4, 6, 2, 1, 3, 7, 5]


def _box_points(lo: Sequence[float], hi: Sequence[float]) -> list[tuple[float, float, float]]:
    # Corner i: x from bit 0, y from bit 1, z from bit 2 (faces above wind outwards, right-handed).
    return [tuple(float(hi[a] if (i >> a) & 1 else lo[a]) for a in range(3)) for i in range(8)]  # type: ignore[misc]


def _author_box(stage: Any, path: str, lo: Sequence[float], hi: Sequence[float], box: sc.Box) -> None:
    from pxr import Gf, UsdGeom, Vt

    mesh = UsdGeom.Mesh.Define(stage, path)
    mesh.CreatePointsAttr(Vt.Vec3fArray([Gf.Vec3f(*p) for p in _box_points(lo, hi)]))
    mesh.CreateFaceVertexCountsAttr(Vt.IntArray([4] * 6))
    mesh.CreateFaceVertexIndicesAttr(Vt.IntArray(_BOX_FACES))
    mesh.CreateSubdivisionSchemeAttr(UsdGeom.Tokens.none)
    mesh.CreateExtentAttr(Vt.Vec3fArray([Gf.Vec3f(*map(float, lo)), Gf.Vec3f(*map(float, hi))]))
    mesh.CreateDisplayColorAttr(Vt.Vec3fArray([Gf.Vec3f(*box.colour)]))
    mesh.GetPrim().SetCustomDataByKey("genpost:material", _KIND_NAMES.get(box.kind, "other"))
    mesh.GetPrim().SetCustomDataByKey("genpost:source_box", box.name)


def _author_quads(stage: Any, path: str, quads: Sequence[tuple[float, float, float, float]], y: float,
                  colour: Sequence[float]) -> Any:
    """A mesh of horizontal quads (x0, x1, z0, z1) at height ``y``, normals up."""
    from pxr import Gf, UsdGeom, Vt

    points: list[Any] = []
    for x0, x1, z0, z1 in quads:
        # Counter-clockwise seen from +Y: (x0,z1) (x1,z1) (x1,z0) (x0,z0) with z1 > z0.
        za, zb = min(z0, z1), max(z0, z1)
        points += [Gf.Vec3f(x0, y, zb), Gf.Vec3f(x1, y, zb), Gf.Vec3f(x1, y, za), Gf.Vec3f(x0, y, za)]
    mesh = UsdGeom.Mesh.Define(stage, path)
    mesh.CreatePointsAttr(Vt.Vec3fArray(points))
    mesh.CreateFaceVertexCountsAttr(Vt.IntArray([4] * len(quads)))
    mesh.CreateFaceVertexIndicesAttr(Vt.IntArray(list(range(4 * len(quads)))))
    mesh.CreateSubdivisionSchemeAttr(UsdGeom.Tokens.none)
    xs = [p[0] for p in points]
    zs = [p[2] for p in points]
    mesh.CreateExtentAttr(Vt.Vec3fArray([Gf.Vec3f(min(xs), y, min(zs)), Gf.Vec3f(max(xs), y, max(zs))]))
    mesh.CreateDisplayColorAttr(Vt.Vec3fArray([Gf.Vec3f(*map(float, colour))]))
    return mesh


def _split_box(box: sc.Box) -> tuple[tuple[Any, Any] | None, tuple[Any, Any] | None]:
    """(filmed part, extension part) of ``box`` as (lo, hi) pairs, either may be None."""
    lo, hi = list(box.lo), list(box.hi)
    fy = min(max(box.film_y, lo[1]), hi[1])
    fz = min(max(box.film_z, lo[2]), hi[2])
    filmed = (lo[0], lo[1], fz), (hi[0], fy, hi[2])
    has_filmed = fy > lo[1] and fz < hi[2]
    if not has_filmed:
        return None, (tuple(lo), tuple(hi))
    if fy >= hi[1] and fz <= lo[2]:
        return filmed, None
    if fz > lo[2] and fy >= hi[1]:  # split along z
        return filmed, ((lo[0], lo[1], lo[2]), (hi[0], hi[1], fz))
    if fz <= lo[2]:  # split along y
        return filmed, ((lo[0], fy, lo[2]), (hi[0], hi[1], hi[2]))
    raise ValueError(f"box {box.name}: filmed region split on two axes is not supported")


def author_stage(path: Path, scene: sc.StreetScene, *, first_frame: int, last_frame: int,
                 width: int, height: int, seed: int) -> None:
    """Write the USD stage of ``scene`` with the camera move over ``first_frame..last_frame``."""
    from pxr import Gf, Sdf, Usd, UsdGeom, UsdRender, Vt

    stage = Usd.Stage.CreateInMemory()
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.y)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    stage.SetStartTimeCode(first_frame)
    stage.SetEndTimeCode(last_frame)
    stage.SetFramesPerSecond(sc.FPS)
    stage.SetTimeCodesPerSecond(sc.FPS)
    root = UsdGeom.Xform.Define(stage, "/shot")
    stage.SetDefaultPrim(root.GetPrim())
    stage.GetRootLayer().customLayerData = {
        "genpost": {"sample": "street", "sample_version": SAMPLE_VERSION, "seed": seed,
                    "cut_height": scene.cut_height, "set_scope": SET_SCOPE,
                    "extension_scope": EXTENSION_SCOPE, "crowd_region": CROWD_REGION_PATH,
                    "package_version": __version__},
    }
    stage.GetRootLayer().documentation = (
        "genpost-houdini bundled street: filmed set under /shot/set (below the cut), extension "
        "proxy geometry under /shot/extension, camera /shot/camera, crowd region /shot/crowd_region.")

    # Camera.
    cam = UsdGeom.Camera.Define(stage, CAMERA_PATH)
    cam.CreateProjectionAttr(UsdGeom.Tokens.perspective)
    cam.CreateFocalLengthAttr(sc.FOCAL_LENGTH)
    cam.CreateHorizontalApertureAttr(sc.HORIZONTAL_APERTURE)
    cam.CreateVerticalApertureAttr(sc.HORIZONTAL_APERTURE * height / width)
    cam.CreateHorizontalApertureOffsetAttr(0.0)
    cam.CreateVerticalApertureOffsetAttr(0.0)
    cam.CreateClippingRangeAttr(Gf.Vec2f(*sc.CLIPPING_RANGE))
    translate = cam.AddTranslateOp()
    rotate = cam.AddRotateXYZOp()
    n = last_frame - first_frame + 1
    with Sdf.ChangeBlock():
        for i, frame in enumerate(range(first_frame, last_frame + 1)):
            pose = sc.camera_pose(i / (n - 1) if n > 1 else 0.0)
            translate.Set(Gf.Vec3d(*pose.position), Usd.TimeCode(frame))
            rotate.Set(Gf.Vec3f(pose.tilt, pose.yaw, 0.0), Usd.TimeCode(frame))

    # Set and extension.
    for scope in (SET_SCOPE, EXTENSION_SCOPE):
        UsdGeom.Scope.Define(stage, scope)
        UsdGeom.Scope.Define(stage, f"{scope}/buildings")
        UsdGeom.Scope.Define(stage, f"{scope}/street")
    UsdGeom.Scope.Define(stage, f"{SET_SCOPE}/props")
    for box in scene.boxes:
        filmed, extension = _split_box(box)
        group = "buildings" if box.building else ("props" if box.kind == sc.KIND_METAL else "street")
        if filmed is not None:
            _author_box(stage, f"{SET_SCOPE}/{group}/{box.name}", *filmed, box)
        if extension is not None:
            suffix = "_upper" if filmed is not None and box.building else ""
            ext_group = "street" if group == "props" else group
            _author_box(stage, f"{EXTENSION_SCOPE}/{ext_group}/{box.name}{suffix}", *extension, box)
    gx, gz0, gz1 = sc.SET_GROUND_HALF_X, sc.SET_END_Z, sc.SET_GROUND_NEAR_Z
    _author_quads(stage, f"{SET_SCOPE}/street/ground", [(-gx, gx, gz0, gz1)], 0.0, (0.08, 0.08, 0.085))
    cx, cz, r = sc.DOME_CENTER[0], sc.DOME_CENTER[2], sc.DOME_RADIUS
    far = [(cx - r, cx + r, cz - r, gz0), (cx - r, -gx, gz0, gz1), (gx, cx + r, gz0, gz1),
           (cx - r, cx + r, gz1, cz + r)]
    _author_quads(stage, f"{EXTENSION_SCOPE}/street/ground_far", far, 0.0, (0.08, 0.08, 0.085))
    dome = UsdGeom.Sphere.Define(stage, f"{EXTENSION_SCOPE}/backdrop")
    dome.CreateRadiusAttr(sc.DOME_RADIUS)
    dome.CreateExtentAttr(Vt.Vec3fArray([Gf.Vec3f(-r, -r, -r), Gf.Vec3f(r, r, r)]))
    dome.AddTranslateOp().Set(Gf.Vec3d(*sc.DOME_CENTER))
    dome.CreateDisplayColorAttr(Vt.Vec3fArray([Gf.Vec3f(0.45, 0.6, 0.9)]))
    dome.GetPrim().SetCustomDataByKey("genpost:role", "sky dome (backdrop)")

    # Crowd region: the left pavement strip (in the sun), 1 m cells.
    x0, x1, zn, zf, y = scene.crowd_region
    cells = []
    nx = max(1, int(round(abs(x1 - x0))))
    nz = max(1, int(round(abs(zn - zf))))
    for i in range(nx):
        for j in range(nz):
            xa, xb = x0 + (x1 - x0) * i / nx, x0 + (x1 - x0) * (i + 1) / nx
            za, zb = zf + (zn - zf) * j / nz, zf + (zn - zf) * (j + 1) / nz
            cells.append((xa, xb, za, zb))
    region = _author_quads(stage, CROWD_REGION_PATH, cells, y, (0.9, 0.6, 0.1))
    region.CreatePurposeAttr(UsdGeom.Tokens.guide)
    region.GetPrim().SetCustomDataByKey("genpost:role", "crowd region (pavement strip, people stand on it)")

    # Render settings: resolution and camera (apertures already match the aspect).
    settings = UsdRender.Settings.Define(stage, "/Render/rendersettings")
    settings.CreateResolutionAttr(Gf.Vec2i(width, height))
    settings.CreatePixelAspectRatioAttr(1.0)
    settings.CreateAspectRatioConformPolicyAttr(UsdRender.Tokens.expandAperture)
    settings.CreateCameraRel().SetTargets([Sdf.Path(CAMERA_PATH)])
    stage.SetMetadata("renderSettingsPrimPath", "/Render/rendersettings")

    save_layer(stage.GetRootLayer(), path)


def read_cameras(stage_path: Path, frames: Sequence[int]) -> dict[int, np.ndarray]:
    """World-to-camera (OpenCV axes, 4x4) per frame, read back from the written stage."""
    from pxr import Usd, UsdGeom

    stage = Usd.Stage.Open(str(stage_path))
    cam = UsdGeom.Camera(stage.GetPrimAtPath(CAMERA_PATH))
    flip = np.diag([1.0, -1.0, -1.0, 1.0])
    out = {}
    for f in frames:
        c2w_usd = np.array(cam.GetCamera(Usd.TimeCode(f)).transform, dtype=np.float64).T
        out[f] = np.linalg.inv(c2w_usd @ flip)
    return out


# ---------------------------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------------------------

def _params_key(frames: int, width: int, height: int, first_frame: int, seed: int) -> dict[str, Any]:
    return {"sample_version": SAMPLE_VERSION, "frames": frames, "width": width, "height": height,
            "first_frame": first_frame, "seed": seed}


def _existing(out: Path, key: dict[str, Any]) -> SampleShot | None:
    """The shot already built in ``out`` with the same parameters and every file present."""
    meta = out / "shot.json"
    try:
        data = json.loads(meta.read_text())
        if data.get("build") != key:
            return None
        shot = SampleShot.from_json(data)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if shot.root != out or not shot.stage.is_file() or not shot.holdout:
        return None
    for f in shot.frames:
        for kind in FRAME_KINDS:
            if not shot.frame_path(kind, f).is_file():
                return None
    return shot


def _remove_stale_frames(out: Path, keep: set[int]) -> None:
    """Delete our own per-frame files outside ``keep`` (a previous, longer build) and temporaries."""
    remove_stale_temporaries(out)
    for kind in FRAME_KINDS:
        for frame in FrameSeq.parse(str(out / f"{kind}.####.exr")).frames_on_disk():
            if frame not in keep:
                (out / f"{kind}.{frame:04d}.exr").unlink(missing_ok=True)


def build_street(out_dir: str | os.PathLike[str], *, frames: int = 48, width: int = 960, height: int = 540,
                 first_frame: int = 1001, seed: int = 0, workers: int | None = None,
                 force: bool = False) -> SampleShot:
    """Build the bundled street shot into ``out_dir`` and return where everything is.

    Deterministic: the same arguments give the same stage and pixels. The camera move spans the
    shot whatever ``frames`` is (fewer frames = bigger steps). A folder already holding this
    exact build (``shot.json`` + every file) is reused unless ``force``.
    """
    bounded("samples street: --frames", frames, 1, MAX_FRAMES)
    if workers is not None:
        bounded("samples street: --workers", workers, 1, MAX_WORKERS)
    if width < 16 or height < 16 or width > 8192 or height > 8192:
        raise UsageError(f"samples street: resolution {width}x{height} out of range (16..8192)")
    out = ensure_folder(Path(out_dir).resolve(), "sample folder")
    key = _params_key(frames, width, height, first_frame, seed)
    if not force:
        existing = _existing(out, key)
        if existing is not None:
            log.info("samples street: reusing the build in %s", out)
            return _with_extras(existing)
    last_frame = first_frame + frames - 1
    shot = SampleShot(
        root=out, stage=out / STAGE_NAME, camera=CAMERA_PATH, first_frame=first_frame,
        last_frame=last_frame, width=width, height=height, fps=sc.FPS,
        plate=str(out / "plate.####.exr"), depth=str(out / "depth.####.exr"),
        extend=str(out / "extend.####.exr"), truth=str(out / "truth.####.exr"),
        crowd_region=CROWD_REGION_PATH, cut_height=sc.CUT_HEIGHT, seed=seed,
        holdout=str(out / "holdout.####.exr"),
    )
    # A stale shot.json must not describe a half-rewritten folder, nor old frames outlive it.
    (out / "shot.json").unlink(missing_ok=True)
    _remove_stale_frames(out, set(shot.frames))
    scene = sc.build_scene(seed)
    author_stage(shot.stage, scene, first_frame=first_frame, last_frame=last_frame,
                 width=width, height=height, seed=seed)
    cameras = read_cameras(shot.stage, shot.frames)
    render_frames(shot, scene, cameras, workers=workers)
    data = shot.to_json()
    data["build"] = key
    write_json_atomic(out / "shot.json", data)
    return _with_extras(shot)


def _with_extras(shot: SampleShot) -> SampleShot:
    """The shot with the bundled extras library written beside it (``extras/``)."""
    import dataclasses

    from .extras import build_extras_library

    return dataclasses.replace(shot, crowd_sources=build_extras_library(shot.root / "extras").sources)


def render_frames(shot: SampleShot, scene: sc.StreetScene, cameras: dict[int, np.ndarray], *,
                  workers: int | None = None) -> None:
    """Render and write every frame's plate, depth, extend mask, truth and holdout.

    The plate shows the car and the rig (:mod:`.props`) at the frame's normalised time; the
    extend mask is the blue screen (where the car does not hide it) plus the rig's roto; the
    holdout is the car's coverage."""
    from ..conditioning.morphology import dilate
    from ..imageio.exr import write_exr
    from .props import CAR_PREFIX, RIG_PREFIX, plate_props, roto_grow
    from .raycast import StreetRenderer

    renderer = StreetRenderer(scene, shot.width, shot.height)
    K = sc.intrinsics(shot.width, shot.height)
    meta = {"sample": "street", "sample_version": SAMPLE_VERSION, "seed": shot.seed,
            "stage": shot.stage.name, "camera": shot.camera}
    total = len(shot.frames)
    done = 0
    lock = threading.Lock()
    started = time.perf_counter()
    step = max(1, total // 8)

    def one(frame: int) -> None:
        nonlocal done
        u = (frame - shot.first_frame) / (total - 1) if total > 1 else 0.0
        props = plate_props(u)
        img = renderer.render(K, cameras[frame], props)
        assert img.props is not None
        kind = np.array([p.name.startswith(RIG_PREFIX) for p in props] + [False])  # index -1: nothing
        is_rig = kind[img.props]
        car = np.array([p.name.startswith(CAR_PREFIX) for p in props] + [False])[img.props]
        # A key never takes what stands in front of the screen (the car); the roto adds the rig.
        screen = (img.extend > 0.5) & ~car
        extend = (screen | dilate(is_rig, roto_grow(shot.width))).astype(np.float32)
        fm = dict(meta, frame=frame)
        write_exr(shot.frame_path("plate", frame),
                  {"R": img.plate[..., 0], "G": img.plate[..., 1], "B": img.plate[..., 2]},
                  kinds={"R": "colour", "G": "colour", "B": "colour"}, metadata=fm, colourspace=COLOURSPACE)
        write_exr(shot.frame_path("truth", frame),
                  {"R": img.truth[..., 0], "G": img.truth[..., 1], "B": img.truth[..., 2]},
                  kinds={"R": "colour", "G": "colour", "B": "colour"}, metadata=fm, colourspace=COLOURSPACE)
        write_exr(shot.frame_path("depth", frame), {DEPTH_CHANNEL: img.depth},
                  kinds={DEPTH_CHANNEL: "depth"}, metadata=fm, colourspace=None)
        write_exr(shot.frame_path("extend", frame), {EXTEND_CHANNEL: extend},
                  kinds={EXTEND_CHANNEL: "mask"}, metadata=fm, colourspace=None)
        write_exr(shot.frame_path("holdout", frame), {HOLDOUT_CHANNEL: car.astype(np.float32)},
                  kinds={HOLDOUT_CHANNEL: "mask"}, metadata=fm, colourspace=None)
        with lock:
            done += 1
            if done % step == 0 or done == total:
                log.info("samples street: %d/%d frames (%.1f s)", done, total, time.perf_counter() - started)

    n_workers = workers if workers is not None else min(2, os.cpu_count() or 1)
    log.info("samples street: rendering %d frames at %dx%d into %s", total, shot.width, shot.height, shot.root)
    if n_workers <= 1 or total == 1:
        for f in shot.frames:
            one(f)
    else:
        with ThreadPoolExecutor(max_workers=n_workers) as pool:
            for _ in pool.map(one, shot.frames):
                pass


__all__ = ["SampleShot", "build_street", "author_stage", "read_cameras", "render_frames",
           "CAMERA_PATH", "CROWD_REGION_PATH", "SET_SCOPE", "EXTENSION_SCOPE"]
