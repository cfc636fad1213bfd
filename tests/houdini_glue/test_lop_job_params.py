"""The GenPost LOPs' job parameters: every node parameter reaches the job under a name the job
knows, and a node's job file holds what `genpost setext/crowd --save-job` writes for the same
settings (the CLI is the reference), then loads and validates as a job (no hou: a fake node)."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import pytest

import fake_hou
from genpost_houdini.cli import main
from genpost_houdini.farm.jobfile import load_job_file
from genpost_houdini.farm.runner import plan, validate_units
from genpost_houdini.hdabuild.spec import load_spec
from genpost_houdini.houdini import jobs, lop
from genpost_houdini.jobs.registry import job_kind, param_specs

ROOT = Path(__file__).resolve().parents[2]
#: Parameters of the LOPs that drive the node, not the job (buttons, loading, where to submit).
UI_PARMS = {"loadfromdisk", "generate", "submit", "farmtarget", "checkenv"}


def _asset_parms(asset: str) -> list[str]:
    spec = load_spec(ROOT / "hda" / f"{asset}.toml")
    return [p.name for folder in spec.folders for p in folder.parms]


@pytest.mark.parametrize("asset", sorted(lop.KINDS))
def test_every_lop_parameter_is_read_by_the_glue_or_names_a_job_parameter(asset):
    """A node parameter is either read by the job builder (LopKind.parms), a button/loader
    parameter, or named like a job parameter of its kind -- in the static table Houdini uses
    (import_job=False) and in the job module's own JOB_PARAMS -- so none is silently dropped."""
    kind = lop.KINDS[asset]
    static = param_specs(kind.kind, import_job=False)
    declared = param_specs(kind.kind, import_job=True)
    for name in _asset_parms(asset):
        if name in UI_PARMS or name in kind.parms:
            continue
        assert name in static, f"{asset}: node parameter {name!r} is no job parameter in the static table"
        assert name in declared, f"{asset}: node parameter {name!r} is not in the job module's JOB_PARAMS"
        assert name not in jobs.MAPPED_PARAMS, f"{asset}: {name!r} is mapped by the builder and passed through"
    for name in kind.parms:
        assert name in _asset_parms(asset), f"{asset}: the glue reads {name!r}, which the asset does not have"


def _node(asset: str, parms: dict) -> fake_hou.LopNode:
    return fake_hou.LopNode(f"/stage/{asset}1", parms, type_name=f"genpost::{asset}::1.0")


@pytest.fixture()
def hou(monkeypatch, tmp_path):
    module = fake_hou.make_module()
    monkeypatch.setitem(sys.modules, "hou", module)
    monkeypatch.setenv("HIP", str(tmp_path))
    return module


def _cli_job(tmp_path: Path, argv: list[str]) -> dict:
    job = tmp_path / "cli_job.json"
    assert main([*argv, "--save-job", str(job)]) == 0
    return load_job_file(job).params


def _same_as_cli(node_params: dict, cli_params: dict, kind: str) -> None:
    """Every value the node writes is the CLI's; what only the CLI writes is the job's default."""
    defaults = importlib.import_module(job_kind(kind).module).JOB_PARAMS
    for name, value in node_params.items():
        assert name in cli_params, f"{name} written by the node, not by the CLI"
        assert value == cli_params[name], f"{name}: node {value!r}, CLI {cli_params[name]!r}"
    for name in set(cli_params) - set(node_params):
        assert cli_params[name] == defaults[name], f"{name}: the CLI writes {cli_params[name]!r}, the node nothing"


def test_set_extension_node_writes_the_clis_real_plate_and_depth_parameters(hou, tmp_path):
    parms = {
        "camera": "/shot/camera", "stagefile": "shot.usda", "plate": "$HIP/plate.$F4.exr", "depth": "depth.$F4.exr",
        "depth_kind": "ray", "extend": "mask.$F4.exr", "framestart": 1001, "frameend": 1002, "generator": "classical",
        "model": "", "prompt": "", "seed": 3, "strength": 1.0, "runtime": "auto", "outdir": str(tmp_path / "out"),
        "screen": "green", "holdout": "hold.$F4.exr", "grain": "off", "undistort": "lens/undistort.exr",
        "redistort": "lens/redistort.$F4.exr", "loadfromdisk": 1, "farmtarget": "openjd",
    }
    kind, params, job_file = lop.prepare_job(_node("set_extension", parms))
    node_job = load_job_file(job_file)  # the job module's own table, as `genpost run` reads it
    assert kind == "setext" and node_job.params["depth_kind"] == "ray"
    assert node_job.params["undistort"] == str(tmp_path / "lens" / "undistort.exr")
    assert node_job.params["redistort"] == str(tmp_path / "lens" / "redistort.####.exr")
    cli = _cli_job(tmp_path, [
        "setext", "--stage", str(tmp_path / "shot.usda"), "--camera", "/shot/camera",
        "--plate", str(tmp_path / "plate.####.exr"), "--depth", str(tmp_path / "depth.####.exr"), "--depth-kind", "ray",
        "--extend", str(tmp_path / "mask.####.exr"), "--frames", "1001-1002", "--seed", "3",
        "--out", str(tmp_path / "out"), "--screen", "green", "--holdout", str(tmp_path / "hold.####.exr"),
        "--grain", "off", "--undistort", str(tmp_path / "lens" / "undistort.exr"),
        "--redistort", str(tmp_path / "lens" / "redistort.####.exr"),
    ])
    _same_as_cli(node_job.params, cli, "setext")
    validate_units(plan(node_job))  # the job's own checks (values, generator) pass
    # Defaults: the node writes the CLI's defaults, and an unset holdout/ST map is left out.
    defaults = {**parms, "depth_kind": "planar", "screen": "auto", "grain": "auto", "holdout": "", "undistort": "",
                "redistort": ""}
    _, _, job_file = lop.prepare_job(_node("set_extension", defaults))
    doc = json.loads(job_file.read_text())
    assert doc["parameters"]["depth_kind"] == "planar" and doc["parameters"]["screen"] == "auto"
    assert doc["parameters"]["grain"] == "auto"
    assert not {"holdout", "undistort", "redistort"} & set(doc["inputs"])


def test_a_bad_menu_value_fails_validation_naming_it(hou, tmp_path):
    parms = {"stagefile": "shot.usda", "plate": "p.####.exr", "depth": "d.####.exr", "depth_kind": "zbuffer",
             "extend": "m.####.exr", "framestart": 1, "frameend": 2, "outdir": str(tmp_path / "out")}
    _, _, job_file = lop.prepare_job(_node("set_extension", parms))
    from genpost_houdini.errors import GenpostError

    with pytest.raises(GenpostError, match="depth_kind"):
        validate_units(plan(load_job_file(job_file)))
