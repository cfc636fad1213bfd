"""Assertions the reliability tests share (imported by name; conftest.py puts this folder on sys.path)."""

from __future__ import annotations

from pathlib import Path


def no_traceback(stderr: str) -> None:
    """A failure is one clear line, never a Python traceback or an internal error."""
    assert "Traceback" not in stderr, stderr
    assert "internal error" not in stderr, stderr


def temporaries(folder: Path) -> list[str]:
    """Temporary files (atomic writes in flight) anywhere under ``folder``."""
    return sorted(str(p) for p in folder.rglob("*") if ".genpost-tmp-" in p.name) if folder.exists() else []
