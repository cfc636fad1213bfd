"""A small deterministic job for testing the farm layer through the real CLI and OpenJD.

It behaves like the real jobs towards the farm: per-frame inputs hash, Manifest skip, atomic
publication, BadInputError for a missing input frame. Its output bytes derive from (seed, prompt,
frame, input bytes) only. ``delay`` slows each write so a test can kill a run mid-file.
Run as a script it is ``genpost`` with the ``toy`` kind registered (used by subprocess tests).
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from pathlib import Path
from typing import Any

from genpost_houdini.atomic import atomic_path
from genpost_houdini.jobs.workunit import Manifest
from genpost_houdini.jobs.registry import JOB_KINDS, JobKind, ParamSpec
from genpost_houdini.provenance import file_digest, hash_data
from genpost_houdini.shot.frames import FrameSeq

TOY_PARAMS = {
    "plate": ParamSpec("path", required=True, role="input"),
    "frames": ParamSpec("frames", required=True),
    "out": ParamSpec("path", required=True, role="output"),
    "seed": ParamSpec("int"),
    "prompt": ParamSpec("str"),
    "strength": ParamSpec("float"),
    "delay": ParamSpec("float"),
}
JOB_PARAMS = {"plate": None, "frames": None, "seed": 0, "prompt": "", "strength": 1.0, "delay": 0.0}
SIZE = 64 * 1024
PIECES = 8


def register() -> None:
    JOB_KINDS["toy"] = JobKind("toy", "toyjob", TOY_PARAMS, image_name="toy")


def frame_bytes(seed: int, prompt: str, strength: float, frame: int, plate_digest: str) -> bytes:
    h = hashlib.sha256(f"{seed}|{prompt}|{strength}|{frame}|{plate_digest}".encode()).digest()
    return (h * (SIZE // len(h)))[:SIZE]


def run_job(params: dict[str, Any], frames: list[int], *, out_dir: Path, force: bool = False,
            progress: Any = None) -> dict[str, Any]:
    unknown = set(params) - set(JOB_PARAMS)
    if unknown:
        raise AssertionError(f"unexpected params {unknown}")
    plate = FrameSeq.parse(params["plate"])
    plate.require(frames, what="plate")
    seed, prompt = int(params.get("seed", 0)), str(params.get("prompt", ""))
    strength, delay = float(params.get("strength", 1.0)), float(params.get("delay", 0.0))
    manifest = Manifest(out_dir)
    written, skipped = [], []
    for i, f in enumerate(frames):
        digest = file_digest(plate.path(f))
        inputs_hash = hash_data("toy", seed, prompt, strength, f, digest)
        if not force and manifest.is_done(f, inputs_hash):
            skipped.append(f)
            continue
        data = frame_bytes(seed, prompt, strength, f, digest)
        path = Path(out_dir) / f"toy.{f:04d}.exr"
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as fh:
                step = len(data) // PIECES
                for k in range(PIECES):
                    fh.write(data[k * step:(k + 1) * step])
                    fh.flush()
                    if delay:
                        time.sleep(delay / PIECES)
        manifest.record(f, inputs_hash, [path])
        written.append(f)
        if progress is not None:
            progress(i + 1, len(frames))
    return {"written": written, "skipped": skipped}


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    register()
    from genpost_houdini.cli import main

    sys.exit(main())
