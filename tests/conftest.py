"""Shared fixtures. Real third-party data lives in ../shared/data beside the project."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = (ROOT.parent / "shared" / "data").resolve()
TARTANAIR = SHARED_DATA / "tartanair_office"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"../shared/data not found beside the project ({SHARED_DATA})")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tartanair(shared_data: Path) -> Path:
    return shared_data / "tartanair_office"
