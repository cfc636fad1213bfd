"""Fixtures for the farm tests: the toy job (registered in-process and as a CLI wrapper)."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import toyjob  # noqa: E402


@pytest.fixture()
def toy_kind(monkeypatch: pytest.MonkeyPatch) -> str:
    """Register the toy kind for in-process calls (undone after the test)."""
    from genpost_houdini.jobs import registry

    monkeypatch.setitem(registry.JOB_KINDS, "toy", registry.JobKind("toy", "toyjob", toyjob.TOY_PARAMS, image_name="toy"))
    return "toy"


def make_toy_job(root: Path, frames: range = range(1, 13), **params: object) -> Path:
    """Plate files and a toy job file under ``root``; returns the job file."""
    (root / "plate").mkdir(parents=True, exist_ok=True)
    for f in frames:
        (root / "plate" / f"plate.{f:04d}.dat").write_bytes(f"plate {f}".encode() * 100)
    doc = {
        "genpost_job": 1, "kind": "toy", "frames": f"{frames[0]}-{frames[-1]}",
        "inputs": {"plate": "plate/plate.####.dat"},
        "parameters": {k: v for k, v in params.items() if k != "wedges"},
        "outputs": {"out": "out"},
    }
    if "wedges" in params:
        doc["wedges"] = params["wedges"]
    job = root / "job.json"
    job.write_text(json.dumps(doc, indent=2))
    return job


@pytest.fixture()
def toy_cli(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """argv prefix that runs `genpost` with the toy kind registered (a subprocess)."""
    return [sys.executable, str(HERE / "toyjob.py")]


@pytest.fixture()
def toy_genpost_exe(tmp_path_factory: pytest.TempPathFactory) -> str:
    """An executable file that behaves as `genpost` with the toy kind (for OpenJD's command)."""
    folder = tmp_path_factory.mktemp("bin")
    exe = folder / "genpost-toy"
    exe.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{HERE / "toyjob.py"}" "$@"\n')
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return str(exe)


def read_outputs(folder: Path, pattern: str = "*.exr") -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob(pattern))}


@pytest.fixture()
def env_no_openjd(monkeypatch: pytest.MonkeyPatch) -> None:
    for k in list(os.environ):
        if k.startswith(("OPENJD_", "DEADLINE_SESSION")):
            monkeypatch.delenv(k)
