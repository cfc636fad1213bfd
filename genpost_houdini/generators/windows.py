"""Temporal windows for video models, laid on FRAME NUMBERS (never on a request's first index).

Windows of ``length`` = 4k+1 frames start at ``origin + n * stride`` with
``stride = length - overlap``. Window n's first ``overlap`` frames are its **anchors**: they are
window n-1's last frames. A request is processed window by window, in order; a frame's final
pixels come from the first window that covers it, and each later window receives the frames
already final (its anchors) as fully known pixels. So the pixels of a window depend only on
the request's inputs inside that window plus its anchor frames, and its seed only on
(seed, window start frame).

Chunk invariance: two requests give bit-identical pixels for a frame when the window holding
it sees the same inputs, i.e. when each chunk starts at a window start (the window's anchor
frames passed fully known, with the final pixels an earlier chunk produced) and ends at a
window end or at the shot's last frame. :func:`chunk_frames` widens any chunk to that. A
request that starts or ends inside a window has the missing frames of its edge windows padded
from the nearest present frame: deterministic, but not equal to a whole-shot run. (Exact
invariance with no context from earlier chunks would forbid windows from sharing frames at
all; anchoring is what keeps consecutive windows from seaming.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..errors import UsageError

#: Window length and overlap of a temporal generator that does not state its own (Wan: 33, 1).
DEFAULT_WINDOW = 33
DEFAULT_OVERLAP = 1


def check_window(length: int, overlap: int) -> None:
    """Raise :class:`UsageError` unless ``length`` is 4k+1 and 0 < overlap < length."""
    if length < 1 or (length - 1) % 4 != 0:
        raise UsageError(f"window length must be 4k+1 frames (5, 9, 17, 33, 81...), got {length}")
    if length == 1:
        if overlap != 0:
            raise UsageError("a 1-frame window cannot overlap")
        return
    if not 0 < overlap < length:
        raise UsageError(f"window overlap must be in [1, {length - 1}] for {length}-frame windows, got {overlap}")


@dataclass(frozen=True)
class Window:
    """One model call: ``frames`` (all ``length`` frame numbers of the window, ascending)."""

    index: int
    start: int
    length: int
    overlap: int

    @property
    def frames(self) -> tuple[int, ...]:
        return tuple(range(self.start, self.start + self.length))

    @property
    def end(self) -> int:
        """Last frame number (inclusive)."""
        return self.start + self.length - 1

    @property
    def anchors(self) -> tuple[int, ...]:
        """The frames this window shares with the previous one (final before it runs)."""
        return tuple(range(self.start, self.start + self.overlap))


def _stride(length: int, overlap: int) -> int:
    check_window(length, overlap)
    return max(1, length - overlap)


def window_at(index: int, *, length: int, overlap: int, origin: int) -> Window:
    """Window number ``index`` of the grid."""
    stride = _stride(length, overlap)
    return Window(index, origin + index * stride, length, overlap)


def first_window_index(frame: int, *, length: int, overlap: int, origin: int) -> int:
    """Index of the last grid window starting at or before ``frame``."""
    stride = _stride(length, overlap)
    return (frame - origin) // stride


def window_producing(frame: int, *, length: int, overlap: int, origin: int) -> Window:
    """The window whose pixels are final for ``frame``: the first grid window holding it (a
    window's anchors are final from the window before; frames before ``origin + overlap``
    belong to window 0)."""
    stride = _stride(length, overlap)
    index = max(0, (frame - origin - overlap) // stride)
    return window_at(index, length=length, overlap=overlap, origin=origin)


def generator_window(generator: object) -> tuple[int, int]:
    """``(length, overlap)`` of a temporal generator (its ``window`` / ``overlap`` attributes,
    else :data:`DEFAULT_WINDOW` / :data:`DEFAULT_OVERLAP`), checked."""
    length = int(getattr(generator, "window", None) or DEFAULT_WINDOW)
    overlap = getattr(generator, "overlap", None)
    overlap = int(DEFAULT_OVERLAP if overlap is None else overlap)
    if length == 1:
        overlap = 0
    check_window(length, overlap)
    return length, overlap


def plan_windows(frames: Sequence[int], *, length: int, overlap: int, origin: int) -> list[Window]:
    """The windows that produce ``frames``, in processing order.

    The first is the last grid window starting at or before ``min(frames)``; then consecutive
    grid windows until ``max(frames)`` is covered. Windows holding no requested frame (gaps in
    a sparse request) are skipped.
    """
    if not frames:
        return []
    wanted = sorted(set(int(f) for f in frames))
    first = first_window_index(wanted[0], length=length, overlap=overlap, origin=origin)
    out: list[Window] = []
    n = first
    i = 0  # index into wanted of the first frame not yet covered
    while i < len(wanted):
        w = window_at(n, length=length, overlap=overlap, origin=origin)
        if wanted[i] <= w.end:
            out.append(w)
            while i < len(wanted) and wanted[i] <= w.end:
                i += 1
        else:  # jump straight to the window that starts at or before the next wanted frame
            n = max(n + 1, first_window_index(wanted[i], length=length, overlap=overlap, origin=origin))
            continue
        n += 1
    return out


def chunk_frames(
    first: int, last: int, *, shot_first: int, shot_last: int, length: int, overlap: int, origin: int
) -> tuple[list[int], list[int]]:
    """Widen the chunk ``first..last`` so a temporal generator gives whole-shot pixels for it.

    Returns ``(frames, anchors)``: ``frames`` to request (ascending, within the shot) and the
    ``anchors`` among them: the first window's anchor frames, which an earlier chunk made final
    and which must be passed fully known (their final pixels). Every other widened frame is
    passed with its ordinary inputs; frames outside ``first..last`` are generated and discarded.
    """
    if first > last:
        raise UsageError(f"empty chunk {first}-{last}")
    stride = _stride(length, overlap)
    anchors: list[int] = []
    if first <= shot_first:
        start = shot_first
    else:
        # the window producing `first` is the one whose non-anchor part holds it
        window_start = origin + ((first - origin - overlap) // stride) * stride
        if window_start >= shot_first:
            start = window_start
            anchors = list(range(window_start, window_start + overlap))
        else:  # the shot's first window, cut by the shot start: it has no anchors
            start = shot_first
    # run to the end of the window that produces `last` (or to the shot's end)
    n_last = max((last - origin - overlap) // stride, first_window_index(start, length=length, overlap=overlap, origin=origin))
    end = max(min(shot_last, origin + n_last * stride + length - 1), last)
    return list(range(start, end + 1)), anchors
