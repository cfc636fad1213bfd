"""Wall time of `genpost --help` (goal: under 0.5 s; heavy imports stay lazy).

Runs the installed console script (or `python -m genpost_houdini.cli` when it is not on PATH)
several times in fresh processes and prints the median and best wall time, plus which heavy
modules (torch, diffusers, OpenImageIO, pxr, numpy) the parser build imported.

    .venv/bin/python benchmarks/cli_startup.py [--repeat 10]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

HEAVY = ("torch", "diffusers", "transformers", "OpenImageIO", "PyOpenColorIO", "pxr", "numpy", "onnx", "hou", "pdg")


def _command() -> list[str]:
    here = os.path.dirname(os.path.abspath(sys.executable))
    script = os.path.join(here, "genpost")
    if os.path.exists(script):
        return [script]
    found = shutil.which("genpost")
    return [found] if found else [sys.executable, "-m", "genpost_houdini.cli"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=10)
    args = ap.parse_args()
    cmd = _command() + ["--help"]
    subprocess.run(cmd, check=True, capture_output=True)  # warm the file cache
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    probe = (
        "import sys; from genpost_houdini.cli import build_parser; build_parser(); "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    heavy = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout.strip()
    median, best = statistics.median(times), min(times)
    print(f"`{' '.join(cmd)}`: median {median:.3f} s, best {best:.3f} s over {args.repeat} runs (goal < 0.5 s)")
    print(f"heavy modules imported by the parser: {heavy or 'none'}")


if __name__ == "__main__":
    main()
