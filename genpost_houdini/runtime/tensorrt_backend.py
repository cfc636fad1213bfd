"""Optional TensorRT backend: build a denoiser engine from the cached ONNX, run it on torch tensors.

TensorRT is an optional extra installed on GPU machines from NVIDIA's index; it cannot be
installed on the build machines, so everything below the availability check is written against
the TensorRT 10 API but **not verified without a GPU**. Engines are valid only for the TensorRT
version and GPU that built them: their cache key names both (see :func:`engine_key`).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Mapping

from ..errors import DependencyError, OutputCheckError
from .engine_cache import CacheEntry, EngineCache
from .onnx_export import INPUT_NAMES, ONNX_FILE, OUTPUT_NAME
from .profile import ShapeProfile

log = logging.getLogger("genpost.runtime")

PLAN_FILE = "denoiser.plan"
#: Largest |TensorRT - PyTorch| accepted at build time, per engine precision (the same inputs,
#: PyTorch in the transformer's own precision). An engine that misses it is kept in the cache
#: (so it is not rebuilt every run) with ``parity.passed`` false, and ``--runtime auto`` skips it.
PARITY_ATOL = {"float32": 1e-3, "float16": 3e-2, "bfloat16": 6e-2}
UNAVAILABLE_HINT = "install the tensorrt extra on a GPU machine; using --runtime torch works everywhere"


def tensorrt_available() -> tuple[bool, str]:
    """(usable, one-line reason): tensorrt importable and a CUDA GPU visible to torch."""
    try:
        import tensorrt as trt
    except Exception as exc:  # ImportError, or a broken install raising OSError on its libs
        return False, f"tensorrt is not importable ({type(exc).__name__}): {UNAVAILABLE_HINT}"
    try:
        import torch

        if not torch.cuda.is_available():
            return False, f"tensorrt {trt.__version__} is installed but torch sees no CUDA GPU"
    except ImportError:
        return False, "torch is not importable"
    return True, f"tensorrt {trt.__version__}"


def require_tensorrt() -> Any:
    """Import tensorrt or raise DependencyError with the one-line reason."""
    ok, why = tensorrt_available()
    if not ok:
        raise DependencyError(why)
    import tensorrt as trt

    return trt


def gpu_identity(device_index: int = 0) -> dict[str, str]:
    """Compute capability and device name of the GPU (part of every engine key)."""
    import torch

    major, minor = torch.cuda.get_device_capability(device_index)
    return {"compute_capability": f"{major}.{minor}", "device_name": torch.cuda.get_device_name(device_index)}


def engine_key(onnx_entry: CacheEntry, profile: ShapeProfile, precision: str, device_index: int = 0) -> dict[str, Any]:
    """Cache key of a TensorRT engine built from ``onnx_entry`` for ``profile`` at ``precision``."""
    trt = require_tensorrt()
    return {
        "backend": "tensorrt",
        "onnx_sha256": onnx_entry.content_hash(),
        "profile": profile.to_dict(),
        "precision": precision,
        "tensorrt_version": trt.__version__,
        **gpu_identity(device_index),
    }


def build_engine(
    onnx_path: str | os.PathLike[str],
    plan_path: str | os.PathLike[str],
    shapes: Mapping[str, tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]],
    *,
    precision: str,
    onnx_precision: str = "float32",
    workspace_bytes: int | None = None,
) -> None:
    """Build and serialise an engine (TensorRT 10 API; not verified without a GPU).

    ``shapes`` maps each input to its (min, opt, max) shape. When the ONNX already holds the
    target precision the network is built strongly typed (types come from the graph); otherwise
    an fp32 graph is built weakly typed with the FP16/BF16 builder flag.
    """
    trt = require_tensorrt()
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    strongly_typed = precision == onnx_precision and precision != "float32"
    flags = 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED) if strongly_typed else 0
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):  # resolves external .data files beside it
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise OutputCheckError(f"TensorRT could not parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    if workspace_bytes:
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_bytes))
    if not strongly_typed:
        if precision == "float16":
            config.set_flag(trt.BuilderFlag.FP16)
        elif precision == "bfloat16":
            config.set_flag(trt.BuilderFlag.BF16)
    profile = builder.create_optimization_profile()
    for name, (lo, opt, hi) in shapes.items():
        profile.set_shape(name, lo, opt, hi)
    config.add_optimization_profile(profile)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise OutputCheckError(f"TensorRT failed to build an engine from {onnx_path} (see the TensorRT log above)")
    with open(plan_path, "wb") as fh:  # IHostMemory supports the buffer protocol
        fh.write(serialized)


def parity_shapes(profile: ShapeProfile) -> list[tuple[int, int, int, int]]:
    """Latent (frames, height, width, text_len) shapes a new engine is checked at: the profile's
    min and opt (max is often too large to run twice in a check)."""
    from .profile import VAE_SPATIAL, VAE_TEMPORAL

    out = []
    for i in (0, 1):
        shape = ((profile.frames[i] - 1) // VAE_TEMPORAL + 1, profile.height[i] // VAE_SPATIAL,
                 profile.width[i] // VAE_SPATIAL, profile.text_len[i])
        if shape not in out:
            out.append(shape)
    return out


def check_engine_parity(plan_path: str | os.PathLike[str], profile: ShapeProfile, reference: Any, *,
                        precision: str) -> dict[str, Any]:
    """Run the engine and the PyTorch ``reference`` transformer on the same random inputs at
    :func:`parity_shapes`; the record stored as the cache entry's ``parity`` (not verified
    without a GPU)."""
    import torch

    from .onnx_export import example_inputs, torch_reference, transformer_device, transformer_dtype

    runner = TrtRunner(plan_path, profile)
    atol = PARITY_ATOL.get(precision, PARITY_ATOL["float32"])
    worst = 0.0
    shapes = parity_shapes(profile)
    for i, (f, h, w, t) in enumerate(shapes):
        inputs = example_inputs(reference.config, frames=f, height=h, width=w, text_len=t, seed=200 + i,
                                dtype=transformer_dtype(reference), device=transformer_device(reference))
        ref = torch_reference(reference, inputs)
        got = runner(inputs).float().cpu().numpy()
        if got.shape != ref.shape:
            raise OutputCheckError(f"TensorRT engine {plan_path}: output {got.shape} != PyTorch {ref.shape}")
        worst = max(worst, float(abs(got - ref).max()))
    passed = worst <= atol
    log.log(logging.INFO if passed else logging.WARNING, "TensorRT engine parity vs PyTorch: max abs diff %.3g (%s %g)",
            worst, "within" if passed else "OVER", atol)
    return {"checked": True, "passed": bool(passed), "max_abs_diff": worst, "atol": atol,
            "shapes": [list(s) for s in shapes], "reference": f"torch {torch.__version__}"}


def parity_passed(entry: CacheEntry) -> bool:
    """True when the engine's build-time parity check against PyTorch passed and is recorded."""
    parity = entry.meta.get("parity") or {}
    return bool(parity.get("checked")) and parity.get("passed") is True


def verified_engines(cache: EngineCache, onnx_sha256: str, precision: str, identity: Mapping[str, str]) -> list[CacheEntry]:
    """Valid engines of this ONNX and precision, built by this TensorRT version on this GPU
    (``identity``: tensorrt_version, compute_capability, device_name), whose parity passed."""
    return cache.find(
        lambda e: e.key.get("backend") == "tensorrt"
        and e.key.get("onnx_sha256") == onnx_sha256
        and e.key.get("precision") == precision
        and all(e.key.get(k) == v for k, v in identity.items())
        and parity_passed(e)
    )


def ensure_engine(
    onnx_entry: CacheEntry,
    profile: ShapeProfile,
    *,
    precision: str,
    cache: EngineCache | None = None,
    device_index: int = 0,
    reference: Any = None,
) -> CacheEntry:
    """The cached engine for (ONNX, profile, precision, TensorRT version, GPU), built when missing.

    With ``reference`` (the PyTorch transformer) a new engine is checked against it and the
    result recorded in its entry (``parity``); without, the entry records that it was not
    checked, and ``--runtime auto`` will not pick it."""
    cache = cache or EngineCache()
    key = engine_key(onnx_entry, profile, precision, device_index)
    config = onnx_entry.meta.get("config") or {}
    shapes = profile.tensor_shapes(config)
    onnx_precision = str(onnx_entry.key.get("precision", "float32"))

    def build(folder: Path) -> dict[str, Any]:
        log.info("building a TensorRT engine (%s, %s); this takes minutes", precision, profile.spec())
        build_engine(onnx_entry.file(ONNX_FILE), folder / PLAN_FILE, shapes, precision=precision, onnx_precision=onnx_precision)
        if reference is not None:
            parity = check_engine_parity(folder / PLAN_FILE, profile, reference, precision=precision)
        else:
            parity = {"checked": False, "passed": False, "reason": "built without a PyTorch reference"}
        return {"config": config, "onnx_entry": onnx_entry.name, "parity": parity}

    entry, _ = cache.get_or_build(key, build)
    return entry


class TrtRunner:
    """Executes a deserialised engine on torch CUDA tensors (not verified without a GPU).

    Inputs are bound by data pointer (``set_tensor_address``), the output is allocated as a torch
    tensor, and ``execute_async_v3`` runs on torch's current stream.
    """

    def __init__(self, plan_path: str | os.PathLike[str], profile: ShapeProfile) -> None:
        trt = require_tensorrt()
        self._trt = trt
        self.profile = profile
        self.runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        self.engine = self.runtime.deserialize_cuda_engine(Path(plan_path).read_bytes())
        if self.engine is None:
            raise OutputCheckError(f"TensorRT could not deserialise {plan_path} (built by another version or GPU?)")
        self.context = self.engine.create_execution_context()

    def _torch_dtype(self, name: str) -> Any:
        import torch

        trt = self._trt
        return {
            trt.DataType.FLOAT: torch.float32,
            trt.DataType.HALF: torch.float16,
            trt.DataType.BF16: torch.bfloat16,
        }[self.engine.get_tensor_dtype(name)]

    def __call__(self, inputs: Mapping[str, Any]) -> Any:
        import torch

        keep = []
        for name in INPUT_NAMES:
            t = inputs[name].to(self._torch_dtype(name)).contiguous()
            keep.append(t)
            self.context.set_input_shape(name, tuple(t.shape))
            self.context.set_tensor_address(name, t.data_ptr())
        out_shape = tuple(self.context.get_tensor_shape(OUTPUT_NAME))
        out = torch.empty(out_shape, dtype=self._torch_dtype(OUTPUT_NAME), device=keep[0].device)
        self.context.set_tensor_address(OUTPUT_NAME, out.data_ptr())
        stream = torch.cuda.current_stream(keep[0].device)
        if not self.context.execute_async_v3(stream.cuda_stream):
            raise OutputCheckError("TensorRT execution failed (see the TensorRT log)")
        stream.synchronize()
        return out
