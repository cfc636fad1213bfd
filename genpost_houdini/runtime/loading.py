"""Safe, offline loading of local model folders.

Contracts:

* Weights come from local folders only. :func:`force_offline` sets ``HF_HUB_OFFLINE``,
  ``TRANSFORMERS_OFFLINE`` and ``DIFFUSERS_OFFLINE`` before diffusers/transformers are imported
  (and patches huggingface_hub's constant when it already was), and every load passes
  ``local_files_only=True``: a load never reaches a hub.
* Pickle-based checkpoints (``.bin``, ``.pt``, ``.pth``, ``.ckpt``, ``.pkl``, ``.pickle``) run
  code when loaded. A folder holding any of them is refused with a :class:`ModelError` unless the
  caller passes ``allow_pickle=True`` (CLI ``--allow-pickle``) for that folder; otherwise loads
  use safetensors only (``use_safetensors=True``; with the flag, safetensors are still preferred
  where both exist). Loading needs the ``accelerate`` package for models that keep fp32 parts.
* A missing folder, or one without ``model_index.json`` (pipelines) / ``config.json`` (single
  models), raises :class:`ModelError` naming the path.
* Provenance of a folder: ``model_id``, ``weights_hash`` (sha256 over its safetensors files,
  cached by size + mtime) and ``licence`` (``genpost.json`` beside the weights, else the model
  card's YAML front matter ``license:``).

No torch/diffusers import at module top.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import DependencyError, ModelError

log = logging.getLogger("genpost.runtime")

MODELS_ENV = "GENPOST_MODELS"
CACHE_ENV = "GENPOST_CACHE"
GENPOST_JSON = "genpost.json"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "DIFFUSERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
}
UNKNOWN_LICENCE = "unknown"

_hash_lock = threading.Lock()
_hash_memo: dict[str, str] = {}


# -- offline ----------------------------------------------------------------------------------
def force_offline() -> None:
    """Put the Hugging Face libraries in offline mode for this process (idempotent)."""
    for key, value in OFFLINE_ENV.items():
        os.environ[key] = value
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:  # imported before us: its flags were read at import time
        for attr in ("HF_HUB_OFFLINE", "HF_HUB_DISABLE_TELEMETRY"):
            if hasattr(constants, attr):
                setattr(constants, attr, True)


# -- folders ----------------------------------------------------------------------------------
def models_root() -> Path | None:
    """``$GENPOST_MODELS`` as a path, or None when unset."""
    text = os.environ.get(MODELS_ENV, "").strip()
    return Path(text).expanduser() if text else None


def resolve_model_dir(model: str | os.PathLike[str] | None, default_name: str) -> Path:
    """The model folder for ``model``: an existing path, else a name under ``$GENPOST_MODELS``.

    ``model`` None means ``$GENPOST_MODELS/<default_name>``. Raises :class:`ModelError` naming
    every place looked at when nothing is there.
    """
    root = models_root()
    if model is not None and str(model).strip():
        path = Path(model).expanduser()
        if path.is_dir():
            return path.resolve()
        looked = [str(path)]
        if root is not None and not path.is_absolute():
            candidate = root / path
            if candidate.is_dir():
                return candidate.resolve()
            looked.append(str(candidate))
        raise ModelError(f"model folder not found: {' or '.join(looked)}")
    if root is None:
        raise ModelError(
            f"no model folder given: pass --model PATH or set {MODELS_ENV} to a folder holding '{default_name}/'"
        )
    candidate = root / default_name
    if not candidate.is_dir():
        raise ModelError(f"model folder not found: {candidate} (from {MODELS_ENV}; pass --model PATH)")
    return candidate.resolve()


@dataclass(frozen=True)
class ModelFolder:
    """What a model folder holds (found by :func:`inspect_folder`; nothing loaded)."""

    path: Path
    index: dict[str, Any]  # model_index.json (pipelines) or config.json (single models); {} if none
    safetensors: tuple[Path, ...]
    pickles: tuple[Path, ...]

    @property
    def class_name(self) -> str:
        return str(self.index.get("_class_name", ""))

    @property
    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.safetensors + self.pickles)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: cannot read JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ModelError(f"{path}: expected a JSON object")
    return data


def inspect_folder(path: str | os.PathLike[str]) -> ModelFolder:
    """List a folder's weights (safetensors, pickle checkpoints) and read its index file."""
    folder = Path(path)
    if not folder.is_dir():
        raise ModelError(f"model folder not found: {folder}")
    index: dict[str, Any] = {}
    for name in ("model_index.json", "config.json"):
        if (folder / name).is_file():
            index = _read_json(folder / name)
            break
    safes: list[Path] = []
    pickles: list[Path] = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()  # hidden folders too: a pickle anywhere in the folder counts
        for name in sorted(files):
            lower = name.lower()
            if lower.endswith(".safetensors"):
                safes.append(Path(root) / name)
            elif lower.endswith(PICKLE_SUFFIXES):
                pickles.append(Path(root) / name)
    return ModelFolder(folder, index, tuple(safes), tuple(pickles))


def check_model_folder(
    path: str | os.PathLike[str],
    *,
    allow_pickle: bool = False,
    pipeline: bool = True,
    expect_class: str | tuple[str, ...] | None = None,
) -> ModelFolder:
    """Inspect ``path`` and refuse what is unsafe or incomplete (:class:`ModelError`).

    ``pipeline``: require ``model_index.json`` (else ``config.json``). ``expect_class``: the
    diffusers class name(s) the index must declare. Pickle checkpoints are refused unless
    ``allow_pickle``; without pickles there must be at least one safetensors file.
    """
    folder = inspect_folder(path)
    marker = "model_index.json" if pipeline else "config.json"
    if not (folder.path / marker).is_file():
        raise ModelError(f"{folder.path}: no {marker}: not a diffusers {'pipeline' if pipeline else 'model'} folder")
    if expect_class is not None:
        wanted = (expect_class,) if isinstance(expect_class, str) else tuple(expect_class)
        if folder.class_name not in wanted:
            raise ModelError(
                f"{folder.path}: holds a {folder.class_name or 'unnamed'} {'pipeline' if pipeline else 'model'}, "
                f"expected {' or '.join(wanted)}"
            )
    if folder.pickles and not allow_pickle:
        shown = ", ".join(str(p.relative_to(folder.path)) for p in folder.pickles[:5])
        more = f" and {len(folder.pickles) - 5} more" if len(folder.pickles) > 5 else ""
        raise ModelError(
            f"{folder.path}: refusing pickle-based checkpoints ({shown}{more}): they can run code when "
            "loaded. Convert them to safetensors, or pass --allow-pickle (allow_pickle=True) for this "
            "folder if you trust its source."
        )
    if not folder.safetensors and not folder.pickles:
        raise ModelError(f"{folder.path}: no weights found (no .safetensors files)")
    return folder


# -- licence, id, hash ------------------------------------------------------------------------
def read_genpost_json(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``genpost.json`` beside the weights, or {} when there is none."""
    file = Path(path) / GENPOST_JSON
    return _read_json(file) if file.is_file() else {}


_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*(\n|\Z)", re.S)


def read_model_card(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The YAML front matter of ``README.md`` (the model card) as a dict; {} when absent."""
    file = Path(path) / "README.md"
    if not file.is_file():
        return {}
    try:
        text = file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    match = _FRONT_MATTER.match(text.lstrip("\ufeff"))
    if not match:
        return {}
    block = match.group(1)
    try:
        import yaml  # PyYAML comes with huggingface_hub; fall back to a line parser without it

        data = yaml.safe_load(block)
        return data if isinstance(data, dict) else {}
    except ImportError:
        pass
    except Exception:  # malformed YAML: take what the line parser can read
        pass
    out: dict[str, Any] = {}
    for line in block.splitlines():
        m = re.match(r"^([A-Za-z_][\w-]*)\s*:\s*(.*?)\s*$", line)
        if m and m.group(2):
            out[m.group(1)] = m.group(2).strip("'\"")
    return out


def read_licence(path: str | os.PathLike[str]) -> str:
    """The folder's licence: ``genpost.json`` ``licence``/``license``, else the model card's
    ``license:`` (``other`` is qualified by ``license_name``), else the pipeline's when the folder
    is one of its components, else ``"unknown"``."""
    info = read_genpost_json(path)
    for key in ("licence", "license"):
        if isinstance(info.get(key), str) and info[key].strip():
            return info[key].strip()
    card = read_model_card(path)
    value = card.get("license")
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    if value:
        text = str(value).strip()
        name = card.get("license_name")
        if text.lower() == "other" and name:
            text = f"other ({name})"
        return text
    parent = Path(path).resolve().parent  # a pipeline component (e.g. its controlnet/) inherits
    if (parent / "model_index.json").is_file() and Path(path).name in _read_json(parent / "model_index.json"):
        return read_licence(parent)
    return UNKNOWN_LICENCE


def read_model_id(path: str | os.PathLike[str]) -> str:
    """``genpost.json`` ``model_id``, else the model card's ``model_id``/``base_model``, else the
    folder name."""
    info = read_genpost_json(path)
    if isinstance(info.get("model_id"), str) and info["model_id"].strip():
        return info["model_id"].strip()
    card = read_model_card(path)
    for key in ("model_id", "base_model"):
        value = card.get(key)
        if isinstance(value, list) and value:
            value = value[0]
        if isinstance(value, str) and value.strip():
            return value.strip()
    return Path(path).resolve().name


def _cache_file() -> Path:
    root = os.environ.get(CACHE_ENV, "").strip()
    base = Path(root).expanduser() if root else Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")).expanduser() / "genpost"
    return base / "weights-hashes.json"


def weights_hash(path: str | os.PathLike[str]) -> str:
    """sha256 (hex) over the folder's safetensors files (relative path + content digest), in
    sorted order. Cached in memory and on disk (``$GENPOST_CACHE``), keyed by each file's size
    and mtime, so a large folder is hashed once."""
    from ..provenance import file_digest, hash_data

    folder = inspect_folder(path)
    files = sorted(folder.safetensors, key=lambda p: p.relative_to(folder.path).as_posix())
    stamp_parts = []
    for f in files:
        st = f.stat()
        stamp_parts.append((f.relative_to(folder.path).as_posix(), st.st_size, st.st_mtime_ns))
    key = hash_data("weights-v1", str(folder.path.resolve()), stamp_parts)
    with _hash_lock:
        if key in _hash_memo:
            return _hash_memo[key]
    cache_path = _cache_file()
    cache: dict[str, str] = {}
    try:
        loaded = json.loads(cache_path.read_text()) if cache_path.is_file() else {}
        cache = {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}
    except (OSError, ValueError):
        cache = {}
    digest = cache.get(key)
    if digest is None:
        import hashlib

        h = hashlib.sha256()
        for f in files:
            h.update(f.relative_to(folder.path).as_posix().encode("utf-8") + b"\0")
            h.update(file_digest(f).encode("ascii") + b"\0")
        digest = h.hexdigest()
        cache[key] = digest
        try:
            from ..atomic import write_json_atomic

            write_json_atomic(cache_path, cache)
        except OSError as exc:  # a read-only home must not stop a render
            log.debug("weights hash cache not written (%s): %s", cache_path, exc)
    with _hash_lock:
        _hash_memo[key] = digest
    return digest


def model_provenance(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``model_id``, ``weights_hash``, ``licence`` and ``model_path`` of a model folder."""
    folder = Path(path)
    return {
        "model_id": read_model_id(folder),
        "weights_hash": weights_hash(folder),
        "licence": read_licence(folder),
        "model_path": str(folder.resolve()),
    }


def describe_folder(path: str | os.PathLike[str], *, with_hash: bool = False) -> dict[str, Any]:
    """A JSON-ready summary of a folder (for ``genpost models list/info``); never raises for
    content problems: they are reported under ``problem``."""
    folder_path = Path(path)
    out: dict[str, Any] = {"name": folder_path.name, "path": str(folder_path.resolve())}
    try:
        folder = inspect_folder(folder_path)
    except ModelError as exc:
        out["problem"] = str(exc)
        return out
    info = {}
    try:
        info = read_genpost_json(folder_path)
    except ModelError as exc:
        out["problem"] = str(exc)
    out.update(
        {
            "pipeline": folder.class_name,
            "kind": str(info.get("kind", "")),
            "model_id": read_model_id(folder_path),
            "licence": read_licence(folder_path),
            "safetensors": [p.relative_to(folder.path).as_posix() for p in folder.safetensors],
            "pickle": [p.relative_to(folder.path).as_posix() for p in folder.pickles],
            "size_bytes": folder.size_bytes,
        }
    )
    if not folder.index:
        out.setdefault("problem", "no model_index.json or config.json")
    elif folder.pickles:
        out.setdefault("problem", "holds pickle checkpoints (refused without --allow-pickle)")
    if with_hash:
        out["weights_hash"] = weights_hash(folder_path)
    return out


# -- loading ----------------------------------------------------------------------------------
def quiet_progress_bars() -> None:
    """Turn off diffusers'/transformers' tqdm bars (they flood farm logs); ours report progress."""
    for name in ("diffusers.utils.logging", "transformers.utils.logging", "huggingface_hub.utils"):
        try:
            module = __import__(name, fromlist=["disable_progress_bar"])
        except ImportError:
            continue
        for attr in ("disable_progress_bar", "disable_progress_bars"):
            fn = getattr(module, attr, None)
            if callable(fn):
                fn()
                break


def _diffusers_class(name: str) -> Any:
    force_offline()
    try:
        import diffusers
    except ImportError as exc:
        raise DependencyError(f"diffusers is not importable ({exc}): install genpost-houdini[models]") from None
    quiet_progress_bars()
    cls = getattr(diffusers, name, None)
    if cls is None:
        raise DependencyError(f"diffusers {diffusers.__version__} has no {name}: upgrade diffusers")
    return cls


def _wrap_load_error(path: Path, what: str, exc: Exception) -> Exception:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "accelerate" in text:
        return DependencyError(f"loading {what} from {path} needs the 'accelerate' package: pip install accelerate")
    return ModelError(f"{path}: cannot load {what}: {type(exc).__name__}: {text}")


def load_pipeline(
    class_name: str,
    path: str | os.PathLike[str],
    *,
    allow_pickle: bool = False,
    torch_dtype: Any = None,
    **components: Any,
) -> Any:
    """Load diffusers pipeline ``class_name`` from the local folder ``path``, offline.

    The folder is checked first (:func:`check_model_folder`). ``components`` replace pipeline
    components (e.g. ``controlnet=...`` loaded from another folder).
    """
    folder = check_model_folder(path, allow_pickle=allow_pickle, pipeline=True)
    cls = _diffusers_class(class_name)
    kwargs: dict[str, Any] = {"local_files_only": True, "use_safetensors": None if allow_pickle else True}
    if torch_dtype is not None and str(torch_dtype) != "torch.float32":  # fp32 is the default
        kwargs["torch_dtype"] = torch_dtype
    for name, value in folder.index.items():  # components saved as absent must be passed as None
        if not name.startswith("_") and isinstance(value, list) and value and all(v is None for v in value):
            kwargs.setdefault(name, None)
    kwargs.update(components)
    try:
        pipe = cls.from_pretrained(str(folder.path), **kwargs)
    except (OSError, ValueError, TypeError, KeyError, RuntimeError, EnvironmentError) as exc:
        raise _wrap_load_error(folder.path, class_name, exc) from exc
    if hasattr(pipe, "set_progress_bar_config"):
        pipe.set_progress_bar_config(disable=True)
    for module in getattr(pipe, "components", {}).values():
        if hasattr(module, "eval") and hasattr(module, "parameters"):
            module.eval()
    return pipe


def load_model(
    class_name: str, path: str | os.PathLike[str], *, allow_pickle: bool = False, torch_dtype: Any = None
) -> Any:
    """Load one diffusers model (e.g. ``ControlNetModel``) from a local folder, offline."""
    folder = check_model_folder(path, allow_pickle=allow_pickle, pipeline=False)
    cls = _diffusers_class(class_name)
    kwargs: dict[str, Any] = {"local_files_only": True, "use_safetensors": None if allow_pickle else True}
    if torch_dtype is not None and str(torch_dtype) != "torch.float32":  # fp32 is the default
        kwargs["torch_dtype"] = torch_dtype
    try:
        model = cls.from_pretrained(str(folder.path), **kwargs)
    except (OSError, ValueError, TypeError, KeyError, RuntimeError, EnvironmentError) as exc:
        raise _wrap_load_error(folder.path, class_name, exc) from exc
    return model.eval()
