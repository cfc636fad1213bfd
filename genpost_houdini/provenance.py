"""Provenance and input hashing: what every output records about how it was made.

The inputs hash of a frame is what the farm's rerun logic compares: same hash, same pixels.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Mapping

from . import __version__

_HASH_CHUNK = 1 << 20


def file_digest(path: str | os.PathLike[str]) -> str:
    """sha256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def file_stamp(path: str | os.PathLike[str]) -> str:
    """A cheap identity for a large input file: size + mtime_ns + name.

    Used for inputs whose bytes are too many to hash every frame (plates); content hashes are
    used where files are small or where identity across machines matters (manifests).
    """
    st = os.stat(path)
    return f"{Path(path).name}:{st.st_size}:{st.st_mtime_ns}"


def stable_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)


def hash_data(*parts: Any) -> str:
    """sha256 over JSON-serialised parts (hex, 16 chars is enough for keys; full returned)."""
    h = hashlib.sha256()
    for part in parts:
        h.update(stable_json(part).encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()



def make_provenance(
    *,
    job: str,
    generator: str,
    seed: int | None,
    inputs_hash: str,
    prompt: str = "",
    model: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The provenance record written into EXR headers and USD customData."""
    record: dict[str, Any] = {
        "job": job,
        "generator": generator,
        "seed": seed,
        "prompt": prompt,
        "inputs_hash": inputs_hash,
        "package": "genpost-houdini",
        "version": __version__,
    }
    model = dict(model or {})
    record["model_id"] = model.get("model_id", generator)
    record["weights_hash"] = model.get("weights_hash", "")
    record["licence"] = model.get("licence", "")
    if extra:
        record.update(extra)
    return record
