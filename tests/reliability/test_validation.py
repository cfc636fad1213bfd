"""Validation up front: generator, model folder, options and values are checked before any
planning and at ``--save-job`` (nothing written for a job that cannot run); every count that
sizes memory or work is bounded before allocation; ``allow_pickle`` is the runner's decision."""

from __future__ import annotations

import json
import resource
import time
from pathlib import Path

import pytest
from reliability_helpers import no_traceback

from genpost_houdini.cli import main


def test_unknown_generator_refused_at_once(tmp_path: Path, genpost, setext_args) -> None:
    out = tmp_path / "out"
    started = time.monotonic()
    proc = genpost(*setext_args(out, "--generator", "no-such-generator"))
    elapsed = time.monotonic() - started
    assert proc.returncode in (2, 3), proc.stderr
    assert "no-such-generator" in proc.stderr and "classical" in proc.stderr
    no_traceback(proc.stderr)
    assert elapsed < 5.0, f"refused after {elapsed:.1f} s"
    assert not out.exists(), "nothing written, not even OUT/.genpost/"


@pytest.mark.parametrize("extra", [
    ["--strength", "5"], ["--strength", "nan"], ["--generator", "no-such-generator"],
    ["--max-keyframes", "-1"], ["--max-keyframes", "100000000"], ["--frames", "1001-100000000"],
], ids=["strength", "strength-nan", "generator", "keyframes-negative", "keyframes-huge", "frames-huge"])
def test_save_job_validates(tmp_path: Path, setext_args, capsys: pytest.CaptureFixture[str], extra: list[str]) -> None:
    job = tmp_path / "job.json"
    assert main([*setext_args(tmp_path / "out", *extra), "--save-job", str(job)]) in (2, 3)
    no_traceback(capsys.readouterr().err)
    assert not job.exists() and not (tmp_path / "out").exists()


def test_save_job_checks_the_model_folder(tmp_path: Path, setext_args, capsys: pytest.CaptureFixture[str]) -> None:
    job = tmp_path / "job.json"
    missing = tmp_path / "no-such-model"
    assert main([*setext_args(tmp_path / "out", "--generator", "wan-vace", "--model", str(missing)), "--save-job", str(job)]) == 3
    err = capsys.readouterr().err
    assert "wan-vace" in err and "not available" in err
    assert not job.exists()


def _job_file(tmp_path: Path, setext_args, **parameters: object) -> Path:
    """A saved setext job, then edited by hand (as a wrangler or another tool would)."""
    job = tmp_path / "job.json"
    assert main([*setext_args(tmp_path / "out"), "--save-job", str(job)]) == 0
    doc = json.loads(job.read_text())
    doc["parameters"].update(parameters)
    job.write_text(json.dumps(doc))
    return job


@pytest.mark.parametrize("parameters", [{"strength": 5}, {"generator": "no-such-generator"}, {"max_sources": 10**9}],
                         ids=["strength", "generator", "max_sources"])
def test_run_refuses_a_bad_job_file_before_any_work(tmp_path: Path, setext_args, capsys: pytest.CaptureFixture[str],
                                                    parameters: dict) -> None:
    job = _job_file(tmp_path, setext_args, **parameters)
    capsys.readouterr()
    assert main(["run", str(job), "--progress", "none"]) == 3
    err = capsys.readouterr().err
    assert str(job) in err and next(iter(parameters)).split("_")[0] in err, err
    assert not (tmp_path / "out").exists()


def test_a_bad_wedge_stops_every_wedge_before_work(tmp_path: Path, setext_args, capsys: pytest.CaptureFixture[str]) -> None:
    job = _job_file(tmp_path, setext_args)
    assert main(["wedge", str(job), "--param", "strength=0.5,5", "--progress", "none"]) == 3
    assert "strength" in capsys.readouterr().err
    assert not (tmp_path / "out").exists(), "the valid first wedge did not run either"
    saved = tmp_path / "wedged.json"
    assert main(["wedge", str(job), "--param", "strength=0.5,5", "--save-job", str(saved)]) == 3
    assert "wedge_0001" in capsys.readouterr().err and not saved.exists()


@pytest.mark.parametrize("argv", [
    ["wedge", "JOB", "--param", "seed=1-100000000", "--list"],
    ["samples", "street", "OUT", "--frames", "100000000"],
    ["samples", "street", "OUT", "--workers", "100000"],
    ["demo", "--out", "OUT", "--frames", "100000000"],
    ["camera", "STAGE", "--resolution", "1000000", "1000000"],
    ["farm", "openjd", "JOB", "--out", "OUT", "--chunk-size", "0"],
    ["run", "JOB", "--frames", "1-100000000"],
], ids=["wedge", "samples-frames", "samples-workers", "demo", "camera", "openjd", "run"])
def test_counts_are_bounded_before_allocation(tmp_path: Path, genpost, setext_args, tiny_shot: dict, argv: list[str]) -> None:
    job = tmp_path / "job.json"
    assert main([*setext_args(tmp_path / "render"), "--save-job", str(job)]) == 0
    argv = [{"JOB": str(job), "OUT": str(tmp_path / "out"), "STAGE": tiny_shot["stage"]}.get(a, a) for a in argv]
    started = time.monotonic()
    proc = genpost(*argv)
    elapsed = time.monotonic() - started
    assert proc.returncode == 2, proc.stderr
    no_traceback(proc.stderr)
    assert elapsed < 10.0, f"refused after {elapsed:.1f} s"
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss < 2 * 1024 * 1024, "no child grew past 2 GiB"
    assert not (tmp_path / "out").exists()


def test_crowd_variants_are_bounded(tmp_path: Path, tiny_shot: dict, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    code = main(["crowd", "--stage", tiny_shot["stage"], "--region", tiny_shot["crowd_region"], "--source",
                 tiny_shot["plate"], "--depth", tiny_shot["depth"], "--frames", "1001-1002", "--count", "3",
                 "--generator", "wan-vace", "--variants", "100000", "--out", str(out)])
    assert code == 2
    assert "--variants 100000" in capsys.readouterr().err
    assert not out.exists()


# -- allow_pickle: the runner's decision ---------------------------------------------------------
def test_job_file_cannot_allow_pickle(tmp_path: Path, setext_args, capsys: pytest.CaptureFixture[str]) -> None:
    job = _job_file(tmp_path, setext_args, allow_pickle=True)
    capsys.readouterr()
    assert main(["run", str(job), "--progress", "none"]) == 3
    err = capsys.readouterr().err
    assert "allow_pickle" in err and "--allow-pickle" in err and str(job) in err
    assert not (tmp_path / "out").exists()
    assert main(["run", str(job), "--progress", "none", "--allow-pickle"]) == 0


def test_wedge_cannot_allow_pickle(tmp_path: Path, setext_args, capsys: pytest.CaptureFixture[str]) -> None:
    job = _job_file(tmp_path, setext_args)
    assert main(["wedge", str(job), "--param", "allow_pickle=true", "--progress", "none"]) == 3
    assert "allow_pickle" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_saved_jobs_ask_for_pickle_only_when_told(tmp_path: Path, setext_args) -> None:
    plain, asking = tmp_path / "plain.json", tmp_path / "asking.json"
    assert main([*setext_args(tmp_path / "out"), "--save-job", str(plain)]) == 0
    assert main([*setext_args(tmp_path / "out"), "--allow-pickle", "--save-job", str(asking)]) == 0
    assert "allow_pickle" not in json.loads(plain.read_text())["parameters"]
    assert json.loads(asking.read_text())["parameters"]["allow_pickle"] is True


def test_pickle_model_needs_the_runner(tmp_path: Path, setext_args, capsys: pytest.CaptureFixture[str]) -> None:
    """A model folder holding a pickle checkpoint is refused before any work, unless the runner
    (not the job file) allows pickles."""
    pytest.importorskip("diffusers")
    from genpost_houdini.generators.tiny import make_tiny

    model = make_tiny("wan-vace", tmp_path / "wan-vace")
    (model / "vae" / "extra.ckpt").write_bytes(b"not really a pickle")
    job = tmp_path / "job.json"
    assert main([*setext_args(tmp_path / "out", "--generator", "wan-vace", "--model", str(model)), "--save-job", str(job)]) == 3
    assert "pickle" in capsys.readouterr().err and not job.exists()
    assert main([*setext_args(tmp_path / "out", "--generator", "wan-vace", "--model", str(model), "--allow-pickle"),
                 "--save-job", str(job)]) == 0
    capsys.readouterr()
    assert main(["run", str(job), "--progress", "none"]) == 3  # the job asks; the runner did not allow it
    assert "--allow-pickle" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
