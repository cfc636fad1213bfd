"""Progress of a run over several wedges, printed by :class:`genpost_houdini.progress.ProgressPrinter`.

A :class:`Progress` is the ``progress`` callable handed to a job's ``run_job``: the job calls it
as ``progress(fraction, message)`` (or ``progress(done, total)``); the wedges of one run map onto
one 0-100 scale. In ``openjd`` mode the lines are ``openjd_progress: N`` / ``openjd_status: ...``,
which OpenJD and Deadline Cloud read from the task's output.
"""

from __future__ import annotations

import os
from typing import Any, TextIO

from ..progress import MODES, ProgressPrinter

__all__ = ["MODES", "Progress", "resolve_mode"]


def resolve_mode(mode: str) -> str:
    """``auto`` -> ``openjd`` inside an OpenJD / Deadline Cloud session, else ``text``."""
    if mode != "auto":
        return mode
    if any(k.startswith(("OPENJD_", "DEADLINE_SESSION")) for k in os.environ):
        return "openjd"
    return "text"


class Progress:
    """Callable progress sink over ``parts`` consecutive sub-runs (wedges)."""

    def __init__(self, mode: str = "auto", *, parts: int = 1, label: str = "run", stream: TextIO | None = None) -> None:
        self.mode = resolve_mode(mode)
        self.parts = max(1, parts)
        self.part = 0
        self._printer = ProgressPrinter(label, style=self.mode, stream=stream)

    def start_part(self, index: int, label: str = "") -> None:
        self.part = index
        self._printer(self.part / self.parts, label or f"part {index + 1} of {self.parts}")

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        fraction = _fraction(args, kwargs)
        if fraction is None:
            return
        message = kwargs.get("message", args[1] if len(args) > 1 and isinstance(args[1], str) else "")
        self._printer((self.part + min(max(fraction, 0.0), 1.0)) / self.parts, str(message) or "working")

    def finish(self) -> None:
        self._printer(1.0, "done")


def _fraction(args: tuple[Any, ...], kwargs: dict[str, Any]) -> float | None:
    first = kwargs.get("fraction", kwargs.get("done", args[0] if args else None))
    second = kwargs.get("total", args[1] if len(args) > 1 else None)
    if isinstance(first, bool) or not isinstance(first, (int, float)):
        return None
    if isinstance(second, (int, float)) and not isinstance(second, bool):
        return float(first) / float(second) if second else 1.0
    return float(first)
