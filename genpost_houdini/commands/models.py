"""`genpost models`: local model folders (tiny test models, listing, inspection).

* ``genpost models make-tiny KIND DIR [--seed N] [--force]``: write a randomly initialised tiny
  pipeline (KIND: wan-vace, sd-inpaint-depth) loadable with ``from_pretrained(DIR)``.
* ``genpost models list [--root DIR] [--json]``: model folders under ``$GENPOST_MODELS``.
* ``genpost models info DIR [--json] [--allow-pickle]``: one folder, with its weights hash;
  exits 3 when the folder would be refused for loading.
"""

from __future__ import annotations

import argparse

TINY_KINDS = ("wan-vace", "sd-inpaint-depth")


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add ``genpost models`` and its sub-commands."""
    parser = sub.add_parser("models", help="local model folders: make tiny test models, list, inspect")
    msub = parser.add_subparsers(dest="models_command", metavar="SUBCOMMAND")
    parser.set_defaults(handler=lambda args: _usage(parser))

    tiny = msub.add_parser("make-tiny", help="write a randomly initialised tiny pipeline folder (tests, CI)")
    tiny.add_argument("kind", metavar="KIND", choices=TINY_KINDS, help="one of: " + ", ".join(TINY_KINDS))
    tiny.add_argument("dir", metavar="DIR", help="folder to write (must not exist or be empty)")
    tiny.add_argument("--seed", type=int, default=0, help="weight initialisation seed (default 0)")
    tiny.add_argument("--force", action="store_true", help="replace DIR if it is not empty")
    tiny.set_defaults(handler=_make_tiny)

    lst = msub.add_parser("list", help="model folders under $GENPOST_MODELS and what they hold")
    lst.add_argument("--root", metavar="DIR", help="folder to list instead of $GENPOST_MODELS")
    lst.add_argument("--json", action="store_true", help="print JSON")
    lst.set_defaults(handler=_list)

    info = msub.add_parser("info", help="one model folder: pipeline, licence, weights hash, safety")
    info.add_argument("dir", metavar="DIR", help="model folder (path, or name under $GENPOST_MODELS)")
    info.add_argument("--json", action="store_true", help="print JSON")
    info.add_argument("--allow-pickle", action="store_true", help="accept pickle-based checkpoints in DIR")
    info.set_defaults(handler=_info)


def _usage(parser: argparse.ArgumentParser) -> int:
    import sys

    parser.print_help(sys.stderr)
    return 2


def _make_tiny(args: argparse.Namespace) -> int:
    from ..generators.tiny import make_tiny
    from ..runtime.loading import read_genpost_json

    path = make_tiny(args.kind, args.dir, seed=args.seed, force=args.force)
    meta = read_genpost_json(path)
    print(f"{path}: tiny {args.kind} ({meta.get('pipeline', '')}, licence {meta.get('licence', '')})")
    return 0


def _list(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from ..errors import UsageError
    from ..runtime.loading import MODELS_ENV, describe_folder, models_root

    root = Path(args.root).expanduser() if args.root else models_root()
    if root is None:
        raise UsageError(f"no models folder: set {MODELS_ENV} or pass --root DIR")
    if not root.is_dir():
        raise UsageError(f"models folder not found: {root}")
    entries = []
    for child in sorted(root.iterdir()):
        if child.is_dir() and not child.name.startswith("."):
            if (child / "model_index.json").is_file() or (child / "config.json").is_file() or (child / "genpost.json").is_file():
                entries.append(describe_folder(child))
    if args.json:
        print(json.dumps({"root": str(root.resolve()), "models": entries}, indent=2, sort_keys=True))
        return 0
    if not entries:
        print(f"no model folders in {root}")
        return 0
    for e in entries:
        kind = e.get("kind") or e.get("pipeline") or "?"
        size = e.get("size_bytes", 0) / 2**20
        line = f"{e['name']:<24} {kind:<22} {e.get('licence', '?'):<40} {size:9.1f} MiB"
        if e.get("problem"):
            line += f"  ! {e['problem']}"
        print(line)
    return 0


def _info(args: argparse.Namespace) -> int:
    import json

    from ..errors import ModelError
    from ..runtime.loading import check_model_folder, describe_folder, resolve_model_dir

    path = resolve_model_dir(args.dir, args.dir)
    pipeline = (path / "model_index.json").is_file()
    data = describe_folder(path, with_hash=True)
    refused = ""
    try:
        check_model_folder(path, allow_pickle=args.allow_pickle, pipeline=pipeline)
    except ModelError as exc:
        refused = str(exc)
    data["loadable"] = not refused
    if refused:
        data["refused"] = refused
    if args.json:
        print(json.dumps(data, indent=2, sort_keys=True))
    else:
        for key in ("path", "pipeline", "kind", "model_id", "licence", "weights_hash", "size_bytes"):
            print(f"{key:<13} {data.get(key, '')}")
        print(f"{'safetensors':<13} {len(data.get('safetensors', []))} files")
        if data.get("pickle"):
            print(f"{'pickle':<13} {', '.join(data['pickle'])}")
        print(f"{'loadable':<13} {'yes' if not refused else 'no: ' + refused}")
    return 3 if refused else 0
