"""Inputs a job cannot use are refused before anything is written: no output folder, no
``.genpost/`` work files, no manifest left behind by a job that never started."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from reliability_helpers import no_traceback

from genpost_houdini.cli import main
from genpost_houdini.imageio import exr


def _plates_with_xyw_frame(tiny_shot: dict, tmp_path: Path, frame: int = 1003) -> tuple[str, Path]:
    """A copy of the shot's plates whose ``frame`` holds X, Y, W data channels instead of R, G, B."""
    plates = tmp_path / "plates"
    shutil.copytree(Path(tiny_shot["plate"]).parent, plates)
    odd = plates / f"plate.{frame}.exr"
    rgb = exr.read_rgb(odd)
    exr.write_exr(odd, {"X": rgb[..., 0], "Y": rgb[..., 1], "W": rgb[..., 2]}, kinds={c: "data" for c in "XYW"})
    return str(plates / "plate.####.exr"), odd


def test_setext_refuses_a_plate_without_rgb_before_writing(tiny_shot: dict, tmp_path: Path, setext_args,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    pattern, odd = _plates_with_xyw_frame(tiny_shot, tmp_path)
    args = setext_args(tmp_path / "out", "--frames", "1001-1002", "--shot-frames", "1001-1008")
    args[args.index("--plate") + 1] = pattern
    assert main(args) == 3  # the odd frame lies outside the chunk, inside the shot the plan reads
    err = capsys.readouterr().err
    assert str(odd) in err and "X, Y, W" in err and "R, G" in err, err
    no_traceback(err)
    assert not (tmp_path / "out").exists(), "nothing is written for a job that cannot run"


def test_crowd_refuses_a_plate_without_rgb_before_writing(tiny_shot: dict, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    pattern, odd = _plates_with_xyw_frame(tiny_shot, tmp_path, frame=1002)
    out = tmp_path / "out"
    code = main(["crowd", "--stage", tiny_shot["stage"], "--region", tiny_shot["crowd_region"], "--source",
                 tiny_shot["plate"], "--depth", tiny_shot["depth"], "--frames", "1001-1003", "--count", "3",
                 "--plate", pattern, "--out", str(out), "--progress", "none"])
    assert code == 3
    err = capsys.readouterr().err
    assert str(odd) in err and "X, Y, W" in err, err
    no_traceback(err)
    assert not out.exists()


def test_a_model_for_the_classical_generator_is_refused(tiny_shot: dict, tmp_path: Path, setext_args,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """``--model DIR`` without ``--generator`` (the classical default, which loads no weights)
    is a mistake a TD wants named (exit 2), not an hour of classical fill."""
    model = tmp_path / "model"
    model.mkdir()
    for extra in ([], ["--save-job", str(tmp_path / "job.json")]):
        assert main([*setext_args(tmp_path / "out", "--model", str(model)), *extra]) == 2
        err = capsys.readouterr().err
        assert "'classical' takes no model" in err and str(model) in err and "--generator" in err, err
    assert not (tmp_path / "out").exists() and not (tmp_path / "job.json").exists()


def test_a_model_without_variants_is_refused_by_crowd(tiny_shot: dict, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    model = tmp_path / "model"
    model.mkdir()
    out = tmp_path / "out"
    code = main(["crowd", "--stage", tiny_shot["stage"], "--region", tiny_shot["crowd_region"], "--source",
                 tiny_shot["plate"], "--depth", tiny_shot["depth"], "--frames", "1001-1002", "--count", "3",
                 "--model", str(model), "--out", str(out)])
    assert code == 2
    assert "--variants" in capsys.readouterr().err
    assert not out.exists()
