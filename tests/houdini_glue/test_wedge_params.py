"""The wedge TOP on a LOP's job: the job's parameters pass through to every work item, Other
Wedges wedges any job parameter, and the wedged job file the TOP writes loads and validates as
`genpost run` reads it (the job module's own checks, per wedge)."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest

import fake_pdg as fake_pdg_module
from genpost_houdini.errors import GenpostError, JobFileError
from genpost_houdini.farm.jobfile import load_job_file
from genpost_houdini.farm.runner import plan, validate_units
from genpost_houdini.hdabuild.spec import load_spec
from genpost_houdini.houdini import jobs, wedge

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def fake_pdg(monkeypatch):
    module = fake_pdg_module.make_module()
    monkeypatch.setitem(sys.modules, "pdg", module)
    return module


def _setext_job(tmp_path: Path) -> Path:
    values = {"plate": str(tmp_path / "plate.####.exr"), "depth": str(tmp_path / "depth.####.exr"),
              "extend": str(tmp_path / "mask.####.exr"), "framestart": 1001, "frameend": 1004,
              "outdir": str(tmp_path / "out"), "generator": "classical", "seed": 0}
    params = {**jobs.setext_params(values, tmp_path / "shot.usda"), "depth_kind": "ray", "screen": "green",
              "undistort": str(tmp_path / "undistort.exr"), "redistort": str(tmp_path / "redistort.exr")}
    return jobs.write_job("setext", params)


def _values(job: Path, **kw: Any) -> dict[str, Any]:
    values = {"jobfile": str(job), "seeds": "", "prompts": "", "strengths": "", "wedgeparams": "", "chunksize": 2,
              "frames": "", "genpost": "genpost", "outdir": ""}
    values.update(kw)
    return values


def test_other_wedges_pass_the_job_through_and_validate(fake_pdg, tmp_path):
    job = _setext_job(tmp_path)
    holder = fake_pdg_module.ItemHolder()
    node = fake_pdg_module.Processor(_values(job, seeds="1,2", wedgeparams="grain=auto,off\n\n# a note\nscreen=green,none\n"))
    assert wedge.on_generate(node, holder, [], None) == "Success" and not node.errors
    assert len(holder.items) == 2 * 2 * 2 * 2  # seeds x grain x screen, frames 1001-1004 in chunks of 2
    assert {(i.attribs["seed"], i.attribs["grain"], i.attribs["screen"]) for i in holder.items} == {
        (s, g, sc) for s in (1, 2) for g in ("auto", "off") for sc in ("green", "none")}
    wedged = load_job_file(tmp_path / "out" / ".genpost" / "wedge_job.json")  # the job module's own table
    units = plan(wedged)
    validate_units(units)  # every wedge passes the job's checks, as `genpost run` makes them
    assert len(units) == 8 and len({u.out_dir for u in units}) == 8
    for unit in units:  # the LOP's parameters reach every wedge unchanged
        assert unit.params["depth_kind"] == "ray" and unit.params["undistort"] == str(tmp_path / "undistort.exr")
        assert unit.params["redistort"] == str(tmp_path / "redistort.exr")
    assert {(u.params["grain"], u.params["screen"]) for u in units} == {
        (g, sc) for g in ("auto", "off") for sc in ("green", "none")}


def test_a_wedge_value_the_job_refuses_fails_naming_the_wedge(fake_pdg, tmp_path):
    job = _setext_job(tmp_path)
    assert wedge.on_generate(fake_pdg_module.Processor(_values(job, wedgeparams="grain=auto,sometimes")), fake_pdg_module.ItemHolder(), [], None) == "Success"
    units = plan(load_job_file(tmp_path / "out" / ".genpost" / "wedge_job.json"))
    with pytest.raises(JobFileError, match="grainsometimes"):  # the wedge's folder name
        validate_units(units)


@pytest.mark.parametrize("text, message", [
    ("frames=1001-1002", "frames cannot be wedged"),
    ("nosuch=1,2", "unknown parameter"),
    ("seed=4,5", "seed is wedged twice"),
    ("strength=strong", "not a number"),
])
def test_bad_other_wedges_are_a_cook_error_naming_the_field(fake_pdg, tmp_path, text, message):
    node = fake_pdg_module.Processor(_values(_setext_job(tmp_path), seeds="1,2", wedgeparams=text))
    assert wedge.on_generate(node, fake_pdg_module.ItemHolder(), [], None) == "Failure"
    assert message in node.errors[0]
    with pytest.raises(GenpostError, match=message):
        wedge.add_work_items(fake_pdg_module.ItemHolder(), _values(_setext_job(tmp_path), seeds="1,2", wedgeparams=text))


def _help_examples(help_text: str, kind_label: str, next_label: str) -> list[str]:
    section = help_text.split(kind_label, 1)[1].split(next_label, 1)[0]
    return [f"{m.group(1)}={m.group(2)}" for m in re.finditer(r'(\w+)=(\[[^\]]*\]|\S+?)(?=, |\.(?:\s|$))', section)]


def test_the_examples_in_the_help_are_wedgeable():
    """Every NAME=VALUES the Other Wedges help offers parses for its kind with the static table
    Houdini uses (import_job=False)."""
    spec = load_spec(ROOT / "hda" / "wedge_top.toml")
    help_text = spec.parm("wedgeparams").help
    for kind, label, after in (("setext", "Set extension:", "Crowd:"), ("crowd", "Crowd:", "Not the frames")):
        examples = _help_examples(help_text, label, after)
        assert len(examples) >= 3, (kind, examples)
        got = wedge.wedge_values(kind=kind, params="\n".join(examples))
        assert list(got) == [e.partition("=")[0] for e in examples] and all(len(v) >= 2 for v in got.values())


def test_a_crowd_job_wedged_on_its_look_validates(fake_pdg, tmp_path):
    values = {"region": "/set/stands", "source": str(tmp_path / "people.####.exr"), "depth": str(tmp_path / "d.####.exr"),
              "framestart": 1001, "frameend": 1002, "count": 50, "seed": 1, "outdir": str(tmp_path / "out"),
              "facingmode": "random", "usecamerashutter": 1}
    params = {**jobs.crowd_params(values, tmp_path / "shot.usda"), "walkers": 0.3, "depth_kind": "ray"}
    job = jobs.write_job("crowd", params)
    text = 'walkers=0.1,0.5\ncolourways=1,6\nlook_at=["0,0,0", "5,0,-20"]'
    assert wedge.on_generate(fake_pdg_module.Processor(_values(job, wedgeparams=text)), fake_pdg_module.ItemHolder(), [], None) == "Success"
    units = plan(load_job_file(tmp_path / "out" / ".genpost" / "wedge_job.json"))
    validate_units(units)
    assert len(units) == 8 and all(u.params["depth_kind"] == "ray" and u.params["count"] == 50 for u in units)
    assert {u.params["look_at"] for u in units} == {"0,0,0", "5,0,-20"}
    bad = tmp_path / "bad"
    job = jobs.write_job("crowd", {**params, "out": str(bad)})
    assert wedge.on_generate(fake_pdg_module.Processor(_values(job, wedgeparams="walkers=0.5,1.5")), fake_pdg_module.ItemHolder(), [], None) == "Success"
    with pytest.raises(JobFileError, match="walkers"):  # the job's own range check, naming the wedge
        validate_units(plan(load_job_file(bad / ".genpost" / "wedge_job.json")))


@pytest.mark.parametrize("kind, fields", [("setext", ("seed", "prompt", "strength")), ("crowd", ("seed", "prompt"))])
def test_the_tops_wedge_fields_name_job_parameters_of_each_kind(kind, fields):
    """Seeds / Prompts / Strengths wedge the job parameters seed / prompt / strength, which each
    kind's static table (what the TOP validates against) knows; a crowd job takes no strength."""
    from genpost_houdini.jobs.registry import param_specs

    specs = param_specs(kind, import_job=False)
    assert all(name in specs and name in param_specs(kind) for name in fields)
    got = wedge.wedge_values("1,2", "a\nb", "0.5,1" if "strength" in fields else "", kind=kind)
    assert set(got) == set(fields)
    if "strength" not in fields:
        with pytest.raises(GenpostError, match="no strength"):
            wedge.wedge_values(strengths="0.5", kind=kind)
