"""Importing the core never imports hou, pdg or the model stack (principle 1 of DESIGN.md).

Each import runs in a fresh interpreter, so nothing the test process loaded hides a leak.
Subpackages not written yet are skipped (and listed in the skip reason).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

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


def _exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def test_package_root_imports_clean():
    assert _leaks("genpost_houdini") == []


@pytest.mark.parametrize("name", CORE)
def test_core_subpackage_imports_clean(name):
    module = f"genpost_houdini.{name}"
    if not _exists(module):
        pytest.skip(f"{module} does not exist yet (core subpackages: {', '.join(CORE)})")
    assert _leaks(module) == [], f"importing {module} imports {FORBIDDEN}"


@pytest.mark.parametrize("name", GLUE)
def test_houdini_glue_imports_without_hou(name):
    assert _leaks(f"genpost_houdini.{name}") == []
