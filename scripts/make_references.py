"""Regenerate the checked-in reference outputs under tests/references/ (OpenImageIO testsuite habit).

    make references          # or: .venv/bin/python scripts/make_references.py

Runs a small set extension and a small crowd replication on the bundled street shot (tiny
resolution, few frames, classical generator, fixed seeds) and writes their EXRs and a JSON
summary to tests/references/{setext,crowd}/. tests/references/test_references.py runs the same
jobs and compares with these files at the tolerance stated there. Regenerate only when an output
change is intended (a new fill, a new crowd renderer), look at the images, and commit them with
the change that explains why.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
REFERENCES = ROOT / "tests" / "references"

#: The shot and the two jobs (small enough for a few seconds on two cores).
SHOT = {"frames": 4, "width": 96, "height": 54}
FRAMES = "1001-1004"
SETEXT = {"generator": "classical", "seed": 3, "max_keyframes": 2}
CROWD = {"count": 12, "seed": 5}


def build(out: Path) -> dict[str, Path]:
    """Build the shot under ``out/shot`` and run both jobs into ``out/setext`` and ``out/crowd``;
    return the two output folders."""
    from genpost_houdini.jobs.crowd_replication import run_job as run_crowd
    from genpost_houdini.jobs.set_extension import run_job as run_setext
    from genpost_houdini.samples.extras import build_extras
    from genpost_houdini.samples.street import build_street
    from genpost_houdini.shot.frames import parse_frame_range

    shot = build_street(out / "shot", **SHOT).to_json()
    frames = parse_frame_range(FRAMES)
    common = {"stage": shot["stage"], "camera": shot["camera"], "depth": shot["depth"], "frames": FRAMES}
    setext = run_setext(common | {"plate": shot["plate"], "extend": shot["extend"]} | SETEXT, frames,
                        out_dir=out / "setext")
    extras = build_extras(out / "shot" / "extras", frames=8, height=40)
    crowd = run_crowd(common | {"region": shot["crowd_region"], "source": extras} | CROWD, frames,
                      out_dir=out / "crowd")
    summaries = {
        "setext": {k: setext[k] for k in ("keyframes", "missing_after_plates", "missing_after_keyframes")},
        "crowd": {k: v for k, v in crowd.items() if k in ("instances", "count")},
    }
    for name, summary in summaries.items():
        (out / name / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return {"setext": out / "setext", "crowd": out / "crowd"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REFERENCES, help="where to write (default tests/references)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="genpost-refs-") as tmp:
        folders = build(Path(tmp))
        for name, folder in folders.items():
            dest = args.out / name
            if dest.exists():
                shutil.rmtree(dest)
            dest.mkdir(parents=True)
            for f in sorted(folder.glob(f"{name}.*.exr")) + [folder / "summary.json"]:
                shutil.copy2(f, dest / f.name)
            print(f"wrote {dest} ({len(list(dest.iterdir()))} files)")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
