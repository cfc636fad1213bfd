"""The Set Extension / Crowd LOP buttons and inner-node expressions through a fake ``hou`` on real
stages, running the real ``genpost run`` / ``genpost farm openjd`` on a tiny shot (64x48, two
frames): warning before, interrupt, resume, reuse, load, errors, submit."""

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
        "model": "", "prompt": "", "seed": 3, "strength": 1.0, "runtime": "auto", "outdir": str(out),
        "loadfromdisk": 1, "farmtarget": "openjd",
    }
    parms.update(overrides)
    loader = fake_hou.LopNode("/stage/genpost_set_extension1/load_layer", {"reload": 0}, type_name="sublayer")
    return fake_hou.LopNode("/stage/genpost_set_extension1", parms, inputs=[source],
                            type_name="genpost::set_extension::1.0", children={"load_layer": loader})


def _genpost_prims(stage: Usd.Stage) -> list[str]:
    return [str(p.GetPath()) for p in stage.Traverse() if (p.GetCustomDataByKey("genpost") or {}).get("job") == "setext"]


def _root_stack_with(input_stage: Usd.Stage, layer: str) -> Usd.Stage:
    """What the inner Sublayer LOP (editrootlayer on, strongest position) composes: the input's
    root layer stack with ``layer`` added as its strongest sublayer."""
    from pxr import Sdf

    root = Sdf.Layer.CreateAnonymous("root.usda")
    root.subLayerPaths.append(layer)
    root.subLayerPaths.append(input_stage.GetRootLayer().identifier)
    return Usd.Stage.Open(root)


def test_frame_tokens_survive_expansion():
    assert lop.protect_frame_tokens("$HIP/plate.$F4.exr") == "$HIP/plate.####.exr"
    assert lop.protect_frame_tokens("a.${F4}.exr b.$F.exr $FPS") == "a.####.exr b.#.exr $FPS"
    assert lop.absolute_path("plate.####.exr", "/shots/a") == "/shots/a/plate.####.exr"
    assert lop.absolute_path("/abs/p.exr", "/shots/a") == "/abs/p.exr"


def test_generate_interrupt_resume_reuse_and_load(hou, tiny_shot, tmp_path):
    out = tmp_path / "out"
    node = _setext_node(tiny_shot, out)
    layer = out / "setext.usda"
    # 0. Nothing generated yet: the inner Error LOP warns and names the button; nothing loads.
    assert lop.missing_output_warns(node) == 1
    assert "Press Generate" in lop.missing_output_message(node) and str(layer) in lop.missing_output_message(node)
    assert lop.layer_file(node) == str(layer) and lop.layer_loads(node) == 0
    # 1. The artist presses Generate and then Esc: the child process is stopped, nothing is loaded.
    hou.InterruptableOperation.interrupt_after = 1
    assert lop.on_generate({"node": node}) is False
    assert hou.InterruptableOperation.instances[-1].exited
    assert "stopped" in hou.ui.messages[-1][0] and hou.ui.messages[-1][1] == "Warning"
    # 2. Generate again completes, turns Load from Disk on, presses the loader's Reload, says so.
    hou.InterruptableOperation.interrupt_after = None
    node.parm("loadfromdisk").set(0)
    assert lop.on_generate({"node": node}) is True
    assert node.evalParm("loadfromdisk") == 1 and node.node("load_layer").parm("reload").presses == 1
    text, severity = hou.ui.messages[-1]
    assert severity == "Message" and "done" in text and str(layer) in text and "frames 1001-1002" in text
    assert max(u for u, _ in hou.InterruptableOperation.instances[-1].updates) == pytest.approx(1.0)
    job = (out / ".genpost" / "houdini_setext.json").read_text()
    assert "plate.####.exr" in job and str(tiny_shot / "depth.####.exr") in job
    # 3. The inner nodes now load the layer and stay quiet; composed, the stage holds its prims.
    assert lop.missing_output_warns(node) == 0 and lop.missing_output_message(node) == ""
    assert lop.layer_loads(node) == 1
    composed = _root_stack_with(node.inputs()[0].stage(), lop.layer_file(node))
    assert _genpost_prims(composed) and composed.GetPrimAtPath("/shot/camera").IsA(UsdGeom.Camera)
    # 4. Generate once more reuses the finished frames (the job's manifest).
    frames = [out / f"setext.{f:04d}.exr" for f in FRAMES]
    stamps = [p.stat().st_mtime_ns for p in frames]
    assert lop.on_generate({"node": node}) is True
    assert [p.stat().st_mtime_ns for p in frames] == stamps


def test_generate_after_a_seed_change_asks_before_replacing_the_folder(hou, tiny_shot, tmp_path):
    """The output folder belongs to one job (issue 13): a node whose seed changed asks the artist
    before handing the folder over; Cancel leaves every file as it was, Replace redoes the frames."""
    out = tmp_path / "out"
    assert lop.on_generate({"node": _setext_node(tiny_shot, out, seed=3)}) is True
    frames = [out / f"setext.{f:04d}.exr" for f in FRAMES]
    before = [p.read_bytes() for p in frames]
    reseeded = _setext_node(tiny_shot, out, seed=4)
    hou.ui.answers = [1]  # Cancel
    assert lop.on_generate({"node": reseeded}) is False
    question, warning = hou.ui.messages[-2], hou.ui.messages[-1]
    assert "belongs to another setext job" in question[0] and "seed" in question[0] and "Replace" in question[0]
    assert warning[1] == "Warning" and "nothing was changed" in warning[0]
    assert [p.read_bytes() for p in frames] == before
    hou.ui.answers = [0]  # Replace
    stamps = [p.stat().st_mtime_ns for p in frames]
    assert lop.on_generate({"node": reseeded}) is True
    assert all(p.stat().st_mtime_ns != s for p, s in zip(frames, stamps))
    assert "done" in hou.ui.messages[-1][0]


def test_without_a_ui_another_jobs_folder_is_never_replaced(monkeypatch, tiny_shot, tmp_path, capsys):
    module = fake_hou.make_module(ui_available=False)
    monkeypatch.setitem(sys.modules, "hou", module)
    monkeypatch.setenv("HIP", str(tiny_shot))
    monkeypatch.setenv("GENPOST_PYTHON", sys.executable)
    out = tmp_path / "out"
    assert lop.on_generate({"node": _setext_node(tiny_shot, out, seed=3)}) is True
    assert lop.on_generate({"node": _setext_node(tiny_shot, out, seed=4)}) is False
    printed = capsys.readouterr().out
    assert "belongs to another setext job" in printed and "nothing was changed" in printed


def test_load_from_disk_off_passes_the_input_through(hou, tiny_shot, tmp_path):
    node = _setext_node(tiny_shot, tmp_path / "out", loadfromdisk=0)
    assert lop.layer_file(node) == "" and lop.layer_loads(node) == 0
    assert lop.missing_output_message(node) == "" and lop.missing_output_warns(node) == 0
    empty = _setext_node(tiny_shot, tmp_path / "out", outdir="")
    assert "'Output Folder' is empty" in lop.missing_output_message(empty) and lop.layer_file(empty) == ""


def test_bad_input_is_said_naming_the_file(hou, tiny_shot, tmp_path):
    node = _setext_node(tiny_shot, tmp_path / "out", plate="$HIP/missing.$F4.exr")
    assert lop.on_generate({"node": node}) is False
    text, severity = hou.ui.messages[-1]
    assert severity == "Error" and "missing" in text and "exited with 3" in text and "houdini_setext.log" in text
    assert node.evalParm("loadfromdisk") == 1 and node.node("load_layer").parm("reload").presses == 0


def test_empty_parameter_is_named(hou, tiny_shot, tmp_path):
    assert lop.on_generate({"node": _setext_node(tiny_shot, tmp_path / "out", depth="")}) is False
    assert "'Depth' is empty" in hou.ui.messages[-1][0]
    unplugged = _setext_node(tiny_shot, tmp_path / "out")
    unplugged._inputs = []
    assert lop.on_generate({"node": unplugged}) is False
    assert "connect the shot stage" in hou.ui.messages[-1][0]


def test_missing_model_environment_says_what_to_run(hou, tiny_shot, tmp_path, monkeypatch):
    monkeypatch.delenv("GENPOST_PYTHON")
    monkeypatch.setenv("GENPOST_CONFIG_DIR", str(tmp_path / "cfg"))
    monkeypatch.setenv("PATH", str(tmp_path))
    assert lop.on_generate({"node": _setext_node(tiny_shot, tmp_path / "out")}) is False
    assert "genpost houdini setup" in hou.ui.messages[-1][0]


def test_submit_writes_an_openjd_bundle_or_a_wedge_top(hou, tiny_shot, tmp_path):
    out = tmp_path / "out"
    where = lop.on_submit({"node": _setext_node(tiny_shot, out)})
    bundle = out / ".genpost" / "openjd"
    assert where == str(bundle) and (bundle / "template.yaml").is_file()
    assert str(bundle) in hou.ui.messages[-1][0] and "openjd run" in hou.ui.messages[-1][0]
    assert (out / ".genpost" / "houdini_setext.json").is_file() and not (out / "setext.usda").exists()
    top = lop.on_submit({"node": _setext_node(tiny_shot, out, farmtarget="tops")})
    assert top == "/tasks/genpost/setext_genpost_set_extension1"
    created = hou.node("/tasks").node("genpost").node("setext_genpost_set_extension1")
    assert created.type().name() == "genpost::wedge::1.0"
    assert created.evalParm("jobfile") == str(out / ".genpost" / "houdini_setext.json")
    assert top in hou.ui.messages[-1][0]


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


def test_a_new_job_parameter_needs_only_a_node_parameter_of_its_name(hou, tiny_shot, tmp_path, monkeypatch):
    """What issue 11's lens-distortion parameters need: a job parameter in the registry's table and
    a node parameter of the same name reach the job file with no glue change."""
    from genpost_houdini.farm.jobfile import load_job_file
    from genpost_houdini.jobs import registry

    kind = registry.JOB_KINDS["setext"]
    params = {**kind.params, "undistort": registry.ParamSpec("path", role="input"),
              "grain": registry.ParamSpec("bool"), "holdout": registry.ParamSpec("path", role="input")}
    monkeypatch.setitem(registry.JOB_KINDS, "setext", registry.JobKind("setext", kind.module, params,
                                                                       image_name=kind.image_name,
                                                                       layer_name=kind.layer_name))
    node = _setext_node(tiny_shot, tmp_path / "out", undistort="stmaps/undistort.$F4.exr", grain=1, holdout="")
    _, job_params, job_file = lop.prepare_job(node)
    spec = load_job_file(job_file, import_job=False)
    assert spec.params["undistort"] == str(tiny_shot / "stmaps" / "undistort.####.exr")
    assert spec.params["grain"] is True and "holdout" not in spec.params
    assert job_params["frames"] == "1001-1002" and spec.params["plate"] == str(tiny_shot / "plate.####.exr")
