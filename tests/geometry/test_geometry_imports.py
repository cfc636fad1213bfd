"""The shot and geometry packages stay free of hou, pdg and torch (run in a fresh interpreter)."""

from __future__ import annotations

import subprocess
import sys


def test_shot_and_geometry_imports_stay_light() -> None:
    code = (
        "import sys\n"
        "import genpost_houdini.shot, genpost_houdini.shot.camera, genpost_houdini.geometry\n"
        "import genpost_houdini.geometry.files, genpost_houdini.commands.camera, genpost_houdini.commands.reproject\n"
        "print(' '.join(m for m in ('hou', 'pdg', 'torch', 'diffusers', 'pxr', 'OpenImageIO') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert "hou" not in out and "pdg" not in out and "torch" not in out and "diffusers" not in out
    # USD and OpenImageIO load on first use, not on import.
    assert "pxr" not in out and "OpenImageIO" not in out
