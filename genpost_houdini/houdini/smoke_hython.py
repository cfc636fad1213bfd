"""hython side of ``genpost houdini smoke``: one check per run, in a fresh scene.

    HOUDINI_PACKAGE_DIR=<repo> hython smoke_hython.py CHECK SHOT.json OUT_DIR

SHOT.json is what :func:`genpost_houdini.houdini.smoke.prepare_shot` writes. The last line printed
is ``GENPOST_SMOKE {"status": "pass"|"fail"|"skip", "detail": ...}``. Checks:

* ``lop_set_extension`` / ``lop_crowd_replicate``: create the LOP on the shot stage, see the
  warning naming Generate, press Generate (the job runs out of process), cook, and find the layer
  in the stage's root layer stack and its prims on the stage.
* ``top_wedge``: a GenPost Wedge TOP on a job file with chunks of 2 frames (two work items for the
  three sample frames), cooked; the output items list every EXR frame once and the layer once.
* ``cop_generate`` (Houdini 21+; skipped on 20.5): the Copernicus COP on File COPs of frame 1001
  cooks one frame; pixels outside the mask come back unchanged.

Written against the types-houdini stubs (checked by mypy); pdg objects are untyped.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:  # pragma: no cover
    import hou


class CheckFailed(Exception):
    pass


def _report(status: str, detail: str) -> None:
    print("GENPOST_SMOKE " + json.dumps({"status": status, "detail": detail}), flush=True)


def _warnings(node: "hou.OpNode") -> list[str]:
    found = list(node.warnings())
    for child in node.allSubChildren():
        found += list(child.warnings())
    return found


def check_lop(name: str, kind: str, shot: dict[str, Any], out: Path) -> str:
    import hou  # noqa: PLC0415 - hython only

    hou.hipFile.clear(suppress_save_prompt=True)
    stage_net = hou.node("/stage")
    if stage_net is None:
        raise CheckFailed("no /stage network")
    source = cast("hou.OpNode", stage_net.createNode("sublayer", "shot"))
    source.parm("filepath1").set(shot["stage"])  # type: ignore[union-attr]
    node = cast("hou.LopNode", stage_net.createNode(f"genpost::{name}::1.0", name))
    node.setInput(0, source)
    values: dict[str, Any] = {"camera": shot["camera"], "depth": shot["depth"], "outdir": str(out),
                              "framestart": shot["first_frame"], "frameend": shot["last_frame"]}
    if kind == "setext":
        values.update(plate=shot["plate"], extend=shot["extend"])
    else:
        values.update(region=shot["crowd_region"], source=shot["extras"], count=10)
    for parm_name, value in values.items():
        parm = node.parm(parm_name)
        if parm is None:
            raise CheckFailed(f"{node.path()} has no parameter {parm_name}")
        parm.set(value)
    if kind == "crowd":  # a vector parameter and its toggle reach the job as the CLI's X,Y,Z
        walkdir, toggle = node.parmTuple("walkdir"), node.parm("usewalkdir")
        if walkdir is None or toggle is None:
            raise CheckFailed(f"{node.path()} has no walkdir vector / usewalkdir toggle")
        toggle.set(1)
        walkdir.set((1.0, 0.0, 0.5))
    node.cook(force=True)
    before = _warnings(node)
    if not any("Press Generate" in w for w in before):
        raise CheckFailed(f"before Generate, no warning names the button: {before}")
    node.parm("generate").pressButton()  # type: ignore[union-attr]
    node.cook(force=True)
    if node.errors():
        raise CheckFailed("; ".join(node.errors()))
    if node.evalParm("loadfromdisk") != 1:
        raise CheckFailed("Generate did not finish (its message is printed above)")
    layer = out / f"{kind}.usda"
    stage = node.stage()
    stack = [Path(lay.realPath).resolve() for lay in stage.GetLayerStack() if lay.realPath]
    if layer.resolve() not in stack:
        raise CheckFailed(f"{layer} is not in the root layer stack {stack}")
    prims = [p for p in stage.Traverse() if (p.GetCustomDataByKey("genpost") or {}).get("job") == kind]
    if not prims:
        raise CheckFailed(f"no prims of the {kind} job on the stage")
    if any("Press Generate" in w for w in _warnings(node)):
        raise CheckFailed("the missing-output warning is still shown after Generate")
    job = json.loads((out / ".genpost" / f"houdini_{kind}.json").read_text(encoding="utf-8"))
    if kind == "crowd" and job.get("parameters", {}).get("walk_direction") != "1,0,0.5":
        raise CheckFailed(f"the Walk Direction vector did not reach the job file: {job.get('parameters')}")
    return f"{len(prims)} {kind} prims from {layer} in the root layer stack; Generate warning shown before"


def _outputs(item: Any) -> list[tuple[str, str]]:
    files = getattr(item, "outputFiles", None)
    if files is None:
        files = getattr(item, "resultData", [])
    return [(str(f.path), str(f.tag)) for f in files]


def check_top(shot: dict[str, Any], out: Path) -> str:
    import hou  # noqa: PLC0415

    from genpost_houdini.houdini import jobs

    hou.hipFile.clear(suppress_save_prompt=True)
    values = {"plate": shot["plate"], "depth": shot["depth"], "extend": shot["extend"], "camera": shot["camera"],
              "framestart": shot["first_frame"], "frameend": shot["last_frame"], "outdir": str(out / "setext"),
              "generator": "classical", "seed": 0}
    job_file = jobs.write_job("setext", jobs.setext_params(values, shot["stage"]))
    tasks = hou.node("/tasks")
    if tasks is None:
        raise CheckFailed("no /tasks network")
    topnet = cast("hou.OpNode", tasks.createNode("topnet", "smoke"))
    if not [n for n in topnet.children() if n.type().name() == "localscheduler"]:
        scheduler = topnet.createNode("localscheduler", "localscheduler")
        if topnet.parm("topscheduler") is not None:
            topnet.parm("topscheduler").set(scheduler.path())  # type: ignore[union-attr]
    wedge = cast("hou.TopNode", topnet.createNode("genpost::wedge::1.0", "wedge"))
    for parm_name, value in (("jobfile", str(job_file)), ("chunksize", 2), ("genpost", os.environ.get("GENPOST", "genpost"))):
        wedge.parm(parm_name).set(value)  # type: ignore[union-attr]
    wedge.cookWorkItems(block=True)
    register = wedge.node("register_outputs")
    # TopNode.getPDGNode() (SideFX Labs filecache.2.0 PythonModule calls it); the stubs omit it.
    items = list(getattr(register, "getPDGNode")().workItems)
    if len(items) != 2:
        raise CheckFailed(f"{len(items)} output work items, expected 2 (frames in chunks of 2)")
    listed = [o for item in items for o in _outputs(item)]
    paths = [p for p, _ in listed]
    exrs = sorted(Path(p).name for p, t in listed if t == "file/image/exr")
    usds = [p for p, t in listed if t == "file/usd"]
    frames = range(shot["first_frame"], shot["last_frame"] + 1)
    if exrs != [f"setext.{f:04d}.exr" for f in frames] or len(usds) != 1 or len(set(paths)) != len(paths):
        raise CheckFailed(f"outputs {listed}")
    if not all(Path(p).is_file() for p in paths):
        raise CheckFailed(f"listed outputs missing on disk: {[p for p in paths if not Path(p).is_file()]}")
    return f"2 work items cooked; outputs {', '.join(exrs)} and {Path(usds[0]).name}, each listed once"


def check_cop(shot: dict[str, Any], out: Path) -> str:
    import hou  # noqa: PLC0415
    import numpy as np

    if hou.applicationVersion() < (21, 0, 0):
        _report("skip", f"Houdini {hou.applicationVersionString()} has no Python Snippet COP; "
                        "the Python SOP on volumes is the image path there")
        sys.exit(0)
    hou.hipFile.clear(suppress_save_prompt=True)
    obj = hou.node("/obj")
    if obj is None:
        raise CheckFailed("no /obj network")
    net = cast("hou.OpNode", obj.createNode("copnet", "smoke"))
    readers = []
    for name in ("plate", "depth", "mask"):
        reader = cast("hou.OpNode", net.createNode("file", name))
        reader.parm("filename").set(shot["cop_inputs"][name])  # type: ignore[union-attr]
        readers.append(reader)
    gen = cast("hou.CopNode", net.createNode("genpost::generate::1.0", "generate"))
    for i, reader in enumerate(readers):
        gen.setInput(i, reader)
    hou.setFrame(float(shot["first_frame"]))
    gen.cook(force=True)
    if gen.errors():
        raise CheckFailed("; ".join(gen.errors()))

    def pixels(node: "hou.OpNode") -> Any:
        layer = cast("hou.CopNode", node).layer()
        if layer is None:
            raise CheckFailed(f"{node.path()} has no layer")
        w, h = layer.bufferResolution()[:2]
        raw = layer.allBufferElements(hou.imageLayerStorageType.Float32, 4)
        return np.frombuffer(raw, np.float32).reshape(h, w, 4)

    plate, mask, result = pixels(readers[0]), pixels(readers[2]), pixels(gen)
    if result.shape != plate.shape:
        raise CheckFailed(f"output {result.shape} != input {plate.shape}")
    keep = mask[..., 0] < 0.5
    if not np.allclose(result[keep][:, :3], plate[keep][:, :3], atol=1e-3):
        raise CheckFailed("pixels outside the mask changed")
    changed = int((np.abs(result - plate).max(axis=-1) > 1e-4).sum())
    return f"frame {shot['first_frame']} cooked, {result.shape[1]}x{result.shape[0]}; {changed} masked pixels filled"


def main(argv: list[str]) -> int:
    check, shot_json, out = argv[1], Path(argv[2]), Path(argv[3])
    shot = json.loads(shot_json.read_text())
    out.mkdir(parents=True, exist_ok=True)
    try:
        if check == "lop_set_extension":
            detail = check_lop("set_extension", "setext", shot, out)
        elif check == "lop_crowd_replicate":
            detail = check_lop("crowd_replicate", "crowd", shot, out)
        elif check == "top_wedge":
            detail = check_top(shot, out)
        elif check == "cop_generate":
            detail = check_cop(shot, out)
        else:
            raise CheckFailed(f"unknown check {check!r}")
    except CheckFailed as exc:
        _report("fail", str(exc))
        return 1
    except Exception as exc:  # noqa: BLE001 - any Houdini error is this check's failure
        _report("fail", f"{type(exc).__name__}: {exc}")
        return 1
    _report("pass", detail)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
