"""Crowd rendering: seconds per frame for 100 and 1,000 instances at 2048x1152.
Prints figures; asserts nothing. Goal (issue 5): 1,000 instances under 2 s/frame on 2 cores.

Prints the best wall time per frame, the mean, and the best CPU time of this process (steadier
on a shared machine). Two sources: the bundled extras library (10 people, walk and idle clips,
colourways, walkers, shadows, grade: what a user runs) and one plain element (as the figures before issue 12 were
measured: 0.094 and 0.55 s/frame). Both without motion blur (``--shutter`` to set one): this
3-frame shot moves the camera down the whole street in two steps, the worst case for blur.

    .venv/bin/python benchmarks/crowd.py [--quick] [--only library|plain] [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

CACHE = Path(os.environ.get("GENPOST_BENCH_CACHE", Path(tempfile.gettempdir()) / "genpost-bench"))


def main() -> None:
    from genpost_houdini.jobs.crowd_replication import CrowdParams, CrowdReplication
    from genpost_houdini.samples.extras import build_extras, build_extras_library
    from genpost_houdini.samples.street import build_street

    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", choices=["library", "plain"], default=None)
    ap.add_argument("--shutter", type=float, default=0.0, help="motion blur shutter in frames (default 0)")
    ap.add_argument("--repeat", type=int, default=1, help="render the frames this many times (best time counts)")
    args = ap.parse_args()
    width, height = (512, 288) if args.quick else (2048, 1152)
    frames = 3
    info = build_street(CACHE / f"street_{frames}_{width}x{height}", frames=frames, width=width, height=height).to_json()
    plain = build_extras(CACHE / "extras", frames=24, height=256)
    library = list(build_extras_library(CACHE / "library").sources)
    print(f"machine: {os.cpu_count()} cores; {sys.version.split()[0]}; {width}x{height}")
    first = int(info["first_frame"])
    for name, sources in (("library", library), ("plain", [plain])):
        if args.only and args.only != name:
            continue
        for count in (100, 1000):
            params = CrowdParams.from_mapping({
                "stage": info["stage"], "camera": info["camera"], "region": info["crowd_region"], "source": sources,
                "depth": info["depth"], "plate": info["plate"], "frames": f"{first}-{first + frames - 1}", "count": count,
                "seed": 1, "min_spacing": 0.15 if count > 200 else 0.6, "shutter": args.shutter,
            })
            with tempfile.TemporaryDirectory() as tmp:
                t0, c0 = time.perf_counter(), time.process_time()
                job = CrowdReplication(params, tmp)
                setup, setup_cpu = time.perf_counter() - t0, time.process_time() - c0
                times, cpu = [], []
                for f in list(range(first, first + frames)) * args.repeat:
                    t0, c0 = time.perf_counter(), time.process_time()
                    job.render(f)
                    times.append(time.perf_counter() - t0)
                    cpu.append(time.process_time() - c0)
            print(f"{name:8s} {count:5d} instances ({len(job.instances)} placed, "
                  f"{sum(i.walking for i in job.instances)} walking): {min(times):.3f} s/frame render "
                  f"(mean {sum(times) / len(times):.3f}; CPU {min(cpu):.3f}); setup {setup:.2f} s (CPU {setup_cpu:.2f})"
                  + ("  (goal < 2 s)" if count == 1000 else ""))


if __name__ == "__main__":
    main()
