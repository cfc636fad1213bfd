"""Building cache entries for a model folder (what ``genpost engine build`` runs)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from ..errors import ModelError, UsageError
from .engine_cache import CacheEntry, EngineCache
from .profile import ShapeProfile

log = logging.getLogger("genpost.runtime")


def transformer_folder(model: str | os.PathLike[str]) -> Path:
    """The denoiser's folder inside ``model``: ``model/transformer`` for a pipeline, or ``model`` itself."""
    root = Path(model).expanduser()
    if not root.is_dir():
        raise ModelError(f"model folder {root} does not exist")
    folder = root / "transformer" if (root / "transformer" / "config.json").is_file() else root
    if not (folder / "config.json").is_file():
        raise ModelError(f"{root}: no transformer/config.json (expected a diffusers WanVACE pipeline or transformer folder)")
    return folder


def load_transformer(model: str | os.PathLike[str], *, dtype: str = "float32", device: str = "cpu",
                     allow_pickle: bool = False) -> Any:
    """Load the WanVACE transformer of ``model`` offline, through the safe loader (safetensors only
    unless ``allow_pickle``)."""
    import torch

    from .loading import force_offline, load_model

    force_offline()
    module = load_model("WanVACETransformer3DModel", transformer_folder(model), allow_pickle=allow_pickle,
                        torch_dtype=getattr(torch, dtype))
    return module.to(device).eval()  # dtype set by the loader (keeps diffusers' fp32-only modules)


def build_entries(
    model: str | os.PathLike[str],
    runtime: str,
    *,
    profile: ShapeProfile | None = None,
    precision: str | None = None,
    device: str | None = None,
    cache: EngineCache | None = None,
    allow_pickle: bool = False,
) -> list[tuple[CacheEntry, str]]:
    """Build (or reuse) the cache entries ``runtime`` needs for ``model``; return (entry, role) pairs.

    onnxruntime: the ONNX export (float32 on CPU; float16 on CUDA unless ``precision``).
    tensorrt: the ONNX export in the engine precision, then the engine for ``profile``.
    """
    from .device import choose_device
    from .onnx_export import ensure_onnx

    cache = cache or EngineCache()
    if runtime == "onnxruntime":
        choice = choose_device(device or "cpu")
        precision = precision or ("float16" if choice.is_cuda else "float32")
        transformer = load_transformer(model, dtype="float32", device=choice.device, allow_pickle=allow_pickle)
        return [(ensure_onnx(transformer, cache=cache, precision=precision), "onnx")]
    if runtime == "tensorrt":
        from .tensorrt_backend import ensure_engine, require_tensorrt

        require_tensorrt()
        choice = choose_device(device or "cuda")
        precision = precision or choice.dtype
        transformer = load_transformer(model, dtype=precision, device=choice.device, allow_pickle=allow_pickle)
        onnx_entry = ensure_onnx(transformer, cache=cache, precision=precision, validate=False)
        engine = ensure_engine(onnx_entry, profile or ShapeProfile.parse(preset="480p"), precision=precision, cache=cache,
                               reference=transformer)  # checked against PyTorch, recorded in the entry
        del transformer
        return [(onnx_entry, "onnx"), (engine, "engine")]
    raise UsageError(f"engine build: unknown runtime {runtime!r} (onnxruntime or tensorrt)")
