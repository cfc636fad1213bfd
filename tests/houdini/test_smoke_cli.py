"""`genpost houdini smoke` without Houdini: hython missing (exit 2), and the table and exit code
from the results a stand-in hython reports (a shell script this test writes, run for real)."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from genpost_houdini.cli import main
from genpost_houdini.houdini import smoke

ROOT = Path(__file__).resolve().parents[2]

FAKE_HYTHON = """#!/bin/sh
# Stands in for Houdini's hython: argv = SCRIPT CHECK SHOT.json OUT. Records what it was given.
echo "$1|$2|$3|$4|$HOUDINI_PACKAGE_DIR|$GENPOST_PYTHON" >> "$FAKE_HYTHON_LOG"
case "$FAKE_HYTHON_MODE:$2" in
  fail:top_wedge) echo 'GENPOST_SMOKE {"status": "fail", "detail": "1 output work items, expected 2"}'; exit 1 ;;
  fail:cop_generate) echo "Traceback (most recent call last): hou.OperationFailed" >&2; exit 3 ;;
  *:cop_generate) echo 'GENPOST_SMOKE {"status": "skip", "detail": "Houdini 20.5.332 has no Python Snippet COP"}' ;;
  *) echo "cooking..."; echo "GENPOST_SMOKE {\\"status\\": \\"pass\\", \\"detail\\": \\"$2 ok\\"}" ;;
esac
"""


@pytest.fixture()
def fake_hython(tmp_path, monkeypatch) -> Path:
    exe = tmp_path / "bin" / "hython"
    exe.parent.mkdir()
    exe.write_text(FAKE_HYTHON)
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("FAKE_HYTHON_LOG", str(tmp_path / "calls.log"))
    return exe


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("smoke_work")  # the sample is built once and reused by every run


def test_no_hython_says_so_and_exits_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("HFS", raising=False)
    assert main(["houdini", "smoke"]) == 2
    assert "hython not found" in capsys.readouterr().err
    assert main(["houdini", "smoke", "--hython", str(tmp_path / "nope")]) == 2


def test_all_checks_pass_or_skip_exit_0(fake_hython, work, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("FAKE_HYTHON_MODE", "pass")
    assert main(["houdini", "smoke", "--hython", str(fake_hython), "--work", str(work)]) == 0
    out = capsys.readouterr().out
    assert "4 of 4 checks passed" in out
    for check in smoke.CHECKS:
        assert check in out
    assert "SKIP" in out and "no Python Snippet COP" in out
    calls = [line.split("|") for line in (tmp_path / "calls.log").read_text().splitlines()]
    assert [c[1] for c in calls] == list(smoke.CHECKS)  # one fresh hython per check, in order
    script, _, shot_json, _, package_dir, python = calls[0]
    assert Path(script) == smoke.SCRIPT and Path(package_dir) == ROOT and python == sys.executable
    shot = json.loads(Path(shot_json).read_text())
    for key in ("stage", "plate", "depth", "extend", "camera", "crowd_region", "extras", "cop_inputs"):
        assert key in shot
    assert shot["last_frame"] - shot["first_frame"] == 2 and all(Path(p).is_file() for p in shot["cop_inputs"].values())


def test_a_failing_or_crashing_check_exits_4_with_the_table(fake_hython, work, monkeypatch, capsys):
    monkeypatch.setenv("FAKE_HYTHON_MODE", "fail")
    assert main(["houdini", "smoke", "--hython", str(fake_hython), "--work", str(work)]) == 4
    captured = capsys.readouterr()
    rows = {line.split()[0]: line for line in captured.out.splitlines() if line.split() and line.split()[0] in smoke.CHECKS}
    assert "PASS" in rows["lop_set_extension"] and "PASS" in rows["lop_crowd_replicate"]
    assert "FAIL" in rows["top_wedge"] and "expected 2" in rows["top_wedge"]
    assert "FAIL" in rows["cop_generate"] and "without a result" in rows["cop_generate"] and "OperationFailed" in rows["cop_generate"]
    assert "2 of 4 checks passed; failed: top_wedge, cop_generate" in captured.out
    assert "top_wedge, cop_generate failed" in captured.err


def test_result_parsing():
    ok = smoke.parse_result("x", 0, 'noise\nGENPOST_SMOKE {"status": "pass", "detail": "fine"}\n')
    assert ok == smoke.SmokeResult("x", "pass", "fine") and ok.ok
    assert smoke.parse_result("x", 0, 'GENPOST_SMOKE {"status": "skip", "detail": "n/a"}').ok
    late_crash = smoke.parse_result("x", 139, 'GENPOST_SMOKE {"status": "pass", "detail": "fine"}\nSegmentation fault')
    assert late_crash.status == "fail" and "exited with 139" in late_crash.detail
    garbled = smoke.parse_result("x", 0, "GENPOST_SMOKE {not json\n")
    assert garbled.status == "fail" and not garbled.ok
    table = smoke.format_table([ok, smoke.SmokeResult("y", "fail", "boom", 2.5)])
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["check", "result", "seconds"] and set(lines[1]) <= {"-", " "}
    assert lines[-1] == "1 of 2 checks passed; failed: y" and "2.5" in lines[3]


def test_hython_env_points_houdini_at_this_checkout():
    env = smoke.child_env(ROOT, {"PATH": "/usr/bin", "PYTHONPATH": "/elsewhere"})
    assert env["HOUDINI_PACKAGE_DIR"] == str(ROOT) and "PYTHONPATH" not in env
    assert env["GENPOST_PYTHON"] == sys.executable and os.path.basename(env["GENPOST"]).startswith("genpost")
