"""A farm session's worker: started once per session, used by every task of the session.

``genpost farm session enter`` calls a job's ``session_enter`` hook, which starts a worker on a
socket of its own (:func:`enter`) and returns ``{WORKER_SOCKET_ENV: socket}`` for the session's
tasks; a task then generates through that worker (:func:`through_session`), where the model
stays loaded between tasks; ``session exit`` stops it (:func:`exit_session`).
"""

from __future__ import annotations

import os
from typing import Any, Mapping

#: Set by :func:`enter` for a farm session's tasks: generate through that worker, where the
#: model stays loaded between tasks.
WORKER_SOCKET_ENV = "GENPOST_WORKER_SOCKET"

#: Generators that run in the task's own process even inside a session (no model to keep).
IN_PROCESS = frozenset({"classical"})


def enter(generator: str) -> dict[str, str]:
    """Start the session's worker for a model ``generator``; the environment for its tasks
    (empty for a generator that runs in process)."""
    if generator in IN_PROCESS:
        return {}
    from .client import WorkerClient
    from .protocol import default_socket

    socket = default_socket().with_name(f"session-{os.getpid()}.sock")
    WorkerClient(socket).ensure_running()
    return {WORKER_SOCKET_ENV: str(socket)}


def exit_session() -> dict[str, str]:
    """Stop the session's worker named by :data:`WORKER_SOCKET_ENV` (frees all GPU memory)."""
    socket = os.environ.get(WORKER_SOCKET_ENV)
    if socket:
        from .client import WorkerClient

        WorkerClient(socket, autostart=False).shutdown()
    return {}


def through_session(local: Any, name: str, options: Mapping[str, Any]) -> Any:
    """``local`` (the generator ``name`` made with ``options``), or, inside a farm session with
    a worker, a :class:`~.client.WorkerGenerator` that generates in that worker."""
    socket = os.environ.get(WORKER_SOCKET_ENV)
    if socket and name not in IN_PROCESS:
        from .client import WorkerGenerator

        return WorkerGenerator(local, name, options, socket)
    return local
