"""Run a job file's chunk: pick wedges, check inputs fast, call the job's runner per wedge.

This is what ``genpost run JOB.json --frames A-B`` does on a workstation, in a TOP work item
and in an OpenJD task. Frames outside the shot range are refused; a missing input file or
frame fails before any model loads, with BadInputError (exit 3) naming it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..atomic import ensure_folder
from ..errors import JobFileError, UsageError
from ..jobs.registry import get_runner
from ..shot.frames import FrameSeq, format_frames
from .jobfile import JobSpec
from .progress import Progress
from .wedges import WedgeItem, expand, parse_one, select


@dataclass(frozen=True)
class WorkUnit:
    """One call of a job's runner: parameters, frames, output folder, wedge (or None)."""

    kind: str
    params: dict[str, Any]
    frames: list[int]
    out_dir: Path
    wedge: WedgeItem | None
    source: Path | None = None  # the job file


def plan(
    spec: JobSpec,
    frames: Sequence[int] | None = None,
    *,
    wedge_values: Mapping[str, str] | None = None,
    wedge_index: int | None = None,
    allow_pickle: bool = False,
) -> list[WorkUnit]:
    """The work units of one run (one per wedge; one when the job has no wedges).

    ``allow_pickle`` is the runner's decision alone (``genpost run --allow-pickle``): a job
    file (or a wedge) asking for it without the runner's consent is refused with
    JobFileError (exit 3), since loading a pickle checkpoint runs its code.
    """
    shot = spec.shot_frames
    chunk = sorted(set(frames)) if frames is not None else shot
    outside = sorted(set(chunk) - set(shot))
    if outside:
        raise UsageError(
            f"frames {format_frames(outside)} are outside the job's shot range {spec.params['frames']}"
        )
    if not chunk:
        raise UsageError("no frames to run")
    specs = spec.specs()
    items = expand(spec.wedges)
    chosen: list[WedgeItem | None]
    if wedge_values:
        typed = {}
        for name, text in wedge_values.items():
            if name not in specs:
                raise UsageError(f"--wedge {name}: unknown parameter (known: {', '.join(sorted(specs))})")
            typed[name] = parse_one(name, text, specs[name])
        chosen = [select(items, values=typed) if items else expand({k: [v] for k, v in typed.items()})[0]]
    elif wedge_index is not None:
        chosen = [select(items, index=wedge_index)]
    else:
        chosen = list(items) or [None]
    units = []
    for item in chosen:
        params = dict(spec.params)
        out_dir = Path(params["out"])
        if item is not None:
            params.update(item.values)
            out_dir = item.out_dir(out_dir)
            params["out"] = str(out_dir)
        if params.get("allow_pickle") is True and not allow_pickle:
            raise JobFileError(
                f"{spec.source or 'job file'}: allow_pickle is set, but loading pickle checkpoints runs "
                f"their code and only the runner may allow it: rerun with `genpost run --allow-pickle` "
                f"if you trust the model"
            )
        if "allow_pickle" in specs:
            params["allow_pickle"] = bool(allow_pickle)
        units.append(WorkUnit(spec.kind, params, list(chunk), out_dir, item, spec.source))
    return units


def preflight(spec: JobSpec, frames: Sequence[int]) -> None:
    """Fail fast (BadInputError naming the file/frame) when an input of this chunk is missing."""
    for name, pspec in spec.specs().items():
        if pspec.role != "input" or name not in spec.params:
            continue
        values = spec.params[name]
        for value in values if isinstance(values, list) else [values]:
            _check_input(name, str(value), frames, shot_frames=pspec.shot_frames)


def _check_input(name: str, value: str, frames: Sequence[int], *, shot_frames: bool = True) -> None:
    from ..errors import BadInputError

    try:
        seq = FrameSeq.parse(value)
    except UsageError:
        if not os.path.exists(value):
            raise BadInputError(f"input {name!r}: {value} does not exist") from None
        return
    on_disk = set(seq.frames_on_disk())  # one directory listing instead of a stat per frame
    if not shot_frames:  # a sequence with its own range (a crowd source): it must hold frames
        if not on_disk:
            raise BadInputError(f"input {name!r}: no frames of {value} on disk")
        return
    if any(f not in on_disk for f in frames):
        seq.require(frames, what=f"input {name!r}")  # exact check and message


def validate_units(units: Sequence[WorkUnit]) -> None:
    """Check every unit's parameters (values, generator, model folder) as its job does; a bad
    value is JobFileError (exit 3) naming the job file and the wedge."""
    from ..jobs.registry import validate_params

    for unit in units:
        try:
            validate_params(unit.kind, {k: v for k, v in unit.params.items() if k != "out"})
        except UsageError as exc:
            where = f"{unit.source or 'job'}" + (f" wedge {unit.wedge.name}" if unit.wedge is not None else "")
            raise JobFileError(f"{where}: {exc}") from None


def run_units(units: Sequence[WorkUnit], *, force: bool = False, progress: Progress | None = None) -> list[dict[str, Any]]:
    """Run each unit through its job's runner; return one result record per unit.

    Every unit is validated (:func:`validate_units`) before any runs or anything is written.
    """
    validate_units(units)
    results = []
    for i, unit in enumerate(units):
        runner = get_runner(unit.kind)
        label = f"{unit.kind} frames {format_frames(unit.frames)}"
        if unit.wedge is not None:
            label += f" wedge {unit.wedge.name}"
        if progress is not None:
            progress.start_part(i, label)
        ensure_folder(unit.out_dir, "output folder")
        params = {k: v for k, v in unit.params.items() if k != "out"}  # the folder goes as out_dir
        result = runner(params, list(unit.frames), out_dir=unit.out_dir, force=force, progress=progress)
        results.append({
            "kind": unit.kind,
            "frames": format_frames(unit.frames),
            "out": str(unit.out_dir),
            "wedge": unit.wedge.to_json() if unit.wedge is not None else None,
            "result": _jsonable(result),
        })
    if progress is not None:
        progress.finish()
    return results


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "__dict__"):
        return _jsonable({k: v for k, v in vars(value).items() if not k.startswith("_")})
    return str(value)
