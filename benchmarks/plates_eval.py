"""Set extension on real plates: the issue-11 figures at full resolution. Prints; asserts nothing.

The real TartanAir office shot (36 frames, 640x480) is made into real plates
(:mod:`genpost_houdini.samples.realplate`) and extended with ``genpost setext`` at DEFAULT
settings (no holdout, no flags), then scored against the truth (:mod:`genpost_houdini.qc.truth_score`):

- ``real``: blue screen over a top region, soft 6-pixel edge with spill, a red object crossing
  the kept plate below the screen, grain on every frame, exposure drift;
- ``lens``: the clean plate distorted by a radial lens (ST maps, 10 % overscan CG frame),
  undistorted depth, soft top matte;
- ``green``: as ``real`` with a green screen and no exposure drift;
- ``clean``: the unmodified plate with a soft top matte (must not regress).

    .venv/bin/python benchmarks/plates_eval.py                 # every case, 36 frames
    .venv/bin/python benchmarks/plates_eval.py --case real --frames 1001-1012 --downsample 2

Wanted (issue 11): kept_changed_pixels 0, leaked_pixels ~0, cast_fraction <= the truth's,
grain_ratio 0.7-1.4, edge_step_ratio <= 1.5, median_error_seen <= 0.06 (lens: <= 0.008).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "tartanair_office"
CACHE = Path(os.environ.get("GENPOST_BENCH_CACHE", Path(tempfile.gettempdir()) / "genpost-bench"))

CASES = {
    "real": {},
    "lens": {"screen": None, "moving": False, "grain": 0.0, "drift": 0.0, "lens": (0.06, 0.01)},
    "green": {"screen": "green", "drift": 0.0},
    "clean": {"screen": None, "moving": False, "grain": 0.0, "drift": 0.0},
}


def build(case: str, frames: list[int], downsample: int):
    from genpost_houdini.samples.realplate import RealPlateSpec, build_real_plate, load_real_plate

    spec = RealPlateSpec(downsample=downsample, **CASES[case])
    folder = CACHE / f"realplate_{case}_{frames[0]}-{frames[-1]}_d{downsample}"
    if (folder / "realplate.json").is_file():
        real = load_real_plate(folder)
        if real.spec == spec and real.frames == frames:
            return real
    return build_real_plate(folder, stage=DATA / "shot.usda", plate=str(DATA / "plate.####.exr"),
                            depth=str(DATA / "depth.####.exr"), frames=frames, spec=spec)


def run_setext(real, out: Path) -> tuple[int, float, str]:
    cmd = [sys.executable, "-m", "genpost_houdini.cli", "-q", "setext", *real.setext_args(), "--out", str(out),
           "--progress", "none", "--json", "--force"]
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    return proc.returncode, time.perf_counter() - started, proc.stdout if proc.returncode == 0 else proc.stderr[-1500:]


def _rounded(value):
    if isinstance(value, float):
        return float(f"{value:.4g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def main() -> None:
    from genpost_houdini.qc.truth_score import score_real_plate
    from genpost_houdini.shot.frames import parse_frame_range

    ap = argparse.ArgumentParser()
    ap.add_argument("--case", action="append", choices=sorted(CASES), help="cases to run (default: all)")
    ap.add_argument("--frames", default="1001-1036")
    ap.add_argument("--downsample", type=int, default=1)
    ap.add_argument("--keep", metavar="DIR", help="write outputs under DIR (default: a temporary folder)")
    args = ap.parse_args()
    frames = parse_frame_range(args.frames)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(args.keep) if args.keep else Path(tmp)
        for case in args.case or list(CASES):
            real = build(case, frames, args.downsample)
            out = base / case
            rc, seconds, text = run_setext(real, out)
            if rc != 0:
                print(f"{case}: setext exit {rc}: {text.strip().splitlines()[-1] if text.strip() else ''}")
                continue
            score = score_real_plate(real, out)
            score["seconds"] = round(seconds, 1)
            print(f"{case}: " + json.dumps(_rounded(score)))


if __name__ == "__main__":
    main()
