"""The model environment made by ``genpost houdini setup``, and how nodes reach genpost.

The model stack (torch, diffusers, tensorrt) never goes on Houdini's PYTHONPATH at start-up.
``genpost houdini setup`` makes a virtual environment for Houdini's Python version and records
it in ``<config>/houdini_env-py<X.Y>.json`` (``$GENPOST_CONFIG_DIR``, else
``$XDG_CONFIG_HOME/genpost``, else ``~/.config/genpost``). Nodes call
:func:`activate_model_env` only when they need the stack in-process, and
:func:`genpost_command` to run genpost as a child process.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from ..errors import DependencyError

SETUP_HINT = "run `genpost houdini setup --python <Houdini's python>` in a shell (see `genpost doctor`)"


@dataclass(frozen=True)
class ModelEnv:
    """A recorded model environment."""

    python_version: str
    venv: Path
    python: Path
    site_packages: Path
    genpost_root: Path
    record: Path


def config_dir(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get("GENPOST_CONFIG_DIR"):
        return Path(env["GENPOST_CONFIG_DIR"])
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME", str(Path.home()))) / ".config")
    return Path(base) / "genpost"


def python_tag(version: str | None = None) -> str:
    """``"3.11"`` for the running interpreter (or the given version)."""
    return version or f"{sys.version_info[0]}.{sys.version_info[1]}"


def record_path(version: str | None = None, environ: Mapping[str, str] | None = None) -> Path:
    return config_dir(environ) / f"houdini_env-py{python_tag(version)}.json"


def read_record(version: str | None = None, environ: Mapping[str, str] | None = None) -> ModelEnv | None:
    """The recorded environment for a Python version, or None when none is recorded."""
    path = record_path(version, environ)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return ModelEnv(
            python_version=str(data["python_version"]),
            venv=Path(data["venv"]),
            python=Path(data["python"]),
            site_packages=Path(data["site_packages"]),
            genpost_root=Path(data["genpost_root"]),
            record=path,
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise DependencyError(f"{path}: damaged model-environment record ({exc}); {SETUP_HINT}") from exc


def activate_model_env(version: str | None = None, environ: Mapping[str, str] | None = None) -> ModelEnv:
    """Put the recorded model environment's site-packages on ``sys.path`` (appended, so
    Houdini's own packages keep priority) and return it. Idempotent.

    Raises :class:`DependencyError` saying what to run when no environment is recorded for this
    Python, or when the recorded one is gone.
    """
    tag = python_tag(version)
    env = read_record(tag, environ)
    if env is None:
        raise DependencyError(f"no genpost model environment for Python {tag}: {SETUP_HINT}")
    if not env.site_packages.is_dir():
        raise DependencyError(f"genpost model environment {env.venv} is missing ({env.record}): {SETUP_HINT}")
    entry = str(env.site_packages)
    if entry not in sys.path:
        sys.path.append(entry)
    return env


def genpost_command(environ: Mapping[str, str] | None = None) -> list[str]:
    """The argv prefix that runs the genpost CLI outside Houdini's Python.

    Order: ``$GENPOST_PYTHON -m genpost_houdini.cli``; the recorded model environment's Python
    (for the running Python version, then any recorded one); ``genpost`` on PATH. Raises
    :class:`DependencyError` with what to run when none is found.
    """
    env = os.environ if environ is None else environ
    if env.get("GENPOST_PYTHON"):
        return [env["GENPOST_PYTHON"], "-m", "genpost_houdini.cli"]
    candidates = [read_record(None, env)]
    folder = config_dir(env)
    if folder.is_dir():
        for record_file in sorted(folder.glob("houdini_env-py*.json")):
            candidates.append(read_record(record_file.stem.split("-py", 1)[1], env))
    for rec in candidates:
        if rec is not None and rec.python.is_file():
            script = rec.python.parent / ("genpost.exe" if os.name == "nt" else "genpost")
            return [str(script)] if script.is_file() else [str(rec.python), "-m", "genpost_houdini.cli"]
    exe = shutil.which("genpost", path=env.get("PATH"))
    if exe:
        return [exe]
    raise DependencyError(f"genpost's command line is not found (no model environment, no `genpost` on PATH): {SETUP_HINT}")


def status_message(environ: Mapping[str, str] | None = None) -> str:
    """One paragraph for a node's "Check Model Environment" button."""
    try:
        env = read_record(None, environ)
    except DependencyError as exc:
        return str(exc)
    if env is None:
        return f"No genpost model environment for Python {python_tag()}: {SETUP_HINT}."
    state = "found" if env.site_packages.is_dir() else "MISSING"
    return (
        f"genpost model environment for Python {env.python_version}: {env.venv} ({state}).\n"
        f"Recorded in {env.record}.\nNodes run: {' '.join(genpost_command(environ))}"
    )
