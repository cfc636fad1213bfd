"""Set-extension job: seconds per frame (generator time reported apart) and peak memory vs
shot length. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/setext.py                 # 2048x1152, 24 frames; memory 24 vs 96 at 960x540
    .venv/bin/python benchmarks/setext.py --quick         # small sizes, for a smoke run

Goals (issue 3): at most 1 s/frame at 2048x1152 on 2 cores excluding synthesis; peak memory
ratio 96 vs 24 frames at most 1.3 (frames streamed, not all held).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("GENPOST_BENCH_CACHE", Path(tempfile.gettempdir()) / "genpost-bench"))


def build(frames: int, width: int, height: int) -> dict:
    from genpost_houdini.samples.street import build_street

    return build_street(CACHE / f"street_{frames}_{width}x{height}", frames=frames, width=width, height=height).to_json()


def run_job(info: dict, frames: int, out: Path) -> dict:
    """Run `genpost setext` in a child process; return its JSON and peak RSS (MiB)."""
    first = int(info["first_frame"])
    cmd = [sys.executable, "-m", "genpost_houdini.cli", "-q", "setext", "--stage", info["stage"], "--camera", info["camera"],
           "--plate", info["plate"], "--depth", info["depth"], "--extend", info["extend"],
           "--frames", f"{first}-{first + frames - 1}", "--out", str(out), "--json", "--progress", "none", "--force"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"setext failed ({proc.returncode}): {proc.stderr[-2000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result = json.loads(proc.stdout)
    return {"wall": wall, "peak_mib": max(peak, before) / 1024.0, "result": result}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--speed-frames", type=int, default=24)
    ap.add_argument("--no-memory", action="store_true", help="only the speed figure")
    args = ap.parse_args()
    speed_res = (512, 288) if args.quick else (2048, 1152)
    mem_res = (320, 180) if args.quick else (960, 540)
    short, long = (8, 32) if args.quick else (24, 96)

    print(f"machine: {os.cpu_count()} cores; {sys.version.split()[0]}")
    info = build(args.speed_frames, *speed_res)
    with tempfile.TemporaryDirectory() as tmp:
        run = run_job(info, args.speed_frames, Path(tmp) / "speed")
    r = run["result"]
    gen = r["generator_seconds"]
    per_frame = (r["seconds"] - gen) / args.speed_frames
    print(f"speed @ {speed_res[0]}x{speed_res[1]}, {args.speed_frames} frames: job {r['seconds']:.1f} s "
          f"(generator {gen:.1f} s, keyframes {r['keyframes']}) -> {per_frame:.2f} s/frame excluding synthesis "
          f"(goal <= 1.0); wall incl. start-up {run['wall']:.1f} s")

    if args.no_memory:
        return
    peaks = {}
    for n in (short, long):
        info = build(n, *mem_res)
        with tempfile.TemporaryDirectory() as tmp:
            # A fresh interpreter per run: ru_maxrss of children is a running max, so measure
            # each in its own grandchild.
            code = (
                "import json,sys,resource,runpy;sys.argv=['x'];"
                "from benchmarks.setext import run_job;"
                f"r=run_job(json.loads({json.dumps(json.dumps(info))}),{n},__import__('pathlib').Path({json.dumps(tmp)})/'m');"
                "print(json.dumps({'peak':r['peak_mib'],'s':r['result']['seconds']}))"
            )
            proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
            if proc.returncode != 0:
                raise SystemExit(proc.stderr[-2000:])
            peaks[n] = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"memory @ {mem_res[0]}x{mem_res[1]}, {n} frames: peak RSS {peaks[n]['peak']:.0f} MiB (job {peaks[n]['s']:.1f} s)")
    print(f"peak memory ratio {long}/{short} frames: {peaks[long]['peak'] / peaks[short]['peak']:.2f} (goal <= 1.3)")


if __name__ == "__main__":
    main()
