"""The runtime in a local worker process, shared by several Houdini sessions and nodes.

One worker per user listens on a Unix domain socket in a private runtime folder
(``$GENPOST_WORKER_DIR``, else ``$XDG_RUNTIME_DIR/genpost``, else ``/tmp/genpost-<uid>``; mode
0700). Models stay loaded in the worker's process-wide registry between requests; killing the
worker frees all of its (GPU) memory, and the next :class:`WorkerClient` call starts a fresh one.

Protocol: one JSON request line per connection, answered by JSON lines.

- ``{"op": "ping"}`` -> ``{"ok": true, "pid": ..., "version": ..., "loaded": [...]}``
- ``{"op": "generate", "id": ID, "generator": NAME, "options": {...}, "request": NPZ, "output": NPZ}``
  -> ``{"event": "progress", "fraction": f, "message": m}`` lines, then
  ``{"ok": true, "event": "result", "output": NPZ}`` or ``{"ok": false, "error": ..., "exit_code": ...}``.
  The request NPZ holds a :class:`GenerationRequest` (:func:`save_request`); the result NPZ
  holds ``images``. Jobs run one at a time (one GPU); others wait in line.
- ``{"op": "cancel", "id": ID}`` (or the requesting client closing its connection, or sending
  ``{"op": "cancel"}`` on it) stops the job at its next progress call (between denoising steps).
- ``{"op": "release"}`` drops every loaded model; ``{"op": "shutdown"}`` stops the worker.

Modules: :mod:`.protocol` (socket location, request files), :mod:`.server` (the worker
process), :mod:`.client` (:class:`WorkerClient`, :class:`WorkerGenerator`), :mod:`.session`
(a farm session's worker).
"""

from __future__ import annotations

from .client import WorkerClient, WorkerGenerator
from .protocol import (
    SOCKET_NAME,
    WORKER_DIR_ENV,
    WORKER_PYTHON_ENV,
    JobCancelled,
    default_socket,
    load_request,
    runtime_dir,
    save_request,
)
from .server import WorkerServer, run_generate, serve
from .session import WORKER_SOCKET_ENV

__all__ = [
    "SOCKET_NAME",
    "WORKER_DIR_ENV",
    "WORKER_PYTHON_ENV",
    "WORKER_SOCKET_ENV",
    "JobCancelled",
    "WorkerClient",
    "WorkerGenerator",
    "WorkerServer",
    "default_socket",
    "load_request",
    "run_generate",
    "runtime_dir",
    "save_request",
    "serve",
]
