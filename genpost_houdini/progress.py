"""Progress reporting for long work: human lines on stderr, or OpenJD's `openjd_progress:`.

Jobs take a ``progress(fraction, message)`` callable; hosts (CLI, farm, Houdini) choose how to
show it. Lines are rate-limited so a farm log is not flooded.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Callable, TextIO

#: The one progress type: ``progress(fraction, message)``, fraction of the work done in [0, 1].
#: Jobs, generators, QC and the worker client all take one; hosts decide how to show it.
ProgressFn = Callable[[float, str], None]
#: How a :class:`ProgressPrinter` shows progress (``--progress`` of the job commands).
STYLES = ("text", "openjd", "none")
#: ``--progress`` of ``genpost run`` / ``farm run``: a style, or ``auto`` (openjd inside OpenJD).
MODES = ("auto", *STYLES)


class ProgressPrinter:
    """``progress(fraction, message)`` that prints at most every ``interval`` seconds."""

    def __init__(self, label: str, *, style: str = "text", stream: TextIO | None = None, interval: float = 0.5):
        if style not in STYLES:
            raise ValueError(f"unknown progress style {style!r}")
        self.label = label
        self.style = style
        self.stream = stream or sys.stderr
        self.interval = interval
        self._last = 0.0
        self._started = time.monotonic()

    def __call__(self, fraction: float, message: str) -> None:
        if self.style == "none":
            return
        if self.style == "text" and logging.getLogger("genpost").getEffectiveLevel() > logging.INFO:
            return  # `genpost -q`: human progress lines are quiet too (OpenJD's are not)
        now = time.monotonic()
        if fraction < 1.0 and now - self._last < self.interval:
            return
        self._last = now
        pct = max(0.0, min(100.0, 100.0 * fraction))
        if self.style == "openjd":
            print(f"openjd_progress: {pct:.1f}", file=self.stream, flush=True)
            print(f"openjd_status: {message}", file=self.stream, flush=True)
        else:
            elapsed = now - self._started
            print(f"genpost {self.label}: {pct:5.1f}% {message} ({elapsed:.1f}s)", file=self.stream, flush=True)
