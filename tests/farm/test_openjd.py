"""OpenJD bundles: valid templates (openjd-model and `openjd check`), deterministic bytes, and a
real `openjd run` in two chunks matching a single local run (toy job; the real job is in
test_setext_farm.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import make_toy_job, read_outputs

from genpost_houdini.cli import main
from genpost_houdini.farm.jobfile import load_job_file
from genpost_houdini.farm.openjd import openjd_params, write_bundle

OPENJD = Path(sys.executable).with_name("openjd")


def _openjd() -> str:
    exe = OPENJD if OPENJD.exists() else shutil.which("openjd")
    if not exe:
        pytest.skip("openjd-cli is not installed")
    return str(exe)


def test_template_is_valid_and_chunked(tmp_path: Path, toy_kind: str) -> None:
    from openjd.model import decode_job_template

    job = make_toy_job(tmp_path, range(1, 11), wedges={"seed": [1, 2, 3]})
    bundle = write_bundle(job, tmp_path / "bundle", chunk_size=4)
    doc = yaml.safe_load((bundle / "template.yaml").read_text())
    decode_job_template(template=doc, supported_extensions=["TASK_CHUNKING"])
    assert doc["extensions"] == ["TASK_CHUNKING"]
    (frame, wedge) = doc["steps"][0]["parameterSpace"]["taskParameterDefinitions"]
    assert frame["type"] == "CHUNK[INT]" and frame["chunks"]["rangeConstraint"] == "CONTIGUOUS"
    assert wedge == {"name": "Wedge", "type": "INT", "range": "0-2"}
    env = doc["steps"][0]["stepEnvironments"][0]["script"]["actions"]
    assert env["onEnter"]["args"][:3] == ["farm", "session", "enter"]
    run_args = doc["steps"][0]["script"]["actions"]["onRun"]["args"]
    assert run_args[run_args.index("--progress") + 1] == "openjd"
    defaults = {p["name"]: p.get("default") for p in doc["parameterDefinitions"]}
    assert defaults["JobFile"] == "job.json", "PATH defaults are relative to the bundle"
    assert openjd_params(bundle) == {"Frames": "1-10", "ChunkSize": 4}
    check = subprocess.run([_openjd(), "check", str(bundle / "template.yaml")], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_bundle_is_deterministic_and_carries_the_job(tmp_path: Path, toy_kind: str) -> None:
    job = make_toy_job(tmp_path, range(1, 7), seed=2)
    a = write_bundle(job, tmp_path / "a")
    b = write_bundle(job, tmp_path / "b")
    names = sorted(p.name for p in a.iterdir())
    assert names == ["asset_references.yaml", "job.json", "parameter_values.yaml", "template.yaml"]
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    inside, original = load_job_file(a / "job.json"), load_job_file(job)
    assert inside.params == original.params, "paths made absolute: the bundle runs from anywhere"
    assets = yaml.safe_load((a / "asset_references.yaml").read_text())["assetReferences"]
    assert assets["inputs"]["directories"] == [str(tmp_path / "plate")]
    assert assets["outputs"]["directories"] == [str(tmp_path / "out")]


def test_cli_writes_bundle(tmp_path: Path, toy_kind: str) -> None:
    job = make_toy_job(tmp_path, range(1, 7))
    assert main(["farm", "openjd", str(job), "--out", str(tmp_path / "bundle"), "--chunk-size", "3"]) == 0
    assert (tmp_path / "bundle" / "template.yaml").is_file()
    assert main(["farm", "openjd", str(job), "--out", str(tmp_path / "b2"), "--chunk-size", "0"]) == 2


def _openjd_run(bundle: Path, step: str, exe: str, *params: str) -> subprocess.CompletedProcess[str]:
    argv = [_openjd(), "run", str(bundle / "template.yaml"), "--step", step,
            "-p", f"file://{bundle / 'values.json'}", "-p", f"Genpost={exe}", *[x for p in params for x in ("-p", p)]]
    (bundle / "values.json").write_text(json.dumps(openjd_params(bundle)))
    return subprocess.run(argv, capture_output=True, text=True, timeout=300)


def test_openjd_run_two_chunks_matches_local_run(tmp_path: Path, toy_kind: str, toy_genpost_exe: str) -> None:
    ref = make_toy_job(tmp_path / "ref", range(1, 7), wedges={"seed": [4, 5]})
    assert main(["run", str(ref), "--progress", "none"]) == 0
    job = make_toy_job(tmp_path / "farm", range(1, 7), wedges={"seed": [4, 5]})
    bundle = write_bundle(job, tmp_path / "bundle", chunk_size=3)
    proc = _openjd_run(bundle, "toy", toy_genpost_exe)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    log = proc.stdout + proc.stderr
    assert "Frame(CHUNK[INT]) = 1-3" in log and "Frame(CHUNK[INT]) = 4-6" in log
    assert "openjd_progress: 100" in log
    for wedge in ("wedge_0000_seed4", "wedge_0001_seed5"):
        got = read_outputs(tmp_path / "farm" / "out" / wedge)
        assert got and got == read_outputs(tmp_path / "ref" / "out" / wedge)


def test_openjd_failing_task_reports_exit_3(tmp_path: Path, toy_kind: str, toy_genpost_exe: str) -> None:
    job = make_toy_job(tmp_path, range(1, 5))
    (tmp_path / "plate" / "plate.0003.dat").unlink()
    bundle = write_bundle(job, tmp_path / "bundle", chunk_size=2)
    proc = _openjd_run(bundle, "toy", toy_genpost_exe)
    assert proc.returncode != 0
    log = proc.stdout + proc.stderr
    assert "exited with code: 3" in log and "plate.0003.dat" in log
