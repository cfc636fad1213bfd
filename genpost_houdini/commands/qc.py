"""`genpost qc`: temporal warping error of an image sequence, inside a region and on the plate."""

from __future__ import annotations

import argparse


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    from .setext import add_shot_arguments

    p = sub.add_parser(
        "qc",
        help="geometric warping error (flicker) of an image sequence",
        description="Warp frame t+1 into t with depth and camera (z-tested) and average the squared "
        "difference inside --region and, for reference, outside it (the plate). Lower is steadier. "
        "Nothing to measure (one frame, or no region pixel visible in two frames): exit 3, "
        "with null for the error in --json.",
    )
    add_shot_arguments(p)
    p.add_argument("--images", required=True, help="image EXR pattern to measure (R,G,B)")
    p.add_argument("--region", default=None, help="region mask EXR pattern (1 = region); default: whole frame")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import json

    from ..imageio import exr
    from ..errors import BadInputError
    from ..qc.warping import format_error, warping_error
    from ..shot.frames import FrameSeq, format_frames, parse_frame_range
    from ..shot.shot import Shot

    frames = parse_frame_range(args.frames)
    shot = Shot.open(args.stage, camera=args.camera, depth=args.depth, frames=frames, plate=args.images, mask=args.region,
                     depth_kind=args.depth_kind)
    images = FrameSeq.parse(args.images)
    result = warping_error(shot, lambda f: exr.read_rgb(images.path(f)), frames)
    report = result.to_json()
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        ratio = report["ratio"]
        print(f"warping error: region {format_error(report['region']['warping_error'])}, "
              f"plate {format_error(report['plate']['warping_error'])}"
              + (f", ratio {ratio:.2f}" if ratio is not None else ""))
    if not result.measured:
        why = ("one frame has no pair to compare" if len(frames) < 2
               else "no pixel of the region is visible in two consecutive frames")
        raise BadInputError(f"nothing to measure in frames {format_frames(frames)}: {why}"
                            + (f" (region {args.region})" if args.region else ""))
    return 0
