"""From node parameter values to a job file and the ``genpost`` command that runs it (no hou).

The LOP cooks write the job as a JSON job file (``genpost_houdini.farm.jobfile``) into
``OUT/.genpost/`` and run ``genpost run JOB --frames A-B``: the same file a wrangler, the
farm or the wedge TOP reruns, and the job's manifest reuses frames already finished.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..errors import BadInputError

CLASSICAL = "classical"
#: Job parameters the builders below set from differently named node parameters (or derive);
#: any other job parameter is taken from the node parameter of the same name (lop.passthrough_parms).
MAPPED_PARAMS = frozenset({"stage", "frames", "out", "source", "source_matte", "no_consent_record", "facing", "look_at",
                           "walk_direction", "light_direction", "shutter"})
#: The Crowd Replicate LOP's Facing menu: its tokens, and which vector parameter each one reads.
FACING_MODES = {"random": "", "camera": "", "direction": "facingdir", "point": "lookat"}
#: Job value of ``shutter`` that means "the camera's shutter:open/close" (the CLI's default).
CAMERA_SHUTTER = -1.0


def _text(values: Mapping[str, Any], key: str) -> str:
    return str(values.get(key, "") or "").strip()


def _require(values: Mapping[str, Any], key: str, label: str, node: str) -> str:
    text = _text(values, key)
    if not text:
        raise BadInputError(f"{node}: '{label}' is empty")
    return text


def frames_text(start: int, end: int, node: str = "node") -> str:
    """``"A-B"`` for a frame range; BadInputError when end < start."""
    start, end = int(start), int(end)
    if end < start:
        raise BadInputError(f"{node}: end frame {end} is before start frame {start}")
    return f"{start}-{end}" if end != start else f"{start}"


def _generation(values: Mapping[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {"generator": _text(values, "generator") or CLASSICAL, "seed": int(values.get("seed", 0))}
    if params["generator"] != CLASSICAL:
        for key in ("model", "prompt", "runtime"):
            if _text(values, key):
                params[key] = _text(values, key)
        if values.get("strength") is not None:
            params["strength"] = float(values["strength"])
    return params


def setext_params(values: Mapping[str, Any], stage_file: str | os.PathLike[str], node: str = "node") -> dict[str, Any]:
    """Job parameters (CLI names) of a set-extension job from the node's parameter values."""
    params: dict[str, Any] = {
        "stage": os.fspath(stage_file),
        "plate": _require(values, "plate", "Plate", node),
        "depth": _require(values, "depth", "Depth", node),
        "extend": _require(values, "extend", "Extend Mask", node),
        "frames": frames_text(values["framestart"], values["frameend"], node),
        "out": _require(values, "outdir", "Output Folder", node),
        **_generation(values),
    }
    if _text(values, "camera"):
        params["camera"] = _text(values, "camera")
    return params


def vector_text(value: Any, label: str = "vector", node: str = "node") -> str:
    """``(1.0, 0.0, 0.5)`` -> ``"1,0,0.5"``: a vector parameter's value as the CLI's ``X,Y,Z``."""
    try:
        parts = [float(v) for v in value]
    except (TypeError, ValueError):
        raise BadInputError(f"{node}: '{label}' is not three numbers: {value!r}") from None
    if len(parts) != 3:
        raise BadInputError(f"{node}: '{label}' is not three numbers: {value!r}")
    return ",".join(str(int(v)) if v.is_integer() else repr(v) for v in parts)


def _crowd_look(values: Mapping[str, Any], node: str) -> dict[str, Any]:
    """The crowd job parameters the LOP gives as a menu, toggles and vectors (facing, look_at,
    walk_direction, light_direction, shutter), in the CLI's form; only those the node has."""
    params: dict[str, Any] = {}
    if "facingmode" in values:
        mode = _text(values, "facingmode") or "random"
        if mode not in FACING_MODES:
            raise BadInputError(f"{node}: 'Facing' is {mode!r}; expected one of {', '.join(FACING_MODES)}")
        if mode == "direction":
            params["facing"] = vector_text(values.get("facingdir"), "Facing Direction", node)
        else:
            params["facing"] = mode if mode != "point" else "random"
        if mode == "point":  # the CLI's --look-at, which overrides --facing
            params["look_at"] = vector_text(values.get("lookat"), "Look At", node)
    if values.get("usewalkdir"):
        params["walk_direction"] = vector_text(values.get("walkdir"), "Walk Direction", node)
    if values.get("uselightdir"):
        params["light_direction"] = vector_text(values.get("lightdir"), "Light Direction", node)
    if "usecamerashutter" in values:
        params["shutter"] = CAMERA_SHUTTER if values["usecamerashutter"] else float(values.get("shutterframes", 0.5))
    return params


def crowd_params(values: Mapping[str, Any], stage_file: str | os.PathLike[str], node: str = "node") -> dict[str, Any]:
    """Job parameters (CLI names) of a crowd job from the node's parameter values (those the
    node names like a job parameter are added by lop.passthrough_parms)."""
    params: dict[str, Any] = {
        "stage": os.fspath(stage_file),
        "region": _require(values, "region", "Region Prim", node),
        "source": [_require(values, "source", "Source", node)],
        "depth": _require(values, "depth", "Depth", node),
        "frames": frames_text(values["framestart"], values["frameend"], node),
        "count": int(values.get("count", 0)),
        "seed": int(values.get("seed", 0)),
        "out": _require(values, "outdir", "Output Folder", node),
    }
    if _text(values, "camera"):
        params["camera"] = _text(values, "camera")
    if _text(values, "sourcematte"):
        params["source_matte"] = [_text(values, "sourcematte")]
    if values.get("noconsent"):
        params["no_consent_record"] = True
    params.update(_crowd_look(values, node))
    return params


def job_file_path(out_dir: str | os.PathLike[str], kind: str) -> Path:
    return Path(out_dir) / ".genpost" / f"houdini_{kind}.json"


def write_job(kind: str, params: Mapping[str, Any]) -> Path:
    """Write the job file for ``params`` into ``OUT/.genpost/houdini_<kind>.json`` (absolute paths)."""
    from ..farm.jobfile import write_job_file

    path = job_file_path(params["out"], kind)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_job_file(path, kind, params, absolute_paths=True, description=f"written by a Houdini {kind} node",
                          import_job=False)


def run_argv(genpost: Sequence[str], job_file: str | os.PathLike[str], frames: str, *, force: bool = False) -> list[str]:
    """``genpost run JOB --frames A-B --progress openjd [--force]`` (progress lines the node can
    parse; ``--force`` hands over an output folder another job owns and redoes its frames)."""
    argv = [*genpost, "run", os.fspath(job_file), "--frames", frames, "--progress", "openjd"]
    return [*argv, "--force"] if force else argv


#: What ``genpost run`` says (exit 3) when the output folder holds another job's results
#: (genpost_houdini.jobs.workunit's FolderOwnedError).
FOLDER_OWNED_MARK = "belongs to another"


def folder_owned(returncode: int | None, tail: str) -> bool:
    """True when a failed run was refused because another job owns the output folder."""
    return returncode == 3 and FOLDER_OWNED_MARK in tail


def openjd_argv(genpost: Sequence[str], job_file: str | os.PathLike[str], bundle: str | os.PathLike[str]) -> list[str]:
    """``genpost farm openjd JOB --out BUNDLE``: the Open Job Description bundle of a job file."""
    return [*genpost, "farm", "openjd", os.fspath(job_file), "--out", os.fspath(bundle)]


def bundle_dir(out_dir: str | os.PathLike[str]) -> Path:
    """Where a node's Submit to Farm writes the OpenJD bundle: ``OUT/.genpost/openjd``."""
    return Path(out_dir) / ".genpost" / "openjd"


def layer_path(kind: str, out_dir: str | os.PathLike[str]) -> Path:
    """The layer a job kind writes in its output folder (``setext.usda``, ``crowd.usda``)."""
    from ..jobs.registry import job_kind

    return Path(out_dir) / job_kind(kind).layer_name


_EXIT_MEANING = {
    2: "usage error (a bug in the node's command line: please report it)",
    3: "bad input: fix the named file, frame or prim and cook again",
    4: "the outputs failed their own check",
    75: "a passing problem (busy GPU, lock held, out of memory): cook again to retry",
    130: "interrupted",
}


def failure_message(kind: str, returncode: int, tail: str, log: str | os.PathLike[str]) -> str:
    """What a node error says when ``genpost run`` fails: code, meaning, last lines, log file."""
    meaning = _EXIT_MEANING.get(returncode, "failed")
    last = "\n".join(tail.strip().splitlines()[-8:])
    return f"genpost {kind} exited with {returncode}: {meaning}.\n{last}\nFull log: {os.fspath(log)}"
