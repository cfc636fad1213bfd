"""`genpost qc`: temporal warping error of an image sequence, inside a region and on the plate."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    from .setext import add_lens_arguments, add_shot_arguments

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
    p.add_argument("--plate", default=None,
                   help="the plate the images extend (with --region, the extend matte): also report spill_pixels, "
                   "leaked_pixels, grain_ratio and edge_step (real-plate QC)")
    p.add_argument("--screen", choices=["auto", "blue", "green", "none"], default="auto",
                   help="screen under the matte, for spill_pixels (default auto: detected)")
    add_lens_arguments(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import json

    from ..imageio import exr
    from ..errors import BadInputError, ResolutionMismatchError, UsageError
    from ..qc.warping import format_error, warping_error
    from ..shot.frames import FrameSeq, format_frames, parse_frame_range
    from ..shot.shot import Shot

    frames = parse_frame_range(args.frames)
    if args.plate and not args.region:
        raise UsageError("--plate needs --region (the extend matte) for real-plate QC")
    shot = Shot.open(args.stage, camera=args.camera, depth=args.depth, frames=frames, plate=args.plate or args.images,
                     mask=args.region, undistort=args.undistort, redistort=args.redistort, depth_kind=args.depth_kind)
    images = FrameSeq.parse(args.images)
    def read(f: int) -> "np.ndarray":  # plate space
        rgb = exr.read_rgb(images.path(f))
        want = shot.plate_resolution
        if (rgb.shape[1], rgb.shape[0]) != tuple(want):
            raise ResolutionMismatchError(
                f"{images.path(f)} is {rgb.shape[1]}x{rgb.shape[0]} but the shot's "
                f"{'plate (redistort ST map)' if shot.lens is not None else 'depth'} is {want[0]}x{want[1]}"
                + ("" if shot.lens is not None else "; distorted images need --undistort and --redistort"))
        return rgb

    measured = read
    if shot.lens is not None:  # warping error in the depth's space, where the camera lives
        from ..shot.lens import COLOUR_FILTER, warp_stmap

        measured = lambda f: warp_stmap(read(f), shot.lens.undistort(f), filtername=COLOUR_FILTER)[0]  # noqa: E731
    result = warping_error(shot, measured, frames)
    report = result.to_json()
    if args.plate:
        from ..qc.plate_report import plate_report

        report.update(plate_report(shot, read, frames, screen=args.screen))
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        ratio = report["ratio"]
        print(f"warping error: region {format_error(report['region']['warping_error'])}, "
              f"plate {format_error(report['plate']['warping_error'])}"
              + (f", ratio {ratio:.2f}" if ratio is not None else ""))
        if args.plate:
            grain = report["grain_ratio"]
            edge = report["edge_step_ratio"]
            print(f"real plate: spill {report['spill_pixels']} px ({report['screen']} screen), leaked "
                  f"{report['leaked_pixels']} px, grain ratio {'-' if grain is None else f'{grain:.2f}'}, "
                  f"edge step {'-' if edge is None else f'{edge:.2f}'}x the plate's")
    if not result.measured:
        why = ("one frame has no pair to compare" if len(frames) < 2
               else "no pixel of the region is visible in two consecutive frames")
        raise BadInputError(f"nothing to measure in frames {format_frames(frames)}: {why}"
                            + (f" (region {args.region})" if args.region else ""))
    return 0
