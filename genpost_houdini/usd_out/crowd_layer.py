"""The crowd layer lighters sublayer: a PointInstancer of camera-facing cards in world space.

``/genpost_crowd/instancer`` holds one instance per crowd id (``ids``), positions at the feet
(time-sampled per frame: walkers move; ``invisibleIds`` per frame hides walkers off the region),
orientations turning each card to the camera per frame (about the up axis), scales (a negative
x is a horizontal flip; the card is sized in units of the person's height), and one prototype
card per source whose texture is a time-sampled path to the element's idle (or only) clip,
written beside the layer as ``sprites/source_K.####.exr``. Per-instance primvars carry the
variation the beauty AOVs (crowd.####.exr) already apply: ``genpost:timeOffset``,
``genpost:gain``, ``genpost:source``, ``genpost:colourway``, ``genpost:recolour`` and
``genpost:recolourLower`` (the colourway's 3x3 matrices on linear ACEScg, row-vector
convention, applied inside the element's ``variation`` matte, the second on its
``variation_lower`` part),
``genpost:walking``, ``genpost:playbackSpeed``, ``genpost:heading``. Provenance, sources and
consent references are in customLayerData and the instancer's customData.
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
    from ..crowd.placement import CrowdLayout
    from ..crowd.sources import CrowdSource
    from ..shot.camera import CameraTrack

ROOT = "/genpost_crowd"


def write_sprites(out_dir: Path, source: "CrowdSource", indices: Sequence[int]) -> str:
    """Write the sprites at ``indices`` of a source (premultiplied RGBA, cropped) as
    ``sprites/source_K.####.exr`` numbered by the source's own frame numbers."""
    from ..imageio import exr

    name = f"sprites/source_{source.index}.####.exr"
    for i in sorted(set(int(i) for i in indices)):
        path = out_dir / name.replace("####", f"{source.frames[i]:04d}")
        if path.is_file():
            continue
        sprite = np.asarray(source.sprites[i], np.float32)
        exr.write_exr(path, {"R": sprite[..., 0], "G": sprite[..., 1], "B": sprite[..., 2], "A": sprite[..., 3]},
                      kinds={c: "colour" for c in "RGBA"}, metadata={"source": source.pattern}, colourspace="ACEScg",
                      compression="zips")
    return name


def _prototype_clip(source: "CrowdSource") -> Any:
    """The clip shown on the prototype card: the idle (or only) clip facing the camera."""
    el = source.element
    assert el is not None
    clip, _ = el.clip_for("idle", 0.0)
    return clip


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
    layout: "CrowdLayout",
    sources: Sequence["CrowdSource"],
    matrices: Mapping[tuple[int, int], np.ndarray],
    up: np.ndarray,
    provenance: Mapping[str, Any],
) -> Path:
    """Write sprites and the layer (atomic); returns the layer path."""
    from pxr import Gf, Sdf, Usd, UsdGeom, Vt

    from ..crowd.render import card_axes

    out = Path(out_dir)
    frames = sorted(frames)
    instances = layout.instances
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
        clip = _prototype_clip(src)
        indices = [clip.frame(t - frames[0]) for t in frames]
        sprite_pattern = write_sprites(out, src, indices)
        card_path = protos.GetPath().AppendChild(f"source_{src.index}")
        card = UsdGeom.Mesh.Define(stage, card_path)
        el = src.element
        assert el is not None
        h, w = src.sprites.shape[1:3]
        ax, ay = el.anchor
        left, right = -(ax + 0.5) / el.person_px, (w - 0.5 - ax) / el.person_px
        bottom, top = -(h - 0.5 - ay) / el.person_px, (ay + 0.5) / el.person_px
        pts: list[tuple[float, float, float]]
        if z_up:
            pts = [(left, 0.0, bottom), (right, 0.0, bottom), (right, 0.0, top), (left, 0.0, top)]
        else:
            pts = [(left, bottom, 0.0), (right, bottom, 0.0), (right, top, 0.0), (left, top, 0.0)]
        card.CreatePointsAttr(Vt.Vec3fArray([Gf.Vec3f(*p) for p in pts]))
        card.CreateFaceVertexCountsAttr([4])
        card.CreateFaceVertexIndicesAttr([0, 1, 2, 3])
        card.CreateDoubleSidedAttr(True)
        card.CreateSubdivisionSchemeAttr(UsdGeom.Tokens.none)
        card.CreateExtentAttr(Vt.Vec3fArray([Gf.Vec3f(*pts[0]), Gf.Vec3f(*pts[2])]))
        st = UsdGeom.PrimvarsAPI(card).CreatePrimvar("st", Sdf.ValueTypeNames.TexCoord2fArray, UsdGeom.Tokens.vertex)
        st.Set(Vt.Vec2fArray([Gf.Vec2f(0, 0), Gf.Vec2f(1, 0), Gf.Vec2f(1, 1), Gf.Vec2f(0, 1)]))
        card.GetPrim().SetCustomData({"genpost": _jsonable(src.provenance())})
        files = {t: "./" + sprite_pattern.replace("####", f"{src.frames[i]:04d}") for t, i in zip(frames, indices)}
        bind_texture_material(stage, card.GetPrim(), files, colourspace="ACEScg", emissive=False)
        rel.AddTarget(card_path)

    ids = [int(i.id) for i in instances]
    inst.CreateIdsAttr(Vt.Int64Array(ids))
    inst.CreateProtoIndicesAttr(Vt.IntArray([int(i.source) for i in instances]))
    inst.CreateScalesAttr(Vt.Vec3fArray([
        Gf.Vec3f((-1.0 if i.flip else 1.0) * i.height, i.height, 1.0) if not z_up
        else Gf.Vec3f((-1.0 if i.flip else 1.0) * i.height, 1.0, i.height)
        for i in instances
    ]))
    positions = inst.CreatePositionsAttr()
    orient = inst.CreateOrientationsAttr()
    hidden = inst.CreateInvisibleIdsAttr()
    lo = np.full(3, np.inf)
    hi = np.full(3, -np.inf)
    for t in frames:
        state = layout.state(t)
        pos = np.where(np.isfinite(state.position), state.position,
                       np.array([i.position for i in instances], np.float64).reshape(-1, 3))
        values = Vt.Vec3fArray([Gf.Vec3f(*map(float, p)) for p in pos])
        positions.Set(values, Usd.TimeCode(t))
        if t == frames[0]:
            positions.Set(values)  # a default too: tools that read without a time see the first frame
        cam_pos = camera.view(t, 16, 16).position
        quats = []
        for p in pos:
            _, normal = card_axes(p, cam_pos, up)
            w_, x, y, z = _facing_quat(up, normal)
            quats.append(Gf.Quath(w_, x, y, z))
        orient.Set(Vt.QuathArray(quats), Usd.TimeCode(t))
        hidden.Set(Vt.Int64Array([ids[k] for k in np.nonzero(~state.present)[0]]), Usd.TimeCode(t))
        if len(pos):
            lo, hi = np.minimum(lo, pos.min(axis=0)), np.maximum(hi, pos.max(axis=0))
    pv = UsdGeom.PrimvarsAPI(inst)
    pv.CreatePrimvar("genpost:timeOffset", Sdf.ValueTypeNames.IntArray, UsdGeom.Tokens.varying).Set(Vt.IntArray([int(i.offset) for i in instances]))
    pv.CreatePrimvar("genpost:gain", Sdf.ValueTypeNames.Color3fArray, UsdGeom.Tokens.varying).Set(Vt.Vec3fArray([Gf.Vec3f(*i.gain) for i in instances]))
    pv.CreatePrimvar("genpost:source", Sdf.ValueTypeNames.IntArray, UsdGeom.Tokens.varying).Set(Vt.IntArray([int(i.source) for i in instances]))
    pv.CreatePrimvar("genpost:colourway", Sdf.ValueTypeNames.IntArray, UsdGeom.Tokens.varying).Set(Vt.IntArray([int(i.variant) for i in instances]))
    for primvar, part in (("genpost:recolour", 0), ("genpost:recolourLower", 1)):
        pv.CreatePrimvar(primvar, Sdf.ValueTypeNames.Matrix3dArray, UsdGeom.Tokens.varying).Set(Vt.Matrix3dArray([
            Gf.Matrix3d(*[float(v) for v in np.asarray(matrices[(i.source, i.variant)][part], np.float64).T.ravel()])
            for i in instances]))
    pv.CreatePrimvar("genpost:walking", Sdf.ValueTypeNames.IntArray, UsdGeom.Tokens.varying).Set(Vt.IntArray([int(i.walking) for i in instances]))
    pv.CreatePrimvar("genpost:playbackSpeed", Sdf.ValueTypeNames.FloatArray, UsdGeom.Tokens.varying).Set(Vt.FloatArray([float(i.speed) for i in instances]))
    pv.CreatePrimvar("genpost:heading", Sdf.ValueTypeNames.Vector3fArray, UsdGeom.Tokens.varying).Set(Vt.Vec3fArray([Gf.Vec3f(*map(float, i.heading)) for i in instances]))
    inst.GetPrim().SetCustomData({"genpost": _jsonable(provenance)})
    if np.isfinite(lo).all():
        lo, hi = lo - 2.5, hi + 2.5
        inst.CreateExtentAttr(Vt.Vec3fArray([Gf.Vec3f(*map(float, lo)), Gf.Vec3f(*map(float, hi))]))

    final = out / name
    return save_layer(layer, final)
