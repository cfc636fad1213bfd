"""`genpost camera STAGE [--camera PRIM] --frame F --resolution W H [--json]`: a camera's K and pose.

Exit 3 when the stage is missing or unreadable, or the camera is unknown, ambiguous or not a
camera (the message lists the cameras found).
"""

from __future__ import annotations

import argparse

_POLICIES = (
    "expandAperture",
    "cropAperture",
    "adjustApertureWidth",
    "adjustApertureHeight",
    "adjustPixelAspectRatio",
)


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``camera`` command."""
    p = sub.add_parser(
        "camera",
        help="print a USD camera's intrinsics K and world_to_camera at a frame",
        description="Print a USD camera's intrinsics K (3x3, pixels, pixel centres at integers, "
        "+y down) and world_to_camera (4x4, OpenCV axes: x right, y down, z forward, column "
        "vectors) at one frame and resolution, with near/far from the clipping range. Apertures "
        "are conformed to the resolution with the aspect ratio conform policy (the stage's "
        "UsdRender.Settings, else expandAperture). Exit 3 for a missing stage or an unknown camera.",
    )
    p.add_argument("stage", metavar="STAGE", help="USD stage file")
    p.add_argument("--camera", metavar="PRIM", default=None, help="camera prim path (default: the only camera)")
    p.add_argument(
        "--frame", metavar="F", type=float, default=None, help="frame (USD time code; default: the stage's start)"
    )
    p.add_argument(
        "--resolution", metavar=("W", "H"), type=int, nargs=2, required=True, help="image width and height in pixels"
    )
    p.add_argument("--conform-policy", choices=_POLICIES, default=None, help="override the aspect ratio conform policy")
    p.add_argument("--json", action="store_true", help="print JSON (K, world_to_camera, near, far and more)")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    import json
    import math

    from ..limits import image_size
    from ..shot.camera import CameraTrack

    width, height = image_size("--resolution", *args.resolution)
    track = CameraTrack.open(args.stage, args.camera, conform_policy=args.conform_policy)
    frame = track.frame_range[0] if args.frame is None else args.frame
    if float(frame).is_integer():
        frame = int(frame)
    view = track.view(frame, width, height)
    record = {
        "K": view.K.tolist(),
        "world_to_camera": view.world_to_camera.tolist(),
        "near": view.near if math.isfinite(view.near) else None,
        "far": view.far if math.isfinite(view.far) else None,
        "camera": track.prim_path,
        "stage": str(track.stage_path) if track.stage_path else None,
        "frame": frame,
        "width": width,
        "height": height,
        "camera_to_world": view.camera_to_world.tolist(),
        "position": view.position.tolist(),
        "fps": track.fps,
        "frame_range": list(track.frame_range),
        "conform_policy": track.conform_policy,
    }
    if args.json:
        print(json.dumps(record, indent=2))
        return 0
    K = view.K
    print(f"camera {track.prim_path} on {record['stage']}, frame {frame}, {width}x{height}")
    print(f"  fx {K[0, 0]:.6g}  fy {K[1, 1]:.6g}  cx {K[0, 2]:.6g}  cy {K[1, 2]:.6g}  ({track.conform_policy})")
    print(f"  position {' '.join(f'{x:.6g}' for x in view.position)}  near {view.near:g}  far {view.far:g}")
    print(f"  frames {track.frame_range[0]}-{track.frame_range[1]} at {track.fps:g} fps")
    print("  world_to_camera (OpenCV axes):")
    for row in view.world_to_camera:
        print("   " + " ".join(f"{x:12.6f}" for x in row))
    return 0
