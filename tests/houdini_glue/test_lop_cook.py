"""The Set Extension / Crowd LOP cooks through a fake ``hou`` on real stages, running the real
``genpost run`` on a tiny shot (64x48, two frames): interrupt, resume, reuse, errors."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from pxr import Gf, Usd, UsdGeom

import fake_hou
from genpost_houdini.houdini import lop

FRAMES = (1001, 1002)


@pytest.fixture(scope="module")
def tiny_shot(tmp_path_factory) -> Path:
    from genpost_houdini.imageio.exr import write_exr

    folder = tmp_path_factory.mktemp("tiny_shot")
    stage = Usd.Stage.CreateNew(str(folder / "shot.usda"))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.y)
    stage.SetStartTimeCode(FRAMES[0])
    stage.SetEndTimeCode(FRAMES[-1])
    stage.SetFramesPerSecond(24)
    stage.SetTimeCodesPerSecond(24)
    cam = UsdGeom.Camera.Define(stage, "/shot/camera")
    cam.CreateFocalLengthAttr(18.0)
    cam.CreateHorizontalApertureAttr(36.0)
    cam.CreateVerticalApertureAttr(27.0)
    op = cam.AddTranslateOp()
    op.Set(Gf.Vec3d(0, 0, 0), FRAMES[0])
    op.Set(Gf.Vec3d(0.05, 0, 0), FRAMES[1])
    UsdGeom.Mesh.Define(stage, "/set/stands")
    stage.Save()
    rng = np.random.default_rng(0)
    for f in FRAMES:
        rgb = rng.random((48, 64, 3), dtype=np.float32)
        write_exr(folder / f"plate.{f:04d}.exr", {"R": rgb[..., 0], "G": rgb[..., 1], "B": rgb[..., 2]})
        write_exr(folder / f"depth.{f:04d}.exr", {"Z": np.full((48, 64), 5.0, np.float32)}, kinds={"Z": "depth"})
        mask = np.zeros((48, 64), np.float32)
        mask[:8] = 1.0
        write_exr(folder / f"mask.{f:04d}.exr", {"Y": mask}, kinds={"Y": "mask"})
    return folder


@pytest.fixture()
def hou(monkeypatch, tiny_shot):
    module = fake_hou.make_module()
    monkeypatch.setitem(sys.modules, "hou", module)
    monkeypatch.setenv("HIP", str(tiny_shot))
    monkeypatch.setenv("GENPOST_PYTHON", sys.executable)  # the genpost this test suite runs
    return module


def _setext_node(shot: Path, out: Path, **overrides) -> fake_hou.LopNode:
    source = fake_hou.LopNode("/stage/input", {}, stage=Usd.Stage.Open(str(shot / "shot.usda")))
    parms = {
        "camera": "", "stagefile": "", "plate": "$HIP/plate.$F4.exr", "depth": "depth.$F4.exr",
        "extend": "$HIP/mask.${F4}.exr", "framestart": FRAMES[0], "frameend": FRAMES[1], "generator": "classical",
        "model": "", "prompt": "", "seed": 3, "strength": 1.0, "runtime": "auto", "outdir": str(out), "sublayer": 1,
    }
    parms.update(overrides)
    return fake_hou.LopNode("/stage/genpost_set_extension1", parms, inputs=[source])


def _genpost_prims(stage: Usd.Stage) -> list[str]:
    return [str(p.GetPath()) for p in stage.Traverse() if (p.GetCustomDataByKey("genpost") or {}).get("job") == "setext"]


def test_frame_tokens_survive_expansion():
    assert lop.protect_frame_tokens("$HIP/plate.$F4.exr") == "$HIP/plate.####.exr"
    assert lop.protect_frame_tokens("a.${F4}.exr b.$F.exr $FPS") == "a.####.exr b.#.exr $FPS"
    assert lop.absolute_path("plate.####.exr", "/shots/a") == "/shots/a/plate.####.exr"
    assert lop.absolute_path("/abs/p.exr", "/shots/a") == "/abs/p.exr"


def test_set_extension_cook_interrupt_resume_reuse(hou, tiny_shot, tmp_path):
    out = tmp_path / "out"
    # 1. The artist interrupts the cook: a node error says so, the child process is gone.
    hou.InterruptableOperation.interrupt_after = 1
    node = _setext_node(tiny_shot, out)
    with pytest.raises(hou.NodeError, match="Interrupted"):
        lop.cook_set_extension(node)
    assert hou.InterruptableOperation.instances[-1].exited
    # 2. The next cook, same session, completes and sublayers the job's layer.
    hou.InterruptableOperation.interrupt_after = None
    node = _setext_node(tiny_shot, out)
    lop.cook_set_extension(node)
    stage = node.editableStage()
    layer = out / "setext.usda"
    assert str(layer.resolve()) == list(stage.GetEditTarget().GetLayer().subLayerPaths)[0]
    assert _genpost_prims(stage), "the set-extension prims are on the stage"
    assert stage.GetPrimAtPath("/shot/camera").IsA(UsdGeom.Camera)  # input still there
    job = (out / ".genpost" / "houdini_setext.json").read_text()
    assert "plate.####.exr" in job and str(tiny_shot / "depth.####.exr") in job
    frames = [out / f"setext.{f:04d}.exr" for f in FRAMES]
    stamps = [p.stat().st_mtime_ns for p in frames]
    assert max(u for u, _ in hou.InterruptableOperation.instances[-1].updates) == pytest.approx(1.0)
    # 3. Cooking again reuses the finished frames (the job's manifest) and sublayers again.
    node = _setext_node(tiny_shot, out)
    lop.cook_set_extension(node)
    assert [p.stat().st_mtime_ns for p in frames] == stamps
    assert _genpost_prims(node.editableStage())


def test_bad_input_becomes_a_node_error_naming_the_file(hou, tiny_shot, tmp_path):
    node = _setext_node(tiny_shot, tmp_path / "out", plate="$HIP/missing.$F4.exr")
    with pytest.raises(hou.NodeError, match="missing") as info:
        lop.cook_set_extension(node)
    assert "exited with 3" in str(info.value) and "houdini_setext.log" in str(info.value)


def test_empty_parameter_is_named(hou, tiny_shot, tmp_path):
    with pytest.raises(hou.NodeError, match="'Depth' is empty"):
        lop.cook_set_extension(_setext_node(tiny_shot, tmp_path / "out", depth=""))


def test_missing_model_environment_says_what_to_run(hou, tiny_shot, tmp_path, monkeypatch):
    monkeypatch.delenv("GENPOST_PYTHON")
    monkeypatch.setenv("GENPOST_CONFIG_DIR", str(tmp_path / "cfg"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(hou.NodeError, match="genpost houdini setup"):
        lop.cook_set_extension(_setext_node(tiny_shot, tmp_path / "out"))


def test_menus_list_the_input_stage(hou, tiny_shot, tmp_path):
    node = _setext_node(tiny_shot, tmp_path / "out")
    assert lop.camera_menu({"node": node}) == ["/shot/camera", "/shot/camera"]
    assert lop.region_menu({"node": node}) == ["/set/stands", "/set/stands"]
    broken = fake_hou.LopNode("/stage/x", {}, inputs=[None])
    assert lop.camera_menu({"node": broken}) == []


def test_check_environment_button_and_generator_callback(hou, tiny_shot, tmp_path, monkeypatch):
    monkeypatch.setenv("GENPOST_CONFIG_DIR", str(tmp_path / "cfg"))
    lop.on_check_environment({"node": None})
    assert "genpost houdini setup" in hou.ui.messages[-1][0]
    node = _setext_node(tiny_shot, tmp_path / "out", generator="wan-vace")
    lop.on_generator_changed({"node": node})
    assert "wan-vace" in hou.ui.messages[-1][0] and hou.ui.messages[-1][1] == "Warning"
    count = len(hou.ui.messages)
    lop.on_generator_changed({"node": _setext_node(tiny_shot, tmp_path / "out")})
    assert len(hou.ui.messages) == count  # classical needs nothing


def test_crowd_job_parameters(hou, tiny_shot, tmp_path):
    from genpost_houdini.farm.jobfile import load_job_file
    from genpost_houdini.houdini import jobs

    values = {"region": "/set/stands", "source": str(tiny_shot / "plate.####.exr"), "sourcematte": "",
              "depth": str(tiny_shot / "depth.####.exr"), "framestart": 1001, "frameend": 1002, "count": 50,
              "seed": 7, "noconsent": 1, "outdir": str(tmp_path / "crowd"), "camera": "/shot/camera"}
    params = jobs.crowd_params(values, tiny_shot / "shot.usda")
    spec = load_job_file(jobs.write_job("crowd", params))
    assert spec.kind == "crowd" and spec.params["count"] == 50 and spec.params["no_consent_record"] is True
    assert spec.params["region"] == "/set/stands" and spec.params["frames"] == "1001-1002"
