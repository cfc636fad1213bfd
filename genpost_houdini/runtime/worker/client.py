"""The client side of the worker: :class:`WorkerClient` (start, ping, generate, cancel, stop)
and :class:`WorkerGenerator`, a generator whose pixels come from the worker."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from ...errors import GenpostError, TransientError
from ...progress import ProgressFn
from .protocol import WORKER_PYTHON_ENV, JobCancelled, default_socket, save_request

log = logging.getLogger("genpost.worker")


# -----------------------------------------------------------------------------------------
class WorkerClient:
    """Talks to the user's worker; starts a fresh one when none answers.

    ``python``: interpreter for a spawned worker (default ``$GENPOST_WORKER_PYTHON`` or
    ``sys.executable``; inside Houdini point it at a plain Python with genpost installed).
    ``worker_args``: extra ``genpost worker`` arguments (e.g. ``["--preload", "mymodule"]``).
    """

    def __init__(
        self,
        socket_path: str | os.PathLike[str] | None = None,
        *,
        autostart: bool = True,
        start_timeout: float = 60.0,
        python: str | None = None,
        worker_args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.socket_path = Path(socket_path) if socket_path else default_socket()
        self.autostart = autostart
        self.start_timeout = start_timeout
        self.python = python or os.environ.get(WORKER_PYTHON_ENV) or sys.executable
        self.worker_args = list(worker_args)
        self.env = dict(env) if env is not None else None
        self.process: subprocess.Popen[bytes] | None = None

    # connection helpers
    def _connect(self, timeout: float | None = 5.0) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(str(self.socket_path))
        except OSError:
            sock.close()
            raise
        return sock

    def _call(self, message: Mapping[str, Any], timeout: float = 10.0) -> dict[str, Any]:
        with contextlib.closing(self._connect(timeout)) as sock:
            sock.sendall((json.dumps(message) + "\n").encode("utf-8"))
            reply = sock.makefile("rb").readline()
        if not reply:
            raise TransientError(f"genpost worker at {self.socket_path} closed the connection")
        return json.loads(reply)

    def ping(self, timeout: float = 5.0) -> dict[str, Any] | None:
        """The worker's status, or None when no worker answers."""
        try:
            return self._call({"op": "ping"}, timeout=timeout)
        except (OSError, ValueError, TransientError):
            return None

    def ensure_running(self) -> dict[str, Any]:
        """Ping; start a worker when none answers (and ``autostart``); return its status."""
        status = self.ping()
        if status is not None:
            return status
        if not self.autostart:
            raise TransientError(f"no genpost worker answers on {self.socket_path}")
        log_path = self.socket_path.parent / "worker.log"
        cmd = [self.python, "-m", "genpost_houdini.cli", "worker", "--socket", str(self.socket_path), *self.worker_args]
        log.info("starting a genpost worker: %s", " ".join(cmd))
        with open(log_path, "ab") as log_fh:
            self.process = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=log_fh, stderr=log_fh, start_new_session=True,
                env={**os.environ, **self.env} if self.env is not None else None,
            )
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            status = self.ping(timeout=1.0)
            if status is not None:
                return status
            if self.process.poll() is not None:
                status = self.ping(timeout=1.0)  # lost a start race to another client's worker
                if status is not None:
                    return status
                raise TransientError(f"genpost worker exited with code {self.process.returncode}; see {log_path}")
            time.sleep(0.1)
        raise TransientError(f"genpost worker did not answer within {self.start_timeout:.0f} s; see {log_path}")

    def release(self) -> int:
        """Drop every model the worker holds; return how many."""
        return int(self._call({"op": "release"}).get("released", 0))

    def shutdown(self) -> bool:
        """Ask the worker to stop; False when none was running."""
        try:
            self._call({"op": "shutdown"})
        except (OSError, TransientError):
            return False
        return True

    def cancel(self, job_id: str) -> bool:
        """Cancel job ``job_id`` from another connection; True when the worker knew it."""
        return bool(self._call({"op": "cancel", "id": job_id}).get("found"))

    def generate(
        self,
        request: Any,
        generator: str = "classical",
        options: Mapping[str, Any] | None = None,
        *,
        progress: ProgressFn | None = None,
        cancel: threading.Event | Callable[[], bool] | None = None,
        job_id: str | None = None,
    ) -> Any:
        """Run ``generator`` on ``request`` in the worker; return the (F, H, W, 3) images.

        ``cancel`` (an Event or a callable) is polled while waiting: when set, the connection is
        closed, the worker stops the job between steps, and JobCancelled is raised. An exception
        here (KeyboardInterrupt from an interrupted cook) closes the connection too, which
        cancels the job. A worker that dies mid-job gives TransientError (retry).
        """
        import numpy as np

        self.ensure_running()
        job_id = job_id or uuid.uuid4().hex
        folder = Path(tempfile.mkdtemp(prefix="job-", dir=self.socket_path.parent))
        is_cancelled = cancel.is_set if isinstance(cancel, threading.Event) else (cancel or (lambda: False))
        try:
            req_path = save_request(request, folder / "request.npz")
            out_path = folder / "result.npz"
            message = {"op": "generate", "id": job_id, "generator": generator, "options": dict(options or {}),
                       "request": str(req_path), "output": str(out_path)}
            with contextlib.closing(self._connect()) as sock:
                sock.sendall((json.dumps(message) + "\n").encode("utf-8"))
                sock.settimeout(0.2)
                buffer = b""
                while True:
                    if is_cancelled():
                        raise JobCancelled(f"job {job_id} cancelled by the client")
                    try:
                        chunk = sock.recv(65536)
                    except socket.timeout:
                        continue
                    if not chunk:
                        raise TransientError(f"genpost worker at {self.socket_path} died during job {job_id}; retry")
                    buffer += chunk
                    while b"\n" in buffer:
                        line, buffer = buffer.split(b"\n", 1)
                        reply = json.loads(line)
                        if reply.get("event") == "progress":
                            if progress is not None:
                                progress(float(reply["fraction"]), str(reply["message"]))
                            continue
                        if not reply.get("ok"):
                            raise _remote_error(reply)
                        with np.load(reply["output"], allow_pickle=False) as data:
                            return np.array(data["images"])
        finally:
            for p in folder.iterdir():
                with contextlib.suppress(OSError):
                    p.unlink()
            with contextlib.suppress(OSError):
                folder.rmdir()


def _remote_error(reply: Mapping[str, Any]) -> GenpostError:
    """Rebuild the worker's error with the same exit code."""
    from ... import errors

    if reply.get("event") == "cancelled":
        return JobCancelled(str(reply.get("error")))
    cls = getattr(errors, str(reply.get("error_type")), None)
    if isinstance(cls, type) and issubclass(cls, GenpostError):
        return cls(f"worker: {reply.get('error')}")
    exc = GenpostError(f"worker: {reply.get('error')}")
    exc.exit_code = int(reply.get("exit_code", 1))
    return exc


class WorkerGenerator:
    """A model generator whose ``generate`` runs in a ``genpost worker`` (a farm session's).

    Name, ``temporal``, ``window``, ``overlap`` and provenance come from the local instance
    (which never loads weights for them); the pixels come from the worker, which holds the model
    across tasks.
    """

    def __init__(self, local: Any, name: str, options: Mapping[str, Any], socket: str):
        self._local = local
        self.name = name
        self.options = dict(options)
        self.socket = socket
        self.temporal = bool(getattr(local, "temporal", False))
        self.window = getattr(local, "window", None)
        self.overlap = getattr(local, "overlap", None)

    def provenance(self) -> dict[str, Any]:
        return dict(self._local.provenance())

    def generate(self, request: Any, progress: Any = None) -> Any:
        client = WorkerClient(self.socket, autostart=True)
        return client.generate(request, self.name, self.options, progress=progress)
