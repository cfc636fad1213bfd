"""`genpost disclosure`: the report reflects what the outputs record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from genpost_houdini.cli import main
from genpost_houdini.samples.extras import build_extras
from genpost_houdini.samples.street import build_street


def test_disclosure_lists_jobs_models_sources_and_consent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    info = build_street(tmp_path / "shot", frames=2, width=96, height=64).to_json()
    extras = build_extras(tmp_path / "extras", frames=4, height=64)
    out = tmp_path / "out"
    assert main(["setext", "--stage", info["stage"], "--plate", info["plate"], "--depth", info["depth"],
                 "--extend", info["extend"], "--frames", "1001-1002", "--out", str(out / "setext"), "--seed", "9",
                 "--progress", "none"]) == 0
    assert main(["crowd", "--stage", info["stage"], "--region", info["crowd_region"], "--source", extras,
                 "--depth", info["depth"], "--frames", "1001-1002", "--count", "5", "--out", str(out / "crowd"),
                 "--progress", "none"]) == 0
    capsys.readouterr()
    assert main(["disclosure", str(out)]) == 0
    report = json.loads((out / "disclosure.json").read_text())
    jobs = {e["job"]: e for e in report["outputs"]}
    assert set(jobs) == {"setext", "crowd"}
    assert jobs["setext"]["seed"] == 9 and jobs["setext"]["frame_count"] == 2
    assert jobs["crowd"]["sources"][0]["consent_reference"] == "GENPOST-SYNTHETIC-0001"
    md = (out / "disclosure.md").read_text()
    assert "GENPOST-SYNTHETIC-0001" in md and "classical" in md


def test_disclosure_of_an_empty_folder_is_bad_input(tmp_path: Path) -> None:
    assert main(["disclosure", str(tmp_path)]) == 3
