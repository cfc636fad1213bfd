"""What ``genpost houdini setup`` does (no hou): a model environment for Houdini's Python, a
record of where it is, and a pointer package file in the user's Houdini packages folder.

Steps (each printed; ``dry_run`` only prints):

1. find the Python matching Houdini's (``--python PATH``; else ``$HFS/python/bin/python3*``;
   else ``python<version>`` on PATH for ``--python-version``; else the running Python);
2. ``python -m venv VENV`` (default ``$XDG_DATA_HOME/genpost/houdini-py<X.Y>``);
3. ``VENV/bin/python -m pip install -e GENPOST_ROOT[models]`` (torch pinned by the project);
4. record ``{python_version, venv, python, site_packages, genpost_root}`` in the config folder
   (see ``genpost_houdini.houdini.env``);
5. write ``PACKAGES_DIR/genpost.json`` = ``{"package_path": "GENPOST_ROOT"}``, which makes
   Houdini read the repository's own ``package.json`` (so ``$HOUDINI_PACKAGE_PATH`` is the
   repository and nothing is copied).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

from ..atomic import write_json_atomic, write_text_atomic
from ..errors import BadInputError, DependencyError, TransientError
from . import env as model_env

POINTER_NAME = "genpost.json"
_HOUDINI_DIR = re.compile(r"^houdini(\d+)\.(\d+)$")


def genpost_root() -> Path:
    """The repository root (folder holding package.json): ``$GENPOST_ROOT`` or this checkout."""
    if os.environ.get("GENPOST_ROOT"):
        return Path(os.environ["GENPOST_ROOT"]).resolve()
    return Path(__file__).resolve().parents[2]


def houdini_pref_dirs(environ: Mapping[str, str] | None = None) -> list[Path]:
    """Houdini user preference folders: ``$HOUDINI_USER_PREF_DIR`` then ``~/houdiniX.Y`` (newest first)."""
    env = os.environ if environ is None else environ
    dirs: list[Path] = []
    pref = env.get("HOUDINI_USER_PREF_DIR", "")
    if pref:
        dirs.append(Path(pref.replace("__HVER__", "")))
    home = Path(env.get("HOME", str(Path.home())))
    found = []
    if home.is_dir():
        for d in home.iterdir():
            m = _HOUDINI_DIR.match(d.name)
            if m and d.is_dir():
                found.append(((int(m.group(1)), int(m.group(2))), d))
    dirs += [d for _, d in sorted(found, reverse=True)]
    return dirs


def default_packages_dir(environ: Mapping[str, str] | None = None) -> Path | None:
    """Where the pointer goes by default: the first Houdini preference folder's ``packages``."""
    dirs = houdini_pref_dirs(environ)
    return dirs[0] / "packages" if dirs else None


def find_houdini_python(version: str | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """Houdini's own Python (``$HFS/python/bin/python3*``), or ``python<version>`` on PATH, or
    the running interpreter."""
    env = os.environ if environ is None else environ
    hfs = env.get("HFS")
    if hfs:
        cands = sorted(Path(hfs).glob("python/bin/python3.*")) + sorted(Path(hfs).glob("python*/python.exe"))
        cands = [c for c in cands if re.search(r"python3\.\d+$|python\.exe$", c.name)]
        if version:
            cands = [c for c in cands if c.name.endswith(version) or c.suffix == ".exe"]
        if cands:
            return cands[-1]
    if version:
        exe = shutil.which(f"python{version}", path=env.get("PATH"))
        if not exe:
            raise BadInputError(f"no python{version} on PATH: pass --python with Houdini's Python ($HFS/python/bin/python{version})")
        return Path(exe)
    return Path(sys.executable)


def python_version_of(python: str | os.PathLike[str]) -> str:
    """``"3.11"`` for an interpreter (runs it once)."""
    try:
        out = subprocess.run(
            [os.fspath(python), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True, text=True, timeout=60, check=True,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise BadInputError(f"{python}: cannot run this Python ({exc})") from exc
    return out.stdout.strip()


def default_venv(version: str, environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    base = env.get("XDG_DATA_HOME") or str(Path(env.get("HOME", str(Path.home()))) / ".local" / "share")
    return Path(base) / "genpost" / f"houdini-py{version}"


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def venv_site_packages(venv: Path, version: str) -> Path:
    return venv / ("Lib/site-packages" if os.name == "nt" else f"lib/python{version}/site-packages")


@dataclass
class SetupPlan:
    """What setup will do; ``steps`` are printable lines with the commands."""

    python: Path
    version: str
    venv: Path
    root: Path
    packages_dir: Path | None
    extras: str = "models"
    install: bool = True
    steps: list[str] = field(default_factory=list)

    def commands(self) -> list[list[str]]:
        cmds = [[os.fspath(self.python), "-m", "venv"] + ([] if self.install else ["--without-pip"]) + [os.fspath(self.venv)]]
        if self.install:
            spec = f"{self.root}[{self.extras}]" if self.extras else os.fspath(self.root)
            cmds.append([os.fspath(venv_python(self.venv)), "-m", "pip", "install", "-e", spec])
        return cmds


def plan_setup(
    *,
    python: str | None = None,
    python_version: str | None = None,
    venv: str | None = None,
    packages_dir: str | None = None,
    install: bool = True,
    pointer: bool = True,
    extras: str = "models",
) -> SetupPlan:
    py = Path(python) if python else find_houdini_python(python_version)
    version = python_version_of(py)
    if python_version and version != python_version:
        raise BadInputError(f"{py} is Python {version}, not {python_version}")
    root = genpost_root()
    if not (root / "package.json").is_file():
        raise BadInputError(f"{root}: not a genpost-houdini checkout (no package.json); set GENPOST_ROOT")
    pk = Path(packages_dir) if packages_dir else (default_packages_dir() if pointer else None)
    if pointer and pk is None:
        raise BadInputError(
            "no Houdini preference folder found (~/houdiniX.Y or $HOUDINI_USER_PREF_DIR): pass --packages-dir, "
            f"or skip the pointer (--no-pointer) and start Houdini with HOUDINI_PACKAGE_DIR={root}"
        )
    plan = SetupPlan(py, version, Path(venv) if venv else default_venv(version), root, pk if pointer else None, extras, install)
    for cmd in plan.commands():
        plan.steps.append("run: " + " ".join(cmd))
    plan.steps.append(f"record: {model_env.record_path(version)}")
    if plan.packages_dir is not None:
        plan.steps.append(f"write: {plan.packages_dir / POINTER_NAME} -> {{\"package_path\": \"{root}\"}}")
    return plan


def pointer_document(root: Path) -> dict[str, str]:
    return {"package_path": os.fspath(root)}


def execute(plan: SetupPlan, *, echo: Callable[[str], None] = print, runner: Callable[[Sequence[str]], int] | None = None) -> dict[str, str]:
    """Carry out ``plan``; returns what was written (record, pointer, venv)."""
    run = runner or (lambda cmd: subprocess.call(list(cmd)))
    for cmd in plan.commands():
        echo("run: " + " ".join(cmd))
        code = run(cmd)
        if code != 0:
            err = TransientError if code in (75,) else DependencyError
            raise err(f"`{' '.join(cmd)}` failed with exit code {code}")
    site = venv_site_packages(plan.venv, plan.version)
    record = model_env.record_path(plan.version)
    write_json_atomic(record, {
        "python_version": plan.version,
        "venv": os.fspath(plan.venv),
        "python": os.fspath(venv_python(plan.venv)),
        "site_packages": os.fspath(site),
        "genpost_root": os.fspath(plan.root),
        "created_with": os.fspath(plan.python),
    })
    echo(f"recorded the model environment in {record}")
    done = {"venv": os.fspath(plan.venv), "record": os.fspath(record)}
    if plan.packages_dir is not None:
        pointer = plan.packages_dir / POINTER_NAME
        write_text_atomic(pointer, json.dumps(pointer_document(plan.root)) + "\n")
        echo(f"wrote the Houdini package pointer {pointer} (loads {plan.root / 'package.json'})")
        done["pointer"] = os.fspath(pointer)
    return done
