"""Stage logic of the LOPs on real usd-core stages (what editableStage()/stage() give)."""

from __future__ import annotations

import os
import time

from pxr import Sdf, Usd, UsdGeom

from genpost_houdini.houdini import stageinfo


def _shot_stage() -> Usd.Stage:
    stage = Usd.Stage.CreateInMemory()
    UsdGeom.Xform.Define(stage, "/shot")
    UsdGeom.Camera.Define(stage, "/shot/camera")
    UsdGeom.Camera.Define(stage, "/shot/witness")
    UsdGeom.Mesh.Define(stage, "/set/stands")
    UsdGeom.Points.Define(stage, "/set/seats")
    UsdGeom.Cube.Define(stage, "/set/box")
    return stage


def _editable_over(stage: Usd.Stage) -> Usd.Stage:
    """Like a Python LOP: an active layer over the input, edit target = the active layer."""
    active = Sdf.Layer.CreateAnonymous("active.usda")
    active.subLayerPaths.append(stage.GetRootLayer().identifier)
    editable = Usd.Stage.Open(active)
    editable.SetEditTarget(Usd.EditTarget(active))
    return editable


def test_cameras_and_region_prims_for_menus():
    stage = _shot_stage()
    assert stageinfo.list_cameras(stage) == ["/shot/camera", "/shot/witness"]
    assert stageinfo.list_region_prims(stage) == ["/set/stands", "/set/seats"]
    assert stageinfo.menu_items(["/a", "/b"]) == ["/a", "/a", "/b", "/b"]
    assert stageinfo.menu_items([], empty_label="(none)") == ["", "(none)"]


def test_saved_stage_is_used_as_is(tmp_path):
    path = tmp_path / "shot.usda"
    stage = Usd.Stage.CreateNew(str(path))
    UsdGeom.Camera.Define(stage, "/cam")
    stage.Save()
    assert stageinfo.stage_file_for_job(stage, tmp_path / ".genpost") == path.resolve()
    UsdGeom.Xform.Define(stage, "/unsaved")  # dirty: must be flattened instead
    out = stageinfo.stage_file_for_job(stage, tmp_path / ".genpost")
    assert out == tmp_path / ".genpost" / "houdini_input.usdc"
    assert Usd.Stage.Open(str(out)).GetPrimAtPath("/unsaved")


def test_in_memory_stage_is_flattened_once_and_rewritten_only_on_change(tmp_path):
    stage = _editable_over(_shot_stage())
    out = stageinfo.stage_file_for_job(stage, tmp_path)
    reopened = Usd.Stage.Open(str(out))
    assert stageinfo.list_cameras(reopened) == ["/shot/camera", "/shot/witness"]
    stamp = out.stat().st_mtime_ns
    time.sleep(0.01)
    # A fresh session's identical stage (new anonymous layer ids) gives the same bytes: untouched.
    assert stageinfo.stage_file_for_job(_editable_over(_shot_stage()), tmp_path) == out
    assert out.stat().st_mtime_ns == stamp
    changed = _editable_over(_shot_stage())
    UsdGeom.Camera.Define(changed, "/shot/camera2")
    stageinfo.stage_file_for_job(changed, tmp_path)
    fresh = Usd.Stage.Open(Sdf.Layer.OpenAsAnonymous(str(out)))  # bypass the layer registry
    assert "/shot/camera2" in stageinfo.list_cameras(fresh)
    assert not [p for p in os.listdir(tmp_path) if "genpost-tmp" in p]
