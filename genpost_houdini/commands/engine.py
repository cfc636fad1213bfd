"""`genpost engine build|list|prune`: the on-disk cache of ONNX denoisers and TensorRT engines."""

from __future__ import annotations

import argparse


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser(
        "engine",
        help="build, list and prune cached ONNX/TensorRT denoiser engines",
        description="The engine cache ($GENPOST_ENGINE_CACHE, default ~/.cache/genpost/engines) holds "
        "ONNX exports of a model's denoiser (served by onnxruntime on CPU/CUDA) and TensorRT engines "
        "keyed by ONNX hash, shape profile, precision, TensorRT version and GPU.",
    )
    esub = p.add_subparsers(dest="engine_command", metavar="ACTION")

    b = esub.add_parser("build", help="export/build the cache entries a runtime needs for a model folder")
    b.add_argument("--model", required=True, help="local WanVACE pipeline folder (or its transformer folder)")
    b.add_argument("--runtime", choices=["onnxruntime", "tensorrt"], default="onnxruntime")
    b.add_argument("--profile", default=None, help="shape preset: 480p or 720p (81 frames)")
    b.add_argument("--frames", default=None, help="video frames, N or MIN:OPT:MAX (4k+1)")
    b.add_argument("--height", default=None, help="pixels, N or MIN:OPT:MAX (multiple of 16)")
    b.add_argument("--width", default=None, help="pixels, N or MIN:OPT:MAX (multiple of 16)")
    b.add_argument("--text-len", default=None, help="prompt tokens, N or MIN:OPT:MAX (default 512)")
    b.add_argument("--precision", choices=["float32", "float16", "bfloat16"], default=None,
                   help="default: float32 on CPU, the GPU's dtype (bf16/fp16) for TensorRT")
    b.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: cpu for onnxruntime, cuda for tensorrt)")
    b.add_argument("--allow-pickle", action="store_true", help="allow pickle checkpoints in --model (they run code when loaded)")
    b.add_argument("--json", action="store_true", help="print the entries as JSON")
    b.set_defaults(handler=run_build)
    _add_cache(b)

    ls = esub.add_parser("list", help="list cache entries (key fields, size, created, valid)")
    ls.add_argument("--json", action="store_true", help="print a JSON list")
    ls.set_defaults(handler=run_list)
    _add_cache(ls)

    pr = esub.add_parser("prune", help="remove invalid entries (and old ones with --older-than, or --all)")
    pr.add_argument("--older-than", type=float, default=None, metavar="DAYS", help="also remove entries unused for DAYS")
    pr.add_argument("--all", action="store_true", help="remove every entry")
    pr.add_argument("--json", action="store_true", help="print what was removed as JSON")
    pr.set_defaults(handler=run_prune)
    _add_cache(pr)

    p.set_defaults(handler=lambda args: _usage(p))


def _add_cache(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cache", default=None, metavar="DIR",
                        help="cache folder (default $GENPOST_ENGINE_CACHE or ~/.cache/genpost/engines)")


def _usage(parser: argparse.ArgumentParser) -> int:
    import sys

    parser.print_help(sys.stderr)
    return 2


def _cache(args: argparse.Namespace):  # -> EngineCache
    from ..runtime.engine_cache import EngineCache

    return EngineCache(args.cache)


def run_build(args: argparse.Namespace) -> int:
    import json

    from ..runtime.engines import build_entries
    from ..runtime.profile import ShapeProfile

    profile = None
    if args.runtime == "tensorrt" or any(v is not None for v in (args.profile, args.frames, args.height, args.width)):
        profile = ShapeProfile.parse(preset=args.profile or (None if args.frames else "480p"), frames=args.frames,
                                     height=args.height, width=args.width, text_len=args.text_len)
    built = build_entries(args.model, args.runtime, profile=profile, precision=args.precision,
                          device=args.device, cache=_cache(args), allow_pickle=args.allow_pickle)
    rows = [{**entry.summary(), "role": role} for entry, role in built]
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
    else:
        for row in rows:
            print(f"{row['role']:7s} {row['name']}  {row['precision']}  {row['size_bytes'] / 2**20:.1f} MiB  {row['path']}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    import json

    cache = _cache(args)
    rows = [e.summary() for e in cache.entries()]
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
        return 0
    if not rows:
        print(f"(no entries in {cache.root})")
        return 0
    for r in rows:
        profile = r["profile"]
        spec = "dynamic" if not profile else " ".join(
            f"{k}={':'.join(map(str, v)) if len(set(v)) > 1 else v[0]}" for k, v in profile.items()
        )
        gpu = f" {r['device_name']} sm{r['compute_capability']} trt{r['tensorrt_version']}" if r["device_name"] else ""
        state = "valid" if r["valid"] else f"INVALID ({r['problem']})"
        if r["backend"] == "tensorrt":
            parity = r.get("parity") or {}
            state += (f", parity ok ({parity['max_abs_diff']:.2g})" if parity.get("passed")
                      else ", parity FAILED" if parity.get("checked") else ", parity unchecked (auto skips it)")
        print(f"{r['name']}  {r['backend']} {r['precision']} {spec}{gpu}  {r['size_bytes'] / 2**20:.1f} MiB  "
              f"{r['created_iso']}  {state}")
    return 0


def run_prune(args: argparse.Namespace) -> int:
    import json

    removed = _cache(args).prune(older_than_days=args.older_than, remove_all=args.all)
    if args.json:
        print(json.dumps(removed, indent=2, default=str))
    else:
        for r in removed:
            print(f"removed {r['name']} ({r['reason']})")
        print(f"{len(removed)} entr{'y' if len(removed) == 1 else 'ies'} removed")
    return 0
