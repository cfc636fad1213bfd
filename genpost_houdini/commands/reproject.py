"""`genpost reproject`: frame A of an image sequence seen from frame B, with a `valid` channel.

Exit 3 for a missing frame, a resolution mismatch, unusable depth or an unknown camera (the
message names the file, frame or prim).
"""

from __future__ import annotations

import argparse

from .setext import add_depth_kind_argument


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``reproject`` command."""
    p = sub.add_parser(
        "reproject",
        help="warp frame A of an image into frame B's camera using depth (z-tested)",
        description="Write frame A's image as seen from frame B's camera (backward warp with "
        "depth and the USD camera, bilinear, z-tested visibility) to an EXR holding the image's "
        "channels plus 'valid' (1 where the pixel is visible in both frames, else 0 and the "
        "channels are 0). Depth channels of the image (Z, depth, Pz, ...) are written as depth "
        "in frame B's camera, so reprojecting a depth sequence reproduces B's depth. Patterns "
        "accept ####, %04d, $F4 and <F>; a frame token in --out is replaced by B.",
    )
    p.add_argument("--stage", metavar="S", required=True, help="USD stage holding the camera")
    p.add_argument("--camera", metavar="P", default=None, help="camera prim path (default: the only camera)")
    p.add_argument("--depth", metavar="PAT", required=True, help="depth sequence (camera-space Z), e.g. depth.####.exr")
    p.add_argument("--image", metavar="PAT", required=True, help="image sequence to reproject, e.g. plate.####.exr")
    p.add_argument("--from", dest="frame_from", metavar="A", type=int, required=True, help="source frame")
    p.add_argument("--to", dest="frame_to", metavar="B", type=int, required=True, help="destination frame")
    p.add_argument("--out", metavar="FILE", required=True, help="output EXR")
    p.add_argument(
        "--tolerance", type=float, default=0.01, help="z-test relative depth tolerance (default 0.01 = 1%%)"
    )
    p.add_argument("--depth-channel", default=None, help="depth channel name (default: Z, depth, Pz, ...)")
    add_depth_kind_argument(p)
    p.add_argument(
        "--carry-depth-values",
        action="store_true",
        help="copy depth channels of the image unchanged instead of re-expressing them in B's camera",
    )
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    import logging

    from ..geometry.files import reproject_frame_files

    report = reproject_frame_files(
        args.stage,
        args.camera,
        args.depth,
        args.image,
        args.frame_from,
        args.frame_to,
        args.out,
        rel_tolerance=args.tolerance,
        depth_channel=args.depth_channel,
        carry_depth_values=args.carry_depth_values,
        depth_kind=args.depth_kind,
    )
    logging.getLogger("genpost").info(
        "wrote %s (%s, %dx%d, %.1f%% valid)",
        report.out,
        ",".join(report.channels),
        report.width,
        report.height,
        100 * report.valid_fraction,
    )
    return 0
