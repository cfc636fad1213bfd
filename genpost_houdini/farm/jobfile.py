"""Job files: a job as data (JSON), what the TOP node, the farm and a wrangler rerun.

Format (schema ``genpost_job: 1``)::

    {
      "genpost_job": 1,
      "kind": "setext",
      "frames": "1001-1048",                   # the SHOT range; a run picks a chunk of it
      "inputs": {"stage": "shot.usda", "plate": "plate/plate.####.exr", ...},
      "parameters": {"camera": "/shot/cam", "seed": 7, ...},
      "outputs": {"out": "render/setext"},
      "wedges": {"seed": [1, 2, 3]},           # optional: cross product of the lists
      "description": "free text"               # optional
    }

A job file is data, never code: it names no command and no shell. Relative paths resolve
against the job file's folder. Unknown or malformed fields are refused with ``JobFileError``
naming the field (``parameters.seed: expected an integer, got 'x'``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..atomic import write_json_atomic
from ..errors import JobFileError, UsageError
from ..jobs.registry import JOB_KINDS, ParamSpec, job_kind, param_specs
from ..shot.frames import format_frames, parse_frame_range

SCHEMA_KEY = "genpost_job"
SCHEMA_VERSION = 1
SECTIONS = {"input": "inputs", "parameter": "parameters", "output": "outputs"}
_TOP_LEVEL = {SCHEMA_KEY, "kind", "frames", "inputs", "parameters", "outputs", "wedges", "description"}
NOT_WEDGEABLE = {"frames", "out"}
_MAX_JOB_FILE = 4 << 20


@dataclass
class JobSpec:
    """A validated job: kind, parameters (paths absolute), shot frames, wedges."""

    kind: str
    params: dict[str, Any]
    wedges: dict[str, list[Any]] = field(default_factory=dict)
    description: str = ""
    source: Path | None = None

    @property
    def shot_frames(self) -> list[int]:
        return parse_frame_range(self.params["frames"])

    @property
    def out_dir(self) -> Path:
        return Path(self.params["out"])

    def specs(self) -> dict[str, ParamSpec]:
        return param_specs(self.kind)


# -- reading -----------------------------------------------------------------------------------
def load_job_file(path: str | os.PathLike[str], *, import_job: bool = True) -> JobSpec:
    """Read and validate a job file; relative paths resolve against its folder.

    ``import_job=False`` validates against the registry's parameter table without importing
    the job module (what Houdini-side code uses: the job's own imports need the model stack)."""
    path = Path(path)
    try:
        if path.stat().st_size > _MAX_JOB_FILE:
            raise JobFileError(f"{path}: job file larger than {_MAX_JOB_FILE >> 20} MiB")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise JobFileError(f"job file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise JobFileError(f"job file {path} cannot be read: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise JobFileError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}") from None
    try:
        spec = parse_job(data, base=path.resolve().parent, import_job=import_job)
    except JobFileError as exc:
        raise JobFileError(f"{path}: {exc}") from None
    spec.source = path.resolve()
    return spec


def parse_job(data: Any, *, base: str | os.PathLike[str], import_job: bool = True) -> JobSpec:
    """Validate a job document (already parsed JSON); paths resolve against ``base``."""
    if not isinstance(data, dict):
        raise JobFileError("a job file holds one JSON object")
    unknown = sorted(set(data) - _TOP_LEVEL)
    if unknown:
        raise JobFileError(f"unknown field {unknown[0]!r} (allowed: {', '.join(sorted(_TOP_LEVEL))})")
    version = data.get(SCHEMA_KEY)
    if version is None:
        raise JobFileError(f"field {SCHEMA_KEY!r} (schema version) is missing")
    if type(version) is not int or version != SCHEMA_VERSION:
        raise JobFileError(f"field {SCHEMA_KEY!r}: schema version {version!r} is not supported (this is {SCHEMA_VERSION})")
    kind = data.get("kind")
    if not isinstance(kind, str) or kind not in JOB_KINDS:
        raise JobFileError(f"field 'kind': {kind!r} is not a job kind ({', '.join(sorted(JOB_KINDS))})")
    specs = param_specs(kind, import_job=import_job)
    params: dict[str, Any] = {}
    if "frames" not in data:
        raise JobFileError("field 'frames' (the shot frame range) is missing")
    params["frames"] = coerce_value("frames", data["frames"], specs.get("frames", ParamSpec("frames")), base)
    for role, section in SECTIONS.items():
        block = data.get(section, {})
        if not isinstance(block, dict):
            raise JobFileError(f"field {section!r}: expected an object")
        for name, value in block.items():
            where = f"{section}.{name}"
            spec = specs.get(name)
            if spec is None or name == "frames":
                raise JobFileError(f"unknown field {where!r}: {kind} takes {', '.join(sorted(specs))}")
            if spec.role != role:
                raise JobFileError(f"field {where!r} belongs in {SECTIONS[spec.role]!r}")
            if value is None:
                continue
            params[name] = coerce_value(where, value, spec, base)
    for name, spec in specs.items():
        if spec.required and name not in params:
            raise JobFileError(f"field '{SECTIONS[spec.role]}.{name}' is required for {kind}")
    wedges = parse_wedge_block(data.get("wedges", {}), specs, base)
    description = data.get("description", "")
    if not isinstance(description, str):
        raise JobFileError("field 'description': expected a string")
    return JobSpec(kind, params, wedges, description)


def parse_wedge_block(block: Any, specs: Mapping[str, ParamSpec], base: str | os.PathLike[str]) -> dict[str, list[Any]]:
    """Validate a ``wedges`` object: parameter name -> non-empty list of values."""
    if not isinstance(block, dict):
        raise JobFileError("field 'wedges': expected an object of parameter -> list of values")
    out: dict[str, list[Any]] = {}
    for name, values in block.items():
        where = f"wedges.{name}"
        if name not in specs:
            raise JobFileError(f"unknown field {where!r}: not a parameter ({', '.join(sorted(specs))})")
        if name in NOT_WEDGEABLE:
            raise JobFileError(f"field {where!r}: {name} cannot be wedged (each wedge has its own output folder)")
        if not isinstance(values, list) or not values:
            raise JobFileError(f"field {where!r}: expected a non-empty list of values")
        out[name] = [coerce_value(f"{where}[{i}]", v, specs[name], base) for i, v in enumerate(values)]
    return out


def coerce_value(where: str, value: Any, spec: ParamSpec, base: str | os.PathLike[str] | None) -> Any:
    """Check ``value`` against ``spec``; resolve paths against ``base``. JobFileError names ``where``."""
    t = spec.type
    if t == "int":
        if type(value) is int:
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise JobFileError(f"field {where!r}: expected an integer, got {value!r}")
    if t == "float":
        if type(value) in (int, float):
            return float(value)
        raise JobFileError(f"field {where!r}: expected a number, got {value!r}")
    if t == "bool":
        if type(value) is bool:
            return value
        raise JobFileError(f"field {where!r}: expected true or false, got {value!r}")
    if t == "json":
        return value
    if t == "paths":
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items:
            raise JobFileError(f"field {where!r}: expected a path or a list of paths")
        return [coerce_value(f"{where}[{i}]", v, ParamSpec("path"), base) for i, v in enumerate(items)]
    if t == "frames":
        text = str(value) if type(value) is int else value
        if not isinstance(text, str):
            raise JobFileError(f"field {where!r}: expected a frame range such as \"1001-1048\", got {value!r}")
        try:
            return format_frames(parse_frame_range(text))
        except UsageError as exc:
            raise JobFileError(f"field {where!r}: {exc}") from None
    if not isinstance(value, str):
        raise JobFileError(f"field {where!r}: expected a string, got {value!r}")
    if "\0" in value:
        raise JobFileError(f"field {where!r}: contains a NUL character")
    if t == "path" or (t == "model" and _looks_like_path(value)):
        if not value:
            raise JobFileError(f"field {where!r}: empty path")
        return _resolve(value, base)
    return value


def _looks_like_path(text: str) -> bool:
    return "/" in text or os.sep in text or text.startswith(("~", ".")) or os.path.isabs(text)


def _resolve(text: str, base: str | os.PathLike[str] | None) -> str:
    text = os.path.expanduser(text)
    if base is not None and not os.path.isabs(text):
        text = os.path.join(os.fspath(base), text)
    return os.path.normpath(text)


# -- writing -----------------------------------------------------------------------------------
def job_document(
    kind: str,
    params: Mapping[str, Any],
    *,
    wedges: Mapping[str, list[Any]] | None = None,
    description: str = "",
    relative_to: str | os.PathLike[str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    import_job: bool = True,
) -> dict[str, Any]:
    """The JSON document of a job (validated by parsing it back).

    Path values given relative resolve against ``cwd`` (default: the current folder); they are
    written relative to ``relative_to`` (the job file's folder) when they lie inside it, absolute
    otherwise.
    Parameters set to None are left out (the job uses its default).
    """
    job_kind(kind)
    specs = param_specs(kind, import_job=import_job)
    cwd = Path(cwd) if cwd is not None else Path.cwd()
    doc: dict[str, Any] = {SCHEMA_KEY: SCHEMA_VERSION, "kind": kind}
    if description:
        doc["description"] = description
    if params.get("frames") is None:
        raise JobFileError("parameter 'frames' (the shot frame range) is required")
    sections: dict[str, dict[str, Any]] = {s: {} for s in SECTIONS.values()}
    for name in sorted(params):
        value = params[name]
        if value is None or name == "frames":
            continue
        if name == "allow_pickle" and not value:
            continue  # the runner's decision (`genpost run --allow-pickle`); a job only asks for it
        spec = specs.get(name)
        if spec is not None and spec.type in ("path", "paths", "model") and value in ("", []):
            continue  # an unset path
        if spec is None:
            raise JobFileError(f"unknown parameter {name!r} for {kind}: {', '.join(sorted(specs))}")
        sections[SECTIONS[spec.role]][name] = _export(value, spec, cwd, relative_to)
    doc["frames"] = coerce_value("frames", params["frames"], ParamSpec("frames"), None)
    for section in SECTIONS.values():
        doc[section] = sections[section]
    if wedges:
        doc["wedges"] = {
            k: [_export(v, specs[k], cwd, relative_to) if k in specs else v for v in vals]
            for k, vals in wedges.items()
        }
    parse_job(json.loads(json.dumps(doc)), base=relative_to if relative_to is not None else cwd, import_job=import_job)
    return doc


def _export(value: Any, spec: ParamSpec, cwd: Path, relative_to: str | os.PathLike[str] | None) -> Any:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if spec.type == "paths":
        items = [value] if isinstance(value, str) else list(value)
        return [_export(v, ParamSpec("path"), cwd, relative_to) for v in items]
    if spec.type == "model" and isinstance(value, str) and not _looks_like_path(value) and not (cwd / value).exists():
        return value  # a model name
    if spec.type in ("path", "model") and isinstance(value, str):
        absolute = os.path.normpath(os.path.join(cwd, os.path.expanduser(value)))
        if relative_to is None:
            return absolute
        try:
            rel = os.path.relpath(absolute, os.path.abspath(relative_to))
        except ValueError:  # another drive (Windows)
            return absolute
        if rel == os.pardir or rel.startswith(os.pardir + os.sep):
            return absolute  # outside the job's folder: absolute survives copying the job file
        rel = rel.replace(os.sep, "/")
        if spec.type == "model" and not _looks_like_path(rel):
            rel = "./" + rel
        return rel
    return value


def write_job_file(
    path: str | os.PathLike[str],
    kind: str,
    params: Mapping[str, Any],
    *,
    wedges: Mapping[str, list[Any]] | None = None,
    description: str = "",
    cwd: str | os.PathLike[str] | None = None,
    absolute_paths: bool = False,
    out: str | os.PathLike[str] | None = None,
    import_job: bool = True,
) -> Path:
    """Write a job file (atomic) for ``kind`` with CLI-style ``params``; return its path.

    ``params`` use the CLI names (stage, plate, depth, extend, frames, out, seed, ...); relative
    paths are taken relative to ``cwd`` (default: the current folder) and stored relative to the
    job file (or absolute with ``absolute_paths``); ``out`` (the output folder) may be given
    here instead of in ``params``. The file is validated before it is written.
    """
    path = Path(path)
    if out is not None:
        params = {**params, "out": os.fspath(out)}
    folder = path.resolve().parent
    doc = job_document(
        kind, params, wedges=wedges, description=description,
        relative_to=None if absolute_paths else folder, cwd=cwd, import_job=import_job,
    )
    return write_json_atomic(path, doc)


def spec_document(spec: JobSpec, *, relative_to: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The document of an already-validated :class:`JobSpec` (paths absolute or relative)."""
    return job_document(spec.kind, spec.params, wedges=spec.wedges, description=spec.description,
                        relative_to=relative_to, cwd="/")
