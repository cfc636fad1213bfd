"""`genpost generators [--json]`: list the generator backends and why any is unavailable."""

from __future__ import annotations

import argparse


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = sub.add_parser(
        "generators",
        help="list generator backends and why any is unavailable",
        description="List the generator backends (entry points of the group "
        "genpost_houdini.generators and in-process registrations): whether each can run here "
        "and, when not, why (missing package, no weights, broken plugin).",
    )
    parser.add_argument("--json", action="store_true", help="print JSON keyed by generator name")
    parser.add_argument("--model", metavar="PATH", default=None,
                        help="model folder to check the weight-based backends against")
    parser.set_defaults(handler=_list)


def _list(args: argparse.Namespace) -> int:
    import json

    from ..generators.registry import DEFAULT_GENERATOR, available_generators

    options = {"model": args.model} if args.model else {}
    infos = available_generators(options)
    if args.json:
        print(json.dumps({name: info.to_dict() for name, info in infos.items()}, indent=2))
        return 0
    if not infos:
        print("no generators found (is genpost-houdini installed?)")
        return 0
    width = max(len(n) for n in infos) + 2
    for name, info in infos.items():
        state = "available" if info.available else "unavailable"
        default = " (default)" if name == DEFAULT_GENERATOR else ""
        kind = "video" if info.temporal else "image"
        detail = info.description if info.available else info.reason
        print(f"{name:<{width}}{state:<13}{kind:<7}{detail}{default}")
        for line in info.assumptions:
            print(f"{'':<{width}}  assumes {line}")
    return 0
