"""Importing the core never imports hou, pdg or the model stack (principle 1 of DESIGN.md).

Each import runs in a fresh interpreter, so nothing the test process loaded hides a leak.
Every package of genpost_houdini is listed (a new one must be added to CORE or GLUE).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

CORE = ("shot", "imageio", "conditioning", "geometry", "generators", "runtime", "jobs", "usd_out", "farm",
        "samples", "qc", "crowd", "consistency")
#: Modules that may import hou/pdg only inside functions: importing them must stay clean too.
GLUE = ("hdabuild", "hdabuild.build", "houdini", "houdini.lop", "houdini.sop", "houdini.cop", "houdini.wedge",
        "houdini.env", "houdini.setup", "houdini.doctor", "houdini.smoke", "commands.houdini",
        "commands.doctor")
FORBIDDEN = ("hou", "pdg", "torch", "diffusers", "tensorrt")

_PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps(sorted(m for m in {forbidden!r} if m in sys.modules)))
"""


def _leaks(module: str) -> list[str]:
    code = _PROBE.format(forbidden=FORBIDDEN)
    out = subprocess.run([sys.executable, "-c", code, module], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, f"import {module} failed:\n{out.stderr}"
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_package_root_imports_clean():
    assert _leaks("genpost_houdini") == []


def test_every_package_is_checked():
    root = Path(importlib.util.find_spec("genpost_houdini").origin).parent
    packages = {p.parent.name for p in root.glob("*/__init__.py")}
    hosts = {"commands"}  # the CLI's parsers: covered by GLUE's commands.* and the startup benchmark
    assert packages - hosts <= set(CORE) | {g.split(".")[0] for g in GLUE}, "a package is in neither CORE nor GLUE"
    assert set(CORE) <= packages, "CORE names a package that does not exist"


@pytest.mark.parametrize("name", CORE)
def test_core_subpackage_imports_clean(name):
    module = f"genpost_houdini.{name}"
    assert _leaks(module) == [], f"importing {module} imports {FORBIDDEN}"


@pytest.mark.parametrize("name", GLUE)
def test_houdini_glue_imports_without_hou(name):
    assert _leaks(f"genpost_houdini.{name}") == []
