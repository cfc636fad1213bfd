"""Run the hython smoke script where Houdini is installed; skipped elsewhere (no hython on PATH)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HYTHON = shutil.which("hython")

pytestmark = pytest.mark.skipif(HYTHON is None, reason="hython not on PATH (Houdini is not installed here)")


def test_nodes_load_and_cook_the_bundled_shot(tmp_path):
    shot = subprocess.run([sys.executable, "-m", "genpost_houdini.cli", "samples", "street", str(tmp_path / "shot"),
                           "--frames", "3", "--resolution", "96", "54"], capture_output=True, text=True, check=True)
    data = json.loads(shot.stdout)
    from genpost_houdini.samples.extras import build_extras

    data["extras"] = build_extras(tmp_path / "extras", frames=4, height=64)
    info = tmp_path / "shot.json"
    info.write_text(json.dumps(data))
    env = {**os.environ, "HOUDINI_PACKAGE_DIR": str(ROOT), "GENPOST_PYTHON": sys.executable}
    result = subprocess.run([HYTHON, str(Path(__file__).with_name("smoke_nodes.py")), str(info), str(tmp_path / "out")],
                            capture_output=True, text=True, env=env, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all GenPost nodes created and cooked" in result.stdout
