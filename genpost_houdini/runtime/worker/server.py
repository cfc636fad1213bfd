"""The worker process: a threaded Unix-socket server running generation jobs one at a time.

Models stay loaded in the process-wide registry between requests; :func:`serve` runs until
shutdown, SIGTERM or an idle timeout. Jobs are cancelled between progress calls (a client
closing its connection or sending ``cancel``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import signal
import socketserver
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

from ... import __version__
from ...errors import GenpostError, TransientError, UsageError
from .protocol import JobCancelled, default_socket, load_request

log = logging.getLogger("genpost.worker")

#: ``make_generator(name, **options)``: builds a generator by name. The worker is handed one
#: (``genpost worker`` passes :func:`genpost_houdini.generators.get_generator`), so the runtime
#: never imports the generators that run on it.
GeneratorFactory = Callable[..., Any]


class _Cancel(BaseException):
    """Raised inside a job's progress callback to stop it (a BaseException, so a generator's own
    ``except Exception`` cannot swallow it)."""


# -----------------------------------------------------------------------------------------
class _Job:
    def __init__(self, job_id: str) -> None:
        self.id = job_id
        self.cancel = threading.Event()


class WorkerServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """The worker: a threaded Unix-socket server; jobs run one at a time under ``gpu_lock``."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, path: Path, *, idle_timeout: float | None = None, make_generator: GeneratorFactory) -> None:
        self.path = path
        self.idle_timeout = idle_timeout
        self.make_generator = make_generator
        self.gpu_lock = threading.Lock()
        self.jobs: dict[str, _Job] = {}
        self.jobs_lock = threading.Lock()
        self.last_activity = time.monotonic()
        self.active = 0
        super().__init__(str(path), _Handler)
        os.chmod(path, 0o600)

    def touch(self) -> None:
        self.last_activity = time.monotonic()


class _Handler(socketserver.StreamRequestHandler):
    server: WorkerServer

    def send(self, message: Mapping[str, Any]) -> None:
        with contextlib.suppress(OSError):
            self.wfile.write((json.dumps(message) + "\n").encode("utf-8"))
            self.wfile.flush()

    def handle(self) -> None:
        self.server.touch()
        line = self.rfile.readline()
        if not line:
            return
        try:
            message = json.loads(line)
            op = message["op"]
        except (ValueError, KeyError, TypeError):
            self.send({"ok": False, "error": "malformed request line", "exit_code": 2})
            return
        if op == "ping":
            from ..registry import get_registry

            self.send({"ok": True, "pid": os.getpid(), "version": __version__,
                       "loaded": [list(map(str, k)) for k in get_registry().loaded()], "busy": self.server.active})
        elif op == "release":
            from ..registry import get_registry

            self.send({"ok": True, "released": get_registry().release()})
        elif op == "shutdown":
            self.send({"ok": True, "pid": os.getpid()})
            threading.Thread(target=self.server.shutdown, daemon=True).start()
        elif op == "cancel":
            with self.server.jobs_lock:
                job = self.server.jobs.get(str(message.get("id")))
            if job is not None:
                job.cancel.set()
            self.send({"ok": True, "found": job is not None})
        elif op == "generate":
            with self.server.jobs_lock:
                self.server.active += 1
            try:
                self._generate(message)
            finally:
                with self.server.jobs_lock:
                    self.server.active -= 1
                self.server.touch()
        else:
            self.send({"ok": False, "error": f"unknown op {op!r}", "exit_code": 2})

    def _watch(self, job: _Job, done: threading.Event) -> None:
        """Cancel ``job`` when the client closes its connection or sends a cancel line."""
        sock = self.request
        while not done.is_set():
            try:
                readable, _, _ = select.select([sock], [], [], 0.2)
                if not readable:
                    continue
                data = sock.recv(4096)
            except (OSError, ValueError):
                data = b""
            if not data or b"cancel" in data:
                if not done.is_set():
                    log.info("job %s: client cancelled", job.id)
                    job.cancel.set()
                return

    def _generate(self, message: Mapping[str, Any]) -> None:
        job = _Job(str(message.get("id") or uuid.uuid4().hex))
        done = threading.Event()
        with self.server.jobs_lock:
            self.server.jobs[job.id] = job
        watcher = threading.Thread(target=self._watch, args=(job, done), daemon=True)
        watcher.start()
        try:
            with _acquire_cancellable(self.server.gpu_lock, job.cancel):
                result = run_generate(message, job.cancel, self.send, self.server.make_generator)
            self.send({"ok": True, "event": "result", **result})
        except _Cancel:
            self.send({"ok": False, "event": "cancelled", "error": f"job {job.id} cancelled",
                       "exit_code": JobCancelled.exit_code})
        except GenpostError as exc:
            self.send({"ok": False, "error": str(exc), "error_type": type(exc).__name__, "exit_code": exc.exit_code})
        except Exception as exc:  # a bug in a generator must not kill the worker
            log.exception("job %s failed", job.id)
            self.send({"ok": False, "error": f"internal error: {exc!r}", "error_type": type(exc).__name__, "exit_code": 1})
        finally:
            done.set()
            with self.server.jobs_lock:
                self.server.jobs.pop(job.id, None)


@contextlib.contextmanager
def _acquire_cancellable(lock: threading.Lock, cancel: threading.Event) -> Iterator[None]:
    while not lock.acquire(timeout=0.2):
        if cancel.is_set():
            raise _Cancel()
    try:
        yield
    finally:
        lock.release()


def run_generate(
    message: Mapping[str, Any], cancel: threading.Event, send: Callable[[Mapping[str, Any]], None],
    make_generator: GeneratorFactory,
) -> dict[str, Any]:
    """Run one generate request in this process with the generator ``make_generator(name,
    **options)`` builds (kept in the process registry); write the result npz; return the reply
    fields."""
    import numpy as np

    from ...atomic import atomic_path
    from ..registry import get_registry

    name = str(message.get("generator") or "classical")
    options = dict(message.get("options") or {})
    request = load_request(message["request"])
    key = ("generator", name, json.dumps(options, sort_keys=True, default=str))
    generator = get_registry().get(key, lambda: make_generator(name, **options))

    def progress(fraction: float, text: str) -> None:
        if cancel.is_set():
            raise _Cancel()
        send({"event": "progress", "fraction": float(fraction), "message": str(text)})

    if cancel.is_set():
        raise _Cancel()
    started = time.perf_counter()
    images = generator.generate(request, progress)
    if cancel.is_set():
        raise _Cancel()
    out = Path(message["output"])
    with atomic_path(out) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, images=np.asarray(images, dtype=np.float32))
    return {"output": str(out), "seconds": round(time.perf_counter() - started, 3), "provenance": generator.provenance()}


def serve(socket_path: str | os.PathLike[str] | None = None, *, idle_timeout: float | None = None,
          preload: Sequence[str] = (), make_generator: GeneratorFactory | None = None) -> int:
    """Run a worker in this process until shutdown, SIGTERM or ``idle_timeout`` seconds idle,
    building generators with ``make_generator`` (required to serve).

    Only one worker serves a socket: a second one exits with TransientError. A stale socket
    file (no process behind it) is replaced.
    """
    import filelock

    path = Path(socket_path) if socket_path else default_socket()
    if len(os.fsencode(path)) > 100:
        raise UsageError(f"socket path {path} is too long for a Unix socket (use a shorter --socket)")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    for module in preload:
        __import__(module)
    lock = filelock.FileLock(str(path) + ".lock", timeout=0)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise TransientError(f"another genpost worker already serves {path}") from None
    try:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        if make_generator is None:
            raise UsageError("serve() needs make_generator (genpost worker passes genpost_houdini.generators.get_generator)")
        server = WorkerServer(path, idle_timeout=idle_timeout, make_generator=make_generator)
        (path.parent / (path.name + ".pid")).write_text(f"{os.getpid()}\n")
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
        if idle_timeout:
            threading.Thread(target=_idle_watch, args=(server,), daemon=True).start()
        log.info("genpost worker %d listening on %s", os.getpid(), path)
        try:
            server.serve_forever(poll_interval=0.2)
        finally:
            server.server_close()
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            from ..registry import get_registry

            get_registry().release()
            log.info("genpost worker %d stopped", os.getpid())
    finally:
        lock.release()
    return 0


def _idle_watch(server: WorkerServer) -> None:
    assert server.idle_timeout
    while True:
        time.sleep(min(1.0, server.idle_timeout))
        if server.active == 0 and time.monotonic() - server.last_activity > server.idle_timeout:
            log.info("idle for %.0f s: stopping", server.idle_timeout)
            server.shutdown()
            return
