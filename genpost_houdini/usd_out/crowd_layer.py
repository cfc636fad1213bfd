"""The crowd layer lighters sublayer: a PointInstancer of camera-facing cards in world space.

``/genpost_crowd/instancer`` holds one instance per crowd id (``ids``), positions at the feet,
orientations turning each card to the camera per frame (about the up axis), scales (width,
height; a negative width is a horizontal flip), and one prototype card per source whose texture
is a time-sampled path to the element's sprites (written beside the layer). Per-instance time
offsets and colour gains are primvars (``genpost:timeOffset``, ``genpost:gain``); the beauty AOVs
(crowd.####.exr) already apply them. Provenance, sources and consent references are in
customLayerData and the instancer's customData.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from .aov_layer import _jsonable, bind_texture_material
from .save import save_layer

if TYPE_CHECKING:  # pragma: no cover
    from ..crowd.placement import Instance
    from ..crowd.sources import CrowdSource
    from ..shot.camera import CameraTrack

ROOT = "/genpost_crowd"


def write_sprites(out_dir: Path, source: "CrowdSource") -> str:
    """Write a source's cropped premultiplied RGBA frames as ``sprites/source_K.####.exr``."""
    from ..imageio import exr

    name = f"sprites/source_{source.index}.####.exr"
    for f, sprite in zip(source.frames, source.sprites):
        path = out_dir / name.replace("####", f"{f:04d}")
        if path.is_file():
            continue
        exr.write_exr(path, {"R": sprite[..., 0], "G": sprite[..., 1], "B": sprite[..., 2], "A": sprite[..., 3]},
                      kinds={c: "colour" for c in "RGBA"}, metadata={"source": source.pattern}, colourspace="ACEScg")
    return name


def _facing_quat(up: np.ndarray, normal: np.ndarray) -> tuple[float, float, float, float]:
    """(w, x, y, z) rotating the prototype card (facing +Z for Y-up, -Y for Z-up) to ``normal``."""
    if up[2] > 0.5:  # Z-up: rotate about Z so local -Y points along normal
        phi = math.atan2(float(normal[0]), float(-normal[1]))
        return (math.cos(phi / 2), 0.0, 0.0, math.sin(phi / 2))
    theta = math.atan2(float(normal[0]), float(normal[2]))
    return (math.cos(theta / 2), 0.0, math.sin(theta / 2), 0.0)


def write_crowd_layer(
    out_dir: str | os.PathLike[str],
    name: str,
    *,
    camera: "CameraTrack",
    frames: Sequence[int],
    instances: Sequence["Instance"],
    sources: Sequence["CrowdSource"],
    up: np.ndarray,
    provenance: Mapping[str, Any],
) -> Path:
    """Write sprites and the layer (atomic); returns the layer path."""
    from pxr import Gf, Sdf, Usd, UsdGeom, Vt

    from ..crowd.render import card_axes

    out = Path(out_dir)
    frames = sorted(frames)
    stage = Usd.Stage.CreateInMemory()
    stage.SetStartTimeCode(frames[0])
    stage.SetEndTimeCode(frames[-1])
    stage.SetFramesPerSecond(camera.fps)
    stage.SetTimeCodesPerSecond(camera.fps)
    UsdGeom.SetStageUpAxis(stage, UsdGeom.GetStageUpAxis(camera.stage))
    UsdGeom.SetStageMetersPerUnit(stage, UsdGeom.GetStageMetersPerUnit(camera.stage))
    layer = stage.GetRootLayer()
    layer.customLayerData = {"genpost": _jsonable(provenance), "genpost_colourspace": "ACEScg"}

    root = UsdGeom.Xform.Define(stage, ROOT)
    stage.SetDefaultPrim(root.GetPrim())
    inst = UsdGeom.PointInstancer.Define(stage, f"{ROOT}/instancer")
    protos = UsdGeom.Scope.Define(stage, f"{ROOT}/instancer/prototypes")
    z_up = up[2] > 0.5
    rel = inst.CreatePrototypesRel()
    for src in sources:
        sprite_pattern = write_sprites(out, src)
        card_path = protos.GetPath().AppendChild(f"source_{src.index}")
        card = UsdGeom.Mesh.Define(stage, card_path)
        if z_up:
            pts = [(-0.5, 0, 0), (0.5, 0, 0), (0.5, 0, 1), (-0.5, 0, 1)]
        else:
            pts = [(-0.5, 0, 0), (0.5, 0, 0), (0.5, 1, 0), (-0.5, 1, 0)]
        card.CreatePointsAttr(Vt.Vec3fArray([Gf.Vec3f(*p) for p in pts]))
        card.CreateFaceVertexCountsAttr([4])
        card.CreateFaceVertexIndicesAttr([0, 1, 2, 3])
        card.CreateDoubleSidedAttr(True)
        card.CreateSubdivisionSchemeAttr(UsdGeom.Tokens.none)
        card.CreateExtentAttr(Vt.Vec3fArray([Gf.Vec3f(-0.5, 0, 0), Gf.Vec3f(0.5, 1, 0) if not z_up else Gf.Vec3f(0.5, 0, 1)]))
        st = UsdGeom.PrimvarsAPI(card).CreatePrimvar("st", Sdf.ValueTypeNames.TexCoord2fArray, UsdGeom.Tokens.vertex)
        st.Set(Vt.Vec2fArray([Gf.Vec2f(0, 0), Gf.Vec2f(1, 0), Gf.Vec2f(1, 1), Gf.Vec2f(0, 1)]))
        card.GetPrim().SetCustomData({"genpost": _jsonable(src.provenance())})
        n = len(src.frames)
        files = {t: "./" + sprite_pattern.replace("####", f"{src.frames[(t - frames[0]) % n]:04d}") for t in frames}
        bind_texture_material(stage, card.GetPrim(), files, colourspace="ACEScg", emissive=False)
        rel.AddTarget(card_path)

    positions = np.array([i.position for i in instances], dtype=np.float64)
    inst.CreateIdsAttr(Vt.Int64Array([int(i.id) for i in instances]))
    inst.CreatePositionsAttr(Vt.Vec3fArray([Gf.Vec3f(*map(float, p)) for p in positions]))
    inst.CreateProtoIndicesAttr(Vt.IntArray([int(i.source) for i in instances]))
    inst.CreateScalesAttr(Vt.Vec3fArray([
        Gf.Vec3f((-1.0 if i.flip else 1.0) * i.height * sources[i.source].aspect, i.height, 1.0) if not z_up
        else Gf.Vec3f((-1.0 if i.flip else 1.0) * i.height * sources[i.source].aspect, 1.0, i.height)
        for i in instances
    ]))
    orient = inst.CreateOrientationsAttr()
    for t in frames:
        cam_pos = camera.view(t, 16, 16).position
        quats = []
        for i, p in zip(instances, positions):
            _, normal = card_axes(p, cam_pos, up)
            w, x, y, z = _facing_quat(up, normal)
            quats.append(Gf.Quath(w, x, y, z))
        orient.Set(Vt.QuathArray(quats), Usd.TimeCode(t))
    pv = UsdGeom.PrimvarsAPI(inst)
    pv.CreatePrimvar("genpost:timeOffset", Sdf.ValueTypeNames.IntArray, UsdGeom.Tokens.varying).Set(Vt.IntArray([int(i.offset) for i in instances]))
    pv.CreatePrimvar("genpost:gain", Sdf.ValueTypeNames.Color3fArray, UsdGeom.Tokens.varying).Set(Vt.Vec3fArray([Gf.Vec3f(*i.gain) for i in instances]))
    pv.CreatePrimvar("genpost:source", Sdf.ValueTypeNames.IntArray, UsdGeom.Tokens.varying).Set(Vt.IntArray([int(i.source) for i in instances]))
    inst.GetPrim().SetCustomData({"genpost": _jsonable(provenance)})
    if len(positions):
        lo, hi = positions.min(axis=0) - 2.5, positions.max(axis=0) + 2.5
        inst.CreateExtentAttr(Vt.Vec3fArray([Gf.Vec3f(*map(float, lo)), Gf.Vec3f(*map(float, hi))]))

    final = out / name
    return save_layer(layer, final)
