"""The bundled street's USD stage: units, time, camera, set/extension scopes, crowd region."""

from __future__ import annotations

import numpy as np
from pxr import Usd, UsdGeom, UsdRender

from genpost_houdini.samples import SampleShot


def test_stage_units_time_and_camera(tiny_street: SampleShot) -> None:
    stage = Usd.Stage.Open(str(tiny_street.stage))
    assert UsdGeom.GetStageUpAxis(stage) == UsdGeom.Tokens.y
    assert UsdGeom.GetStageMetersPerUnit(stage) == 1.0
    assert stage.GetStartTimeCode() == 1001 and stage.GetEndTimeCode() == 1008
    assert stage.GetFramesPerSecond() == 24 and stage.GetTimeCodesPerSecond() == 24
    prim = stage.GetPrimAtPath(tiny_street.camera)
    assert prim.IsA(UsdGeom.Camera)
    cam = UsdGeom.Camera(prim)
    assert cam.GetFocalLengthAttr().Get() > 0
    hap, vap = cam.GetHorizontalApertureAttr().Get(), cam.GetVerticalApertureAttr().Get()
    assert abs(hap / vap - 160 / 90) < 1e-6
    near, far = cam.GetClippingRangeAttr().Get()
    assert 0 < near < far
    # The camera really moves (dolly + crane + pan), and the whole shot is sampled.
    c0 = np.array(cam.GetCamera(Usd.TimeCode(1001)).transform)
    c1 = np.array(cam.GetCamera(Usd.TimeCode(1008)).transform)
    assert np.linalg.norm(c1[3, :3] - c0[3, :3]) > 5.0
    assert not np.allclose(c0[:3, :3], c1[:3, :3])
    settings = UsdRender.Settings(stage.GetPrimAtPath("/Render/rendersettings"))
    assert tuple(settings.GetResolutionAttr().Get()) == (160, 90)


def test_set_extension_scopes_and_backdrop(tiny_street: SampleShot) -> None:
    stage = Usd.Stage.Open(str(tiny_street.stage))
    set_meshes = [p for p in Usd.PrimRange(stage.GetPrimAtPath(tiny_street.set_scope)) if p.IsA(UsdGeom.Mesh)]
    ext = [p for p in Usd.PrimRange(stage.GetPrimAtPath(tiny_street.extension_scope)) if p.IsA(UsdGeom.Gprim)]
    assert len(set_meshes) > 10 and len(ext) > 10
    # Filmed geometry stops at the cut; upper storeys continue it in the extension.
    for prim in set_meshes:
        top = max(p[1] for p in UsdGeom.Mesh(prim).GetPointsAttr().Get())
        assert top <= tiny_street.cut_height + 1e-6, prim.GetPath()
    uppers = [p for p in ext if p.GetName().endswith("_upper")]
    assert uppers
    for prim in uppers:
        low = min(p[1] for p in UsdGeom.Mesh(prim).GetPointsAttr().Get())
        assert abs(low - tiny_street.cut_height) < 1e-5
    assert any(p.IsA(UsdGeom.Sphere) for p in ext)  # the sky dome backdrop


def test_crowd_region_is_a_pavement_mesh(tiny_street: SampleShot) -> None:
    stage = Usd.Stage.Open(str(tiny_street.stage))
    prim = stage.GetPrimAtPath(tiny_street.crowd_region)
    assert prim.IsA(UsdGeom.Mesh)
    mesh = UsdGeom.Mesh(prim)
    pts = np.array(mesh.GetPointsAttr().Get())
    counts = list(mesh.GetFaceVertexCountsAttr().Get())
    assert len(counts) >= 10 and sum(counts) == len(mesh.GetFaceVertexIndicesAttr().Get())
    assert np.allclose(pts[:, 1], 0.15)  # on top of the kerb-high pavement
    # Faces point up (right-handed, counter-clockwise from above).
    q = pts[np.array(mesh.GetFaceVertexIndicesAttr().Get()[:4])]
    assert np.cross(q[1] - q[0], q[2] - q[0])[1] > 0
