"""Job kinds -> runners, resolved lazily, with the parameters each kind accepts.

Every job module exposes ``run_job(params: dict, frames: list[int], *, out_dir: Path,
force: bool = False, progress=None) -> dict`` and ``JOB_PARAMS`` (name -> spec). The farm, the
TOP node and ``genpost run`` call jobs only through :func:`get_runner`, so a job file, a chunk
and a wedge all run the same code. Importing this module imports no job (no numpy, no torch):
job modules are named by their import path and loaded when asked for, so the farm layer sits
below the jobs (which use its work units) and never imports them.
:mod:`genpost_houdini.jobs.registry` re-exports every name.

``progress``, when given, is a callable the job calls as ``progress(fraction, message)``
(``0 <= fraction <= 1``; ``progress(done, total)`` is accepted too).
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from ..errors import BadInputError, DependencyError

#: Parameter types a job file may hold.
#: path: a file/folder/frame pattern resolved relative to the job file; paths: a list of them;
#: model: a model folder (resolved like a path when it contains a separator) or a model name;
#: frames: a frame range text ("1001-1024").
PARAM_TYPES = ("str", "int", "float", "bool", "path", "paths", "model", "frames", "json")
ROLES = ("input", "parameter", "output")


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


@dataclass(frozen=True)
class ParamSpec:
    """One job parameter: its type, whether it is required, and where a job file keeps it."""

    type: str = "str"
    required: bool = False
    role: str = "parameter"  # "input" (files read), "parameter", "output" (the output folder)
    help: str = ""
    #: For inputs with a frame token: True when its frames are the shot's frames (a chunk needs
    #: exactly its own), False for sequences with their own frame range (crowd sources).
    shot_frames: bool = True

    def __post_init__(self) -> None:
        if self.type not in PARAM_TYPES:
            raise ValueError(f"unknown parameter type {self.type!r}; known: {', '.join(PARAM_TYPES)}")
        if self.role not in ROLES:
            raise ValueError(f"unknown parameter role {self.role!r}; known: {', '.join(ROLES)}")


def _p(type_: str = "str", *, required: bool = False, role: str = "parameter", help: str = "",
       shot_frames: bool = True) -> ParamSpec:
    return ParamSpec(type_, required, role, help, shot_frames)


_COMMON_GENERATION: dict[str, ParamSpec] = {
    "generator": _p(help="generator backend name (default: the job's own)"),
    "model": _p("model", help="model folder (or model name found through GENPOST_MODELS)"),
    "seed": _p("int", help="wedge seed; per-frame seeds derive from (seed, frame)"),
    "prompt": _p(help="text prompt for diffusion generators"),
    "negative_prompt": _p(help="negative text prompt"),
    "strength": _p("float", help="generation strength in [0, 1]"),
    "runtime": _p(help="auto | torch | onnxruntime | tensorrt"),
}

#: How the depth files store depth (shot.rays): planar camera-space Z, or ray distance.
_DEPTH_KIND = _p(help="planar (camera-space Z, default) | ray (distance from the camera centre)")

SETEXT_PARAMS: dict[str, ParamSpec] = {
    "stage": _p("path", required=True, role="input", help="USD stage with the shot camera"),
    "camera": _p(help="camera prim path (default: the only camera)"),
    "plate": _p("path", required=True, role="input", help="plate EXR pattern (####)"),
    "depth": _p("path", required=True, role="input", help="depth EXR pattern"),
    "depth_kind": _DEPTH_KIND,
    "extend": _p("path", required=True, role="input", help="extend matte EXR pattern, soft 0..1 (1 = extend)"),
    "frames": _p("frames", required=True, help="the SHOT frame range (a chunk is chosen at run time)"),
    "out": _p("path", required=True, role="output", help="output folder"),
    "screen": _p(help="auto | blue | green | none: the screen under the matte (its colour and spill never a source)"),
    "holdout": _p("path", role="input", help="matte of plate pixels never to use as a source (actors, rigs)"),
    "grain": _p(help="auto | off: degrain sources, regrain extended pixels with the plate's grain"),
    "undistort": _p("path", role="input", help="undistort ST map (CG size), a file or a frame pattern"),
    "redistort": _p("path", role="input", help="redistort ST map (plate size), a file or a frame pattern"),
    **_COMMON_GENERATION,
}

CROWD_PARAMS: dict[str, ParamSpec] = {
    "stage": _p("path", required=True, role="input", help="USD stage with the shot camera"),
    "camera": _p(help="camera prim path (default: the only camera)"),
    "region": _p(required=True, help="region prim path (mesh or points) to fill"),
    "source": _p("paths", required=True, role="input", help="crowd source image patterns", shot_frames=False),
    "source_matte": _p("paths", role="input", help="mattes of the sources", shot_frames=False),
    "depth": _p("path", required=True, role="input", help="depth EXR pattern"),
    "depth_kind": _DEPTH_KIND,
    "frames": _p("frames", required=True, help="the SHOT frame range"),
    "count": _p("int", help="number of instances"),
    "out": _p("path", required=True, role="output", help="output folder"),
    "no_consent_record": _p("bool", help="run without a consent record (recorded in outputs)"),
    "undistort": _p("path", role="input", help="undistort ST map (CG size), a file or a frame pattern"),
    "redistort": _p("path", role="input", help="redistort ST map (plate size): crowd.####.exr in plate space"),
    **_COMMON_GENERATION,
}


@dataclass(frozen=True)
class JobKind:
    """A job kind: where its runner lives and the parameters a job file may give it."""

    name: str
    module: str
    params: Mapping[str, ParamSpec] = field(default_factory=dict)
    runner: str = "run_job"
    image_name: str = ""  # per-frame outputs OUT/<image_name>.####.exr
    layer_name: str = ""  # the USD layer OUT/<layer_name>


JOB_KINDS: dict[str, JobKind] = {
    "setext": JobKind("setext", "genpost_houdini.jobs.set_extension", SETEXT_PARAMS,
                      image_name="setext", layer_name="setext.usda"),
    "crowd": JobKind("crowd", "genpost_houdini.jobs.crowd_replication", CROWD_PARAMS,
                     image_name="crowd", layer_name="crowd.usda"),
}

Runner = Callable[..., Any]


def job_kind(kind: str) -> JobKind:
    """The :class:`JobKind` named ``kind``; BadInputError listing the known kinds otherwise."""
    try:
        return JOB_KINDS[kind]
    except (KeyError, TypeError):
        raise BadInputError(f"unknown job kind {kind!r}; known: {', '.join(sorted(JOB_KINDS))}") from None


def _import_job_module(kind: JobKind) -> Any:
    try:
        return importlib.import_module(kind.module)
    except ModuleNotFoundError as exc:
        if exc.name and (kind.module == exc.name or kind.module.startswith(exc.name + ".")):
            raise BadInputError(
                f"job kind {kind.name!r} is not available in this installation "
                f"(module {kind.module} not found)"
            ) from exc
        raise DependencyError(
            f"job kind {kind.name!r} needs the package {exc.name!r}, which is not installed"
        ) from exc


def get_runner(kind: str) -> Runner:
    """The ``run_job`` function of ``kind`` (imports the job module now)."""
    jk = job_kind(kind)
    module = _import_job_module(jk)
    runner = getattr(module, jk.runner, None)
    if not callable(runner):
        raise BadInputError(f"job module {jk.module} has no {jk.runner}() function")
    return runner


def validate_params(kind: str, params: Mapping[str, Any]) -> None:
    """Check a job's parameters (values, generator, model folder, options) as its module's
    optional ``validate(params)`` does, before anything is planned or written. ``params``
    never include ``out``."""
    hook = get_hook(kind, "validate")
    if hook is not None:
        hook({k: v for k, v in params.items() if k != "out"})


def get_hook(kind: str, name: str) -> Callable[..., Any] | None:
    """An optional module-level function of the job (e.g. ``session_enter``), or None."""
    module = _import_job_module(job_kind(kind))
    hook = getattr(module, name, None)
    return hook if callable(hook) else None


def param_specs(kind: str, *, import_job: bool = True) -> dict[str, ParamSpec]:
    """The parameters ``kind`` accepts.

    When the job module imports and declares ``JOB_PARAMS``, its names are authoritative; types
    and roles come from the table here when known, else from ``JOB_PARAMS``. Without the module,
    the table here is used (job files can still be written, listed and bundled).
    """
    jk = job_kind(kind)
    table = dict(jk.params)
    if not import_job:
        return table
    try:
        module = _import_job_module(jk)
    except (BadInputError, DependencyError):
        return table
    declared = getattr(module, "JOB_PARAMS", None)
    if not isinstance(declared, Mapping) or not declared:
        return table
    specs: dict[str, ParamSpec] = {}
    for name, decl in declared.items():
        specs[str(name)] = table.get(str(name)) or _spec_from_declaration(str(name), decl)
    for name, spec in table.items():  # the output folder and shot range are always accepted
        if name in ("out", "frames"):
            specs.setdefault(name, spec)
    return specs


_PY_TYPES = {int: "int", float: "float", bool: "bool", str: "str", Path: "path", list: "json", dict: "json"}


def _spec_from_declaration(name: str, decl: Any) -> ParamSpec:
    """Turn a job module's JOB_PARAMS entry (spec, type, (type, default), dict, or default) into a spec."""
    if isinstance(decl, ParamSpec):
        return decl
    required = False
    type_: Any = None
    if isinstance(decl, Mapping):
        type_ = decl.get("type")
        required = bool(decl.get("required", False)) or decl.get("default", None) is REQUIRED
    elif isinstance(decl, tuple) and decl:
        type_ = decl[0]
        required = len(decl) > 1 and decl[1] is REQUIRED
    elif inspect.isclass(decl):
        type_ = decl
    elif decl is None:  # the convention "None = required"
        required = True
    else:
        type_ = type(decl)
    if inspect.isclass(type_):
        type_ = _PY_TYPES.get(type_, "json")
    if type_ not in PARAM_TYPES:
        type_ = "json" if type_ is not None else "str"
    return ParamSpec(str(type_), required, "parameter", "")
