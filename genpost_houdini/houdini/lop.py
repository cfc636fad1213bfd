"""Buttons, menus and channel expressions of the GenPost LOPs (Set Extension, Crowd Replicate).

Both LOPs are subnet assets on SideFX's File Cache pattern (hda/set_extension.toml): the cook
never runs a job, it only loads what is on disk. Their PythonModule forwards the callbacks here;
their inner nodes evaluate the channel expressions below with the asset node:

* :func:`on_generate` (button): write the job file, run ``genpost run`` on it as a child process
  under ``hou.InterruptableOperation`` (progress bar, Esc stops it cleanly), then turn
  __Load from Disk__ on, reload the inner Sublayer LOP and say what was written.
* :func:`on_submit` (button): write the job file and an OpenJD bundle (``genpost farm openjd``,
  a child process) or a GenPost Wedge TOP on it, and say where.
* :func:`layer_file`, :func:`layer_loads` (inner Sublayer LOP ``filepath1`` / ``enable1``) and
  :func:`missing_output_message`, :func:`missing_output_warns` (inner Error LOP) -- plain file
  checks, cheap enough for every cook, never time-dependent.

``hou`` is imported inside functions only.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from ..errors import BadInputError, GenpostError
from . import env, jobs, process, stageinfo

if TYPE_CHECKING:  # pragma: no cover
    import hou

SETEXT_PARMS = ("camera", "stagefile", "plate", "depth", "extend", "framestart", "frameend", "generator",
                "model", "prompt", "seed", "strength", "runtime", "outdir")
CROWD_PARMS = ("camera", "region", "stagefile", "depth", "framestart", "frameend", "source", "sourcematte",
               "count", "seed", "noconsent", "outdir", "facingmode", "facingdir", "lookat", "usewalkdir", "walkdir",
               "uselightdir", "lightdir", "usecamerashutter", "shutterframes")


@dataclass(frozen=True)
class LopKind:
    """What differs between the two LOPs: job kind, parameters read, job builder, label."""

    kind: str
    parms: tuple[str, ...]
    build: Callable[..., dict[str, Any]]
    label: str


#: By the asset type's name component (``genpost::set_extension::1.0`` -> ``set_extension``).
KINDS = {
    "set_extension": LopKind("setext", SETEXT_PARMS, jobs.setext_params, "Set Extension"),
    "crowd_replicate": LopKind("crowd", CROWD_PARMS, jobs.crowd_params, "Crowd Replicate"),
}
#: The inner Sublayer LOP that loads the layer (hda/*.toml); Generate presses its Reload.
LOADER_NODE = "load_layer"


def _hou() -> Any:
    import hou  # noqa: PLC0415 - only inside Houdini

    return hou


def lop_kind(node: "hou.OpNode") -> LopKind:
    name = node.type().nameComponents()[2]
    try:
        return KINDS[name]
    except KeyError:
        raise BadInputError(f"{node.path()}: not a GenPost LOP ({node.type().name()})") from None


#: Parameters holding frame patterns: their $F tokens must survive evaluation (as ####).
PATTERN_PARMS = frozenset({"plate", "depth", "extend", "source", "sourcematte"})
#: Parameters holding paths: made absolute against $HIP when relative.
PATH_PARMS = PATTERN_PARMS | {"stagefile", "outdir", "model"}
_FRAME_TOKEN = re.compile(r"\$\{?F(\d*)\}?(?![A-Za-z_])")


def protect_frame_tokens(text: str) -> str:
    """``$F4`` / ``${F4}`` -> ``####`` and ``$F`` -> ``#``, so expanding the other variables
    ($HIP, $JOB, $OS) does not turn a sequence pattern into the current frame's file."""
    return _FRAME_TOKEN.sub(lambda m: "#" * int(m.group(1) or 1), text)


def absolute_path(text: str, base: str | None) -> str:
    """``text`` made absolute against ``base`` (the hip file's folder) when it is relative."""
    if not text or os.path.isabs(text) or not base:
        return text
    return os.path.normpath(os.path.join(base, text))


def read_parms(node: "hou.OpNode", names: tuple[str, ...], *, patterns: tuple[str, ...] = (),
               paths: tuple[str, ...] = ()) -> dict[str, Any]:
    """Evaluated values of the node's parameters. Strings are expanded ($HIP, $OS...), except
    that frame patterns (PATTERN_PARMS and ``patterns``) keep their frame token (as ``####``);
    relative paths (PATH_PARMS and ``paths``) become absolute against $HIP (a subprocess does not
    share Houdini's working folder); a vector parameter (``type vector`` in hda/*.toml) comes as a
    tuple of its components (floats)."""
    hou = _hou()
    hip = os.environ.get("HIP") or None
    values: dict[str, Any] = {}
    for name in names:
        parm = node.parm(name)
        if parm is None:  # a vector parameter is a tuple of components (hou.ParmTuple)
            tuple_parm = node.parmTuple(name)
            if tuple_parm is not None:
                values[name] = tuple_parm.evalAsFloats()
            continue
        value: Any
        try:
            raw = parm.unexpandedString() if name in PATTERN_PARMS or name in patterns else None
        except hou.OperationFailed:  # an animated/expression parm has no plain string
            raw = None
        value = hou.text.expandString(protect_frame_tokens(raw)) if raw is not None else parm.eval()
        if (name in PATH_PARMS or name in paths) and isinstance(value, str):
            value = absolute_path(value.strip(), hip)
        values[name] = value
    return values


def _input_stage(node: "hou.OpNode") -> Any:
    inputs = node.inputs()
    first = inputs[0] if inputs else None
    return first.stage() if first is not None and hasattr(first, "stage") else None


def layer_path(node: "hou.OpNode") -> Path:
    """The layer this node's job writes (``Output Folder/setext.usda`` or ``crowd.usda``)."""
    out = str(read_parms(node, ("outdir",)).get("outdir") or "")
    if not out:
        raise BadInputError(f"{node.path()}: 'Output Folder' is empty")
    return jobs.layer_path(lop_kind(node).kind, out)


def _load_from_disk(node: "hou.OpNode") -> bool:
    parm = node.parm("loadfromdisk")
    return parm is not None and bool(parm.eval())


# -- channel expressions of the inner nodes (run on every cook: file checks only) ---------------
def layer_file(node: "hou.OpNode") -> str:
    """Inner Sublayer LOP ``filepath1``: the layer to load ("" with Load from Disk off)."""
    if not _load_from_disk(node):
        return ""
    try:
        return str(layer_path(node))
    except GenpostError:
        return ""


def layer_loads(node: "hou.OpNode") -> int:
    """Inner Sublayer LOP ``enable1``: 1 when Load from Disk is on and the layer exists."""
    path = layer_file(node)
    return int(bool(path) and os.path.isfile(path))


def missing_output_message(node: "hou.OpNode") -> str:
    """Inner Error LOP ``errormsg1``: why nothing is loaded and which button to press ("" when
    the layer is loaded or Load from Disk is off)."""
    if not _load_from_disk(node):
        return ""
    label = lop_kind(node).label
    try:
        path = layer_path(node)
    except GenpostError as exc:
        return f"GenPost {label}: {exc}. Set it, then press Generate."
    if path.is_file():
        return ""
    return (f"GenPost {label}: nothing generated yet ({path} does not exist). Press Generate "
            "(or Submit to Farm and wait for the job), or turn off Load from Disk.")


def missing_output_warns(node: "hou.OpNode") -> int:
    """Inner Error LOP ``enable1``: 1 while :func:`missing_output_message` has something to say."""
    return int(bool(missing_output_message(node)))


# -- buttons -------------------------------------------------------------------------------------
def passthrough_parms(node: "hou.OpNode", kind: str, known: tuple[str, ...]) -> dict[str, Any]:
    """Parameters of the node named like a job parameter of ``kind`` (the registry's table) that
    the builders do not map themselves: added to the job as they are (paths absolute, frame
    tokens kept as ####; empty ones left out). So a new job parameter needs only its
    ``[[folder.parm]]`` entry, of the same name, in hda/*.toml."""
    from ..jobs.registry import param_specs

    specs = {name: spec for name, spec in param_specs(kind, import_job=False).items()
             if name not in known and name not in jobs.MAPPED_PARAMS and node.parm(name) is not None}
    paths = tuple(name for name, spec in specs.items() if spec.type in ("path", "paths", "model"))
    values = read_parms(node, tuple(specs), patterns=paths, paths=paths)
    out: dict[str, Any] = {}
    for name, value in values.items():
        kind_of = specs[name].type
        if value in ("", None):
            continue
        out[name] = bool(value) if kind_of == "bool" else int(value) if kind_of == "int" else \
            float(value) if kind_of == "float" else value
    return out


def prepare_job(node: "hou.OpNode") -> tuple[str, dict[str, Any], Path]:
    """Read the node, save its input stage for the job when no Stage File is set, write the job
    file; returns (kind, job parameters, job file)."""
    lk = lop_kind(node)
    values = read_parms(node, lk.parms)
    if not values.get("outdir"):
        raise BadInputError(f"{node.path()}: 'Output Folder' is empty")
    stage_file = values.get("stagefile")
    if not stage_file:
        stage = _input_stage(node)
        if stage is None:
            raise BadInputError(f"{node.path()}: connect the shot stage to the input, or set 'Stage File'")
        stage_file = stageinfo.stage_file_for_job(stage, Path(values["outdir"]) / ".genpost")
    params = {**lk.build(values, stage_file, node.path()), **passthrough_parms(node, lk.kind, lk.parms)}
    return lk.kind, params, jobs.write_job(lk.kind, params)


def run_job_with_interrupt(
    node: "hou.OpNode", kind: str, job_file: Path, frames: str, log: Path,
    *, runner: Callable[..., process.ProcessResult] = process.run_interruptible, force: bool = False,
) -> process.ProcessResult:
    """Run ``genpost run JOB --frames A-B --progress openjd`` under a
    ``hou.InterruptableOperation`` with a progress dialog; Esc stops the child process."""
    hou = _hou()
    argv = jobs.run_argv(env.genpost_command(), job_file, frames, force=force)
    title = f"GenPost {kind} ({node.path()})"
    state: dict[str, Any] = {"fraction": 0.0, "status": "starting genpost"}
    with hou.InterruptableOperation(title, long_operation_name=title, open_interrupt_dialog=True) as op:

        def on_progress(fraction: float | None, line: str) -> None:
            if fraction is not None:
                state["fraction"] = fraction
            elif line.startswith("openjd_status:"):
                state["status"] = line.split(":", 1)[1].strip()

        def should_stop() -> bool:
            try:
                op.updateLongProgress(float(state["fraction"]), str(state["status"]))
            except hou.OperationInterrupted:
                return True
            return False

        return runner(argv, should_stop=should_stop, on_progress=on_progress,
                      env=process.child_environment(), log_path=log)


def _tell(message: str, severity: str = "Message") -> None:
    hou = _hou()
    if hou.isUIAvailable():
        hou.ui.displayMessage(message, severity=getattr(hou.severityType, severity), title="GenPost")
    else:
        print(message)


def _ask_replace(message: str) -> bool:
    """Ask whether to replace another job's results (a Replace / Cancel dialog in the UI; in
    hython, with no one to ask, the answer is no and the message is printed)."""
    hou = _hou()
    if not hou.isUIAvailable():
        print(message)
        return False
    choice = hou.ui.displayMessage(message, buttons=("Replace", "Cancel"), severity=hou.severityType.Warning,
                                   default_choice=1, close_choice=1, title="GenPost")
    return choice == 0


def _reload(node: "hou.OpNode") -> None:
    """Turn Load from Disk on and make the inner Sublayer LOP read the file again (SideFX Labs
    File Cache: enableLoadFromDisk, then the reader's ``reload`` button)."""
    toggle = node.parm("loadfromdisk")
    if toggle is not None:
        toggle.set(1)
    loader = node.node(LOADER_NODE)
    reload = loader.parm("reload") if loader is not None else None
    if reload is not None:
        reload.pressButton()


def on_generate(kwargs: Mapping[str, Any]) -> bool:
    """Generate button: run the job out of process, then load its layer. Returns True when the
    job finished; every outcome is said in a message (a dialog in the UI, stdout in hython)."""
    node = kwargs["node"]
    label = lop_kind(node).label
    try:
        kind, params, job_file = prepare_job(node)
        log = process.log_file_for(params["out"], kind)
        result = run_job_with_interrupt(node, kind, job_file, params["frames"], log)
        if not result.interrupted and jobs.folder_owned(result.returncode, result.tail):
            # The artist changed a parameter that makes this another job (a seed, a plate):
            # like a File Cache's Save to Disk, the node may replace its folder, but only if asked.
            reason = next((line for line in reversed(result.tail.splitlines()) if jobs.FOLDER_OWNED_MARK in line), "")
            if not _ask_replace(f"GenPost {label}: {reason.strip()}\n\nReplace the results in {params['out']} "
                                f"with this node's job? Its frames are then computed again."):
                _tell(f"GenPost {label}: nothing was changed in {params['out']}. Choose another Output "
                      f"Folder, or press Generate again and choose Replace.", "Warning")
                return False
            result = run_job_with_interrupt(node, kind, job_file, params["frames"], log, force=True)
    except GenpostError as exc:
        _tell(f"GenPost {label}: {exc}", "Error")
        return False
    if result.interrupted:
        _tell(f"GenPost {label}: stopped. The genpost process was ended; finished frames are kept in "
              f"{params['out']}. Press Generate again to resume. Log: {log}", "Warning")
        return False
    if result.returncode != 0:
        _tell(jobs.failure_message(kind, int(result.returncode or 1), result.tail, log), "Error")
        return False
    _reload(node)
    summary = next((line for line in reversed(result.tail.splitlines()) if line.startswith("genpost run:")), "")
    _tell(f"GenPost {label}: done. {summary}\nLayer {jobs.layer_path(kind, params['out'])} is loaded "
          f"(Load from Disk is on).\nJob file: {job_file}\nLog: {log}")
    return True


def create_wedge_top(job_file: Path, name: str) -> str:
    """A GenPost Wedge TOP on ``job_file`` in the TOP network ``/tasks/genpost`` (made when
    missing); returns its path."""
    hou = _hou()
    tasks = hou.node("/tasks")
    if tasks is None:
        raise BadInputError("no /tasks network in this session to put the TOP network in")
    net = tasks.node("genpost") or tasks.createNode("topnet", "genpost")
    top = net.node(name) or net.createNode("genpost::wedge::1.0", name)
    top.parm("jobfile").set(str(job_file))
    top.moveToGoodPosition()
    return top.path()


def on_submit(kwargs: Mapping[str, Any]) -> str:
    """Submit to Farm button: the job file plus an OpenJD bundle (Farm = openjd) or a GenPost
    Wedge TOP (Farm = tops). Returns where it went ("" on failure); says so in a message."""
    node = kwargs["node"]
    label = lop_kind(node).label
    try:
        kind, params, job_file = prepare_job(node)
        if str(node.evalParm("farmtarget")) == "tops":
            where = create_wedge_top(job_file, f"{kind}_{node.name()}")
            _tell(f"GenPost {label}: job file {job_file}\nGenPost Wedge TOP {where} runs it (cook it there; "
                  "each work item runs `genpost run` on its scheduler).")
            return where
        bundle = jobs.bundle_dir(params["out"])
        argv = jobs.openjd_argv(env.genpost_command(), job_file, bundle)
        done = subprocess.run(argv, capture_output=True, text=True, env=process.child_environment(), timeout=600)
    except GenpostError as exc:
        _tell(f"GenPost {label}: {exc}", "Error")
        return ""
    except (OSError, subprocess.SubprocessError) as exc:
        _tell(f"GenPost {label}: could not run genpost farm openjd: {exc}", "Error")
        return ""
    if done.returncode != 0:
        _tell(f"GenPost {label}: `genpost farm openjd` exited with {done.returncode}:\n"
              f"{(done.stderr or done.stdout).strip()[-2000:]}", "Error")
        return ""
    _tell(f"GenPost {label}: OpenJD bundle written to {bundle} for job file {job_file}.\n"
          f"Run it with `openjd run {bundle / 'template.yaml'}` or submit it with "
          f"`deadline bundle submit {bundle}`.")
    return str(bundle)


# -- menus and other callbacks -------------------------------------------------------------------
def _menu_stage(kwargs: Mapping[str, Any]) -> Any:
    return _input_stage(kwargs["node"])


def camera_menu(kwargs: Mapping[str, Any]) -> list[str]:
    """Menu script: the cameras on the input stage (empty when it cannot be read)."""
    try:
        stage = _menu_stage(kwargs)
        return stageinfo.menu_items(stageinfo.list_cameras(stage)) if stage is not None else []
    except Exception:  # noqa: BLE001 - a menu must never raise into the parameter pane
        return []


def region_menu(kwargs: Mapping[str, Any]) -> list[str]:
    """Menu script: mesh / points / curves prims on the input stage."""
    try:
        stage = _menu_stage(kwargs)
        return stageinfo.menu_items(stageinfo.list_region_prims(stage)) if stage is not None else []
    except Exception:  # noqa: BLE001
        return []


def on_generator_changed(kwargs: Mapping[str, Any]) -> None:
    """Callback: a diffusion generator needs the model environment; say so now if it is missing."""
    generator = kwargs["node"].parm("generator").eval()
    if generator in ("", jobs.CLASSICAL):  # the crowd's empty generator: no variants generated
        return
    try:
        env.genpost_command()
        if env.read_record() is None:
            raise GenpostError(f"no genpost model environment for Python {env.python_tag()}: {env.SETUP_HINT}")
    except GenpostError as exc:
        _tell(f"The '{generator}' generator needs genpost's model environment.\n{exc}", "Warning")


def on_check_environment(kwargs: Mapping[str, Any]) -> None:
    """Button callback: report the model environment and what to run when it is missing."""
    try:
        _tell(env.status_message())
    except GenpostError as exc:
        _tell(str(exc), "Warning")
