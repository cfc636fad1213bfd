"""`genpost disclosure OUT_DIR`: the per-shot generative-content report (Markdown and JSON)."""

from __future__ import annotations

import argparse


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("disclosure", help="write a generative-content report (models, licences, seeds, sources, consent)")
    p.add_argument("out_dir", metavar="OUT_DIR", help="a job's output folder (or a folder holding several)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..qc.disclosure import write_disclosure

    md, js = write_disclosure(args.out_dir)
    print(md)
    print(js)
    return 0
