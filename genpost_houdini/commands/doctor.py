"""`genpost doctor [--json]`: what this machine has for genpost, each with what to do about it."""

from __future__ import annotations

import argparse


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser(
        "doctor",
        help="check this machine: packages, Houdini package, model environment, GPU, OCIO, models",
        description="Report the Python and required packages, Houdini packages found and whether "
        "genpost's is registered, the model environment, GPU and driver, TensorRT and "
        "onnxruntime providers, the OCIO config, model folders ($GENPOST_MODELS) and the engine "
        "cache ($GENPOST_ENGINE_CACHE). Exit 0 when the default job (classical generator) can "
        "run, else 3.",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(handler=_doctor)


def _doctor(args: argparse.Namespace) -> int:
    import json

    from ..errors import EXIT_BAD_INPUT
    from ..houdini.doctor import report, run_checks

    checks = run_checks()
    doc = report(checks)
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        for c in checks:
            mark = "ok  " if c.ok else ("FAIL" if c.required else "--  ")
            print(f"[{mark}] {c.name}: {c.detail}")
            if c.fix and not c.ok:
                print(f"       -> {c.fix}")
        print("genpost doctor: " + ("ready for the default job" if doc["ok"] else "the default job cannot run here (see FAIL lines)"))
    return 0 if doc["ok"] else EXIT_BAD_INPUT
