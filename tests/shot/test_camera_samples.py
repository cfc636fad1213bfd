"""Frames outside an animated camera's time samples are refused (exit 3 naming the camera and
its sampled range) instead of silently holding the last sample; a camera without samples is
valid at any frame. Animated parents and animated lens attributes count."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from genpost_houdini.cli import main
from genpost_houdini.errors import BadInputError
from genpost_houdini.samples.extras import build_extras
from genpost_houdini.shot.camera import CameraTrack


def _camera(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["camera", *args, "--resolution", "64", "48", "--json"])
    return code, capsys.readouterr().err


def test_real_track_refuses_frames_past_its_samples(tartanair: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stage = str(tartanair / "shot.usda")
    for frame in ("2000", "1000", "1036.5"):
        code, err = _camera([stage, "--frame", frame], capsys)
        assert code == 3, err
        assert "/shot/camera" in err and "1001-1036" in err and f"{float(frame):g}" in err, err
    for frame in ("1001", "1036", "1018.5"):
        assert _camera([stage, "--frame", frame], capsys)[0] == 0


def test_camera_without_samples_is_valid_anywhere(shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stage = str(shared_data / "cameras" / "Cameras.usda")
    code, err = _camera([stage, "--camera", "/Cameras/MainCamera", "--frame", "5000"], capsys)
    assert code == 0, err


def test_animated_parent_of_teapot_camera(shared_data: Path) -> None:
    track = CameraTrack.open(shared_data / "cameras" / "teapotScene_camera.usd")
    assert track.sampled_range == (0.0, 479.0)
    track.view(479, 64, 48)
    with pytest.raises(BadInputError, match=r"/Cameras/mainCamera/mono .* 0-479"):
        track.view(480, 64, 48)


def _stage(path: Path, *, parent: dict | None = None, focal: dict | None = None, reset: bool = False, single: bool = False) -> Path:
    from pxr import Gf, Usd, UsdGeom

    stage = Usd.Stage.CreateNew(str(path))
    rig = UsdGeom.Xform.Define(stage, "/rig")
    op = rig.AddTranslateOp()
    for t, x in (parent or {0: 0.0}).items():
        op.Set(Gf.Vec3d(x, 0, 0), t) if parent else op.Set(Gf.Vec3d(x, 0, 0))
    cam = UsdGeom.Camera.Define(stage, "/rig/cam")
    cam.AddTranslateOp().Set(Gf.Vec3d(0, 1, 5), 12.0) if single else cam.AddTranslateOp().Set(Gf.Vec3d(0, 1, 5))
    if reset:
        cam.SetResetXformStack(True)
    for t, f in (focal or {}).items():
        cam.CreateFocalLengthAttr().Set(f, t)
    stage.GetRootLayer().Save()
    return path


def test_what_counts_as_animated(tmp_path: Path) -> None:
    parent = CameraTrack.open(_stage(tmp_path / "parent.usda", parent={10: 0.0, 20: 5.0}))
    assert parent.sampled_range == (10.0, 20.0)
    with pytest.raises(BadInputError, match=r"/rig/cam .*10-20.* frame 25 lies outside"):
        parent.view(25, 32, 32)
    focal = CameraTrack.open(_stage(tmp_path / "focal.usda", focal={1: 35.0, 5: 50.0}))
    assert focal.sampled_range == (1.0, 5.0)
    reset = CameraTrack.open(_stage(tmp_path / "reset.usda", parent={10: 0.0, 20: 5.0}, reset=True))
    assert reset.sampled_range is None, "a camera that resets the transform stack ignores its parents"
    single = CameraTrack.open(_stage(tmp_path / "single.usda", single=True))
    assert single.sampled_range is None, "one time sample is a constant"
    single.view(1000, 32, 32)


@pytest.fixture(scope="module")
def longer_images(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The bundled shot (camera sampled 1001-1004) with images for one more frame (1005)."""
    from genpost_houdini.samples.street import build_street

    root = tmp_path_factory.mktemp("camera_range")
    info = build_street(root / "shot", frames=4, width=64, height=48).to_json()
    shot = Path(info["plate"]).parent
    for kind in ("plate", "depth", "extend"):
        shutil.copy(shot / f"{kind}.1004.exr", shot / f"{kind}.1005.exr")
    info["extras"] = build_extras(root / "extras", frames=4, height=40)
    info["root"] = str(root)
    return info


@pytest.mark.parametrize("command", ["setext", "crowd", "reproject", "qc"])
def test_commands_refuse_frames_past_the_track(longer_images: dict, tmp_path: Path, command: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    s = longer_images
    common = ["--stage", s["stage"], "--depth", s["depth"]]
    argv = {
        "setext": ["setext", *common, "--plate", s["plate"], "--extend", s["extend"], "--frames", "1001-1005",
                   "--out", str(tmp_path / "out"), "--progress", "none"],
        "crowd": ["crowd", *common, "--region", s["crowd_region"], "--source", s["extras"], "--frames", "1001-1005",
                  "--count", "5", "--out", str(tmp_path / "out"), "--progress", "none"],
        "reproject": ["reproject", *common, "--image", s["plate"], "--from", "1004", "--to", "1005",
                      "--out", str(tmp_path / "out" / "r.exr")],
        "qc": ["qc", *common, "--images", s["plate"], "--frames", "1003-1005", "--json"],
    }[command]
    assert main(argv) == 3
    err = capsys.readouterr().err
    assert "/shot/camera" in err and "1001-1004" in err and "1005" in err, err
    assert not (tmp_path / "out").exists(), "nothing written"
    ok = [a if a != "1001-1005" else "1001-1004" for a in argv]
    if command == "reproject":
        ok[ok.index("1005")] = "1003"
    if command == "qc":
        ok[ok.index("1003-1005")] = "1003-1004"
    assert main(ok) == 0, capsys.readouterr().err
    if command == "qc":
        assert json.loads(capsys.readouterr().out)["warping_error"] is not None
