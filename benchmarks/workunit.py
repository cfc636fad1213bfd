"""Benchmark: the work-unit machinery (hashing, manifest, skip) per frame, and the rerun of a
finished 96-frame job (goal: under 1 s total).

    .venv/bin/python benchmarks/workunit.py [--frames 96] [--resolution 2048 1152] [--no-job]

Part 1 (synthetic, no job): one real set-extension-shaped EXR (RGBA half + source, matte,
confidence, Z float, ZIP) at --resolution, copied to N frames; times Manifest open, record()
per frame (sha256 + locked manifest rewrite), and is_done() per frame with the stat shortcut
("auto") and with full re-hashing ("full").
Part 2 (the real job): the bundled street shot at a small resolution, `genpost setext
--save-job`, `genpost run` once to finish it, then the rerun timed twice: in-process
(``run_job`` on the finished folder) and as a fresh `genpost run` process (interpreter start
and imports included). Prints a JSON report.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from genpost_houdini.jobs.workunit import Manifest
from genpost_houdini.imageio import exr


def _exr_frame(path: Path, width: int, height: int) -> int:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = 0.5 + 0.25 * np.sin(xx / 37.0) * np.cos(yy / 23.0)
    grain = rng.normal(0, 0.02, (height, width)).astype(np.float32)
    channels = {
        "R": base + grain, "G": base * 0.9 + grain, "B": base * 0.8 + grain, "A": np.ones_like(base),
        "source": (xx > width / 2).astype(np.float32) * 2, "matte": (yy < height / 3).astype(np.float32),
        "confidence": np.full_like(base, 0.9), "Z": 10 + yy / height * 50,
    }
    kinds = {"R": "colour", "G": "colour", "B": "colour", "A": "colour", "source": "id",
             "matte": "mask", "confidence": "mask", "Z": "depth"}
    exr.write_exr(path, channels, kinds=kinds)
    return path.stat().st_size


def synthetic(frames: int, width: int, height: int, root: Path) -> dict:
    out = root / "synthetic"
    out.mkdir()
    size = _exr_frame(root / "template.exr", width, height)
    data = (root / "template.exr").read_bytes()
    paths = []
    for f in range(1001, 1001 + frames):
        p = out / f"setext.{f:04d}.exr"
        p.write_bytes(data)
        paths.append(p)
    time.sleep(0.05)  # as in a real job, the record comes after the write has settled

    t = time.perf_counter()
    m = Manifest(out)
    open_s = time.perf_counter() - t
    record = []
    for f, p in zip(range(1001, 1001 + frames), paths):
        t = time.perf_counter()
        m.record(f, f"inputs-{f}", [p])
        record.append(time.perf_counter() - t)
    m.close()

    result = {"frames": frames, "resolution": [width, height], "exr_bytes": size,
              "manifest_open_ms": round(open_s * 1e3, 2),
              "record_ms_per_frame": round(statistics.median(record) * 1e3, 2)}
    for verify in ("auto", "full"):
        t = time.perf_counter()
        m = Manifest(out, verify=verify)
        ok = all(m.is_done(f, f"inputs-{f}") for f in range(1001, 1001 + frames))
        total = time.perf_counter() - t
        m.close()
        assert ok
        result[f"skip_all_{verify}_s"] = round(total, 4)
        result[f"skip_{verify}_ms_per_frame"] = round(total / frames * 1e3, 3)
    return result


def real_job(frames: int, resolution: tuple[int, int], root: Path) -> dict:
    exe = str(Path(sys.executable).with_name("genpost"))
    shot = root / "shot"
    info = json.loads(subprocess.run(
        [exe, "samples", "street", str(shot), "--frames", str(frames), "--resolution", *map(str, resolution)],
        check=True, capture_output=True, text=True).stdout)
    job = root / "job.json"
    subprocess.run([exe, "setext", "--stage", info["stage"], "--camera", info["camera"],
                    "--plate", info["plate"], "--depth", info["depth"], "--extend", info["extend"],
                    "--frames", info["frames"], "--out", str(root / "out"), "--max-keyframes", "2",
                    "--save-job", str(job)], check=True, capture_output=True)
    t = time.perf_counter()
    subprocess.run([exe, "run", str(job), "--progress", "none"], check=True, capture_output=True)
    first = time.perf_counter() - t

    from genpost_houdini.farm.jobfile import load_job_file
    from genpost_houdini.jobs.registry import get_runner

    spec = load_job_file(job)
    runner = get_runner(spec.kind)
    params = {k: v for k, v in spec.params.items() if k != "out"}
    t = time.perf_counter()
    res = runner(params, spec.shot_frames, out_dir=spec.out_dir, force=False)
    in_process = time.perf_counter() - t
    assert res.get("written", "") in ("", []), res

    t = time.perf_counter()
    subprocess.run([exe, "run", str(job), "--progress", "none"], check=True, capture_output=True)
    cli = time.perf_counter() - t
    t = time.perf_counter()
    subprocess.run([exe, "--help"], check=True, capture_output=True)
    startup = time.perf_counter() - t
    return {"frames": frames, "resolution": list(resolution), "first_run_s": round(first, 2),
            "rerun_in_process_s": round(in_process, 3), "rerun_cli_s": round(cli, 3),
            "genpost_help_s": round(startup, 3)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=96)
    ap.add_argument("--resolution", type=int, nargs=2, default=(2048, 1152), metavar=("W", "H"))
    ap.add_argument("--shot-resolution", type=int, nargs=2, default=(128, 72), metavar=("W", "H"),
                    help="resolution of the real-job shot (its first run computes keyframes)")
    ap.add_argument("--no-job", action="store_true", help="skip part 2 (the real job)")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="genpost-bench-workunit-"))
    try:
        report = {"synthetic": synthetic(args.frames, *args.resolution, root), "cpus": os.cpu_count()}
        if not args.no_job:
            report["setext"] = real_job(args.frames, tuple(args.shot_resolution), root)
        print(json.dumps(report, indent=2))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
