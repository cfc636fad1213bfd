"""Reading ``OUT/manifest.json`` with the standard library only, kept at its old import path:
:mod:`genpost_houdini.jobs.manifestfile` is its home."""

from __future__ import annotations

from ..jobs.manifestfile import MANIFEST_NAME, SCHEMA, read_frames, read_manifest, recorded_outputs

__all__ = ["MANIFEST_NAME", "SCHEMA", "read_frames", "read_manifest", "recorded_outputs"]
