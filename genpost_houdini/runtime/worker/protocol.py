"""The worker's wire format: where the socket lives, and the request files.

One JSON request line per connection, answered by JSON lines (the ops are listed in
:mod:`genpost_houdini.runtime.worker`). A generation request travels as an NPZ file in the
private runtime folder (:func:`save_request` / :func:`load_request`; arrays plus a JSON
``meta``, never pickle); the result NPZ holds ``images``.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from ...errors import TransientError

WORKER_DIR_ENV = "GENPOST_WORKER_DIR"
WORKER_PYTHON_ENV = "GENPOST_WORKER_PYTHON"
SOCKET_NAME = "worker.sock"


class JobCancelled(TransientError):
    """The client cancelled its request (interrupted cook); nothing was written."""


def runtime_dir() -> Path:
    """The per-user folder holding the socket, lock, log and request files (created 0700)."""
    env = os.environ.get(WORKER_DIR_ENV, "").strip()
    if env:
        folder = Path(env)
    elif os.environ.get("XDG_RUNTIME_DIR"):
        folder = Path(os.environ["XDG_RUNTIME_DIR"]) / "genpost"
    else:
        folder = Path(tempfile.gettempdir()) / f"genpost-{os.getuid()}"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(OSError):
        os.chmod(folder, 0o700)
    return folder


def default_socket() -> Path:
    return runtime_dir() / SOCKET_NAME


# -- request files -------------------------------------------------------------------------
_ARRAYS = ("images", "known", "generate", "depth")


def save_request(request: Any, path: str | os.PathLike[str]) -> Path:
    """Write a GenerationRequest to ``path`` (npz: arrays + a JSON ``meta``), atomically."""
    import numpy as np

    from ...atomic import atomic_path

    # Array-valued options (camera matrices, metric depth) travel as arrays, the rest as JSON.
    array_options = {k: np.asarray(v) for k, v in request.options.items() if isinstance(v, np.ndarray)}
    meta = {
        "frames": [int(f) for f in request.frames],
        "seed": int(request.seed),
        "prompt": request.prompt,
        "negative_prompt": request.negative_prompt,
        "strength": float(request.strength),
        "colourspace": request.colourspace,
        "shot_first": request.shot_first,
        "options": {k: v for k, v in request.options.items() if k not in array_options},
        "array_options": sorted(array_options),
    }
    arrays = {k: getattr(request, k) for k in _ARRAYS}
    arrays.update({f"option_{k}": v for k, v in array_options.items()})
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, meta=np.array(json.dumps(meta)), **arrays)
    return Path(path)


def load_request(path: str | os.PathLike[str]) -> Any:
    """Read a GenerationRequest written by :func:`save_request` (no pickle)."""
    import numpy as np

    from ..request import GenerationRequest

    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        for key in meta.pop("array_options", []):
            meta["options"][key] = np.array(data[f"option_{key}"])
        return GenerationRequest(**{k: data[k] for k in _ARRAYS}, **meta)
