"""Reading ``OUT/manifest.json`` with the standard library only.

The manifest is written by :class:`genpost_houdini.jobs.workunit.Manifest` (under a file lock,
published atomically); readers that only need what it records -- Houdini's TOP callbacks, which
run in Houdini's own Python -- use :func:`read_frames` and import nothing else.
Layout: ``{"schema": 1, "frames": {"1001": {"inputs_hash": ..., "outputs": [{"path", "size",
"sha256"}, ...]}}, "job": {"kind", "identity", "parameters"}}``; output paths are relative to
the output folder when inside it; ``job`` (the folder's owner) is absent in older manifests.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import BadInputError

MANIFEST_NAME = "manifest.json"
SCHEMA = 1


def read_manifest(path: str | os.PathLike[str]) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """(the owning job's record or None, the ``frames`` object) of a manifest file; ``(None, {})``
    when the file does not exist yet. BadInputError naming the file when it is not a manifest."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, {}
    try:
        data = json.loads(text)
        frames = data["frames"]
        if not isinstance(frames, dict):
            raise TypeError("frames is not an object")
        owner = data.get("job")
        if owner is not None and not isinstance(owner, dict):
            raise TypeError("job is not an object")
    except (ValueError, KeyError, TypeError) as exc:
        raise BadInputError(f"{path} is not a genpost manifest: {exc}") from exc
    return owner, frames


def read_frames(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``frames`` object of a manifest file (``{}`` when the file does not exist yet).

    Raises BadInputError naming the file when it is not a genpost manifest."""
    return read_manifest(path)[1]


def recorded_outputs(out_dir: str | os.PathLike[str], frame: int, frames: dict[str, Any]) -> list[Path]:
    """Absolute paths of the outputs ``frames`` (a :func:`read_frames` result) records for ``frame``."""
    entry = frames.get(str(int(frame))) or {}
    paths = []
    for out in entry.get("outputs", []):
        p = Path(out["path"])
        paths.append(p if p.is_absolute() else Path(out_dir) / p)
    return paths
