"""The interruptible child process behind every LOP cook (real subprocesses, no hou)."""

from __future__ import annotations

import os
import sys
import textwrap
import time

import pytest

from genpost_houdini.houdini.process import child_environment, parse_progress, run_interruptible


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); read its state where /proc exists.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_parse_progress_lines():
    assert parse_progress("openjd_progress: 42.5") == pytest.approx(0.425)
    assert parse_progress("genpost setext: frame 1003 (3/12)") == pytest.approx(0.25)
    assert parse_progress("openjd_status: writing layer") is None


def test_child_environment_drops_houdini_python_variables():
    env = child_environment({"PYTHONHOME": "/opt/hfs/python", "PYTHONPATH": "/opt/hfs/houdini/python3.11libs",
                             "OCIO": "/cfg.ocio", "PATH": "/bin"}, {"GENPOST_ROOT": "/repo"})
    assert "PYTHONHOME" not in env and "PYTHONPATH" not in env
    assert env["OCIO"] == "/cfg.ocio" and env["GENPOST_ROOT"] == "/repo" and env["PATH"] == "/bin"


def test_runs_to_completion_with_progress_and_log(tmp_path):
    code = "import sys\nfor i in range(1, 5):\n    print(f'openjd_progress: {i * 25}', flush=True)\nsys.exit(3)"
    seen: list[float | None] = []
    log = tmp_path / "run.log"
    result = run_interruptible([sys.executable, "-c", code], should_stop=lambda: False,
                               on_progress=lambda f, line: seen.append(f), log_path=log, poll_s=0.02)
    assert result.returncode == 3 and not result.interrupted
    assert seen == [0.25, 0.5, 0.75, 1.0]
    assert "openjd_progress: 100" in result.tail
    assert log.read_text().count("openjd_progress") == 4


def test_interrupt_stops_the_whole_process_group_and_the_next_run_works(tmp_path):
    pids = tmp_path / "pids.txt"
    code = textwrap.dedent(f"""
        import os, subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        with open({str(pids)!r}, "w") as fh:
            fh.write(f"{{os.getpid()}} {{child.pid}}")
        print("openjd_progress: 10", flush=True)
        time.sleep(600)
    """)
    polls = {"n": 0}

    def should_stop() -> bool:
        polls["n"] += 1
        return pids.exists() and polls["n"] > 3

    result = run_interruptible([sys.executable, "-c", code], should_stop=should_stop, poll_s=0.05, grace_s=2.0)
    assert result.interrupted and result.returncode is None
    parent, grandchild = (int(p) for p in pids.read_text().split())
    deadline = time.monotonic() + 5
    while (_alive(parent) or _alive(grandchild)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(parent) and not _alive(grandchild)
    again = run_interruptible([sys.executable, "-c", "print('done')"], should_stop=lambda: False, poll_s=0.02)
    assert again.returncode == 0 and again.tail == "done"


def test_sigterm_ignoring_child_is_killed(tmp_path):
    code = "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('ready', flush=True)\ntime.sleep(600)"
    ready = {"seen": False}
    result = run_interruptible([sys.executable, "-c", code], should_stop=lambda: ready["seen"],
                               on_progress=lambda f, line: ready.update(seen=line == "ready"), poll_s=0.05, grace_s=0.5)
    assert result.interrupted
