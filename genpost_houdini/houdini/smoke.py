"""``genpost houdini smoke``: cook every GenPost asset in hython on the bundled sample shot.

No hou here: this side finds hython, takes the sample shot (written by the command, small), runs
``hython smoke_hython.py CHECK SHOT.json OUT`` once per check -- a fresh Houdini process, so a
fresh scene -- and turns the ``GENPOST_SMOKE {json}`` line each run prints into a table. The
hython side (smoke_hython.py) creates the asset, presses Generate (or cooks the TOP / COP) and
checks the result. A licence holder runs it; CI has no Houdini.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

from ..errors import UsageError

#: The checks, in the order they run.
CHECKS = ("lop_set_extension", "lop_crowd_replicate", "top_wedge", "cop_generate")
MARKER = "GENPOST_SMOKE "
SCRIPT = Path(__file__).with_name("smoke_hython.py")


@dataclass(frozen=True)
class SmokeResult:
    """One check: ``status`` is ``pass``, ``fail`` or ``skip`` (not applicable to this Houdini)."""

    check: str
    status: str
    detail: str
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status in ("pass", "skip")


def find_hython(given: str | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """``--hython``, else ``hython`` on PATH, else ``$HFS/bin/hython``; UsageError (exit 2) saying
    what to do when none is found."""
    env = os.environ if environ is None else environ
    if given:
        path = Path(given)
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise UsageError(f"hython not found at {given} (pass the hython executable of a Houdini install)")
    found = shutil.which("hython", path=env.get("PATH"))
    if found:
        return Path(found)
    if env.get("HFS") and (Path(env["HFS"]) / "bin" / "hython").is_file():
        return Path(env["HFS"]) / "bin" / "hython"
    raise UsageError("hython not found: Houdini is not installed here or not on PATH. Pass --hython PATH "
                     "(e.g. /opt/hfs21.0/bin/hython), put $HFS/bin on PATH, or set HFS.")


def parse_result(check: str, returncode: int, output: str, seconds: float = 0.0) -> SmokeResult:
    """The result a check's hython run reported (its last ``GENPOST_SMOKE {json}`` line); a run
    that crashed or printed none is a failure quoting its last lines."""
    for line in reversed(output.splitlines()):
        if line.startswith(MARKER):
            try:
                data = json.loads(line[len(MARKER):])
                status, detail = str(data["status"]), str(data.get("detail", ""))
            except (ValueError, KeyError, TypeError):
                break
            if status not in ("pass", "fail", "skip"):
                break
            if status == "pass" and returncode != 0:
                status, detail = "fail", f"hython exited with {returncode} after reporting a pass: {detail}"
            return SmokeResult(check, status, detail, seconds)
    tail = " | ".join(line.strip() for line in output.strip().splitlines()[-4:])
    return SmokeResult(check, "fail", f"hython exited with {returncode} without a result: {tail or 'no output'}", seconds)


def format_table(results: Sequence[SmokeResult]) -> str:
    """A fixed-width table: check, result, seconds, detail; then a summary line."""
    rows = [("check", "result", "seconds", "detail")]
    rows += [(r.check, r.status.upper(), f"{r.seconds:.1f}", r.detail) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["  ".join(row[i].ljust(widths[i]) for i in range(3)) + "  " + row[3] for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * 6)
    failed = [r.check for r in results if not r.ok]
    lines.append(f"{len(results) - len(failed)} of {len(results)} checks passed" +
                 (f"; failed: {', '.join(failed)}" if failed else ""))
    return "\n".join(lines)


def child_env(root: Path, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """hython's environment: this checkout's package.json (HOUDINI_PACKAGE_DIR), this Python's
    genpost for the Generate buttons (GENPOST_PYTHON), and its console script for work items
    (GENPOST)."""
    env = dict(os.environ if environ is None else environ)
    env["HOUDINI_PACKAGE_DIR"] = str(root)
    env["GENPOST_PYTHON"] = sys.executable
    script = Path(sys.executable).parent / ("genpost.exe" if os.name == "nt" else "genpost")
    env["GENPOST"] = str(script) if script.is_file() else (shutil.which("genpost") or "genpost")
    for key in ("PYTHONPATH", "PYTHONHOME"):  # ours would break hython's own Python
        env.pop(key, None)
    return env


def run_smoke(hython: Path, root: Path, shot_json: Path, work: Path, *, checks: Sequence[str] = CHECKS,
              timeout_s: float = 900.0, echo: Callable[[str], None] = print) -> list[SmokeResult]:
    """Run every check in its own hython process on SHOT.json; returns the results in order."""
    import time

    work.mkdir(parents=True, exist_ok=True)
    env = child_env(root)
    results = []
    for check in checks:
        echo(f"genpost houdini smoke: {check} ...")
        started = time.monotonic()
        argv = [str(hython), str(SCRIPT), check, str(shot_json), str(work / check)]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout_s)
            result = parse_result(check, done.returncode, done.stdout + done.stderr, time.monotonic() - started)
        except subprocess.TimeoutExpired:
            result = SmokeResult(check, "fail", f"no result after {timeout_s:.0f} s", time.monotonic() - started)
        (work / f"{check}.log").write_text(f"$ {' '.join(argv)}\n{result.detail}\n")
        results.append(result)
    return results
