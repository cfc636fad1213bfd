"""`genpost hda build [--check]`, `genpost houdini setup` and `genpost houdini smoke`: the Houdini
side of the toolkit."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Mapping


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
    smoke = hou_sub.add_parser(
        "smoke",
        help="cook every GenPost asset in hython on the bundled sample; print a table",
        description="In a fresh hython scene per check, on the bundled sample shot: create each asset, press "
        "Generate and check the result (the stage holds the layer and its prims; the wedge TOP cooks two work "
        "items and lists their outputs; the Copernicus COP cooks one frame, Houdini 21+). Prints a table; exit "
        "0 only when every check passes, 4 when one fails, 2 when hython is not found.",
    )
    smoke.add_argument("--hython", metavar="PATH", help="hython to run (default: hython on PATH, else $HFS/bin/hython)")
    smoke.add_argument("--work", metavar="DIR", help="folder for the sample and the outputs (default: a temporary one)")
    smoke.add_argument("--timeout", type=float, default=900.0, metavar="S", help="seconds per check (default 900)")
    smoke.set_defaults(handler=_smoke)
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


def _rgb_copies(shot: Mapping[str, Any], folder: Path) -> dict[str, str]:
    """Frame-one plate, depth and mask as plain RGB EXRs (R=G=B for the mono ones), so a File COP
    reads each as its colour layer without per-channel settings."""
    import numpy as np

    from ..imageio.exr import read_depth, read_mask, read_rgb, write_exr
    from ..shot.frames import FrameSeq

    frame = int(shot["first_frame"])

    def at(key: str) -> Path:
        return FrameSeq.parse(shot[key]).path(frame)

    images = {"plate": read_rgb(at("plate")),
              "depth": np.repeat(read_depth(at("depth"))[..., None], 3, axis=-1),
              "mask": np.repeat(read_mask(at("extend"))[..., None], 3, axis=-1)}
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, rgb in images.items():
        path = folder / f"{name}.{frame:04d}.exr"
        write_exr(path, {c: np.asarray(rgb[..., k], np.float32) for k, c in enumerate("RGB")})
        paths[name] = str(path)
    return paths


def prepare_shot(folder: Path) -> Path:
    """The bundled street shot (3 frames, 96x54), a crowd source and RGB copies of frame one for
    the COP check; returns SHOT.json."""
    import json

    from ..samples.extras import build_extras
    from ..samples.street import build_street

    shot = build_street(folder / "shot", frames=3, width=96, height=54).to_json()
    shot["extras"] = build_extras(folder / "extras", frames=4, height=64)
    shot["cop_inputs"] = _rgb_copies(shot, folder / "cop_inputs")
    path = folder / "shot.json"
    path.write_text(json.dumps(shot, indent=2))
    return path


def _smoke(args: argparse.Namespace) -> int:
    import tempfile

    from ..errors import OutputCheckError
    from ..houdini.setup import genpost_root
    from ..houdini.smoke import format_table, find_hython, run_smoke

    hython = find_hython(args.hython)
    with tempfile.TemporaryDirectory(prefix="genpost-smoke-") as tmp:
        work = Path(args.work) if args.work else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        print(f"genpost houdini smoke: {hython}; sample and outputs in {work}")
        results = run_smoke(hython, genpost_root(), prepare_shot(work), work, timeout_s=args.timeout)
    print(format_table(results))
    if not all(r.ok for r in results):
        raise OutputCheckError("genpost houdini smoke: " + ", ".join(r.check for r in results if not r.ok) + " failed")
    return 0
