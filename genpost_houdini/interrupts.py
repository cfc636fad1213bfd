"""Stopping cleanly on SIGINT and SIGTERM.

``genpost`` turns both signals into exceptions raised in the main thread (``KeyboardInterrupt``
and its subclass :class:`Terminated`), so every clean-up written for Ctrl-C also serves the
farm's cancel: temporaries are removed, the frame being written is published and recorded, the
exit code says which signal (130, 143). A few steps must not be cut in half by the exception --
recording a published frame in the manifest -- and run inside :func:`deferred`: a signal that
arrives there is raised when the step is done.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Any, Callable, Iterator

_state = threading.local()


class Terminated(KeyboardInterrupt):
    """SIGTERM (what OpenJD, Deadline and most schedulers send to cancel), raised like Ctrl-C."""


def _raise(exc: BaseException) -> None:
    if getattr(_state, "depth", 0):
        if getattr(_state, "pending", None) is None:
            _state.pending = exc
        return
    raise exc


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Run the body whole: SIGINT/SIGTERM arriving inside it are raised when it ends."""
    _state.depth = getattr(_state, "depth", 0) + 1
    try:
        yield
    finally:
        _state.depth -= 1
        pending = getattr(_state, "pending", None)
        if _state.depth == 0 and pending is not None:
            _state.pending = None
            raise pending


def _on_sigint(signum: int, frame: Any) -> None:
    _raise(KeyboardInterrupt())


def _on_sigterm(signum: int, frame: Any) -> None:
    # Clean-up runs once: a second SIGTERM during it is ignored (SIGKILL still works).
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _raise(Terminated())


@contextlib.contextmanager
def handled() -> Iterator[None]:
    """Inside: SIGINT raises KeyboardInterrupt and SIGTERM raises :class:`Terminated` (both
    deferred inside :func:`deferred`); the previous handlers come back on exit. Does nothing
    outside the main thread (only it can set signal handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[int, Callable[..., Any] | int | None] = {}
    try:
        for sig, handler in ((signal.SIGINT, _on_sigint), (signal.SIGTERM, _on_sigterm)):
            try:
                previous[sig] = signal.signal(sig, handler)
            except (ValueError, OSError):  # pragma: no cover - embedded interpreters
                pass
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
