"""`genpost samples street DIR`: JSON contract, reuse, usage errors, determinism."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from genpost_houdini.cli import main
from genpost_houdini.imageio.exr import read_depth, read_rgb
from genpost_houdini.samples import build_street

KEYS = {"stage", "camera", "frames", "first_frame", "last_frame", "resolution", "plate", "depth",
        "extend", "crowd_region", "holdout"}


def test_cli_prints_paths_and_patterns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "shot"
    assert main(["samples", "street", str(out), "--frames", "3", "--resolution", "48", "28"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert KEYS <= set(data)
    assert data["frames"] == "1001-1003" and data["first_frame"] == 1001 and data["last_frame"] == 1003
    assert data["resolution"] == [48, 28]
    assert data["camera"] == "/shot/camera" and data["crowd_region"] == "/shot/crowd_region"
    assert Path(data["stage"]).is_file()
    for key in ("plate", "depth", "extend", "truth", "holdout"):
        assert "####" in data[key]
        for f in (1001, 1002, 1003):
            assert Path(data[key].replace("####", f"{f:04d}")).is_file()
    assert read_rgb(data["plate"].replace("####", "1002")).shape == (28, 48, 3)
    # A second run with the same arguments reuses the build; --force rebuilds it.
    stamp = Path(data["depth"].replace("####", "1001")).stat().st_mtime_ns
    assert main(["samples", "street", str(out), "--frames", "3", "--resolution", "48", "28"]) == 0
    assert json.loads(capsys.readouterr().out) == data
    assert Path(data["depth"].replace("####", "1001")).stat().st_mtime_ns == stamp


def test_cli_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["samples", "street", str(tmp_path / "a"), "--frames", "0"]) == 2
    assert main(["samples", "street", str(tmp_path / "b"), "--resolution", "4", "4"]) == 2
    assert main(["samples"]) == 2
    capsys.readouterr()


def test_builds_are_deterministic(tmp_path: Path) -> None:
    a = build_street(tmp_path / "a", frames=2, width=48, height=28, workers=2)
    b = build_street(tmp_path / "b", frames=2, width=48, height=28, workers=1)
    assert a.stage.read_text() == b.stage.read_text()
    for f in a.frames:
        assert np.array_equal(read_rgb(a.frame_path("plate", f)), read_rgb(b.frame_path("plate", f)))
        assert np.array_equal(read_depth(a.frame_path("depth", f)), read_depth(b.frame_path("depth", f)))
    c = build_street(tmp_path / "c", frames=2, width=48, height=28, seed=1)
    assert not np.array_equal(read_rgb(a.frame_path("truth", 1001)), read_rgb(c.frame_path("truth", 1001)))


def test_rebuild_with_fewer_frames_removes_the_old_ones(tmp_path: Path) -> None:
    long = build_street(tmp_path, frames=3, width=32, height=18)
    short = build_street(tmp_path, frames=2, width=32, height=18)
    assert short.frames == [1001, 1002]
    for kind in ("plate", "depth", "extend", "truth"):
        assert not long.frame_path(kind, 1003).exists()
        assert short.frame_path(kind, 1002).is_file()
