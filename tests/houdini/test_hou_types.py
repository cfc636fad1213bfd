"""The hou contract: mypy with types-houdini (SideFX's API as the unofficial stubs carry it) finds
no error in genpost_houdini/houdini/, and the same run proves the stubs are in force by flagging
a wrong ``hou.ImageLayer`` call in a probe file."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_mypy_with_types_houdini_reports_no_errors(tmp_path):
    try:
        importlib.metadata.version("types-houdini")
        importlib.metadata.version("mypy")
    except importlib.metadata.PackageNotFoundError as exc:
        pytest.fail(f"{exc.name} is missing: pip install -e '.[test]' (the test extra pins types-houdini)")
    probe = tmp_path / "probe_wrong_hou_call.py"
    probe.write_text("import hou\n\nhou.ImageLayer().setDataWindow((0, 0, 4, 4))\n")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
         "genpost_houdini/houdini", str(probe)],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    lines = [line for line in result.stdout.splitlines() if ": error:" in line]
    ours = [line for line in lines if probe.name not in line]
    assert not ours, "mypy errors in genpost_houdini/houdini:\n" + "\n".join(ours)
    assert any("setDataWindow" in line for line in lines), "the hou stubs are not in force:\n" + result.stdout
