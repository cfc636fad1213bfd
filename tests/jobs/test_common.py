"""The shared work-unit loop: pipelined writes, manifest order, failures lose nothing."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from genpost_houdini.atomic import write_bytes_atomic
from genpost_houdini.errors import BadInputError, UsageError
from genpost_houdini.jobs.common import merge_params, run_frames


def _loop(out: Path, frames, *, fail_at=None, force=False, writes=None):
    main_thread = threading.get_ident()

    def render(t: int, digest: str) -> bytes:
        assert threading.get_ident() == main_thread
        if t == fail_at:
            raise BadInputError(f"frame {t} is bad")
        return f"frame {t} {digest}".encode()

    def write(t: int, digest: str, data: bytes) -> list[Path]:
        if writes is not None:
            writes.append((t, threading.get_ident() != main_thread))
        return [write_bytes_atomic(out / f"x.{t:04d}.txt", data)]

    return run_frames(out_dir=out, frames=frames, shot_frames=range(1, 11), inputs_hash=lambda t: f"h{t}",
                      render=render, write=write, force=force, progress=lambda f, m: None)


def test_writes_overlap_renders_and_are_recorded_in_order(tmp_path: Path) -> None:
    writes: list = []
    written, skipped = _loop(tmp_path, [1, 2, 3, 4], writes=writes)
    assert written == [1, 2, 3, 4] and skipped == []
    assert [t for t, _ in writes] == [1, 2, 3, 4] and all(off for _, off in writes), "writes run off the main thread"
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert json.dumps(manifest).count("x.000") == 4
    assert _loop(tmp_path, [1, 2, 3, 4]) == ([], [1, 2, 3, 4])


def test_a_failure_keeps_every_frame_published_before_it(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="frame 3"):
        _loop(tmp_path, [1, 2, 3, 4], fail_at=3)
    assert sorted(p.name for p in tmp_path.glob("x.*")) == ["x.0001.txt", "x.0002.txt"]
    written, skipped = _loop(tmp_path, [1, 2, 3, 4])
    assert written == [3, 4] and skipped == [1, 2]


def test_frames_outside_the_shot_and_bad_params(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="outside the shot range"):
        _loop(tmp_path, [9, 11])
    with pytest.raises(UsageError, match="unknown demo parameter"):
        merge_params("demo", {"a": None}, {"a": 1, "b": 2})
    with pytest.raises(UsageError, match="missing demo parameter"):
        merge_params("demo", {"a": None}, {})
    assert merge_params("demo", {"a": None, "b": 3}, {"a": 1}) == {"a": 1, "b": 3}
