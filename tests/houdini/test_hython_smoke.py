"""Where Houdini is installed, `genpost houdini smoke` cooks every asset in hython; skipped here."""

from __future__ import annotations

import shutil

import pytest

from genpost_houdini.cli import main

HYTHON = shutil.which("hython")


@pytest.mark.skipif(HYTHON is None, reason="hython not on PATH (Houdini is not installed here)")
def test_every_asset_cooks_in_hython(tmp_path):
    assert main(["houdini", "smoke", "--hython", HYTHON, "--work", str(tmp_path)]) == 0
