"""Checks behind ``genpost doctor``: what this machine has for genpost, and what to do about it.

Each check returns a :class:`Check` (name, ok, required, detail, fix). ``required`` checks are
what the default job needs (classical generator: numpy, usd-core, OpenImageIO, OpenColorIO);
the rest inform (Houdini packages, model environment, GPU, runtimes, models, engine cache).
Nothing here imports hou; torch is imported only when it is installed, to ask about CUDA.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Mapping

from . import env as model_env
from .setup import genpost_root, houdini_pref_dirs

REQUIRED_MODULES = (
    ("numpy", "numpy", "numpy"),
    ("usd-core", "pxr", "usd-core"),
    ("OpenImageIO", "OpenImageIO", "openimageio"),
    ("OpenColorIO", "PyOpenColorIO", "opencolorio"),
)


@dataclass
class Check:
    name: str
    ok: bool
    required: bool
    detail: str
    fix: str = ""


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def check_python() -> Check:
    return Check("python", True, False, f"Python {sys.version.split()[0]} at {sys.executable}")


def check_required_modules() -> list[Check]:
    out = []
    for label, module, dist in REQUIRED_MODULES:
        found = importlib.util.find_spec(module) is not None
        out.append(Check(label, found, True,
                         f"{label} {_version(dist)}" if found else f"{label} is not installed",
                         "" if found else f"pip install {dist} (or `pip install -e .` in the repository)"))
    return out


def _package_files(environ: Mapping[str, str]) -> list[Path]:
    dirs = [d / "packages" for d in houdini_pref_dirs(environ)]
    for entry in environ.get("HOUDINI_PACKAGE_DIR", "").split(os.pathsep):
        if entry:
            dirs.append(Path(entry))
    files: list[Path] = []
    for d in dirs:
        if d.is_dir():
            files += sorted(p for p in d.glob("*.json") if p.is_file())
    return files


def _is_ours(path: Path, root: Path) -> tuple[bool, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return False, f"{path}: unreadable JSON ({exc})"
    if not isinstance(data, dict):
        return False, ""
    text = json.dumps(data)
    pointer = data.get("package_path")
    if pointer and Path(str(pointer)).expanduser().resolve() == root:
        return True, f"{path} points at {root}"
    if "GENPOST_ROOT" in text:
        enable = data.get("enable", True)
        state = "enabled" if enable is True else ("disabled" if enable is False else f"enabled when {enable}")
        return True, f"{path} ({state})"
    return False, ""


def check_houdini_packages(environ: Mapping[str, str] | None = None) -> Check:
    env = os.environ if environ is None else environ
    root = genpost_root()
    files = _package_files(env)
    ours = [detail for f in files for is_ours, detail in [_is_ours(f, root)] if is_ours]
    names = ", ".join(sorted({f.name for f in files})) or "none"
    if ours:
        return Check("houdini package", True, False, "; ".join(ours) + f" (package files found: {names})")
    where = ", ".join(str(d / "packages") for d in houdini_pref_dirs(env)) or "no ~/houdiniX.Y folder"
    return Check("houdini package", False, False,
                 f"genpost's package is not registered (package files found: {names}; looked in {where}"
                 f"{', HOUDINI_PACKAGE_DIR' if env.get('HOUDINI_PACKAGE_DIR') else ''})",
                 f"run `genpost houdini setup` (writes a pointer JSON) or start Houdini with HOUDINI_PACKAGE_DIR={root}")


def check_model_env(environ: Mapping[str, str] | None = None) -> Check:
    folder = model_env.config_dir(environ)
    records = sorted(folder.glob("houdini_env-py*.json")) if folder.is_dir() else []
    lines = []
    ok = False
    for rec in records:
        try:
            info = model_env.read_record(rec.stem.split("-py", 1)[1], environ)
        except Exception as exc:  # noqa: BLE001 - a damaged record is reported, not fatal
            lines.append(str(exc))
            continue
        if info is not None:
            present = info.site_packages.is_dir()
            ok = ok or present
            lines.append(f"Python {info.python_version}: {info.venv} ({'ok' if present else 'missing'})")
    if not lines:
        return Check("model environment", False, False, f"none recorded in {folder}", model_env.SETUP_HINT)
    return Check("model environment", ok, False, "; ".join(lines), "" if ok else model_env.SETUP_HINT)


def _run(cmd: list[str]) -> str | None:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=20, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def check_gpu() -> Check:
    smi = shutil.which("nvidia-smi")
    details = []
    if smi:
        out = _run([smi, "--query-gpu=name,driver_version,memory.total,compute_cap", "--format=csv,noheader"])
        if out:
            details.append("nvidia-smi: " + "; ".join(line.strip() for line in out.splitlines()))
    if importlib.util.find_spec("torch") is not None:
        import torch  # noqa: PLC0415 - only when installed

        if torch.cuda.is_available():
            details.append(f"torch {torch.__version__} CUDA {torch.version.cuda}: {torch.cuda.get_device_name(0)}")
        else:
            details.append(f"torch {torch.__version__}: no CUDA device")
    else:
        details.append("torch not installed in this Python")
    ok = any("nvidia-smi:" in d for d in details) or any("CUDA" in d and "no CUDA" not in d for d in details)
    return Check("gpu", ok, False, "; ".join(details),
                 "" if ok else "no NVIDIA GPU seen: diffusion generators run on CPU (slow); the classical generator is unaffected")


def check_runtimes() -> list[Check]:
    out = []
    if importlib.util.find_spec("tensorrt") is not None:
        out.append(Check("tensorrt", True, False, f"TensorRT {_version('tensorrt')}"))
    else:
        out.append(Check("tensorrt", False, False, "TensorRT is not installed (optional)",
                         "on GPU machines: pip install tensorrt from NVIDIA's index (the runtime falls back to onnxruntime/PyTorch)"))
    if importlib.util.find_spec("onnxruntime") is not None:
        import onnxruntime  # noqa: PLC0415

        providers = onnxruntime.get_available_providers()
        out.append(Check("onnxruntime", True, False, f"onnxruntime {onnxruntime.__version__}: {', '.join(providers)}",
                         "" if "CUDAExecutionProvider" in providers else "for GPU inference install onnxruntime-gpu"))
    else:
        out.append(Check("onnxruntime", False, False, "onnxruntime is not installed (optional)", "pip install genpost-houdini[onnx]"))
    return out


def check_ocio(environ: Mapping[str, str] | None = None) -> Check:
    env = os.environ if environ is None else environ
    source = env.get("OCIO") or "ocio://cg-config-latest"
    if importlib.util.find_spec("PyOpenColorIO") is None:
        return Check("ocio", False, True, "PyOpenColorIO is not installed", "pip install opencolorio")
    import PyOpenColorIO as ocio  # noqa: PLC0415

    try:
        config = ocio.Config.CreateFromFile(source)
    except Exception as exc:  # noqa: BLE001 - OCIO raises its own exception type
        return Check("ocio", False, True, f"cannot load the OCIO config {source}: {exc}",
                     "fix $OCIO or unset it to use the built-in ACES config")
    origin = "$OCIO" if env.get("OCIO") else "built-in (OCIO unset)"
    return Check("ocio", True, True, f"{source} [{origin}]: {config.getName() or 'unnamed'}, "
                 f"{len(list(config.getColorSpaceNames()))} colour spaces")


def _folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def check_models(environ: Mapping[str, str] | None = None) -> Check:
    env = os.environ if environ is None else environ
    folder = env.get("GENPOST_MODELS", "")
    if not folder:
        return Check("models", False, False, "$GENPOST_MODELS is not set (only the classical generator works)",
                     "set GENPOST_MODELS to a folder of local model folders (diffusers layout)")
    path = Path(folder)
    if not path.is_dir():
        return Check("models", False, False, f"$GENPOST_MODELS={folder} does not exist", "create it or fix the variable")
    models = []
    for sub in sorted(p for p in path.iterdir() if p.is_dir()):
        kind = "diffusers" if (sub / "model_index.json").is_file() else ("genpost" if (sub / "genpost.json").is_file() else "unknown")
        models.append(f"{sub.name} ({kind}, {_folder_size(sub) / 1e9:.2f} GB)")
    return Check("models", bool(models), False, f"{folder}: " + (", ".join(models) or "empty"),
                 "" if models else "put model folders (with model_index.json) there")


def check_engine_cache(environ: Mapping[str, str] | None = None) -> Check:
    env = os.environ if environ is None else environ
    folder = env.get("GENPOST_ENGINE_CACHE", "")
    if not folder:
        return Check("engine cache", True, False, "$GENPOST_ENGINE_CACHE is not set (the runtime's default is used)",
                     "set GENPOST_ENGINE_CACHE to a shared folder to reuse TensorRT engines")
    path = Path(folder)
    if not path.is_dir():
        return Check("engine cache", True, False, f"{folder} does not exist yet (made on the first engine build)")
    entries = [p for p in path.iterdir() if not p.name.startswith(".")]
    return Check("engine cache", True, False, f"{folder}: {len(entries)} entries, {_folder_size(path) / 1e9:.2f} GB",
                 "list with `genpost engine list`, clean with `genpost engine prune`")


CHECKS: tuple[Callable[[], Check | list[Check]], ...] = (
    check_python, check_required_modules, check_ocio, check_houdini_packages, check_model_env,
    check_gpu, check_runtimes, check_models, check_engine_cache,
)


def run_checks() -> list[Check]:
    results: list[Check] = []
    for check in CHECKS:
        got = check()
        results += got if isinstance(got, list) else [got]
    return results


def report(checks: list[Check]) -> dict:
    """The JSON report: ``{"ok": all required passed, "checks": [...]}``."""
    return {"ok": all(c.ok for c in checks if c.required), "checks": [asdict(c) for c in checks]}
