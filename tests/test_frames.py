from pathlib import Path

import pytest

from genpost_houdini.errors import MissingFrameError, UsageError
from genpost_houdini.shot.frames import FrameSeq, format_frames, parse_frame_range


@pytest.mark.parametrize(
    "pattern, frame, expected",
    [
        ("a/plate.####.exr", 1001, "a/plate.1001.exr"),
        ("a/plate.%04d.exr", 7, "a/plate.0007.exr"),
        ("a/plate.$F4.exr", 12, "a/plate.0012.exr"),
        ("a/plate.<F>.exr", 12, "a/plate.0012.exr"),
        ("a/plate.<F5>.exr", 12, "a/plate.00012.exr"),
        ("a/plate.#.exr", 12, "a/plate.12.exr"),
    ],
)
def test_patterns(pattern: str, frame: int, expected: str) -> None:
    assert str(FrameSeq.parse(pattern).path(frame)) == expected


def test_implicit_padding_finds_existing(tmp_path: Path) -> None:
    (tmp_path / "d.12.exr").write_bytes(b"x")
    seq = FrameSeq.parse(str(tmp_path / "d.$F.exr"))
    assert seq.path(12).name == "d.12.exr"
    assert seq.frames_on_disk() == [12]


def test_missing_frames_named(tmp_path: Path) -> None:
    for f in (1, 2, 4):
        (tmp_path / f"p.{f:04d}.exr").write_bytes(b"x")
    seq = FrameSeq.parse(str(tmp_path / "p.####.exr"))
    with pytest.raises(MissingFrameError, match=r"3,5.*p\.0003\.exr"):
        seq.require(range(1, 6), "plate")
    assert seq.frames_on_disk() == [1, 2, 4]


def test_bad_patterns() -> None:
    with pytest.raises(UsageError):
        FrameSeq.parse("plate.exr")
    with pytest.raises(UsageError):
        FrameSeq.parse("plate.####.####.exr")


def test_ranges() -> None:
    assert parse_frame_range("1001-1004") == [1001, 1002, 1003, 1004]
    assert parse_frame_range("1-9x4") == [1, 5, 9]
    assert parse_frame_range("1-3,7") == [1, 2, 3, 7]
    assert format_frames([1, 2, 3, 7, 9, 10]) == "1-3,7,9-10"
    with pytest.raises(UsageError):
        parse_frame_range("9-1")
    with pytest.raises(UsageError):
        parse_frame_range("abc")
