"""Cook and callback functions of the GenPost LOPs (Set Extension, Crowd Replicate).

The HDA's PythonCook calls ``cook_set_extension(hou.pwd())`` / ``cook_crowd(hou.pwd())``; its
PythonModule forwards menus and callbacks here. ``hou`` is imported inside functions only.
The cook: read the parameters and the input stage, save the stage for the job when it is not
a file already, write the job file, run ``genpost run`` as an interruptible child process,
then sublayer the job's layer onto ``editableStage()``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Callable, Mapping

from ..errors import GenpostError
from . import env, jobs, process, stageinfo

SETEXT_PARMS = ("camera", "stagefile", "plate", "depth", "extend", "framestart", "frameend", "generator",
                "model", "prompt", "seed", "strength", "runtime", "outdir", "sublayer")
CROWD_PARMS = ("camera", "region", "stagefile", "depth", "framestart", "frameend", "source", "sourcematte",
               "count", "seed", "noconsent", "outdir", "sublayer")


def _hou() -> Any:
    import hou  # noqa: PLC0415 - only inside Houdini

    return hou


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


def _expand(hou: Any, text: str) -> str:
    expander = getattr(getattr(hou, "text", None), "expandString", None) or getattr(hou, "expandString")
    return str(expander(text))


def read_parms(node: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """Evaluated values of the node's parameters. Strings are expanded ($HIP, $OS...), except
    that frame patterns keep their frame token (as ``####``); relative paths become absolute
    against $HIP (a subprocess does not share Houdini's working folder)."""
    hou = _hou()
    hip = os.environ.get("HIP") or None
    values: dict[str, Any] = {}
    for name in names:
        parm = node.parm(name)
        if parm is None:
            continue
        value: Any
        try:
            raw = parm.unexpandedString() if name in PATTERN_PARMS else None
        except Exception:  # noqa: BLE001 - an animated/expression parm has no plain string
            raw = None
        value = _expand(hou, protect_frame_tokens(raw)) if raw is not None else parm.eval()
        if name in PATH_PARMS and isinstance(value, str):
            value = absolute_path(value.strip(), hip)
        values[name] = value
    return values


def _input_stage(node: Any) -> Any:
    inputs = node.inputs()
    if inputs and inputs[0] is not None:
        return inputs[0].stage()
    return None


def run_job_with_interrupt(
    node: Any, kind: str, params: Mapping[str, Any], *, runner: Callable[..., process.ProcessResult] = process.run_interruptible
) -> Path:
    """Write the job file, run ``genpost run`` under a ``hou.InterruptableOperation`` and return
    the job's layer path. Raises ``hou.NodeError`` with the reason when the run fails or is
    interrupted (finished frames stay on disk and are reused by the next cook)."""
    hou = _hou()
    out_dir = Path(params["out"])
    job_file = jobs.write_job(kind, params)
    argv = jobs.run_argv(env.genpost_command(), job_file, params["frames"])
    log = process.log_file_for(out_dir, kind)
    title = f"GenPost {kind} ({node.path()})"
    state = {"fraction": 0.0, "status": "starting genpost"}
    with hou.InterruptableOperation(title, long_operation_name=title, open_interrupt_dialog=True) as op:

        def on_progress(fraction: float | None, line: str) -> None:
            if fraction is not None:
                state["fraction"] = fraction
            elif line.startswith("openjd_status:"):
                state["status"] = line.split(":", 1)[1].strip()

        def should_stop() -> bool:
            try:
                op.updateLongProgress(state["fraction"], state["status"])
            except hou.OperationInterrupted:
                return True
            return False

        result = runner(argv, should_stop=should_stop, on_progress=on_progress, env=process.child_environment(), log_path=log)
    if result.interrupted:
        raise hou.NodeError(f"Interrupted: the genpost {kind} process was stopped. Finished frames are kept; cook again to resume.")
    if result.returncode != 0:
        raise hou.NodeError(jobs.failure_message(kind, int(result.returncode or 1), result.tail, log))
    return jobs.layer_path(kind, out_dir)


def _cook(node: Any, kind: str, parms: tuple[str, ...], build: Callable[..., dict[str, Any]]) -> None:
    hou = _hou()
    try:
        values = read_parms(node, parms)
        source_stage = _input_stage(node)  # read inputs before editableStage()
        stage = node.editableStage()
        stage_file = values.get("stagefile") or stageinfo.stage_file_for_job(
            source_stage if source_stage is not None else stage, Path(values["outdir"]) / ".genpost"
        )
        params = build(values, stage_file, node.path())
        layer = run_job_with_interrupt(node, kind, params)
        if values.get("sublayer", 1):
            from ..usd_out.sublayer import sublayer_onto

            sublayer_onto(stage, layer)
    except GenpostError as exc:
        raise hou.NodeError(str(exc)) from exc


def cook_set_extension(node: Any) -> None:
    """PythonCook of genpost::set_extension::1.0."""
    _cook(node, "setext", SETEXT_PARMS, jobs.setext_params)


def cook_crowd(node: Any) -> None:
    """PythonCook of genpost::crowd_replicate::1.0."""
    _cook(node, "crowd", CROWD_PARMS, jobs.crowd_params)


def _menu_stage(kwargs: Mapping[str, Any]) -> Any:
    node = kwargs["node"]
    stage = _input_stage(node)
    return stage if stage is not None else node.stage()


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


def _tell(message: str, severity: str = "Message") -> None:
    hou = _hou()
    if hou.isUIAvailable():
        hou.ui.displayMessage(message, severity=getattr(hou.severityType, severity))
    else:
        print(message)


def on_generator_changed(kwargs: Mapping[str, Any]) -> None:
    """Callback: a diffusion generator needs the model environment; say so now if it is missing."""
    generator = kwargs["node"].parm("generator").eval()
    if generator == jobs.CLASSICAL:
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
