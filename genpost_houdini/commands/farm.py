"""`genpost wedge` (expand wedges of a job file) and `genpost farm` (OpenJD bundles, sessions)."""

from __future__ import annotations

import argparse

from ..progress import MODES


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    w = sub.add_parser(
        "wedge",
        help="expand wedges (seed, prompt, strength, any parameter) of a job file",
        description="Expand --param lists/ranges (seed=1,2,3  seed=1-4  strength=0.5,0.7  "
        "'prompt=a\\, b,c' or a JSON list) and the job file's own wedges into work items, one "
        "output folder each (OUT/wedge_NNNN_...). --list shows them; otherwise they run.",
    )
    w.add_argument("job", metavar="JOB.json")
    w.add_argument("--param", metavar="NAME=VALUES", action="append", default=[],
                   help="values of one parameter (repeatable; several give their cross product)")
    w.add_argument("--list", action="store_true", help="list the work items, run nothing")
    w.add_argument("--json", action="store_true", help="print as JSON")
    w.add_argument("--frames", metavar="A-B", help="frames to run (default: the shot range)")
    w.add_argument("--force", action="store_true", help="redo frames already done")
    w.add_argument("--allow-pickle", action="store_true", help="allow pickle checkpoints (the runner's decision)")
    w.add_argument("--save-job", metavar="NEW.json", help="write a job file with these wedges, run nothing")
    w.add_argument("--progress", choices=MODES, default="auto")
    w.set_defaults(handler=_wedge)

    f = sub.add_parser("farm", help="farm submission: OpenJD / Deadline Cloud bundles, sessions")
    fsub = f.add_subparsers(dest="farm_command", metavar="SUBCOMMAND")
    o = fsub.add_parser(
        "openjd",
        help="write an Open Job Description bundle for a job file",
        description="Write BUNDLE/template.yaml, parameter_values.yaml, asset_references.yaml and "
        "job.json. Run locally with `openjd run BUNDLE/template.yaml --step KIND`; submit with "
        "`deadline bundle submit BUNDLE`.",
    )
    o.add_argument("job", metavar="JOB.json")
    o.add_argument("--out", required=True, metavar="BUNDLE", help="bundle folder (created)")
    o.add_argument("--chunk-size", type=int, default=8, metavar="N", help="frames per task (default 8)")
    o.add_argument("--frames", metavar="A-B", help="default frames to run (default: the shot range)")
    o.set_defaults(handler=_openjd)
    s = fsub.add_parser("session", help="per-session set-up/tear-down (OpenJD step environment)")
    s.add_argument("action", choices=("enter", "exit"))
    s.add_argument("job", metavar="JOB.json")
    s.set_defaults(handler=_session)
    f.set_defaults(handler=_farm_help, farm_parser=f)


def _farm_help(args: argparse.Namespace) -> int:
    args.farm_parser.print_help()
    return 2


def _wedge(args: argparse.Namespace) -> int:
    import json

    from ..farm.jobfile import load_job_file, write_job_file
    from ..farm.progress import Progress
    from ..farm.runner import plan, preflight, run_units, validate_units
    from ..farm.wedges import expand, parse_param_args
    from ..shot.frames import parse_frame_range

    spec = load_job_file(args.job)
    spec.wedges = {**spec.wedges, **parse_param_args(args.param, spec.specs())}
    items = expand(spec.wedges)
    if args.save_job:
        validate_units(plan(spec, allow_pickle=True))  # a job that cannot run is not saved
        write_job_file(args.save_job, spec.kind, spec.params, wedges=spec.wedges, description=spec.description, cwd="/")
        print(args.save_job)
        return 0
    if args.list:
        rows = [it.to_json(spec.out_dir) for it in items]
        if args.json:
            print(json.dumps(rows, indent=2, sort_keys=True))
        else:
            for row in rows:
                values = " ".join(f"{k}={v}" for k, v in row["attributes"].items())
                print(f"{row['name']}\t{values}\t{row['out']}")
        return 0
    frames = parse_frame_range(args.frames) if args.frames else None
    units = plan(spec, frames, allow_pickle=args.allow_pickle)
    preflight(spec, units[0].frames)
    results = run_units(units, force=args.force, progress=Progress(args.progress, parts=len(units)))
    if args.json:
        print(json.dumps(results, indent=2, sort_keys=True))
    else:
        for r in results:
            print(f"genpost wedge: {r['kind']} frames {r['frames']} -> {r['out']}")
    return 0


def _openjd(args: argparse.Namespace) -> int:
    from ..farm.openjd import write_bundle

    out = write_bundle(args.job, args.out, chunk_size=args.chunk_size, frames=args.frames)
    print(out)
    return 0


def _session(args: argparse.Namespace) -> int:
    """Call the job module's optional ``session_enter(params)`` / ``session_exit(params)``.

    ``session_enter`` may load or warm the model (e.g. start a ``genpost worker``) and return
    environment variables for the session's tasks; they are printed as ``openjd_env: K=V``.
    """
    import logging

    from ..farm.jobfile import load_job_file
    from ..jobs.registry import get_hook

    spec = load_job_file(args.job)
    hook = get_hook(spec.kind, f"session_{args.action}")
    if hook is None:
        logging.getLogger("genpost.farm").info("%s job has no session_%s hook: nothing to do", spec.kind, args.action)
        return 0
    env = hook(dict(spec.params))
    for name, value in sorted((env or {}).items()):  # OpenJD sets these for the session's later actions
        print(f"openjd_env: {name}={value}", flush=True)
    return 0
