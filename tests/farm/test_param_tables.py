"""The job kinds' parameter tables (jobs.registry) are what the jobs run with and what the CLI
writes: the Wedge TOP and the LOP buttons validate job files against the table alone
(``import_job=False``, Houdini's Python), so a name the CLI writes but the table lacks breaks
them, and a default that differs from the CLI's changes a job the node writes."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

from genpost_houdini.cli import build_parser, main
from genpost_houdini.commands.crowd import crowd_params
from genpost_houdini.commands.setext import setext_params
from genpost_houdini.errors import BadInputError, JobFileError
from genpost_houdini.farm.jobfile import load_job_file
from genpost_houdini.farm.runner import plan
from genpost_houdini.houdini.wedge import wedge_values, wedged_job_file
from genpost_houdini.jobs.registry import JOB_KINDS, PATH_TYPES, param_specs

KINDS = ("setext", "crowd")

SETEXT_REQUIRED = ["--stage", "shot.usda", "--plate", "plate.####.exr", "--depth", "depth.####.exr",
                   "--extend", "extend.####.exr", "--frames", "1001-1004"]
CROWD_REQUIRED = ["--stage", "shot.usda", "--region", "/set/plaza", "--source", "walker.####.exr",
                  "--depth", "depth.####.exr", "--frames", "1001-1004"]
#: Every optional flag of each command set away from its default (what --save-job must carry).
SETEXT_FLAGS = ["--camera", "/shot/cam", "--depth-kind", "ray", "--seed", "7", "--prompt", "old town",
                "--negative-prompt", "people", "--strength", "0.6", "--runtime", "torch", "--max-keyframes", "5",
                "--screen", "blue", "--holdout", "holdout.####.exr", "--grain", "off",
                "--undistort", "undist.exr", "--redistort", "redist.exr"]
CROWD_FLAGS = ["--camera", "/shot/cam", "--depth-kind", "ray", "--source", "stander.####.exr",
               "--source-matte", "walker_matte.####.exr", "--source-matte", "stander_matte.####.exr",
               "--source-frames", "1-40", "--count", "37", "--seed", "9", "--min-spacing", "0.9",
               "--person-height", "1.8", "--height-sd", "0.06", "--walkers", "0.5", "--no-stagger",
               "--walk-direction", "1,0,0", "--facing", "camera", "--look-at", "0,0,-10", "--colourways", "3",
               "--light-direction", "0.3,-1,0.2", "--shadow-density", "0.4", "--haze-distance", "800",
               "--shutter", "0.25", "--plate", "plate.####.exr", "--no-consent-record", "--prompt", "tourists",
               "--negative-prompt", "blur", "--runtime", "torch", "--undistort", "undist.exr", "--redistort", "redist.exr"]


def _cli_params(kind: str, argv: list[str]) -> dict:
    args = build_parser().parse_args([kind, *argv, "--out", "out"])
    return setext_params(args) if kind == "setext" else crowd_params(args)


@pytest.mark.parametrize("kind", KINDS)
def test_job_params_and_the_table_name_the_same_parameters(kind: str) -> None:
    table = JOB_KINDS[kind].params
    module = importlib.import_module(JOB_KINDS[kind].module)
    job_names = set(module.JOB_PARAMS)
    table_names = {name for name, spec in table.items() if spec.role != "output"}
    assert job_names - table_names == set(), "in JOB_PARAMS, missing from the table"
    assert table_names - job_names == set(), "in the table, unknown to the job"
    assert param_specs(kind, import_job=True) == param_specs(kind, import_job=False)
    for name, spec in table.items():
        if spec.role != "output":
            assert module.JOB_PARAMS[name] == (None if spec.required else spec.default), name
    assert set(module.PATH_PARAMS) == {n for n, s in table.items() if s.type in PATH_TYPES and s.role != "output"}


@pytest.mark.parametrize("kind, required", [("setext", SETEXT_REQUIRED), ("crowd", CROWD_REQUIRED)])
def test_every_cli_parameter_is_in_the_table_with_the_clis_default(kind: str, required: list[str]) -> None:
    """A job file the Houdini node writes leaves unset parameters out: the job then runs with the
    table's defaults, which must be the CLI's."""
    table = JOB_KINDS[kind].params
    cli = _cli_params(kind, required)
    assert set(cli) - set(table) == set(), "the CLI writes parameters the table lacks"
    for name, value in cli.items():
        spec = table[name]
        if spec.required:
            continue
        unset = value in ("", [], None) and spec.default in ("", [], None)
        assert unset or value == spec.default, f"{kind} {name}: CLI default {value!r}, table {spec.default!r}"


@pytest.mark.parametrize("kind, argv", [("setext", SETEXT_REQUIRED + SETEXT_FLAGS),
                                        ("crowd", CROWD_REQUIRED + CROWD_FLAGS)])
def test_a_saved_job_loads_the_wedge_tops_way(kind: str, argv: list[str], tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    job = tmp_path / "job.json"
    assert main([kind, *argv, "--out", "out", "--save-job", str(job), "--progress", "none"]) == 0
    capsys.readouterr()
    expected = _cli_params(kind, argv)
    table = JOB_KINDS[kind].params
    for import_job in (False, True):
        spec = load_job_file(job, import_job=import_job)
        assert spec.kind == kind
        for name, value in expected.items():
            if name in ("frames", "allow_pickle") or table[name].type in PATH_TYPES:
                continue
            assert spec.params[name] == value, name
    spec = load_job_file(job, import_job=False)
    for name in ("stage", "depth"):
        assert spec.params[name] == str(tmp_path / expected[name])
    if kind == "crowd":
        assert spec.params["source_matte"] == [str(tmp_path / p) for p in expected["source_matte"]]
        assert spec.params["stagger"] is False and spec.params["plate"] == str(tmp_path / "plate.####.exr")
    else:
        assert spec.params["max_keyframes"] == 5 and spec.params["undistort"] == str(tmp_path / "undist.exr")
    # the Wedge TOP: the job file with seed wedges added, written and read back without the job
    wedged = wedged_job_file(job, wedge_values(seeds="3,4", kind=kind), out=tmp_path / "wedged")
    back = load_job_file(wedged, import_job=False)
    assert back.wedges == {"seed": [3, 4]}
    assert {k: v for k, v in back.params.items() if k != "out"} == {k: v for k, v in spec.params.items() if k != "out"}
    assert "allow_pickle" not in json.loads(job.read_text())["parameters"]


@pytest.mark.parametrize("kind, argv", [("setext", SETEXT_REQUIRED), ("crowd", CROWD_REQUIRED)])
def test_allow_pickle_stays_the_runners_decision(kind: str, argv: list[str], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    job = tmp_path / "asking.json"
    assert main([kind, *argv, "--out", "out", "--allow-pickle", "--save-job", str(job)]) == 0
    capsys.readouterr()
    spec = load_job_file(job, import_job=False)  # the TOP reads it ...
    assert spec.params["allow_pickle"] is True
    with pytest.raises(JobFileError, match="--allow-pickle"):  # ... but only the runner may allow it
        plan(spec)
    assert all(u.params["allow_pickle"] is True for u in plan(spec, allow_pickle=True))


def test_the_tables_hold_what_the_jobs_read_as_files() -> None:
    setext, crowd = JOB_KINDS["setext"].params, JOB_KINDS["crowd"].params
    for name in ("stage", "plate", "depth", "extend", "holdout", "undistort", "redistort"):
        assert setext[name].role == "input" and setext[name].type == "path", name
    for name in ("stage", "depth", "plate", "source", "source_matte"):
        assert crowd[name].role == "input", name
    assert crowd["source"].type == crowd["source_matte"].type == "paths"
    assert not crowd["source"].shot_frames and crowd["plate"].shot_frames
    assert "strength" not in crowd and "strength" in setext  # the crowd job takes no strength


def test_the_wedge_top_refuses_a_strength_wedge_for_a_crowd_job() -> None:
    with pytest.raises(BadInputError, match="crowd jobs take no strength"):
        wedge_values(strengths="0.5,1", kind="crowd")
    assert wedge_values(strengths="0.5,1", kind="setext") == {"strength": [0.5, 1.0]}
