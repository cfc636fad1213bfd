"""The demo's per-source pixel counts, against source channels written with known codes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from genpost_houdini.imageio import exr
from genpost_houdini.jobs.demo import source_counts
from genpost_houdini.shot.frames import FrameSeq


def test_source_counts_per_code_and_frames(tmp_path: Path) -> None:
    a = np.array([[0, 0, 1, 3], [2, 2, 2, 0]], np.float32)
    b = np.array([[0, 0, 0, 0], [2, 3, 3, 3]], np.float32)
    for frame, codes in ((1, a), (2, b)):
        exr.write_exr(tmp_path / f"setext.{frame:04d}.exr", {"source": codes}, kinds={"source": "id"})
    counts = source_counts(FrameSeq.parse(str(tmp_path / "setext.####.exr")), [1, 2])
    assert counts == {"0": {"pixels": 7, "frames": 2}, "1": {"pixels": 1, "frames": 1},
                      "2": {"pixels": 4, "frames": 2}, "3": {"pixels": 4, "frames": 2}}
