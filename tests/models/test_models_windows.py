"""Temporal window planning: laid on frame numbers, never on a request's first index."""

from __future__ import annotations

import pytest

from genpost_houdini.errors import UsageError
from genpost_houdini.generators.windows import check_window, chunk_frames, plan_windows


def starts(frames: list[int], **kw: int) -> list[int]:
    return [w.start for w in plan_windows(frames, **kw)]


GRID = dict(length=9, overlap=1, origin=1001)


def test_windows_follow_frame_numbers_not_request_start() -> None:
    assert starts(list(range(1001, 1018)), **GRID) == [1001, 1009]
    # a request starting mid-window uses the same grid window (partially), not one of its own
    assert starts(list(range(1005, 1018)), **GRID) == [1001, 1009]
    assert starts(list(range(1009, 1018)), **GRID) == [1009]
    assert starts(list(range(1010, 1030)), **GRID) == [1009, 1017, 1025]
    w = plan_windows([1010], **GRID)[0]
    assert w.frames == tuple(range(1009, 1018)) and w.anchors == (1009,)


def test_sparse_requests_skip_empty_windows() -> None:
    assert starts([1001, 1050], **GRID) == [1001, 1049]


def test_overlap_and_length_checked() -> None:
    check_window(1, 0)
    check_window(81, 8)
    with pytest.raises(UsageError, match="4k\\+1"):
        check_window(8, 1)
    with pytest.raises(UsageError, match="overlap"):
        check_window(9, 9)
    assert starts(list(range(1001, 1020)), length=9, overlap=2, origin=1001) == [1001, 1008, 1015]


def test_chunk_frames_widen_to_windows_with_anchors() -> None:
    shot = dict(shot_first=1001, shot_last=1100, **GRID)
    assert chunk_frames(1001, 1009, **shot) == (list(range(1001, 1010)), [])
    frames, anchors = chunk_frames(1010, 1017, **shot)
    assert frames == list(range(1009, 1018)) and anchors == [1009]
    frames, anchors = chunk_frames(1012, 1020, **shot)  # a balanced farm chunk: off the grid both ends
    assert frames == list(range(1009, 1026)) and anchors == [1009]  # 1010, 1011 regenerated
    frames, anchors = chunk_frames(1095, 1100, **shot)  # the last window is cut by the shot end
    assert frames == list(range(1089, 1101)) and anchors == [1089]
    frames, anchors = chunk_frames(1005, 1006, shot_first=1003, shot_last=1100, **GRID)
    assert frames == list(range(1003, 1010)) and anchors == []  # the shot's first window has none
