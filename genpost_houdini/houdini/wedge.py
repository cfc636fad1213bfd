"""PDG glue of the GenPost Wedge TOP: work items = frame chunks x wedges, outputs = what they wrote.

``genpost::wedge::1.0`` (hda/wedge_top.toml) is a subnet of two Python Processor TOPs whose
onGenerate bodies are one call each:

* ``generate_work_items``: :func:`on_generate` -- one work item per chunk x wedge, each running
  ``GENPOST run JOB --frames A-B [--wedge-index W] --progress text`` out of process on whatever
  scheduler cooks it. ``GENPOST`` is the asset's ``genpost`` parameter (default ``genpost``, found
  on the worker's PATH; empty: ``$GENPOST`` of this session, else ``genpost``), never a path of
  the artist's environment.
* ``register_outputs`` (generated as each upstream item cooks): :func:`on_register_outputs` --
  one item per cooked chunk carrying, as output files, the EXR frames that chunk wrote
  (``file/image/exr``) and, on a wedge's first chunk, the wedge's layer (``file/usd``).

Everything this module imports at generate time is the standard library and genpost modules that
need nothing else (checked by tests/hda/test_import_closure.py): Houdini's Python has no
third-party packages, and the job modules are never imported here (``import_job=False``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..errors import BadInputError, GenpostError, UsageError

WEDGE_PARMS = ("jobfile", "seeds", "prompts", "strengths", "wedgeparams", "chunksize", "frames", "genpost", "outdir")
#: The command a work item starts genpost with when the node's parameter and $GENPOST are empty.
DEFAULT_GENPOST = "genpost"


def wedge_values(seeds: str = "", prompts: str = "", strengths: str = "", *, kind: str = "setext",
                 params: str = "") -> dict[str, list[Any]]:
    """Wedge lists from the node's text fields (empty fields are not wedged). ``params`` (the
    node's Other Wedges) holds one ``NAME=VALUES`` per line, read as ``genpost wedge --param``
    reads it, for any job parameter of ``kind`` but the frames and the output folder."""
    from ..farm.wedges import parse_param_args, parse_values
    from ..jobs.registry import param_specs

    specs = param_specs(kind, import_job=False)
    wedges: dict[str, list[Any]] = {}
    if seeds.strip():
        wedges["seed"] = parse_values("seed", seeds, specs["seed"])
    lines = [line.strip() for line in prompts.splitlines() if line.strip()]
    if lines:
        wedges["prompt"] = lines
    if strengths.strip():
        if "strength" not in specs:
            raise BadInputError(f"wedge TOP: {kind} jobs take no strength; clear 'Strengths'")
        wedges["strength"] = parse_values("strength", strengths, specs["strength"])
    lines = [line.strip() for line in params.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    for name in [line.partition("=")[0].strip() for line in lines]:
        if name in wedges:
            raise BadInputError(f"wedge TOP: {name} is wedged twice (in its own field and in Other Wedges)")
    try:
        return {**wedges, **parse_param_args(lines, specs)}
    except UsageError as exc:
        raise UsageError(f"wedge TOP: Other Wedges: {exc}") from None


def wedged_job_file(job_file: str | os.PathLike[str], wedges: Mapping[str, list[Any]],
                    out: str | os.PathLike[str] | None = None) -> Path:
    """Write ``job_file`` with ``wedges`` added (and its output folder replaced by ``out`` when
    given) as ``OUT/.genpost/wedge_job.json``; return it."""
    from ..farm.jobfile import load_job_file, write_job_file

    spec = load_job_file(job_file, import_job=False)
    merged = {**spec.wedges, **wedges}
    out_dir = Path(out).absolute() if out else spec.out_dir
    path = out_dir / ".genpost" / "wedge_job.json"
    return write_job_file(path, spec.kind, spec.params, wedges=merged, absolute_paths=True,
                          description=f"wedges of {os.fspath(job_file)}", out=out_dir, import_job=False)


def genpost_for_items(value: str = "", environ: Mapping[str, str] | None = None) -> str:
    """The executable a work item's command starts with: the node's ``genpost`` parameter, else
    ``$GENPOST``, else ``genpost`` (resolved on the worker's PATH when the item runs)."""
    env = os.environ if environ is None else environ
    return value.strip() or env.get("GENPOST", "").strip() or DEFAULT_GENPOST


def add_work_items(item_holder: Any, values: Mapping[str, Any], *, upstream_items: Sequence[Any] = ()) -> list[Any]:
    """Add the work items for the node's parameter ``values``; returns them."""
    from ..farm.jobfile import load_job_file
    from ..farm.pdg import generate

    job = str(values.get("jobfile") or "").strip()
    if not job:
        raise BadInputError("wedge TOP: 'Job File' is empty")
    if not Path(job).is_file():
        raise BadInputError(f"wedge TOP: job file {job} not found")
    kind = load_job_file(job, import_job=False).kind
    wedges = wedge_values(str(values.get("seeds", "")), str(values.get("prompts", "")),
                          str(values.get("strengths", "")), kind=kind, params=str(values.get("wedgeparams", "")))
    wedged = wedged_job_file(job, wedges, str(values.get("outdir") or "").strip() or None)
    items: list[Any] = []
    for parent in list(upstream_items) or [None]:
        items += generate(
            item_holder, wedged,
            chunk_size=max(1, int(values.get("chunksize") or 8)),
            frames=str(values.get("frames") or "").strip() or None,
            genpost=genpost_for_items(str(values.get("genpost") or "")),
            parent=parent,
            import_job=False,
        )
    return items


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


def _result(name: str) -> Any:
    import pdg  # noqa: PLC0415 - only inside Houdini

    return getattr(pdg.result, name)


def _report(processor: Any, exc: GenpostError) -> Any:
    """A bad job file or field: the node's ``cookError`` where PDG offers it (then
    ``pdg.result.Failure``); otherwise re-raised, so the cook still fails with the message."""
    if not hasattr(processor, "cookError"):
        raise exc
    processor.cookError(str(exc))
    return _result("Failure")


def on_generate(processor: Any, item_holder: Any, upstream_items: Sequence[Any], generation_type: Any) -> Any:
    """onGenerate of ``generate_work_items``: work items for chunks x wedges; ``pdg.result``."""
    values = {name: _evaluate(processor, name) for name in WEDGE_PARMS}
    try:
        add_work_items(item_holder, values, upstream_items=upstream_items)
    except GenpostError as exc:  # a bad job file (exit 3's kind) or a bad field (usage)
        return _report(processor, exc)
    return _result("Success")


def _string_attrib(item: Any, name: str) -> str:
    try:
        value = item.stringAttribValue(name)
    except Exception:  # noqa: BLE001 - PDG raises its own error types for a missing attribute
        return ""
    return str(value or "")


def on_register_outputs(processor: Any, item_holder: Any, upstream_items: Sequence[Any], generation_type: Any) -> Any:
    """onGenerate of ``register_outputs`` (each upstream item is cooked): one item per cooked
    chunk, whose output files are what that chunk wrote (see farm.pdg.chunk_outputs)."""
    from ..farm.pdg import register_outputs
    from ..shot.frames import parse_frame_range

    try:
        for upstream in upstream_items:
            out = _string_attrib(upstream, "genpost_out")
            frames = _string_attrib(upstream, "genpost_frames")
            if not out or not frames:
                raise BadInputError("wedge TOP: an upstream work item has no genpost_out/genpost_frames "
                                    "attribute (connect this node after generate_work_items)")
            item = item_holder.addWorkItem(parent=upstream)
            register_outputs(item, out, parse_frame_range(frames), _string_attrib(upstream, "genpost_layer"))
    except BadInputError as exc:
        return _report(processor, exc)
    return _result("Success")
