"""Run a ``genpost`` command as a child process that an interrupted cook can stop cleanly.

No hou here: the node glue passes ``should_stop`` (which asks Houdini's interrupt state) and
``on_progress``. The child runs in its own process group; stopping it sends SIGTERM to the
group, then SIGKILL after a grace period, and always reaps it, so nothing is left running and
the next cook starts from a clean state (finished frames are reused by the job's manifest).
"""

from __future__ import annotations

import collections
import os
import queue
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

_PROGRESS_PATTERNS = (
    re.compile(r"openjd_progress:\s*([0-9.]+)"),
    re.compile(r"progress[:=]\s*([0-9.]+)\s*%"),
)
_FRACTION = re.compile(r"\((\d+)\s*/\s*(\d+)\)")

#: Variables of Houdini's own Python that must not leak into the genpost child process.
_HOUDINI_PYTHON_VARS = ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONEXECUTABLE", "__PYVENV_LAUNCHER__")


@dataclass(frozen=True)
class ProcessResult:
    """How a child process ended: its exit code (None when stopped), whether it was stopped,
    and the last lines it printed (for error messages)."""

    returncode: int | None
    interrupted: bool
    tail: str


def parse_progress(line: str) -> float | None:
    """Fraction done (0..1) from a progress line genpost prints, or None."""
    for pattern in _PROGRESS_PATTERNS:
        m = pattern.search(line)
        if m:
            return max(0.0, min(1.0, float(m.group(1)) / 100.0))
    m = _FRACTION.search(line)
    if m and int(m.group(2)) > 0:
        return max(0.0, min(1.0, int(m.group(1)) / int(m.group(2))))
    return None


def child_environment(environ: Mapping[str, str] | None = None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for the genpost child: Houdini's Python variables removed (they would make
    the model environment's Python load Houdini's libraries), ``extra`` added."""
    env = dict(os.environ if environ is None else environ)
    for key in _HOUDINI_PYTHON_VARS:
        env.pop(key, None)
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.update(extra or {})
    return env


def _reader(stream, lines: "queue.Queue[str | None]") -> None:
    try:
        for line in iter(stream.readline, ""):
            lines.put(line.rstrip("\n"))
    finally:
        lines.put(None)


def _stop(proc: subprocess.Popen, grace_s: float) -> None:
    """SIGTERM the child's process group, SIGKILL it after ``grace_s``, reap it."""
    if proc.poll() is not None:
        return
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGTERM)
        else:  # pragma: no cover - Windows
            proc.terminate()
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:  # pragma: no cover
            proc.kill()
        proc.wait()
    except ProcessLookupError:
        proc.wait()


def run_interruptible(
    argv: Sequence[str],
    *,
    should_stop: Callable[[], bool],
    on_progress: Callable[[float | None, str], None] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    log_path: str | os.PathLike[str] | None = None,
    poll_s: float = 0.1,
    grace_s: float = 5.0,
    tail_lines: int = 40,
) -> ProcessResult:
    """Run ``argv``, calling ``should_stop()`` every ``poll_s`` seconds and ``on_progress`` for
    each output line, in the calling thread (Houdini's API is not thread-safe).

    When ``should_stop()`` returns True the child's whole process group is stopped and the
    result says ``interrupted``. stdout and stderr are merged; every line goes to ``log_path``
    when given.
    """
    kwargs: dict = {"start_new_session": True} if os.name == "posix" else {
        "creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
    }
    log = open(log_path, "a", encoding="utf-8") if log_path else None  # noqa: SIM115
    tail: collections.deque[str] = collections.deque(maxlen=tail_lines)
    try:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
            bufsize=1,
            **kwargs,
        )
        lines: queue.Queue[str | None] = queue.Queue()
        reader = threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True)
        reader.start()
        interrupted = False
        eof = False
        try:
            while True:
                deadline = time.monotonic() + poll_s
                while not eof:
                    try:
                        line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
                    except queue.Empty:
                        break
                    if line is None:
                        eof = True
                        break
                    tail.append(line)
                    if log:
                        log.write(line + "\n")
                    if on_progress:
                        on_progress(parse_progress(line), line)
                if should_stop():
                    interrupted = True
                    _stop(proc, grace_s)
                    break
                if eof:
                    if proc.poll() is not None:
                        break
                    time.sleep(poll_s)
        except BaseException:
            _stop(proc, grace_s)
            raise
        reader.join(timeout=grace_s)
        if proc.stdout:
            proc.stdout.close()
        return ProcessResult(None if interrupted else proc.returncode, interrupted, "\n".join(tail))
    finally:
        if log:
            log.close()


def log_file_for(out_dir: str | os.PathLike[str], command: str) -> Path:
    """Where a node writes its child's output: ``OUT/.genpost/houdini_<command>.log``."""
    path = Path(out_dir) / ".genpost" / f"houdini_{command}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
