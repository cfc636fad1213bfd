"""The USD layer lighters sublayer: a camera-parented card carrying the per-frame AOV images.

The layer holds only ``over``s down to the shot's camera and a card defined beneath it, so it
composes onto the shot stage (sublayer it above the shot) without redefining anything. The card
fills the camera frustum at a fixed distance; its texture is a time-sampled asset path per
frame (USD has no frame token), relative to the layer. Provenance goes into customLayerData and
the card's customData; the colour space is authored on the texture's file attribute.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from ..provenance import stable_json
from .save import save_layer

if TYPE_CHECKING:  # pragma: no cover
    from ..shot.camera import CameraTrack


def _jsonable(data: Mapping[str, Any]) -> dict[str, Any]:
    """customData accepts strings, numbers, bools and dictionaries; everything else as JSON."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, (str, bool, int, float)):
            out[key] = value
        elif value is None:
            out[key] = ""
        elif isinstance(value, Mapping):
            out[key] = _jsonable(value)
        else:
            out[key] = stable_json(value)
    return out


def card_corners(K: np.ndarray, width: int, height: int, distance: float) -> np.ndarray:
    """The image corners at ``distance`` in USD camera space (x right, y up, looking down -Z).

    Order: bottom-left, bottom-right, top-right, top-left (st 0,0 / 1,0 / 1,1 / 0,1).
    """
    Kinv = np.linalg.inv(np.asarray(K, dtype=np.float64))
    pixels = np.array([[-0.5, height - 0.5, 1.0], [width - 0.5, height - 0.5, 1.0], [width - 0.5, -0.5, 1.0], [-0.5, -0.5, 1.0]])
    cv = (Kinv @ pixels.T).T * distance  # OpenCV camera space: x right, y down, z forward
    return cv * np.array([1.0, -1.0, -1.0])


def frame_path(image_name: str, frame: int) -> str:
    """``setext.####.exr`` -> ``./setext.1001.exr`` (relative to the layer)."""
    from ..shot.frames import FrameSeq

    return "./" + os.path.basename(str(FrameSeq.parse(image_name).path(frame)))


def bind_texture_material(
    stage: Any, card: Any, files: Mapping[int, str], *, colourspace: str = "ACEScg", emissive: bool = False
) -> Any:
    """Define ``<card>/material`` (UsdPreviewSurface fed by a UsdUVTexture whose ``file`` is
    time-sampled from ``files``: frame -> layer-relative path) and bind it to ``card``.

    ``emissive`` shows the texture unlit (a camera card); otherwise it is the diffuse colour
    (crowd cards lit in the scene). Alpha drives opacity; the colour space is authored on the
    file attribute.
    """
    from pxr import Gf, Sdf, Usd, UsdShade

    mat_path = card.GetPath().AppendChild("material")
    material = UsdShade.Material.Define(stage, mat_path)
    surface = UsdShade.Shader.Define(stage, mat_path.AppendChild("surface"))
    surface.CreateIdAttr("UsdPreviewSurface")
    reader = UsdShade.Shader.Define(stage, mat_path.AppendChild("st_reader"))
    reader.CreateIdAttr("UsdPrimvarReader_float2")
    reader.CreateInput("varname", Sdf.ValueTypeNames.String).Set("st")
    texture = UsdShade.Shader.Define(stage, mat_path.AppendChild("texture"))
    texture.CreateIdAttr("UsdUVTexture")
    texture.CreateInput("st", Sdf.ValueTypeNames.Float2).ConnectToSource(reader.ConnectableAPI(), "result")
    texture.CreateInput("sourceColorSpace", Sdf.ValueTypeNames.Token).Set("raw")
    file_input = texture.CreateInput("file", Sdf.ValueTypeNames.Asset)
    for frame in sorted(files):
        file_input.Set(Sdf.AssetPath(files[frame]), Usd.TimeCode(frame))
    file_input.GetAttr().SetColorSpace(colourspace)
    rgb = texture.CreateOutput("rgb", Sdf.ValueTypeNames.Float3)
    if emissive:
        surface.CreateInput("emissiveColor", Sdf.ValueTypeNames.Color3f).ConnectToSource(rgb)
        surface.CreateInput("diffuseColor", Sdf.ValueTypeNames.Color3f).Set(Gf.Vec3f(0, 0, 0))
    else:
        surface.CreateInput("diffuseColor", Sdf.ValueTypeNames.Color3f).ConnectToSource(rgb)
    surface.CreateInput("opacity", Sdf.ValueTypeNames.Float).ConnectToSource(texture.CreateOutput("a", Sdf.ValueTypeNames.Float))
    material.CreateSurfaceOutput().ConnectToSource(surface.ConnectableAPI(), "surface")
    UsdShade.MaterialBindingAPI.Apply(card).Bind(material)
    return material


def write_card_layer(
    path: str | os.PathLike[str],
    *,
    camera: "CameraTrack",
    frames: Sequence[int],
    image_name: str,
    resolution: tuple[int, int],
    provenance: Mapping[str, Any],
    colourspace: str = "ACEScg",
    card_name: str = "genpost_card",
    distance: float | None = None,
) -> Path:
    """Write the card layer atomically; returns its path. Deterministic for the same inputs."""
    from pxr import Gf, Sdf, Usd, UsdGeom, Vt

    width, height = resolution
    frames = sorted(frames)
    near, far = camera.near_far(frames[0])
    if distance is None:
        distance = float(min(max(near * 2.0, 1.0), far * 0.5)) if far > near else 1.0

    stage = Usd.Stage.CreateInMemory()
    stage.SetStartTimeCode(frames[0])
    stage.SetEndTimeCode(frames[-1])
    stage.SetFramesPerSecond(camera.fps)
    stage.SetTimeCodesPerSecond(camera.fps)
    UsdGeom.SetStageUpAxis(stage, UsdGeom.GetStageUpAxis(camera.stage))
    UsdGeom.SetStageMetersPerUnit(stage, UsdGeom.GetStageMetersPerUnit(camera.stage))
    layer = stage.GetRootLayer()
    layer.customLayerData = {
        "genpost": _jsonable(provenance),
        "genpost_colourspace": colourspace,
        "genpost_shot_camera": camera.prim_path,
        "genpost_images": image_name,
    }

    cam_path = Sdf.Path(camera.prim_path)
    stage.OverridePrim(cam_path)
    # The layer's root is the shot's own root prim (an over): it composes onto the shot.
    stage.SetDefaultPrim(stage.GetPrimAtPath(cam_path.GetPrefixes()[0]))
    card_path = cam_path.AppendChild(card_name)
    card = UsdGeom.Mesh.Define(stage, card_path)
    card.CreateFaceVertexCountsAttr([4])
    card.CreateFaceVertexIndicesAttr([0, 1, 2, 3])
    card.CreateDoubleSidedAttr(True)
    card.CreateSubdivisionSchemeAttr(UsdGeom.Tokens.none)
    points_attr = card.CreatePointsAttr()
    corners = {f: card_corners(camera.intrinsics(f, width, height), width, height, distance) for f in frames}
    first = corners[frames[0]]
    if all(np.allclose(corners[f], first, rtol=1e-6, atol=1e-9) for f in frames):
        points_attr.Set(Vt.Vec3fArray([Gf.Vec3f(*map(float, p)) for p in first]))
    else:  # animated focal length or aperture: the card follows the frustum
        for f in frames:
            points_attr.Set(Vt.Vec3fArray([Gf.Vec3f(*map(float, p)) for p in corners[f]]), Usd.TimeCode(f))
    extent = np.stack([np.min(np.concatenate(list(corners.values())), axis=0), np.max(np.concatenate(list(corners.values())), axis=0)])
    card.CreateExtentAttr(Vt.Vec3fArray([Gf.Vec3f(*map(float, extent[0])), Gf.Vec3f(*map(float, extent[1]))]))
    st = UsdGeom.PrimvarsAPI(card).CreatePrimvar("st", Sdf.ValueTypeNames.TexCoord2fArray, UsdGeom.Tokens.vertex)
    st.Set(Vt.Vec2fArray([Gf.Vec2f(0, 0), Gf.Vec2f(1, 0), Gf.Vec2f(1, 1), Gf.Vec2f(0, 1)]))
    card.GetPrim().SetCustomData({"genpost": _jsonable(provenance)})
    card.GetPrim().SetDocumentation(
        "genpost output card: the per-frame AOV images on a camera-parented card at "
        f"{distance:g} scene units. Images: {image_name} (scene-linear {colourspace})."
    )

    bind_texture_material(
        stage, card.GetPrim(), {f: frame_path(image_name, f) for f in frames}, colourspace=colourspace, emissive=True
    )

    final = Path(path)
    return save_layer(layer, final)
