"""`genpost exr-info FILE`: an EXR's channels, types, windows and metadata as JSON.

Exit 3 for a missing, damaged or hostile file (the message names the file).
"""

from __future__ import annotations

import argparse


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``exr-info`` command."""
    p = sub.add_parser(
        "exr-info",
        help="print an EXR's channels, types, windows and metadata as JSON",
        description="Print an EXR's channels, per-channel types, data and display windows, "
        "compression and genpost metadata as JSON. Unless --header-only, every pixel is decoded "
        "once, in a child process, to verify the file. Exit 3 for a missing, damaged or hostile file.",
    )
    p.add_argument("file", metavar="FILE", help="the EXR file")
    p.add_argument("--header-only", action="store_true", help="check the header only, do not decode pixels")
    p.add_argument("--compact", action="store_true", help="one-line JSON")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    import json

    from ..imageio.exr import exr_info, verify_pixels_isolated

    info = exr_info(args.file, verify=False)  # header checks: refuses most damaged files cheaply
    if not args.header_only:
        verify_pixels_isolated(args.file)  # a decoder crash or hang in the child -> exit 3
    print(json.dumps(info, indent=None if args.compact else 2, sort_keys=False))
    return 0
