"""PDG glue for wedging a genpost job in TOPs: work items = frame chunks x wedges.

A TOP cannot be a Python-type operator, so ``genpost::wedge::1.0`` (hda/wedge_top.toml) is a
subnet asset around a **Python Processor TOP** whose Generate callback is one line::

    from genpost_houdini.houdini import wedge
    wedge.on_generate(self, item_holder, upstream_items, generation_type)

with spare parameters ``jobfile`` (a job file, e.g. the one a GenPost LOP wrote into
``OUT/.genpost/``), ``seeds`` (``1,2,3`` or ``1-4``), ``prompts`` (one per line),
``strengths`` (``0.5,0.7`` or ``0.2-0.8:0.2``), ``chunksize``, optional ``frames`` and optional
``outdir`` (replaces the job's output folder). Each work
item runs ``genpost run JOB --frames A-B --wedge-index W`` out of process and expects its EXR
frames (tag ``file/image/exr``) and the USD layer (``file/usd``); each wedge writes its own
folder. The helpers that build work items live in ``genpost_houdini.farm.pdg`` (no pdg import).
GPU jobs: give the local scheduler one slot per GPU.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..errors import BadInputError
from . import env

WEDGE_PARMS = ("jobfile", "seeds", "prompts", "strengths", "chunksize", "frames", "outdir")


def wedge_values(seeds: str = "", prompts: str = "", strengths: str = "", *, kind: str = "setext") -> dict[str, list[Any]]:
    """Wedge lists from the node's text fields (empty fields are not wedged)."""
    from ..farm.wedges import parse_values
    from ..jobs.registry import param_specs

    specs = param_specs(kind, import_job=False)
    wedges: dict[str, list[Any]] = {}
    if seeds.strip():
        wedges["seed"] = parse_values("seed", seeds, specs["seed"])
    lines = [line.strip() for line in prompts.splitlines() if line.strip()]
    if lines:
        wedges["prompt"] = lines
    if strengths.strip():
        wedges["strength"] = parse_values("strength", strengths, specs["strength"])
    return wedges


def wedged_job_file(job_file: str | os.PathLike[str], wedges: Mapping[str, list[Any]],
                    out: str | os.PathLike[str] | None = None) -> Path:
    """Write ``job_file`` with ``wedges`` added (and its output folder replaced by ``out`` when
    given) as ``OUT/.genpost/wedge_job.json``; return it."""
    from ..farm.jobfile import load_job_file, write_job_file

    spec = load_job_file(job_file)
    merged = {**spec.wedges, **wedges}
    out_dir = Path(out).absolute() if out else spec.out_dir
    path = out_dir / ".genpost" / "wedge_job.json"
    return write_job_file(path, spec.kind, spec.params, wedges=merged, absolute_paths=True,
                          description=f"wedges of {os.fspath(job_file)}", out=out_dir)


def genpost_executable(environ: Mapping[str, str] | None = None) -> str:
    """The one executable a work item's command starts with (the model environment's ``genpost``)."""
    cmd = env.genpost_command(environ)
    if len(cmd) != 1:
        raise BadInputError(
            f"work items need a `genpost` executable, found only `{' '.join(cmd)}`: {env.SETUP_HINT}"
        )
    return cmd[0]


def add_work_items(
    item_holder: Any,
    values: Mapping[str, Any],
    *,
    upstream_items: Sequence[Any] = (),
    genpost: str | None = None,
) -> list[Any]:
    """Add the work items for the node's parameter ``values``; returns them."""
    from ..farm.pdg import generate

    job = str(values.get("jobfile") or "").strip()
    if not job:
        raise BadInputError("wedge TOP: 'Job File' is empty")
    if not Path(job).is_file():
        raise BadInputError(f"wedge TOP: job file {job} not found")
    kind = _kind_of(job)
    wedges = wedge_values(str(values.get("seeds", "")), str(values.get("prompts", "")),
                          str(values.get("strengths", "")), kind=kind)
    wedged = wedged_job_file(job, wedges, str(values.get("outdir") or "").strip() or None)
    parents = list(upstream_items) or [None]
    items: list[Any] = []
    for parent in parents:
        items += generate(
            item_holder, wedged,
            chunk_size=max(1, int(values.get("chunksize") or 8)),
            frames=str(values.get("frames") or "").strip() or None,
            genpost=genpost or genpost_executable(),
            parent=parent,
        )
    return items


def _kind_of(job_file: str) -> str:
    from ..farm.jobfile import load_job_file

    return load_job_file(job_file).kind


def _evaluate(processor: Any, name: str) -> Any:
    """A parameter of the Python Processor TOP (PDG nodes index parameters by name)."""
    try:
        parm = processor[name]
    except Exception:  # noqa: BLE001 - absent spare parameter
        return ""
    for getter in ("evaluateString", "evaluateInt"):
        try:
            return getattr(parm, getter)()
        except Exception:  # noqa: BLE001 - wrong type for this getter
            continue
    return ""


def on_generate(processor: Any, item_holder: Any, upstream_items: Sequence[Any], generation_type: Any) -> Any:
    """Python Processor onGenerate: work items for chunks x wedges; returns ``pdg.result``.

    A bad job file or wedge field is reported with the node's ``cookError`` where PDG offers it
    (then ``pdg.result.Failure``); otherwise the error is raised, so a callback that does not
    return the result still fails the cook with the message."""
    import pdg  # noqa: PLC0415

    values = {name: _evaluate(processor, name) for name in WEDGE_PARMS}
    try:
        add_work_items(item_holder, values, upstream_items=upstream_items)
    except BadInputError as exc:
        if not hasattr(processor, "cookError"):
            raise
        processor.cookError(str(exc))
        return pdg.result.Failure
    return pdg.result.Success
