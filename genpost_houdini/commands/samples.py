"""`genpost samples street DIR` / `genpost samples crowd DIR`: write the bundled shot or the
bundled extras library and print their paths as JSON."""

from __future__ import annotations

import argparse


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = sub.add_parser(
        "samples",
        help="write bundled sample shots (built procedurally, no downloads)",
        description="Write a bundled sample shot and print its paths and frame patterns as JSON.",
    )
    kinds = parser.add_subparsers(dest="sample", metavar="SAMPLE", parser_class=type(parser))
    street = kinds.add_parser(
        "street",
        help="a street set with a blue-screen cut: USD stage, plate, depth, extend mask, truth, holdout",
        description="Write the bundled street shot into DIR: street.usda (camera /shot/camera, "
        "filmed set /shot/set, extension proxy /shot/extension, crowd region /shot/crowd_region) "
        "and per-frame plate/depth/extend/truth/holdout EXRs (the plate also shows a rig to remove, "
        "its roto in extend, and a car driving through the kept plate, its coverage in holdout; "
        "truth is the clean set), and the bundled extras library in DIR/extras (crowd_sources); "
        "print JSON with the paths and patterns.",
    )
    street.add_argument("dir", metavar="DIR", help="output folder (created)")
    street.add_argument("--frames", type=int, default=48, metavar="N", help="number of frames (default 48)")
    street.add_argument("--resolution", type=int, nargs=2, default=(960, 540), metavar=("W", "H"),
                        help="image size (default 960 540)")
    street.add_argument("--first-frame", type=int, default=1001, metavar="F", help="first frame number (default 1001)")
    street.add_argument("--seed", type=int, default=0, help="layout seed (default 0)")
    street.add_argument("--workers", type=int, default=None, metavar="N", help="render threads (default 2)")
    street.add_argument("--force", action="store_true", help="rebuild even if DIR holds this exact build")
    street.set_defaults(handler=_street)
    crowd = kinds.add_parser(
        "crowd",
        help="the bundled extras library: synthetic people with walk and idle cycles, for genpost crowd",
        description="Write the bundled extras library into DIR: per synthetic person NAME.####.exr "
        "(R, G, B, A premultiplied, variation: where clothing may be recoloured; walk and idle cycles "
        "seen from several directions), NAME.element.json (the clips) and NAME.consent.json (a consent "
        "record saying the person is synthetic). Prints JSON whose \"sources\" are the element "
        "patterns, ready for repeated --source.",
    )
    crowd.add_argument("dir", metavar="DIR", help="output folder (created)")
    crowd.add_argument("--height", type=int, default=None, metavar="PX", help="element frame height in pixels (default 160)")
    crowd.add_argument("--force", action="store_true", help="rebuild even if DIR holds this exact build")
    crowd.set_defaults(handler=_crowd)
    parser.set_defaults(handler=_no_sample)


def _no_sample(args: argparse.Namespace) -> int:
    from ..errors import UsageError

    raise UsageError("name a sample: genpost samples street DIR, or genpost samples crowd DIR")


def _street(args: argparse.Namespace) -> int:
    import json

    from ..samples import build_street

    width, height = args.resolution
    shot = build_street(args.dir, frames=args.frames, width=width, height=height,
                        first_frame=args.first_frame, seed=args.seed, workers=args.workers, force=args.force)
    print(json.dumps(shot.to_json(), indent=2))
    return 0


def _crowd(args: argparse.Namespace) -> int:
    import json

    from ..samples.extras import DEFAULT_HEIGHT_PX, build_extras_library

    lib = build_extras_library(args.dir, height_px=args.height or DEFAULT_HEIGHT_PX, force=args.force)
    print(json.dumps(lib.to_json(), indent=2))
    return 0
