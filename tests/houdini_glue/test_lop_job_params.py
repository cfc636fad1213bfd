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
        "negative_prompt": "cranes", "max_keyframes": 4,
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
        "--redistort", str(tmp_path / "lens" / "redistort.####.exr"), "--negative-prompt", "cranes",
        "--max-keyframes", "4",
    ])
    assert node_job.params["max_keyframes"] == 4 and node_job.params["negative_prompt"] == "cranes"
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


def _defaults(asset: str) -> dict:
    """The node's parameter values at the asset's defaults (hda/*.toml), as hou evaluates them:
    toggles and integers as int, floats as float, vectors as tuples of floats, strings as str."""
    spec = load_spec(ROOT / "hda" / f"{asset}.toml")
    values: dict = {}
    for folder in spec.folders:
        for p in folder.parms:
            if p.type in ("button", "label") or p.default_expr:
                continue
            default = p.default or (("0",) if p.type in ("integer", "float", "toggle") else ("",))
            convert = {"integer": int, "toggle": int, "float": float, "vector": float}.get(p.type, str)
            values[p.name] = tuple(convert(v) for v in default) if p.type == "vector" else convert(default[0])
    return values


@pytest.mark.parametrize("asset, required, argv", [
    ("set_extension", {"plate": "p.####.exr", "depth": "d.####.exr", "extend": "m.####.exr"},
     ["setext", "--plate", "{d}/p.####.exr", "--depth", "{d}/d.####.exr", "--extend", "{d}/m.####.exr"]),
    ("crowd_replicate", {"region": "/set/stands", "source": "people.####.exr", "depth": "d.####.exr"},
     ["crowd", "--region", "/set/stands", "--source", "{d}/people.####.exr", "--depth", "{d}/d.####.exr"]),
])
def test_a_node_at_its_defaults_writes_the_clis_defaults(hou, tmp_path, asset, required, argv):
    parms = {**_defaults(asset), **required, "stagefile": "shot.usda", "framestart": 1001, "frameend": 1002,
             "outdir": str(tmp_path / "out")}
    _, _, job_file = lop.prepare_job(_node(asset, parms))
    node_job = load_job_file(job_file)
    kind = lop.KINDS[asset].kind
    cli = _cli_job(tmp_path, [*(a.format(d=tmp_path) for a in argv), "--stage", str(tmp_path / "shot.usda"),
                              "--frames", "1001-1002", "--out", str(tmp_path / "out")])
    _same_as_cli(node_job.params, cli, kind)
    validate_units(plan(node_job))


def test_crowd_node_writes_the_clis_crowd_parameters(hou, tmp_path):
    parms = {
        **_defaults("crowd_replicate"), "camera": "/shot/camera", "region": "/set/stands", "stagefile": "shot.usda",
        "depth": "depth.$F4.exr", "depth_kind": "ray", "framestart": 1001, "frameend": 1002,
        "source": "people/walk.$F4.exr", "source_frames": "1-8", "count": 150, "seed": 4, "noconsent": 1,
        "min_spacing": 0.8, "person_height": 1.7, "height_sd": 0.05, "walkers": 0.5, "usewalkdir": 1,
        "walkdir": (1.0, 0.0, 0.5), "stagger": 0, "facingmode": "point", "lookat": (0.0, 0.0, -20.0),
        "colourways": 3, "uselightdir": 1, "lightdir": (0.3, -1.0, 0.25), "shadow_density": 0.7,
        "haze_distance": 800.0, "usecamerashutter": 0, "shutterframes": 0.25, "plate": "plate.$F4.exr",
        "undistort": "lens/undistort.exr", "redistort": "lens/redistort.exr", "outdir": str(tmp_path / "out"),
    }
    kind, _, job_file = lop.prepare_job(_node("crowd_replicate", parms))
    node_job = load_job_file(job_file)
    assert kind == "crowd" and node_job.params["look_at"] == "0,0,-20" and node_job.params["stagger"] is False
    assert node_job.params["source"] == [str(tmp_path / "people" / "walk.####.exr")]
    d = tmp_path
    cli = _cli_job(tmp_path, [
        "crowd", "--stage", f"{d}/shot.usda", "--camera", "/shot/camera", "--region", "/set/stands",
        "--depth", f"{d}/depth.####.exr", "--depth-kind", "ray", "--frames", "1001-1002",
        "--source", f"{d}/people/walk.####.exr", "--source-frames", "1-8", "--count", "150", "--seed", "4",
        "--no-consent-record", "--min-spacing", "0.8", "--person-height", "1.7", "--height-sd", "0.05",
        "--walkers", "0.5", "--walk-direction", "1,0,0.5", "--no-stagger", "--look-at", "0,0,-20",
        "--colourways", "3", "--light-direction", "0.3,-1,0.25", "--shadow-density", "0.7",
        "--haze-distance", "800", "--shutter", "0.25", "--plate", f"{d}/plate.####.exr",
        "--undistort", f"{d}/lens/undistort.exr", "--redistort", f"{d}/lens/redistort.exr", "--out", f"{d}/out",
    ])
    _same_as_cli(node_job.params, cli, "crowd")
    assert set(cli) - set(node_job.params) <= {"model", "generator", "variants", "prompt", "negative_prompt",
                                               "runtime", "source_matte"}
    validate_units(plan(node_job))


@pytest.mark.parametrize("mode, direction, facing", [("random", None, "random"), ("camera", None, "camera"),
                                                      ("direction", (0.0, 0.0, 1.0), "0,0,1")])
def test_crowd_facing_menu(mode, direction, facing):
    values = {"facingmode": mode, "facingdir": direction, "lookat": (1.0, 2.0, 3.0), "usecamerashutter": 1}
    look = jobs._crowd_look(values, "/stage/crowd1")
    assert look == {"facing": facing, "shutter": jobs.CAMERA_SHUTTER}


def test_crowd_vector_and_menu_errors_name_the_parameter():
    from genpost_houdini.errors import BadInputError

    with pytest.raises(BadInputError, match="'Facing' is 'north'"):
        jobs._crowd_look({"facingmode": "north"}, "/stage/crowd1")
    with pytest.raises(BadInputError, match="/stage/crowd1: 'Walk Direction' is not three numbers"):
        jobs._crowd_look({"usewalkdir": 1, "walkdir": (1.0, 2.0)}, "/stage/crowd1")
    assert jobs.vector_text((0.1, -2.0, 1e-3)) == "0.1,-2,0.001"


def test_crowd_variants_reach_the_job(hou, tmp_path):
    """Generated variants: the generator, model folder, prompts and runtime go to the job as
    typed (the model folder made absolute against $HIP); with none (the default) nothing of them
    is written, as `genpost crowd` without --variants."""
    parms = {**_defaults("crowd_replicate"), "region": "/set/stands", "stagefile": "shot.usda",
             "source": "people.$F4.exr", "depth": "d.$F4.exr", "framestart": 1001, "frameend": 1002,
             "outdir": str(tmp_path / "out"), "variants": 2, "generator": "wan-vace", "model": "models/wan",
             "prompt": "rain coats", "negative_prompt": "logos", "runtime": "torch"}
    _, _, job_file = lop.prepare_job(_node("crowd_replicate", parms))
    params = load_job_file(job_file).params
    assert (params["variants"], params["generator"], params["prompt"], params["negative_prompt"], params["runtime"]) == (
        2, "wan-vace", "rain coats", "logos", "torch")
    assert params["model"] == str(tmp_path / "models" / "wan")
    _, _, job_file = lop.prepare_job(_node("crowd_replicate", {**parms, "variants": 0, "generator": "", "model": ""}))
    doc = json.loads(job_file.read_text())
    assert "generator" not in doc["parameters"] and "model" not in doc["parameters"] and doc["parameters"]["variants"] == 0
    count = len(hou.ui.messages)
    lop.on_generator_changed({"node": _node("crowd_replicate", {"generator": ""})})
    assert len(hou.ui.messages) == count  # no variants: no model environment needed, nothing said


#: Job parameters no node shows: the runner's decision (allow_pickle: `genpost run --allow-pickle`),
#: and set extension's max_sources, which no command line takes either.
NOT_ON_NODES = {"setext": {"allow_pickle", "max_sources"}, "crowd": {"allow_pickle"}}


@pytest.mark.parametrize("asset", sorted(lop.KINDS))
def test_every_job_parameter_has_a_node_parameter(asset):
    """A job parameter the command takes is on the node (under its own name, or mapped by the
    job builder from a menu, toggle or vector), so a new CLI option is not forgotten here."""
    kind = lop.KINDS[asset].kind
    on_node = set(_asset_parms(asset)) | jobs.MAPPED_PARAMS
    missing = sorted(set(param_specs(kind)) - on_node - NOT_ON_NODES[kind])
    assert not missing, f"{asset}: job parameters without a node parameter: {missing}"
