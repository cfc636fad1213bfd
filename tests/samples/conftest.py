"""A tiny bundled street shot, built once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from genpost_houdini.samples import SampleShot, build_street

TINY = {"frames": 8, "width": 160, "height": 90}


@pytest.fixture(scope="session")
def tiny_street(tmp_path_factory: pytest.TempPathFactory) -> SampleShot:
    out: Path = tmp_path_factory.mktemp("street")
    return build_street(out, **TINY)
