"""`genpost hda build [--check]` and `genpost houdini setup`: the Houdini side of the toolkit."""

from __future__ import annotations

import argparse


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    hda = sub.add_parser("hda", help="digital assets: build otls/ from the sources in hda/",
                         description="Houdini digital assets built from declarative sources.")
    hda_sub = hda.add_subparsers(dest="hda_command", metavar="COMMAND")
    build = hda_sub.add_parser(
        "build",
        help="write expanded HDAs into otls/ from hda/*.toml (deterministic)",
        description="Write one expanded HDA directory per source in hda/ into otls/. Same sources, "
        "same bytes. With --check nothing is written and the exit code is 4 when otls/ differs "
        "from what would be built (drift).",
    )
    build.add_argument("--src", metavar="DIR", help="folder of HDA sources (default: ROOT/hda)")
    build.add_argument("--out", metavar="DIR", help="folder of expanded HDAs (default: ROOT/otls); assets that need a "
                       "later Houdini go beside it, into ../houdiniNN/otls")
    build.add_argument("--check", action="store_true", help="compare only; exit 4 on drift")
    build.set_defaults(handler=_hda_build)
    hda.set_defaults(handler=_needs_sub(hda))

    hou = sub.add_parser("houdini", help="set up genpost for Houdini (model environment, package)",
                         description="Houdini integration.")
    hou_sub = hou.add_subparsers(dest="houdini_command", metavar="COMMAND")
    setup = hou_sub.add_parser(
        "setup",
        help="make the model environment for Houdini's Python and register the package",
        description="Make a virtual environment for Houdini's Python version holding genpost's "
        "`models` extra (torch pinned), record where it is so nodes can use it, and write a "
        "one-line pointer JSON into the Houdini packages folder so Houdini loads this "
        "repository's package.json. Prints each step; --dry-run only prints.",
    )
    setup.add_argument("--python", metavar="PATH", help="Houdini's Python ($HFS/python/bin/python3.11)")
    setup.add_argument("--python-version", metavar="X.Y", help="find python X.Y instead (3.11: Houdini 20.5/21, 3.13: 22)")
    setup.add_argument("--venv", metavar="DIR", help="where the environment goes (default: ~/.local/share/genpost/houdini-pyX.Y)")
    setup.add_argument("--packages-dir", metavar="DIR", help="Houdini packages folder for the pointer (default: the newest ~/houdiniX.Y/packages)")
    setup.add_argument("--extras", default="models", help="genpost extras to install (default: models)")
    setup.add_argument("--no-install", action="store_true", help="make the environment without installing packages")
    setup.add_argument("--no-pointer", action="store_true", help="do not write the package pointer (use HOUDINI_PACKAGE_DIR=ROOT instead)")
    setup.add_argument("--dry-run", action="store_true", help="print the steps, change nothing")
    setup.set_defaults(handler=_setup)
    hou.set_defaults(handler=_needs_sub(hou))


def _needs_sub(parser: argparse.ArgumentParser):  # type: ignore[no-untyped-def]
    def handler(args: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    return handler


def _hda_build(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..errors import OutputCheckError
    from ..hdabuild.build import build_tree, diff_tree, write_tree
    from ..houdini.setup import genpost_root

    root = genpost_root()
    src = Path(args.src) if args.src else root / "hda"
    out = Path(args.out) if args.out else root / "otls"
    tree = build_tree(src)
    if args.check:
        problems = diff_tree(tree, out)
        if problems:
            raise OutputCheckError(f"{out} differs from what `genpost hda build` makes from {src}:\n  "
                                   + "\n  ".join(problems) + "\nrun `genpost hda build` and commit otls/")
        print(f"genpost hda build: {out} matches {src} ({len(tree)} files)")
        return 0
    written, removed = write_tree(tree, out)
    libs = sorted({rel.split(".hda/", 1)[0] + ".hda" for rel in tree})
    print(f"genpost hda build: {len(libs)} libraries ({', '.join(libs)}) beside {out.parent}; "
          f"{len(written)} files written, {len(removed)} removed")
    return 0


def _setup(args: argparse.Namespace) -> int:
    from ..houdini.setup import execute, plan_setup

    plan = plan_setup(
        python=args.python,
        python_version=args.python_version,
        venv=args.venv,
        packages_dir=args.packages_dir,
        install=not args.no_install,
        pointer=not args.no_pointer,
        extras=args.extras,
    )
    print(f"genpost houdini setup: Python {plan.version} ({plan.python}), environment {plan.venv}")
    if args.dry_run:
        for step in plan.steps:
            print(f"  would {step}")
        return 0
    execute(plan, echo=lambda line: print(f"  {line}"))
    print("done: start Houdini; GenPost nodes are in the TAB menu under GenPost. Check with `genpost doctor`.")
    return 0
