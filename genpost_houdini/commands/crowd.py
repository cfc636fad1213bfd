"""`genpost crowd`: crowd replication on a region prim, locked to the shot."""

from __future__ import annotations

import argparse

from ..progress import STYLES


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    from .setext import add_lens_arguments, add_shot_arguments

    p = sub.add_parser(
        "crowd",
        help="replicate crowd elements on a region prim, in 3D, occluded by the set",
        description="Place COUNT people on the region prim (a Mesh, Plane or Points prim; its optional "
        "primvars:genpost:crowdDensity float is a relative density 0..1), Poisson-disk spaced, a "
        "share of them walking across it; render them per frame from the shot camera as camera-"
        "facing cards with occlusion from the depth render, recoloured clothing, shadows, haze, "
        "defocus, motion blur and (with --plate) a grade matched to the plate. The count is "
        "clamped to what the region holds. Writes OUT/crowd.####.exr (R,G,B,A premultiplied, Z, "
        "crowd_id, shadow) and OUT/crowd.usda. Try it on `genpost samples crowd DIR`.",
    )
    add_shot_arguments(p)
    p.add_argument("--region", required=True, help="region prim path in the stage: a Mesh, Plane or Points prim (seats)")
    p.add_argument("--source", action="append", required=True, help="element EXR pattern with alpha (repeat for several sources), or a library folder written by `genpost samples crowd` (all its people)")
    p.add_argument("--source-matte", action="append", default=None, help="matte pattern cutting the source from a plate (one per --source)")
    p.add_argument("--source-frames", default="", help="frame range of the sources (default: every frame on disk)")
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--min-spacing", type=float, default=0.6, help="minimum distance between people at every frame (scene units)")
    p.add_argument("--person-height", type=float, default=1.75, help="mean person height (scene units); library people keep their own heights relative to it")
    p.add_argument("--height-sd", type=float, default=0.04, help="relative spread of heights per person (default 0.04)")
    p.add_argument("--walkers", type=float, default=0.3, help="share of people walking across the region (0..1, default 0.3)")
    p.add_argument("--no-stagger", action="store_true", help="keep standing people where the Poisson placement puts them (default: people hidden behind others from the camera move into gaps nearby, as an AD would place extras)")
    p.add_argument("--walk-direction", default="", metavar="X,Y,Z", help="walkers' direction, both ways (default: the region's long axis)")
    p.add_argument("--facing", default="random", metavar="random|camera|X,Y,Z", help="where standing people face (default random)")
    p.add_argument("--look-at", default="", metavar="X,Y,Z", help="a point of interest standing people face (overrides --facing)")
    p.add_argument("--colourways", type=int, default=6, help="clothing colourways per source, recoloured inside its variation matte (1 = as filmed; default 6)")
    p.add_argument("--light-direction", default="", metavar="X,Y,Z", help="direction the light travels, for shadows (default: the stage's DistantLight, else a high light)")
    p.add_argument("--shadow-density", type=float, default=0.6, help="how much a cast shadow darkens the plate (0..1, default 0.6)")
    p.add_argument("--haze-distance", type=float, default=1500.0, help="metres at which haze takes half a person's colour (0 = none; default 1500)")
    p.add_argument("--shutter", type=float, default=-1.0, help="shutter in frames for motion blur (0 = none; default: the camera's shutter:open/close when authored, else 0.5)")
    p.add_argument("--generator", default="", help="generative backend for --variants (e.g. wan-vace); default: replicate only")
    p.add_argument("--model", default="", help="local model folder for --generator")
    p.add_argument("--variants", type=int, default=0, help="generated variants per source (different people, same motion)")
    p.add_argument("--prompt", default="")
    p.add_argument("--negative-prompt", default="")
    p.add_argument("--runtime", default="auto", choices=["auto", "torch", "onnxruntime", "tensorrt"])
    p.add_argument("--allow-pickle", action="store_true")
    p.add_argument("--no-consent-record", action="store_true", help="proceed without consent records (written into every output)")
    p.add_argument("--out", required=True)
    p.add_argument("--force", action="store_true")
    p.add_argument("--shot-frames", default=None, help="the whole shot's range when --frames is a chunk")
    p.add_argument("--save-job", metavar="JOB.json", default=None, help="write the job file and exit")
    p.add_argument("--progress", choices=STYLES, default="text")
    p.add_argument("--plate", default="", help="plate pattern: the crowd is graded to it (optional; without it no grade) and --qc composites over it")
    p.add_argument("--qc", action="store_true", help="after rendering, measure looks, closest pair, foot sliding, shadows, warping error and repetition (OUT/crowd_qc.json)")
    add_lens_arguments(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=run)


def crowd_params(args: argparse.Namespace) -> dict:
    return {
        "stage": args.stage,
        "camera": args.camera or "",
        "region": args.region,
        "source": list(args.source),
        "source_matte": list(args.source_matte or []),
        "source_frames": args.source_frames,
        "depth": args.depth,
        "depth_kind": args.depth_kind,
        "frames": args.shot_frames or args.frames,
        "count": args.count,
        "seed": args.seed,
        "min_spacing": args.min_spacing,
        "person_height": args.person_height,
        "no_consent_record": args.no_consent_record,
        "generator": args.generator,
        "model": args.model,
        "variants": args.variants,
        "prompt": args.prompt,
        "negative_prompt": args.negative_prompt,
        "runtime": args.runtime,
        "allow_pickle": args.allow_pickle,
        "plate": args.plate,
        "walkers": args.walkers,
        "stagger": not args.no_stagger,
        "facing": args.facing,
        "look_at": args.look_at,
        "walk_direction": args.walk_direction,
        "colourways": args.colourways,
        "height_sd": args.height_sd,
        "light_direction": args.light_direction,
        "shadow_density": args.shadow_density,
        "haze_distance": args.haze_distance,
        "shutter": args.shutter,
        "undistort": args.undistort or "",
        "redistort": args.redistort or "",
    }


def run(args: argparse.Namespace) -> int:
    import json

    from ..jobs.crowd_replication import CrowdReplication, validate
    from ..progress import ProgressPrinter
    from ..shot.frames import parse_frame_range

    params = crowd_params(args)
    if args.save_job:
        from ..farm.jobfile import write_job_file

        validate(params)  # a job that cannot run is not saved
        print(write_job_file(args.save_job, "crowd", params, out=args.out))
        return 0
    job = CrowdReplication(validate(params), args.out, progress=ProgressPrinter("crowd", style=args.progress))
    frames = parse_frame_range(args.frames)
    result = job.run(frames, force=args.force)
    if args.qc:
        from pathlib import Path

        from ..atomic import write_json_atomic
        from ..qc.crowd import crowd_qc

        result["qc"] = crowd_qc(job, frames, plate=args.plate or None)
        write_json_atomic(Path(args.out) / "crowd_qc.json", result["qc"])
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for note in result.get("notes", []):
            print(note)
        print(f"wrote {result['images']} ({result['instances']} people, {result['walkers']} walking, "
              f"{result['visible_instances']} visible); layer {result['layer']}")
        if args.qc:
            q = result["qc"]
            print(f"qc: {q['looks']} looks among {q['visible_instances_mid_frame']} visible people, biggest look "
                  f"{100 * (q['biggest_look_share'] or 0):.0f} %; closest pair {q['closest_pair']['distance']}; "
                  f"foot sliding max {q['foot_sliding']['max']}; shadow under {100 * (q['shadow_under_people'] or 0):.0f} % of people")
    return 0
