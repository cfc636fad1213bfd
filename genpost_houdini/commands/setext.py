"""`genpost setext`: locked set extension of a shot."""

from __future__ import annotations

import argparse

from ..progress import STYLES


def add_shot_arguments(parser: argparse.ArgumentParser) -> None:
    """--stage/--camera/--depth/--frames, shared by the shot-based commands."""
    parser.add_argument("--stage", required=True, help="USD stage with the shot camera")
    parser.add_argument("--camera", default=None, help="camera prim path (default: the only camera)")
    parser.add_argument("--depth", required=True, help="depth EXR pattern (camera-space Z), e.g. depth.####.exr")
    add_depth_kind_argument(parser)
    parser.add_argument("--frames", required=True, help="frame range A-B")


def add_depth_kind_argument(parser: argparse.ArgumentParser, default: str | None = "planar") -> None:
    """--depth-kind planar|ray, on every command that reads depth."""
    from ..shot import DEPTH_KINDS

    parser.add_argument(
        "--depth-kind", choices=DEPTH_KINDS, default=default,
        help="how the depth files store depth: planar camera-space Z (Karma's Pz; the default) or ray "
        "distance from the camera centre (converted exactly with the camera's K); a warning says when "
        "the depth looks like the other kind")


def add_generation_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--generator", default="classical", help="generator name (see `genpost generators`)")
    parser.add_argument("--model", default=None, help="local model folder for diffusion generators")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--prompt", default="")
    parser.add_argument("--negative-prompt", default="")
    parser.add_argument("--strength", type=float, default=1.0, help="generation strength / conditioning scale 0..1")
    parser.add_argument("--runtime", default="auto", choices=["auto", "torch", "onnxruntime", "tensorrt"])
    parser.add_argument("--allow-pickle", action="store_true", help="allow pickle checkpoints in --model (they run code when loaded)")


def add_lens_arguments(parser: argparse.ArgumentParser) -> None:
    """--undistort/--redistort: the lens as Nuke ST maps (shared by setext, crowd, qc)."""
    parser.add_argument("--undistort", default=None, metavar="STMAP",
                        help="undistort ST map (file or frame pattern), the CG renders' size: for each undistorted "
                        "pixel, where to sample the plate (R = s, G = t, Nuke's convention)")
    parser.add_argument("--redistort", default=None, metavar="STMAP",
                        help="redistort ST map (file or frame pattern), the plate's size: for each plate pixel, "
                        "where to sample the undistorted image")


def add_plate_arguments(parser: argparse.ArgumentParser) -> None:
    """Real-plate options of set extension: screen, holdout, grain, lens."""
    parser.add_argument("--screen", choices=["auto", "blue", "green", "none"], default="auto",
                        help="screen under the extend matte: its colour and spill are never a source (default auto: detected)")
    parser.add_argument("--holdout", default=None, metavar="PAT",
                        help="matte of plate pixels that must never be a source (actors, vehicles, rigs)")
    parser.add_argument("--grain", choices=["auto", "off"], default="auto",
                        help="measure the plate's grain, degrain sources and regrain extended pixels (default auto)")
    add_lens_arguments(parser)


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser(
        "setext",
        help="set extension locked to the shot's camera and depth",
        description="Extend the set where the extend mask is 1: other frames' plates first, then "
        "generated keyframes, both reprojected with depth and camera; the generator only fills "
        "what no frame saw. Writes OUT/setext.####.exr (R,G,B,A,source,matte,confidence,Z) and "
        "OUT/setext.usda.",
    )
    add_shot_arguments(p)
    p.add_argument("--plate", required=True, help="plate EXR pattern (scene-linear)")
    p.add_argument("--extend", required=True, help="extend matte EXR pattern, soft 0..1 (output = plate * (1 - m) + extension * m)")
    p.add_argument("--out", required=True, help="output folder")
    add_generation_arguments(p)
    p.add_argument("--shot-frames", default=None, help="the whole shot's range when --frames is a chunk of it (plans keyframes over the shot)")
    p.add_argument("--max-keyframes", type=int, default=8)
    add_plate_arguments(p)
    p.add_argument("--force", action="store_true",
                   help="redo frames that are already done; hand over an output folder another job owns")
    p.add_argument("--save-job", metavar="JOB.json", default=None, help="write the job file and exit without running")
    p.add_argument("--progress", choices=STYLES, default="text")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(handler=run)


def setext_params(args: argparse.Namespace) -> dict:
    """The job parameters from parsed arguments (the same keys a job file holds)."""
    return {
        "stage": args.stage,
        "camera": args.camera or "",
        "plate": args.plate,
        "depth": args.depth,
        "depth_kind": args.depth_kind,
        "extend": args.extend,
        "frames": args.shot_frames or args.frames,
        "generator": args.generator,
        "model": args.model or "",
        "seed": args.seed,
        "prompt": args.prompt,
        "negative_prompt": args.negative_prompt,
        "strength": args.strength,
        "runtime": args.runtime,
        "allow_pickle": args.allow_pickle,
        "max_keyframes": args.max_keyframes,
        "screen": args.screen,
        "holdout": args.holdout or "",
        "grain": args.grain,
        "undistort": args.undistort or "",
        "redistort": args.redistort or "",
    }


def run(args: argparse.Namespace) -> int:
    import json

    from ..jobs.set_extension import run_job
    from ..progress import ProgressPrinter
    from ..shot.frames import parse_frame_range

    params = setext_params(args)
    if args.save_job:
        from ..farm.jobfile import write_job_file
        from ..jobs.registry import validate_params

        validate_params("setext", params)  # a job that cannot run is not saved
        path = write_job_file(args.save_job, "setext", params, out=args.out)
        print(path)
        return 0
    result = run_job(
        params,
        parse_frame_range(args.frames),
        out_dir=args.out,
        force=args.force,
        progress=ProgressPrinter("setext", style=args.progress),
    )
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"wrote {result['images']} (frames {result['written'] or 'none'}; skipped {result['skipped'] or 'none'})")
        print(f"layer {result['layer']}; keyframes {result['keyframes']}")
    return 0
