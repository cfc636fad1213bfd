"""CameraTrack against usd-core's own Gf.Frustum on real cameras, and its error paths."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pxr import Gf, Sdf, Usd, UsdGeom, UsdRender

from genpost_houdini.cli import main
from genpost_houdini.errors import BadInputError, UnknownCameraError
from genpost_houdini.shot.camera import CameraTrack, CameraView, list_cameras


def _gf_project(track: CameraTrack, frame: float, width: int, height: int, points: np.ndarray) -> np.ndarray:
    """Pixel positions of world points through Gf.Frustum (apertures conformed by expandAperture)."""
    cam = Gf.Camera(track.gf_camera(frame))
    aspect = width / height
    if cam.horizontalAperture / cam.verticalAperture > aspect:
        cam.verticalAperture = cam.horizontalAperture / aspect
    else:
        cam.horizontalAperture = cam.verticalAperture * aspect
    frustum = cam.frustum
    m = frustum.ComputeViewMatrix() * frustum.ComputeProjectionMatrix()
    out = []
    for p in points:
        ndc = m.Transform(Gf.Vec3d(*map(float, p)))
        out.append(((ndc[0] + 1) / 2 * width - 0.5, (1 - ndc[1]) / 2 * height - 0.5))
    return np.array(out)


def _ours(view: CameraView, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    cam = (view.world_to_camera @ np.c_[points, np.ones(len(points))].T)[:3]
    pix = view.K @ cam
    return (pix[:2] / pix[2]).T, cam[2]


def _points_in_front(view: CameraView, n: int = 12, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    cam = np.c_[rng.uniform(-1, 1, (n, 2)), rng.uniform(2, 30, n)]
    cam[:, :2] *= cam[:, 2:3] * 0.3
    return (view.camera_to_world @ np.c_[cam, np.ones(n)].T)[:3].T


def _check_against_frustum(track: CameraTrack, frame: float, width: int, height: int) -> None:
    view = track.view(frame, width, height)
    pts = _points_in_front(view)
    uv, z = _ours(view, pts)
    assert (z > 0).all()  # OpenCV: z forward
    np.testing.assert_allclose(uv, _gf_project(track, frame, width, height, pts), atol=1e-3)


def test_tartanair_intrinsics_and_metadata(tartanair: Path) -> None:
    track = CameraTrack.open(tartanair / "shot.usda")
    assert track.prim_path == "/shot/camera"
    assert track.frame_range == (1001, 1036)
    assert track.fps == 24.0
    assert track.stage_path == (tartanair / "shot.usda").resolve()
    K = track.intrinsics(1001, 640, 480)
    np.testing.assert_allclose(K, [[320, 0, 319.5], [0, 320, 239.5], [0, 0, 1]], atol=1e-9)
    assert track.near_far(1001) == pytest.approx((0.1, 1000.0))
    _check_against_frustum(track, 1001, 640, 480)
    _check_against_frustum(track, 1036, 1280, 720)  # wider than the 4:3 aperture


def test_teapot_camera_under_animated_parents(shared_data: Path) -> None:
    path = shared_data / "cameras" / "teapotScene_camera.usd"
    track = CameraTrack.open(path)
    assert track.prim_path == "/Cameras/mainCamera/mono"
    assert track.frame_range == (0, 480)
    # The camera prim itself has no xformOps: all motion comes from its animated parent.
    cam_prim = track.stage.GetPrimAtPath(track.prim_path)
    assert not UsdGeom.Xformable(cam_prim).GetOrderedXformOps()
    assert UsdGeom.Xformable(cam_prim.GetParent()).TransformMightBeTimeVarying()
    positions = []
    for frame in (0, 120, 240.5, 479):
        _check_against_frustum(track, frame, 1920, 1080)
        world = UsdGeom.Xformable(cam_prim).ComputeLocalToWorldTransform(frame)
        position = track.view(frame, 1920, 1080).position
        np.testing.assert_allclose(position, np.array(world.ExtractTranslation()), atol=1e-6)
        positions.append(track.view(frame, 1920, 1080).position)
    assert np.linalg.norm(positions[0] - positions[-1]) > 1e-3


def test_moving_camera_and_nested_z_up_cameras(shared_data: Path) -> None:
    moving = CameraTrack.open(shared_data / "cameras" / "cameraMoving.usda")
    assert moving.frame_range == (1, 9)
    assert not np.allclose(moving.world_to_camera(1), moving.world_to_camera(9))
    _check_against_frustum(moving, 5, 1280, 720)

    stage_path = shared_data / "cameras" / "Cameras.usda"
    assert list_cameras(stage_path) == [
        "/Cameras/MainCamera",
        "/Cameras/Deeply/Nested/CameraB",
        "/OtherScope/OtherCamera",
    ]
    nested = CameraTrack.open(stage_path, "/Cameras/Deeply/Nested/CameraB")
    _check_against_frustum(nested, 0, 600, 400)
    # The nested camera looks along -Z of its world transform: OpenCV +z is that direction.
    c2w = nested.camera_to_world(0)
    prim = nested.stage.GetPrimAtPath(nested.prim_path)
    world = np.array(UsdGeom.Xformable(prim).ComputeLocalToWorldTransform(0)).T
    np.testing.assert_allclose(c2w[:3, 2], -world[:3, 2], atol=1e-9)


def _stage_with_camera(**attrs: float) -> tuple[Usd.Stage, str]:
    stage = Usd.Stage.CreateInMemory()
    cam = UsdGeom.Camera.Define(stage, "/cam")
    cam.CreateFocalLengthAttr(attrs.get("focal", 30.0))
    cam.CreateHorizontalApertureAttr(attrs.get("h_ap", 36.0))
    cam.CreateVerticalApertureAttr(attrs.get("v_ap", 24.0))
    cam.CreateHorizontalApertureOffsetAttr(attrs.get("h_off", 0.0))
    cam.CreateVerticalApertureOffsetAttr(attrs.get("v_off", 0.0))
    UsdGeom.Xformable(cam).AddTranslateOp().Set(Gf.Vec3d(1, 2, 3))
    UsdGeom.Xformable(cam).AddRotateXYZOp().Set(Gf.Vec3f(10, 20, 30))
    return stage, "/cam"


def test_aperture_offsets_match_frustum() -> None:
    stage, path = _stage_with_camera(h_off=3.0, v_off=-2.0)
    track = CameraTrack.open(stage, path)
    _check_against_frustum(track, 0, 900, 600)
    K = track.intrinsics(0, 900, 600)
    # A positive horizontal offset moves the window right: the optical axis lands left of centre.
    assert K[0, 2] == pytest.approx(900 * (0.5 - 3.0 / 36.0) - 0.5)
    assert K[1, 2] == pytest.approx(600 * (0.5 - 2.0 / 24.0) - 0.5)


@pytest.mark.parametrize(
    "policy, fx, fy",
    [
        ("expandAperture", 1000 * 30 / 36, 1000 * 30 / 36),
        ("cropAperture", 1000 * 30 / 24, 1000 * 30 / 24),
        ("adjustApertureWidth", 1000 * 30 / 24, 1000 * 30 / 24),
        ("adjustApertureHeight", 1000 * 30 / 36, 1000 * 30 / 36),
        ("adjustPixelAspectRatio", 1000 * 30 / 36, 1000 * 30 / 24),
    ],
)
def test_conform_policies(policy: str, fx: float, fy: float) -> None:
    stage, path = _stage_with_camera()  # 36 x 24 aperture (3:2) onto a square image
    K = CameraTrack.open(stage, path, conform_policy=policy).intrinsics(0, 1000, 1000)
    assert (K[0, 0], K[1, 1]) == pytest.approx((fx, fy))
    assert (K[0, 2], K[1, 2]) == pytest.approx((499.5, 499.5))


def test_conform_policy_from_render_settings() -> None:
    stage, path = _stage_with_camera()
    settings = UsdRender.Settings.Define(stage, "/Render/settings")
    settings.CreateAspectRatioConformPolicyAttr("cropAperture")
    assert CameraTrack.open(stage, path).conform_policy == "cropAperture"
    assert CameraTrack.open(stage, path).intrinsics(0, 1000, 1000)[0, 0] == pytest.approx(1000 * 30 / 24)
    assert CameraTrack.open(stage, path, conform_policy="expandAperture").conform_policy == "expandAperture"


def test_overrides_and_interpolation(tartanair: Path) -> None:
    track = CameraTrack.open(tartanair / "shot.usda", "/shot/camera", frame_range=(1005, 1010), fps=25)
    assert track.frame_range == (1005, 1010) and track.fps == 25.0
    assert track.frames == list(range(1005, 1011))
    mid = track.view(1001.5, 640, 480).position
    a, b = track.view(1001, 640, 480).position, track.view(1002, 640, 480).position
    assert np.linalg.norm(mid - (a + b) / 2) < 0.01 * np.linalg.norm(b - a) + 1e-9


def test_camera_selection_errors(shared_data: Path, tmp_path: Path) -> None:
    cameras = shared_data / "cameras" / "Cameras.usda"
    with pytest.raises(UnknownCameraError) as err:
        CameraTrack.open(cameras)
    assert "/Cameras/MainCamera" in str(err.value) and "/OtherScope/OtherCamera" in str(err.value)
    with pytest.raises(UnknownCameraError, match="/Cameras/Deeply.*not a camera"):
        CameraTrack.open(cameras, "/Cameras/Deeply")
    with pytest.raises(UnknownCameraError, match="/No/Such/Camera"):
        CameraTrack.open(cameras, "/No/Such/Camera")
    empty = tmp_path / "empty.usda"
    Usd.Stage.CreateNew(str(empty)).Save()
    with pytest.raises(UnknownCameraError, match="no camera"):
        CameraTrack.open(empty)
    with pytest.raises(BadInputError, match="missing.usda"):
        CameraTrack.open(tmp_path / "missing.usda")
    bad = tmp_path / "bad.usda"
    bad.write_text("#usda 1.0\n(\n this is not usd\n")
    with pytest.raises(BadInputError, match="bad.usda"):
        CameraTrack.open(bad)


def test_orthographic_camera_refused() -> None:
    stage, path = _stage_with_camera()
    UsdGeom.Camera(stage.GetPrimAtPath(path)).CreateProjectionAttr(UsdGeom.Tokens.orthographic)
    with pytest.raises(BadInputError, match="orthographic"):
        CameraTrack.open(stage, path).view(0, 64, 64)


def test_camera_cli_json(tartanair: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stage = str(tartanair / "shot.usda")
    assert main(["camera", stage, "--frame", "1010", "--resolution", "640", "480", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    track = CameraTrack.open(stage)
    np.testing.assert_allclose(data["K"], track.intrinsics(1010, 640, 480))
    np.testing.assert_allclose(data["world_to_camera"], track.world_to_camera(1010))
    assert np.array(data["world_to_camera"]).shape == (4, 4)
    assert (data["near"], data["far"]) == pytest.approx((0.1, 1000.0))
    assert data["camera"] == "/shot/camera"


def test_camera_cli_errors(shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cameras = str(shared_data / "cameras" / "Cameras.usda")
    assert main(["camera", cameras, "--frame", "0", "--resolution", "64", "48", "--json"]) == 3
    err = capsys.readouterr().err
    assert "/Cameras/Deeply/Nested/CameraB" in err and "/OtherScope/OtherCamera" in err
    assert main(["camera", cameras, "--camera", "/Nope", "--frame", "0", "--resolution", "64", "48", "--json"]) == 3
    assert "/Nope" in capsys.readouterr().err
    missing = str(tmp_path / "missing.usda")
    assert main(["camera", missing, "--frame", "0", "--resolution", "64", "48", "--json"]) == 3
    assert "missing.usda" in capsys.readouterr().err
    assert main(["camera", cameras, "--camera", "/Cameras/MainCamera", "--frame", "0", "--resolution", "64", "48"]) == 0
    assert "/Cameras/MainCamera" in capsys.readouterr().out


def test_cameras_inside_instances_are_found() -> None:
    stage = Usd.Stage.CreateInMemory()
    UsdGeom.Camera.Define(stage, "/proto/cam").CreateFocalLengthAttr(35.0)
    UsdGeom.Xform.Define(stage, "/proto")
    inst = stage.DefinePrim("/set/inst")
    inst.GetReferences().AddInternalReference("/proto")
    inst.SetInstanceable(True)
    stage.GetPrimAtPath("/proto").SetSpecifier(Sdf.SpecifierClass)
    assert list_cameras(stage) == ["/set/inst/cam"]
    track = CameraTrack.open(stage)
    assert track.prim_path == "/set/inst/cam"
    assert track.intrinsics(0, 100, 100).shape == (3, 3)


def test_unknown_conform_policy_is_a_usage_error() -> None:
    from genpost_houdini.errors import UsageError

    stage, path = _stage_with_camera()
    with pytest.raises(UsageError, match="conform policy"):
        CameraTrack.open(stage, path, conform_policy="stretch")


def test_camera_cli_policy_and_default_frame(tartanair: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stage = str(tartanair / "shot.usda")
    assert main(["camera", stage, "--resolution", "640", "640", "--conform-policy", "cropAperture", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["frame"] == 1001 and data["conform_policy"] == "cropAperture"
    # 36 x 27 aperture cropped to a square: 27 x 27 -> fx = fy = 640 * 18 / 27
    assert data["K"][0][0] == pytest.approx(640 * 18 / 27) and data["K"][1][1] == pytest.approx(640 * 18 / 27)
