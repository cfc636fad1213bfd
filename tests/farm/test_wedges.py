"""Wedges: value syntax, cross product, PDG attributes, one folder per wedge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import make_toy_job, read_outputs

from genpost_houdini.cli import main
from genpost_houdini.errors import UsageError
from genpost_houdini.farm.wedges import expand, parse_param_args, wedge_folder_name
from genpost_houdini.jobs.registry import param_specs

SPECS = param_specs("setext")


@pytest.mark.parametrize(
    ("arg", "values"),
    [
        ("seed=1,2,3", [1, 2, 3]),
        ("seed=1-4", [1, 2, 3, 4]),
        ("seed=0-10:5", [0, 5, 10]),
        ("strength=0.5,0.7", [0.5, 0.7]),
        ("strength=0.2-0.8:0.2", [0.2, 0.4, 0.6, 0.8]),
        (r"prompt=a street\, at dusk,a street at night", ["a street, at dusk", "a street at night"]),
        ('prompt=["x, y", "z"]', ["x, y", "z"]),
        ("prompt=1-4", ["1-4"]),
    ],
)
def test_value_syntax(arg: str, values: list) -> None:
    name = arg.split("=")[0]
    assert parse_param_args([arg], SPECS) == {name: values}


@pytest.mark.parametrize("arg", ["seed=a,b", "nosuch=1", "out=a,b", "frames=1-3", "seed", "seed=4-1"])
def test_bad_values_refused(arg: str) -> None:
    with pytest.raises(UsageError):
        parse_param_args([arg], SPECS)


def test_cross_product_and_attributes() -> None:
    items = expand({"seed": [1, 2], "strength": [0.5, 0.7, 0.9]})
    assert len(items) == 6
    assert [(i.values["seed"], i.values["strength"]) for i in items[:3]] == [(1, 0.5), (1, 0.7), (1, 0.9)]
    attrs = items[4].attributes()
    assert attrs == {"wedgeindex": 4, "wedgecount": 6, "wedgenum": 4, "wedgetotal": 6, "seed": 2, "strength": 0.7}
    names = [i.name for i in items]
    assert len(set(names)) == 6 and names[0] == "wedge_0000_seed1_strength0.5"
    assert wedge_folder_name(3, {"prompt": "a/../../etc"}).startswith("wedge_0003_prompt")
    assert "/" not in wedge_folder_name(3, {"prompt": "a/../../etc"})


def test_wedge_list_cli(tmp_path: Path, toy_kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    job = make_toy_job(tmp_path, range(1, 4))
    assert main(["wedge", str(job), "--param", "seed=1,2,3", "--list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["attributes"]["seed"] for r in rows] == [1, 2, 3]
    assert [r["attributes"]["wedgeindex"] for r in rows] == [0, 1, 2]
    assert rows[1]["out"] == str(tmp_path / "out" / "wedge_0001_seed2")
    assert main(["wedge", str(job), "--param", "seed=1,2,3", "--list"]) == 0
    assert "wedge_0002_seed3" in capsys.readouterr().out
    assert not (tmp_path / "out").exists(), "--list runs nothing"


def test_wedges_write_separate_folders(tmp_path: Path, toy_kind: str) -> None:
    job = make_toy_job(tmp_path, range(1, 4), wedges={"seed": [1, 2]})
    assert main(["run", str(job), "--progress", "none"]) == 0
    a = read_outputs(tmp_path / "out" / "wedge_0000_seed1")
    b = read_outputs(tmp_path / "out" / "wedge_0001_seed2")
    assert sorted(a) == sorted(b) == ["toy.0001.exr", "toy.0002.exr", "toy.0003.exr"]
    assert all(a[k] != b[k] for k in a), "different seeds give different outputs"
    # one wedge by value and by index give the same folder
    assert main(["run", str(job), "--wedge", "seed=2", "--frames", "2", "--force", "--progress", "none"]) == 0
    assert read_outputs(tmp_path / "out" / "wedge_0001_seed2") == b
    assert main(["run", str(job), "--wedge", "seed=5", "--progress", "none"]) == 2
    assert main(["run", str(job), "--wedge-index", "7", "--progress", "none"]) == 2
