"""Frame sequences and frame ranges.

Patterns accept ``####`` (one ``#`` per digit), ``%04d``, ``$F4`` / ``$F`` (Houdini) and
``<F>`` / ``<F4>``; outputs are always written as ``name.####.exr`` (4-digit, padded).
A token with implicit padding (``$F``, ``<F>``) resolves to the file that exists, 4-digit first.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from ..errors import MissingFrameError, UsageError
from ..limits import MAX_FRAMES

_TOKEN = re.compile(r"(#+)|%0?(\d*)d|\$F(\d*)|<F(\d*)>")


@dataclass(frozen=True)
class FrameSeq:
    """A per-frame file pattern, resolved relative to ``base`` when not absolute."""

    pattern: str
    prefix: str
    suffix: str
    padding: int
    implicit_padding: bool

    @classmethod
    def parse(cls, pattern: str | os.PathLike[str], base: str | os.PathLike[str] | None = None) -> "FrameSeq":
        text = os.fspath(pattern)
        if base is not None and not os.path.isabs(text):
            text = os.path.join(os.fspath(base), text)
        matches = list(_TOKEN.finditer(text))
        if not matches:
            raise UsageError(
                f"frame pattern {text!r} has no frame token: use ####, %04d, $F4 or <F>"
            )
        if len(matches) > 1:
            raise UsageError(f"frame pattern {text!r} has more than one frame token")
        m = matches[0]
        hashes, printf_pad, houdini_pad, angle_pad = m.groups()
        if hashes is not None:
            padding, implicit = len(hashes), False
        elif printf_pad is not None:
            padding, implicit = (int(printf_pad) if printf_pad else 1), False
        elif houdini_pad is not None:
            padding, implicit = (int(houdini_pad) if houdini_pad else 1), not houdini_pad
        else:
            padding, implicit = (int(angle_pad) if angle_pad else 4), not angle_pad
        return cls(text, text[: m.start()], text[m.end():], padding, implicit)

    def path(self, frame: int) -> Path:
        """The file for ``frame``; with implicit padding, the variant that exists (4-digit first)."""
        exact = Path(f"{self.prefix}{self._number(frame, self.padding)}{self.suffix}")
        if not self.implicit_padding or exact.exists():
            return exact
        for pad in (4, 1, 3, 5, 6):
            candidate = Path(f"{self.prefix}{self._number(frame, pad)}{self.suffix}")
            if candidate.exists():
                return candidate
        return exact

    @staticmethod
    def _number(frame: int, pad: int) -> str:
        return f"-{abs(frame):0{pad}d}" if frame < 0 else f"{frame:0{pad}d}"

    @property
    def hash_pattern(self) -> str:
        """The pattern written with ``#`` tokens (what manifests and USD layers record)."""
        return f"{self.prefix}{'#' * max(self.padding, 4 if self.implicit_padding else 1)}{self.suffix}"

    def missing(self, frames: Iterable[int]) -> list[int]:
        return [f for f in frames if not self.path(f).is_file()]

    def require(self, frames: Iterable[int], what: str = "sequence") -> None:
        """Raise MissingFrameError naming every missing frame (and the first missing file)."""
        frames = list(frames)
        gone = self.missing(frames)
        if gone:
            raise MissingFrameError(
                f"{what} {self.pattern}: {len(gone)} of {len(frames)} frames missing "
                f"({format_frames(gone)}), e.g. {self.path(gone[0])}"
            )

    def frames_on_disk(self) -> list[int]:
        """Frame numbers whose files exist, sorted."""
        folder = Path(self.prefix).parent
        stem = Path(self.prefix).name
        if not folder.is_dir():
            return []
        rx = re.compile(re.escape(stem) + r"(-?\d+)" + re.escape(self.suffix) + "$")
        found = []
        for entry in os.scandir(folder):
            m = rx.match(entry.name)
            if m and (self.implicit_padding or len(m.group(1).lstrip("-")) >= self.padding):
                found.append(int(m.group(1)))
        return sorted(set(found))

    def __str__(self) -> str:
        return self.pattern


def has_frame_token(text: str | os.PathLike[str]) -> bool:
    """True when ``text`` holds a frame token (####, %04d, $F4, <F>): a sequence, not one file."""
    return _TOKEN.search(os.fspath(text)) is not None


def output_pattern(folder: str | os.PathLike[str], name: str, ext: str = "exr") -> FrameSeq:
    """The canonical output pattern ``folder/name.####.ext``."""
    return FrameSeq.parse(os.path.join(os.fspath(folder), f"{name}.####.{ext}"))


_RANGE = re.compile(r"^\s*(-?\d+)\s*(?:(?:-|:|\.\.)\s*(-?\d+)\s*(?:[x:by]+\s*(\d+))?)?\s*$")


def parse_frame_range(text: str) -> list[int]:
    """``"1001-1036"``, ``"1001"``, ``"1001-1100x2"`` or ``"1001-1100:2"`` -> frame list.

    Comma-separated parts are joined (``"1001-1010,1020"``); the result is sorted and unique.
    """
    parts = []
    text = str(text)
    if len(text) > 100_000:
        raise UsageError(f"frame range text of {len(text)} characters is too long")
    for part in text.split(","):
        m = _RANGE.match(part)
        if not m:
            raise UsageError(f"bad frame range {text!r}: expected A-B, A-BxSTEP or A")
        start = int(m.group(1))
        end = int(m.group(2)) if m.group(2) is not None else start
        step = int(m.group(3)) if m.group(3) else 1
        if end < start or step < 1:
            raise UsageError(f"bad frame range {text!r}: end before start or step < 1")
        parts.append(range(start, end + 1, step))
    count = sum(len(r) for r in parts)  # counted before any list is built
    if count > MAX_FRAMES:
        raise UsageError(f"frame range {text if len(text) < 80 else text[:77] + '...'} names {count} frames; "
                         f"at most {MAX_FRAMES} per job (split the shot)")
    frames: set[int] = set()
    for r in parts:
        frames.update(r)
    return sorted(frames)


def format_frames(frames: Sequence[int] | Iterable[int]) -> str:
    """Compact text for a frame list: ``[1,2,3,7]`` -> ``"1-3,7"``."""
    items = sorted(set(frames))
    if not items:
        return ""
    parts: list[str] = []
    start = prev = items[0]
    for f in items[1:]:
        if f == prev + 1:
            prev = f
            continue
        parts.append(f"{start}-{prev}" if prev != start else f"{start}")
        start = prev = f
    parts.append(f"{start}-{prev}" if prev != start else f"{start}")
    return ",".join(parts)


def iter_chunks(frames: Sequence[int], size: int) -> Iterator[list[int]]:
    """Consecutive chunks of at most ``size`` frames."""
    for i in range(0, len(frames), size):
        yield list(frames[i:i + size])
