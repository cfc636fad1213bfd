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
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import signal
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

from .. import __version__
from ..errors import GenpostError, TransientError, UsageError

log = logging.getLogger("genpost.worker")

WORKER_DIR_ENV = "GENPOST_WORKER_DIR"
WORKER_PYTHON_ENV = "GENPOST_WORKER_PYTHON"
SOCKET_NAME = "worker.sock"


class JobCancelled(TransientError):
    """The client cancelled its request (interrupted cook); nothing was written."""


class _Cancel(BaseException):
    """Raised inside a job's progress callback to stop it (a BaseException, so a generator's own
    ``except Exception`` cannot swallow it)."""


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

    from ..atomic import atomic_path

    # Array-valued options (camera matrices, metric depth) travel as arrays, the rest as JSON.
    array_options = {k: np.asarray(v) for k, v in request.options.items() if isinstance(v, np.ndarray)}
    meta = {
        "frames": [int(f) for f in request.frames],
        "seed": int(request.seed),
        "prompt": request.prompt,
        "negative_prompt": request.negative_prompt,
        "strength": float(request.strength),
        "colourspace": request.colourspace,
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

    from ..generators.base import GenerationRequest

    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        for key in meta.pop("array_options", []):
            meta["options"][key] = np.array(data[f"option_{key}"])
        return GenerationRequest(**{k: data[k] for k in _ARRAYS}, **meta)


# -- server --------------------------------------------------------------------------------
class _Job:
    def __init__(self, job_id: str) -> None:
        self.id = job_id
        self.cancel = threading.Event()


class WorkerServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """The worker: a threaded Unix-socket server; jobs run one at a time under ``gpu_lock``."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, path: Path, *, idle_timeout: float | None = None) -> None:
        self.path = path
        self.idle_timeout = idle_timeout
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
            from .registry import get_registry

            self.send({"ok": True, "pid": os.getpid(), "version": __version__,
                       "loaded": [list(map(str, k)) for k in get_registry().loaded()], "busy": self.server.active})
        elif op == "release":
            from .registry import get_registry

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
                result = run_generate(message, job.cancel, self.send)
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
    message: Mapping[str, Any], cancel: threading.Event, send: Callable[[Mapping[str, Any]], None]
) -> dict[str, Any]:
    """Run one generate request in this process; write the result npz; return the reply fields."""
    import numpy as np

    from ..atomic import atomic_path
    from ..generators.registry import get_generator
    from .registry import get_registry

    name = str(message.get("generator") or "classical")
    options = dict(message.get("options") or {})
    request = load_request(message["request"])
    key = ("generator", name, json.dumps(options, sort_keys=True, default=str))
    generator = get_registry().get(key, lambda: get_generator(name, **options))

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
          preload: Sequence[str] = ()) -> int:
    """Run a worker in this process until shutdown, SIGTERM or ``idle_timeout`` seconds idle.

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
        server = WorkerServer(path, idle_timeout=idle_timeout)
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
            from .registry import get_registry

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


# -- client --------------------------------------------------------------------------------
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
        progress: Callable[[float, str], None] | None = None,
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
    from .. import errors

    if reply.get("event") == "cancelled":
        return JobCancelled(str(reply.get("error")))
    cls = getattr(errors, str(reply.get("error_type")), None)
    if isinstance(cls, type) and issubclass(cls, GenpostError):
        return cls(f"worker: {reply.get('error')}")
    exc = GenpostError(f"worker: {reply.get('error')}")
    exc.exit_code = int(reply.get("exit_code", 1))
    return exc
