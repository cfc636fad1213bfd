"""hython smoke script: the package loads, every GenPost node is created and cooked on the
bundled shot. Run by test_hython_smoke.py (skipped where Houdini is not installed):

    HOUDINI_PACKAGE_DIR=<repo> hython tests/houdini/smoke_nodes.py SHOT.json OUT_DIR

SHOT.json is what `genpost samples street DIR` prints. Prints one line per check; exits 1 on
the first failure.
"""

import json
import os
import sys

import hou  # noqa: E402 - hython only


def check(what, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + what + (": " + detail if detail else ""))
    if not ok:
        sys.exit(1)


def genpost_prims(stage, job):
    found = []
    for prim in stage.Traverse():
        data = prim.GetCustomDataByKey("genpost") or {}
        if data.get("job") == job:
            found.append(str(prim.GetPath()))
    return found


def main():
    shot = json.load(open(sys.argv[1]))
    out = sys.argv[2]
    check("GENPOST_ROOT set by package.json", bool(hou.getenv("GENPOST_ROOT")), str(hou.getenv("GENPOST_ROOT")))
    import genpost_houdini.houdini.lop  # noqa: F401 - made importable by pythonrc.py

    check("start-up kept torch out", "torch" not in sys.modules)
    lop_types = hou.lopNodeTypeCategory().nodeTypes()
    for name in ("genpost::set_extension::1.0", "genpost::crowd_replicate::1.0"):
        check("LOP type " + name, name in lop_types)
    check("SOP type genpost::generate::1.0", "genpost::generate::1.0" in hou.sopNodeTypeCategory().nodeTypes())
    check("TOP type genpost::wedge::1.0", "genpost::wedge::1.0" in hou.topNodeTypeCategory().nodeTypes())
    if hou.applicationVersion() >= (21, 0, 0):
        check("COP type genpost::generate::1.0", "genpost::generate::1.0" in hou.copNodeTypeCategory().nodeTypes())

    stage = hou.node("/stage")
    source = stage.createNode("sublayer", "shot")
    source.parm("filepath1").set(shot["stage"])
    frames = (shot["first_frame"], shot["last_frame"])

    setext = stage.createNode("genpost::set_extension::1.0", "setext")
    setext.setInput(0, source)
    menu = setext.parm("camera").menuItems()
    check("camera menu lists the shot camera", shot["camera"] in menu, repr(menu))
    for parm, value in (("camera", shot["camera"]), ("plate", shot["plate"]), ("depth", shot["depth"]),
                        ("extend", shot["extend"]), ("outdir", os.path.join(out, "setext"))):
        setext.parm(parm).set(value)
    setext.parm("framestart").set(frames[0])
    setext.parm("frameend").set(frames[1])
    setext.cook(force=True)
    check("set extension cooks without errors", not setext.errors(), "; ".join(setext.errors()))
    check("set extension layer sublayered", bool(genpost_prims(setext.stage(), "setext")))

    crowd = stage.createNode("genpost::crowd_replicate::1.0", "crowd")
    crowd.setInput(0, source)
    for parm, value in (("camera", shot["camera"]), ("region", shot["crowd_region"]), ("source", shot["extras"]),
                        ("depth", shot["depth"]), ("outdir", os.path.join(out, "crowd"))):
        crowd.parm(parm).set(value)
    crowd.parm("framestart").set(frames[0])
    crowd.parm("frameend").set(frames[1])
    crowd.parm("count").set(10)
    crowd.cook(force=True)
    check("crowd cooks without errors", not crowd.errors(), "; ".join(crowd.errors()))
    check("crowd layer sublayered", bool(genpost_prims(crowd.stage(), "crowd")))

    geo = hou.node("/obj").createNode("geo", "generate_test")
    generate = geo.createNode("genpost::generate::1.0")
    check("generate SOP created", generate is not None)
    topnet = hou.node("/obj").createNode("topnet", "wedges")
    wedge = topnet.createNode("genpost::wedge::1.0")
    check("wedge TOP created", wedge is not None)
    print("hython smoke: all GenPost nodes created and cooked")


main()
