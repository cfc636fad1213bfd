"""`genpost qc`: the geometric warping error ranks a flickering sequence worse than a stable one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from genpost_houdini.cli import main
from genpost_houdini.imageio import exr
from genpost_houdini.samples.street import build_street


def test_flicker_ranks_worse_than_stable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    info = build_street(tmp_path / "shot", frames=5, width=128, height=72).to_json()
    rng = np.random.default_rng(0)
    for f in range(1001, 1006):
        truth = exr.read_rgb(Path(info["truth"].replace("####", str(f))))
        mask = exr.read_mask(Path(info["extend"].replace("####", str(f)))) >= 0.5
        flicker = truth.copy()
        flicker[mask] *= rng.uniform(0.6, 1.4, size=3).astype(np.float32)  # per-frame colour pops
        for name, img in (("stable", truth), ("flicker", flicker)):
            exr.write_exr(tmp_path / f"{name}.{f}.exr", {c: img[..., i] for i, c in enumerate("RGB")})
    scores = {}
    for name in ("stable", "flicker"):
        capsys.readouterr()
        assert main(["qc", "--stage", info["stage"], "--depth", info["depth"], "--images", str(tmp_path / f"{name}.####.exr"),
                     "--region", info["extend"], "--frames", "1001-1005", "--json"]) == 0
        scores[name] = json.loads(capsys.readouterr().out)
    assert scores["flicker"]["warping_error"] > 5 * scores["stable"]["warping_error"]
    # The plate is the same in both (bilinear taps at the region edge differ a little).
    assert scores["flicker"]["plate"]["warping_error"] == pytest.approx(scores["stable"]["plate"]["warping_error"], rel=0.05)
    assert scores["stable"]["pairs"] == 4


def test_qc_missing_frame_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    info = build_street(tmp_path / "shot", frames=2, width=64, height=48).to_json()
    rc = main(["qc", "--stage", info["stage"], "--depth", info["depth"], "--images", str(tmp_path / "none.####.exr"),
               "--frames", "1001-1002", "--json"])
    assert rc == 3
    assert "none.1001.exr" in capsys.readouterr().err
