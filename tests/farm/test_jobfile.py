"""Job files: data only, paths relative to the file, every bad field refused by name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from genpost_houdini.cli import main
from genpost_houdini.errors import EXIT_BAD_INPUT, JobFileError
from genpost_houdini.farm.jobfile import SCHEMA_KEY, load_job_file, parse_job, write_job_file
from genpost_houdini.jobs.registry import get_runner, param_specs


def _setext_doc(**over: object) -> dict:
    doc = {
        SCHEMA_KEY: 1, "kind": "setext", "frames": "1001-1010",
        "inputs": {"stage": "shot.usda", "plate": "plate/plate.####.exr", "depth": "depth.####.exr",
                   "extend": "extend.####.exr"},
        "parameters": {"seed": 4, "prompt": "a street", "strength": 0.5},
        "outputs": {"out": "render"},
    }
    doc.update(over)
    return doc


def _write(tmp_path: Path, doc: dict) -> Path:
    p = tmp_path / "jobs" / "job.json"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(doc))
    return p


def test_paths_resolve_relative_to_the_file(tmp_path: Path) -> None:
    spec = load_job_file(_write(tmp_path, _setext_doc()))
    base = tmp_path / "jobs"
    assert spec.kind == "setext"
    assert spec.params["stage"] == str(base / "shot.usda")
    assert spec.params["plate"] == str(base / "plate" / "plate.####.exr")
    assert spec.out_dir == base / "render"
    assert spec.params["seed"] == 4 and spec.params["strength"] == 0.5
    assert spec.shot_frames == list(range(1001, 1011))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"bogus": 1}, "bogus"),
        ({SCHEMA_KEY: 2}, SCHEMA_KEY),
        ({"kind": "rm -rf /"}, "kind"),
        ({"parameters": {"seed": "seven"}}, "parameters.seed"),
        ({"parameters": {"strength": True}}, "parameters.strength"),
        ({"parameters": {"command": "bash -c evil"}}, "parameters.command"),
        ({"parameters": {"stage": "x.usda"}}, "parameters.stage"),
        ({"inputs": {"stage": "s.usda"}}, "inputs.plate"),
        ({"frames": "ten"}, "frames"),
        ({"wedges": {"seed": []}}, "wedges.seed"),
        ({"wedges": {"out": ["a", "b"]}}, "wedges.out"),
        ({"wedges": {"strength": [0.5, "x"]}}, "wedges.strength[1]"),
    ],
)
def test_malformed_fields_are_named(tmp_path: Path, change: dict, field: str) -> None:
    with pytest.raises(JobFileError, match=field.replace("[", r"\[").replace("]", r"\]")):
        load_job_file(_write(tmp_path, _setext_doc(**change)))


def test_missing_schema_version_and_bad_json(tmp_path: Path) -> None:
    doc = _setext_doc()
    del doc[SCHEMA_KEY]
    with pytest.raises(JobFileError, match=SCHEMA_KEY):
        parse_job(doc, base=tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(JobFileError, match="line 1"):
        load_job_file(bad)


def test_write_then_load_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "shot").mkdir()
    job = write_job_file(
        tmp_path / "shot" / "job.json", "setext",
        {"stage": "shot/shot.usda", "plate": "shot/plate.####.exr", "depth": "/abs/depth.####.exr",
         "extend": "shot/extend.####.exr", "frames": "1001-1004", "seed": 2, "camera": "/cam", "model": ""},
        out="shot/out",
    )
    doc = json.loads(job.read_text())
    assert doc["inputs"]["stage"] == "shot.usda", "inside the job folder: relative to the file"
    assert doc["inputs"]["depth"] == "/abs/depth.####.exr"
    assert doc["outputs"] == {"out": "out"}
    assert "model" not in doc["parameters"], "an unset path is left out"
    spec = load_job_file(job)
    assert spec.params["stage"] == str(tmp_path / "shot" / "shot.usda")
    assert spec.params["camera"] == "/cam"
    with pytest.raises(JobFileError, match="colour"):
        write_job_file(tmp_path / "j.json", "setext", {"colour": 1, "frames": "1"})
    assert not (tmp_path / "j.json").exists(), "an invalid job is never written"


def test_setext_params_follow_the_job_module() -> None:
    specs = param_specs("setext")
    for name in ("stage", "camera", "plate", "depth", "extend", "frames", "out", "generator", "model",
                 "seed", "prompt", "negative_prompt", "strength", "runtime"):
        assert name in specs, name
    assert specs["seed"].type == "int" and specs["stage"].role == "input" and specs["out"].role == "output"
    assert callable(get_runner("setext"))


def test_missing_job_module_is_a_clear_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from genpost_houdini.jobs import registry

    monkeypatch.setitem(registry.JOB_KINDS, "ghost",
                        registry.JobKind("ghost", "genpost_houdini.jobs.ghost_job", {
                            "frames": registry.ParamSpec("frames", required=True),
                            "out": registry.ParamSpec("path", required=True, role="output")}))
    job = _write(tmp_path, {SCHEMA_KEY: 1, "kind": "ghost", "frames": "1-2", "outputs": {"out": "o"}})
    assert main(["run", str(job), "--progress", "none"]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "ghost" in err and "genpost_houdini.jobs.ghost_job" in err
