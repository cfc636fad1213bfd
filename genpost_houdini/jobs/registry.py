"""Job kinds -> runners, resolved lazily, with the parameters each kind accepts: the one table.

Every job module exposes ``run_job(params: dict, frames: list[int], *, out_dir: Path,
force: bool = False, progress=None) -> dict`` and ``JOB_PARAMS`` (name -> default, None =
required). For the built-in kinds the tables here (:data:`SETEXT_PARAMS`, :data:`CROWD_PARAMS`)
are the single source: each parameter's type, role (input file, parameter, output folder),
default and help; the job modules derive ``JOB_PARAMS`` and ``PATH_PARAMS`` from them
(:func:`job_defaults`, :func:`path_params`), so a job file validated here without importing the
job (``param_specs(kind, import_job=False)``: the Wedge TOP, the LOP buttons) accepts exactly
what the job runs with. The farm, the TOP node and ``genpost run`` call jobs only through
:func:`get_runner`, so a job file, a chunk and a wedge all run the same code.

This module uses the standard library only and imports no job at import time (no numpy, no
torch): job modules are named by their import path and loaded when asked for. It is what
Houdini's own Python imports; :mod:`genpost_houdini.farm.kinds` re-exports it (the farm sits
above the jobs).

``progress``, when given, is a callable the job calls as ``progress(fraction, message)``
(``0 <= fraction <= 1``; ``progress(done, total)`` is accepted too).

``allow_pickle`` is in the tables (the job takes it), but it is the runner's decision alone:
a job file never carries ``false`` and one carrying ``true`` is refused unless the run is
``genpost run --allow-pickle`` (:func:`genpost_houdini.farm.runner.plan`).
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
#: Types whose values are file paths (resolved relative to a job file, canonical in a job's identity).
PATH_TYPES = ("path", "paths", "model")


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


@dataclass(frozen=True)
class ParamSpec:
    """One job parameter: its type, whether it is required, where a job file keeps it, and
    the value the job uses when a job file leaves it out (``default``; None when required)."""

    type: str = "str"
    required: bool = False
    role: str = "parameter"  # "input" (files read), "parameter", "output" (the output folder)
    help: str = ""
    #: For inputs with a frame token: True when its frames are the shot's frames (a chunk needs
    #: exactly its own), False for sequences with their own frame range (crowd sources).
    shot_frames: bool = True
    default: Any = None

    def __post_init__(self) -> None:
        if self.type not in PARAM_TYPES:
            raise ValueError(f"unknown parameter type {self.type!r}; known: {', '.join(PARAM_TYPES)}")
        if self.role not in ROLES:
            raise ValueError(f"unknown parameter role {self.role!r}; known: {', '.join(ROLES)}")


def _p(type_: str = "str", default: Any = "", *, required: bool = False, role: str = "parameter",
       help: str = "", shot_frames: bool = True) -> ParamSpec:
    return ParamSpec(type_, required, role, help, shot_frames, None if required else default)


def _required(type_: str, *, role: str = "parameter", help: str = "", shot_frames: bool = True) -> ParamSpec:
    return _p(type_, None, required=True, role=role, help=help, shot_frames=shot_frames)


_SHOT: dict[str, ParamSpec] = {
    "stage": _required("path", role="input", help="USD stage with the shot camera"),
    "camera": _p(help="camera prim path (default: the only camera)"),
    "depth": _required("path", role="input", help="depth EXR pattern"),
    #: How the depth files store depth (shot.rays): planar camera-space Z, or ray distance.
    "depth_kind": _p(default="planar", help="planar (camera-space Z, default) | ray (distance from the camera centre)"),
    "frames": _required("frames", help="the SHOT frame range (a chunk is chosen at run time)"),
    "out": _required("path", role="output", help="output folder"),
}


def _generation(generator: str) -> dict[str, ParamSpec]:
    return {
        "generator": _p(default=generator, help="generator backend name (see `genpost generators`)"),
        "model": _p("model", help="model folder (or model name found through GENPOST_MODELS)"),
        "seed": _p("int", 0, help="wedge seed; per-frame seeds derive from (seed, frame)"),
        "prompt": _p(help="text prompt for diffusion generators"),
        "negative_prompt": _p(help="negative text prompt"),
        "runtime": _p(default="auto", help="auto | torch | onnxruntime | tensorrt"),
        "allow_pickle": _p("bool", False, help="load pickle checkpoints: the runner's decision only "
                                               "(`genpost run --allow-pickle`)"),
    }


SETEXT_PARAMS: dict[str, ParamSpec] = {
    "stage": _SHOT["stage"],
    "camera": _SHOT["camera"],
    "plate": _required("path", role="input", help="plate EXR pattern (####)"),
    **_SHOT,
    "extend": _required("path", role="input", help="extend matte EXR pattern, soft 0..1 (1 = extend)"),
    **_generation("classical"),
    "strength": _p("float", 1.0, help="generation strength in [0, 1]"),
    "max_keyframes": _p("int", 8, help="most generated keyframes over the shot"),
    "max_sources": _p("int", 8, help="most other frames reprojected into a frame"),
    "screen": _p(default="auto", help="auto | blue | green | none: the screen under the matte (its colour and spill never a source)"),
    "holdout": _p("path", role="input", help="matte of plate pixels never to use as a source (actors, rigs)"),
    "grain": _p(default="auto", help="auto | off: degrain sources, regrain extended pixels with the plate's grain"),
    "undistort": _p("path", role="input", help="undistort ST map (CG size), a file or a frame pattern"),
    "redistort": _p("path", role="input", help="redistort ST map (plate size), a file or a frame pattern"),
}

CROWD_PARAMS: dict[str, ParamSpec] = {
    **_SHOT,
    "region": _required("str", help="region prim path (mesh, plane or points) to fill"),
    "source": _required("paths", role="input", help="crowd element patterns, or library folders", shot_frames=False),
    "source_matte": _p("paths", role="input", help="mattes of the sources (one per source)", shot_frames=False),
    "source_frames": _p(help="frame range of the sources (default: every frame on disk)"),
    "plate": _p("path", role="input", help="plate pattern the crowd is graded to (optional)"),
    "count": _p("int", 100, help="number of people (clamped to what the region holds)"),
    "min_spacing": _p("float", 0.6, help="minimum distance between people at every frame (scene units)"),
    "person_height": _p("float", 1.75, help="mean person height (scene units)"),
    "height_sd": _p("float", 0.04, help="relative spread of heights per person"),
    "walkers": _p("float", 0.3, help="share of people walking across the region (0..1)"),
    "stagger": _p("bool", True, help="move standers hidden behind others into gaps nearby"),
    "facing": _p(default="random", help="random | camera | X,Y,Z: where standing people face"),
    "look_at": _p(help="X,Y,Z: a point standing people face (overrides facing)"),
    "walk_direction": _p(help="X,Y,Z: walkers' direction, both ways (default: the region's long axis)"),
    "colourways": _p("int", 6, help="clothing colourways per source (1 = as filmed)"),
    "light_direction": _p(help="X,Y,Z: direction the light travels, for shadows"),
    "shadow_density": _p("float", 0.6, help="how much a cast shadow darkens the plate (0..1)"),
    "haze_distance": _p("float", 1500.0, help="distance at which haze takes half a person's colour (0 = none)"),
    "shutter": _p("float", -1.0, help="shutter in frames for motion blur (-1: the camera's, else 0.5)"),
    "variants": _p("int", 0, help="generated variants per source (needs a generator)"),
    "no_consent_record": _p("bool", False, help="run without a consent record (recorded in outputs)"),
    "undistort": _p("path", role="input", help="undistort ST map (CG size), a file or a frame pattern"),
    "redistort": _p("path", role="input", help="redistort ST map (plate size): crowd.####.exr in plate space"),
    **_generation(""),
}


def job_defaults(params: Mapping[str, ParamSpec]) -> dict[str, Any]:
    """A job module's ``JOB_PARAMS`` from its table: name -> default (None = required); the
    output folder is the runner's, not the job's parameter."""
    return {name: (None if spec.required else spec.default) for name, spec in params.items() if spec.role != "output"}


def path_params(params: Mapping[str, ParamSpec]) -> tuple[str, ...]:
    """The parameters of a table that are file paths (a job's ``PATH_PARAMS``)."""
    return tuple(name for name, spec in params.items() if spec.type in PATH_TYPES and spec.role != "output")


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

    ``import_job=False`` (Houdini's Python: the Wedge TOP, the LOP buttons) is the kind's table
    alone. Otherwise, when the job module imports and declares ``JOB_PARAMS``, its names are
    authoritative; types and roles come from the table when known, else from ``JOB_PARAMS``. The
    built-in jobs derive ``JOB_PARAMS`` from their table (:func:`job_defaults`), so both ways
    accept the same names (tests/farm/test_param_tables.py holds them to it).
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
