"""`qc` with nothing to measure says so (exit 3; null in JSON), never a number; a plate must
have R, G and B (a plate of X, Y, W channels used to turn grey)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from reliability_helpers import no_traceback

from genpost_houdini.cli import main
from genpost_houdini.errors import BadInputError
from genpost_houdini.imageio import exr


def _qc(shot: dict, *extra: str) -> list[str]:
    return ["qc", "--stage", shot["stage"], "--depth", shot["depth"], "--images", shot["plate"], *extra]


@pytest.fixture(scope="module")
def empty_region(tiny_shot: dict, tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("empty_region")
    for f in range(1001, 1009):
        exr.write_exr(folder / f"none.{f}.exr", {"mask": np.zeros((64, 96), np.float32)}, kinds={"mask": "mask"})
    return str(folder / "none.####.exr")


@pytest.mark.parametrize("extra", [["--frames", "1001-1001"], ["--frames", "1001-1003", "--region", "EMPTY"]],
                         ids=["one-frame", "empty-region"])
def test_qc_with_nothing_to_measure(tiny_shot: dict, empty_region: str, capsys: pytest.CaptureFixture[str], extra: list[str]) -> None:
    extra = [empty_region if a == "EMPTY" else a for a in extra]
    assert main(_qc(tiny_shot, *extra)) == 3
    captured = capsys.readouterr()
    assert "nothing to measure" in captured.err and "0.000e+00" not in captured.out
    no_traceback(captured.err)
    assert main(_qc(tiny_shot, *extra, "--json")) == 3
    report = json.loads(capsys.readouterr().out)
    assert report["warping_error"] is None and report["region"]["warping_error"] is None
    assert report["region"]["pixels"] == 0 and report["ratio"] is None


def test_qc_measures_when_there_is_something(tiny_shot: dict, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_qc(tiny_shot, "--frames", "1001-1003", "--region", tiny_shot["extend"], "--json")) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["region"]["pixels"] > 0 and report["warping_error"] >= 0.0


def test_plate_without_colour_is_refused(tiny_shot: dict, tmp_path: Path, setext_args, capsys: pytest.CaptureFixture[str]) -> None:
    plates = tmp_path / "plates"
    shutil.copytree(Path(tiny_shot["plate"]).parent, plates)
    odd = plates / "plate.1003.exr"
    rgb = exr.read_rgb(odd)
    exr.write_exr(odd, {"X": rgb[..., 0], "Y": rgb[..., 1], "W": rgb[..., 2]}, kinds={c: "data" for c in "XYW"})
    args = setext_args(tmp_path / "out")
    args[args.index("--plate") + 1] = str(plates / "plate.####.exr")
    assert main(args) == 3
    err = capsys.readouterr().err
    assert str(odd) in err and "R, G, B" in err and "X, Y, W" in err, err
    no_traceback(err)
    assert not (tmp_path / "out" / "setext.1003.exr").exists()
    with pytest.raises(BadInputError, match="R, G, B"):
        exr.read_rgb(odd)
