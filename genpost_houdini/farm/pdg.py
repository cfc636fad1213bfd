"""PDG helpers for the TOP asset, without importing pdg: work items are duck-typed.

What a Python Processor TOP (or ``genpost_houdini.houdini`` glue) calls:

* :func:`plan_work_items` -> one :class:`WorkItemPlan` per (frame chunk x wedge): its command
  line (``genpost run JOB --frames A-B [--wedge-index W] --progress text``), attributes (the
  wedge attributes ``wedgeindex``/``wedgecount``/``wedgenum``/``wedgetotal``, parameter values,
  ``genpost_frames``, ``genpost_out``) and expected outputs with tags.
* :func:`generate` adds them to an ``item_holder`` (``addWorkItem``; attributes via
  ``setIntAttrib``/``setFloatAttrib``/``setStringAttrib``; ``setCommand``;
  ``addExpectedOutputFile``).
* :func:`chunk_outputs` / :func:`register_outputs`: what a finished chunk really wrote (its
  frames' entries in the manifest, files that exist), added with ``addOutputFile(path, tag, 0)``.

Tags: ``file/image/exr`` for EXR frames, ``file/usd`` for USD layers. Every chunk lists its own
frames; a wedge's layer (one file for the whole shot, e.g. ``setext.usda``) is listed by the
wedge's first chunk only (attribute ``genpost_layer``), so no two work items list one file.
Nothing here imports outside the standard library (the TOP's callbacks run in Houdini's Python).
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from ..jobs.registry import job_kind
from ..shot.frames import format_frames, iter_chunks, parse_frame_range
from .jobfile import JobSpec, load_job_file
from ..jobs.manifestfile import MANIFEST_NAME, read_frames, recorded_outputs
from .wedges import WedgeItem, expand

_TAGS = {".exr": "file/image/exr", ".usd": "file/usd", ".usda": "file/usd", ".usdc": "file/usd",
         ".json": "file/text/json", ".png": "file/image/png"}


def output_tag(path: str | os.PathLike[str]) -> str:
    """The PDG tag of an output file by extension (``file`` when unknown)."""
    return _TAGS.get(Path(path).suffix.lower(), "file")


def command_line(
    job_file: str | os.PathLike[str],
    frames: Sequence[int],
    *,
    wedge_index: int | None = None,
    genpost: str = "genpost",
    force: bool = False,
    progress: str = "text",
) -> list[str]:
    """The argv that runs one chunk (and one wedge) of a job file."""
    argv = [genpost, "run", os.fspath(job_file), "--frames", format_frames(frames), "--progress", progress]
    if wedge_index is not None:
        argv += ["--wedge-index", str(int(wedge_index))]
    if force:
        argv.append("--force")
    return argv


@dataclass
class WorkItemPlan:
    """Everything a TOP needs to create one work item."""

    index: int
    frames: list[int]
    wedge: WedgeItem | None
    out_dir: Path
    command: list[str]
    attributes: dict[str, Any] = field(default_factory=dict)
    expected_outputs: list[tuple[str, str]] = field(default_factory=list)

    @property
    def command_string(self) -> str:
        return shlex.join(self.command)


def expected_outputs(spec: JobSpec, frames: Iterable[int], out_dir: str | os.PathLike[str], *,
                     with_layer: bool = True) -> list[tuple[str, str]]:
    """(path, tag) of the files a chunk writes: ``OUT/<name>.####.exr`` per frame, and the
    layer when ``with_layer`` (the wedge's first chunk)."""
    jk = job_kind(spec.kind)
    out = Path(out_dir)
    paths: list[tuple[str, str]] = []
    if jk.image_name:
        paths += [(str(out / f"{jk.image_name}.{f:04d}.exr"), "file/image/exr") for f in frames]
    if jk.layer_name and with_layer:
        paths.append((str(out / jk.layer_name), "file/usd"))
    return paths


def plan_work_items(
    job_file: str | os.PathLike[str],
    *,
    chunk_size: int = 8,
    frames: str | None = None,
    genpost: str = "genpost",
    import_job: bool = True,
) -> list[WorkItemPlan]:
    """Work items for frame chunks x wedges of ``job_file`` (wedge-major, then frames).

    Attributes: the wedge's, ``genpost_frames``, ``genpost_out``, ``genpost_job``,
    ``genpost_chunk`` (index within the wedge) and ``genpost_layer`` (the wedge's layer on its
    first chunk, "" on the others)."""
    spec = load_job_file(job_file, import_job=import_job)
    chosen = parse_frame_range(frames) if frames else spec.shot_frames
    wedges: list[WedgeItem | None] = list(expand(spec.wedges)) or [None]
    layer_name = job_kind(spec.kind).layer_name
    plans: list[WorkItemPlan] = []
    for wedge in wedges:
        out = wedge.out_dir(spec.out_dir) if wedge is not None else spec.out_dir
        for n, chunk in enumerate(iter_chunks(chosen, max(1, chunk_size))):
            attrs: dict[str, Any] = dict(wedge.attributes()) if wedge is not None else {}
            attrs.update({"genpost_frames": format_frames(chunk), "genpost_out": str(out),
                          "genpost_job": str(spec.source or job_file), "genpost_chunk": n,
                          "genpost_layer": str(out / layer_name) if layer_name and n == 0 else ""})
            plans.append(WorkItemPlan(
                index=len(plans),
                frames=chunk,
                wedge=wedge,
                out_dir=out,
                command=command_line(job_file, chunk, wedge_index=wedge.index if wedge else None, genpost=genpost),
                attributes=attrs,
                expected_outputs=expected_outputs(spec, chunk, out, with_layer=n == 0),
            ))
    return plans


def set_attributes(work_item: Any, attributes: dict[str, Any]) -> None:
    """Set attributes on a PDG work item by Python type (int/bool, float, else string)."""
    for name, value in attributes.items():
        if isinstance(value, bool) or isinstance(value, int):
            work_item.setIntAttrib(name, int(value))
        elif isinstance(value, float):
            work_item.setFloatAttrib(name, value)
        else:
            work_item.setStringAttrib(name, str(value))


def generate(item_holder: Any, job_file: str | os.PathLike[str], *, chunk_size: int = 8,
             frames: str | None = None, genpost: str = "genpost", parent: Any = None,
             import_job: bool = True) -> list[Any]:
    """onGenerate body: add one work item per chunk x wedge to ``item_holder``; return them."""
    items = []
    for plan in plan_work_items(job_file, chunk_size=chunk_size, frames=frames, genpost=genpost,
                                import_job=import_job):
        kwargs = {"index": plan.index} if parent is None else {"index": plan.index, "parent": parent}
        work_item = item_holder.addWorkItem(**kwargs)
        set_attributes(work_item, plan.attributes)
        work_item.setCommand(plan.command_string)
        for path, tag in plan.expected_outputs:
            work_item.addExpectedOutputFile(path, tag, True)
        items.append(work_item)
    return items


def chunk_outputs(out_dir: str | os.PathLike[str], frames: Iterable[int], layer: str = "") -> list[tuple[str, str]]:
    """(path, tag) of what a finished chunk wrote: the outputs its frames' manifest entries
    record, then ``layer`` (given to the wedge's first chunk); only files that exist."""
    recorded = read_frames(Path(out_dir) / MANIFEST_NAME)
    found: list[tuple[str, str]] = []
    for f in frames:
        found += [(str(p), output_tag(p)) for p in recorded_outputs(out_dir, f, recorded) if p.is_file()]
    if layer and Path(layer).is_file():
        found.append((layer, output_tag(layer)))
    return found


def register_outputs(work_item: Any, out_dir: str | os.PathLike[str], frames: Iterable[int],
                     layer: str = "") -> list[tuple[str, str]]:
    """Add :func:`chunk_outputs` to ``work_item`` as output files; return them."""
    added = chunk_outputs(out_dir, frames, layer)
    for path, tag in added:
        work_item.addOutputFile(path, tag, 0)
    return added


def wedge_from_work_item(work_item: Any) -> int | None:
    """The ``wedgeindex`` attribute of a work item, or None when it has none."""
    try:
        value = work_item.intAttribValue("wedgeindex")
    except Exception:  # noqa: BLE001 - PDG raises its own error types for a missing attribute
        return None
    return None if value is None or value < 0 else int(value)
