"""`genpost run JOB.json --frames A-B [--wedge NAME=VALUE ...] [--force]`: run a job file's chunk."""

from __future__ import annotations

import argparse

from ..progress import MODES
from .setext import add_depth_kind_argument


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser(
        "run",
        help="run a job file (or one chunk of its frames / one wedge)",
        description="Run a JSON job file written by `genpost setext/crowd --save-job`. Frames "
        "whose outputs exist with a matching inputs hash are skipped (see OUT/manifest.json); "
        "--force redoes them (and hands over a folder another job owns). Exit codes: 0 ok, 2 usage, 3 bad input (do not retry), "
        "75 transient (retry).",
    )
    p.add_argument("job", metavar="JOB.json", help="the job file")
    p.add_argument("--frames", metavar="A-B", help="the chunk to run (default: the job's whole shot range)")
    p.add_argument("--wedge", metavar="NAME=VALUE", action="append", default=[],
                   help="run only the wedge with this value (repeatable); without it every wedge runs")
    p.add_argument("--wedge-index", type=int, metavar="I", help="run only wedge number I (0-based)")
    p.add_argument("--force", action="store_true",
                   help="redo every frame, even those already done; hand over an output folder another job owns")
    p.add_argument("--allow-pickle", action="store_true",
                   help="allow pickle checkpoints in the job's model folder (they run code when loaded); "
                        "a job file cannot ask for this itself")
    add_depth_kind_argument(p, default=None)
    p.add_argument("--progress", choices=MODES, default="auto",
                   help="progress lines: openjd prints `openjd_progress: N` (auto: inside OpenJD sessions)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    import json

    from ..errors import UsageError
    from ..farm.jobfile import load_job_file
    from ..farm.progress import Progress
    from ..farm.runner import plan, preflight, run_units
    from ..farm.wedges import split_param
    from ..shot.frames import parse_frame_range

    if args.wedge and args.wedge_index is not None:
        raise UsageError("give --wedge or --wedge-index, not both")
    spec = load_job_file(args.job)
    frames = parse_frame_range(args.frames) if args.frames else None
    values = dict(split_param(w) for w in args.wedge)
    if args.depth_kind is not None:  # overrides the job file's depth_kind
        if "depth_kind" not in spec.specs():
            raise UsageError(f"--depth-kind: job kind {spec.kind!r} reads no depth")
        spec.params["depth_kind"] = args.depth_kind
    units = plan(spec, frames, wedge_values=values, wedge_index=args.wedge_index, allow_pickle=args.allow_pickle)
    preflight(spec, units[0].frames)
    progress = Progress(args.progress, parts=len(units))
    results = run_units(units, force=args.force, progress=progress)
    if args.json:
        print(json.dumps(results, indent=2, sort_keys=True))
    else:
        for r in results:
            print(f"genpost run: {r['kind']} frames {r['frames']} -> {r['out']}")
    return 0
