"""`genpost demo`: the whole set-extension job on the bundled shot, with QC and a contact sheet."""

from __future__ import annotations

import argparse


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("demo", help="run the main job on the bundled street shot (no downloads, no weights)")
    p.add_argument("--out", default="out/demo", help="output folder (default out/demo)")
    p.add_argument("--frames", type=int, default=48, help="number of frames (default 48)")
    p.add_argument("--resolution", type=int, nargs=2, metavar=("W", "H"), default=(960, 540))
    p.add_argument("--generator", default="classical")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..jobs.demo import run_demo
    from ..qc.warping import format_error
    from ..progress import ProgressPrinter

    summary = run_demo(
        args.out,
        frames=args.frames,
        resolution=tuple(args.resolution),
        generator=args.generator,
        seed=args.seed,
        progress=ProgressPrinter("demo"),
    )
    qc = summary["qc"]
    print(f"demo results in {args.out}/")
    print(f"  contact sheet  {summary['contact_sheet']}")
    print(f"  images         {summary['setext']['images']}")
    print(f"  USD layer      {summary['setext']['layer']}")
    print(f"  QC report      {args.out}/qc.md")
    print(f"  warping error  extension {format_error(qc['region_warping_error'])} vs plate {format_error(qc['plate_warping_error'])}")
    return 0
