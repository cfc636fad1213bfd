"""Swap a pipeline's PyTorch denoiser for an onnxruntime session or a TensorRT engine.

``swap_denoiser(pipeline, runtime)`` with runtime ``auto`` picks TensorRT, then onnxruntime-CUDA,
then PyTorch, per availability; ``torch`` leaves the pipeline alone; a forced runtime that is
unavailable raises DependencyError with a one-line reason. The stand-in that replaces
``pipeline.transformer`` is a ``torch.nn.Module`` with what the diffusers pipeline reads from its
denoiser: ``.config``, ``.dtype``, ``.device``, ``cache_context()`` and the forward keywords.
The pipeline is changed in place and returned.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from pathlib import Path
from typing import Any, Iterator

from ..errors import DependencyError, UsageError
from .engine_cache import EngineCache
from .ort_backend import CPU, CUDA, ort_available, ort_cuda_available
from .profile import ShapeProfile

log = logging.getLogger("genpost.runtime")

RUNTIMES = ("auto", "torch", "onnxruntime", "tensorrt")


def resolve_runtime(runtime: str, *, device: str = "cpu") -> tuple[str, str]:
    """(runtime to use, reason). ``device`` is where the pipeline lives ("cpu"/"cuda...")."""
    from .tensorrt_backend import tensorrt_available

    if runtime not in RUNTIMES:
        raise UsageError(f"unknown runtime {runtime!r}: use one of {', '.join(RUNTIMES)}")
    on_gpu = device.startswith("cuda")
    if runtime == "torch":
        return "torch", "requested"
    if runtime == "tensorrt":
        ok, why = tensorrt_available()
        if not ok:
            raise DependencyError(why)
        if not on_gpu:
            raise DependencyError("tensorrt needs the pipeline on a CUDA device; using --runtime torch works everywhere")
        return "tensorrt", why
    if runtime == "onnxruntime":
        ok, why = ort_cuda_available() if on_gpu else ort_available()
        if not ok:
            raise DependencyError(f"{why}; using --runtime torch works everywhere")
        return "onnxruntime", why
    # auto
    reasons = []
    if on_gpu:
        ok, why = tensorrt_available()
        if ok:
            return "tensorrt", why
        reasons.append(why)
        ok, why = ort_cuda_available()
        if ok:
            return "onnxruntime", why
        reasons.append(why)
    else:
        reasons.append("pipeline is on CPU (TensorRT and onnxruntime-CUDA need a GPU)")
    return "torch", "; ".join(reasons)


def _standin_class() -> type:
    import torch

    class DenoiserStandIn(torch.nn.Module):
        """Replaces a Wan VACE transformer; forwards to ``runner(dict of inputs) -> tensor``."""

        def __init__(self, config: Any, dtype: Any, device: Any, runner: Any, label: str) -> None:
            super().__init__()
            self.config = config
            self._dtype = dtype
            self._device = torch.device(device)
            self.runner = runner
            self.label = label

        @property
        def dtype(self) -> Any:
            return self._dtype

        @property
        def device(self) -> Any:
            return self._device

        @contextlib.contextmanager
        def cache_context(self, name: str) -> Iterator[None]:
            yield

        def forward(
            self,
            hidden_states: Any,
            timestep: Any,
            encoder_hidden_states: Any,
            encoder_hidden_states_image: Any = None,
            control_hidden_states: Any = None,
            control_hidden_states_scale: Any = None,
            return_dict: bool = True,
            attention_kwargs: Any = None,
        ) -> Any:
            if encoder_hidden_states_image is not None:
                raise UsageError(f"the {self.label} denoiser has no image-embedding input (I2V models run on --runtime torch)")
            if control_hidden_states_scale is None:
                control_hidden_states_scale = hidden_states.new_ones(len(self.config["vace_layers"]))
            outs = []
            for b in range(hidden_states.shape[0]):  # exported with batch 1
                outs.append(self.runner({
                    "hidden_states": hidden_states[b : b + 1],
                    "timestep": timestep.reshape(-1)[b : b + 1].float() if timestep.numel() > 1 else timestep.reshape(1).float(),
                    "encoder_hidden_states": encoder_hidden_states[b : b + 1],
                    "control_hidden_states": control_hidden_states[b : b + 1],
                    "control_hidden_states_scale": control_hidden_states_scale,
                }))
            sample = torch.cat(outs).to(device=hidden_states.device, dtype=hidden_states.dtype)
            if not return_dict:
                return (sample,)
            from diffusers.models.modeling_outputs import Transformer2DModelOutput

            return Transformer2DModelOutput(sample=sample)

    return DenoiserStandIn


class _TrtDispatch:
    """Picks (or builds) a TensorRT engine whose profile covers each call's shapes."""

    def __init__(self, onnx_entry: Any, precision: str, cache: EngineCache, profile: ShapeProfile | None) -> None:
        self.onnx_entry = onnx_entry
        self.precision = precision
        self.cache = cache
        self.runners: list[Any] = []
        self.lock = threading.Lock()
        if profile is not None:
            self._load(profile)

    def _load(self, profile: ShapeProfile) -> Any:
        from .tensorrt_backend import PLAN_FILE, TrtRunner, ensure_engine

        entry = ensure_engine(self.onnx_entry, profile, precision=self.precision, cache=self.cache)
        runner = TrtRunner(entry.file(PLAN_FILE), profile)
        self.runners.append(runner)
        return runner

    def __call__(self, inputs: dict[str, Any]) -> Any:
        need = ShapeProfile.from_latent_shapes(
            tuple(inputs["hidden_states"].shape), int(inputs["encoder_hidden_states"].shape[1])
        )
        with self.lock:
            runner = next((r for r in self.runners if r.profile.covers(need)), None)
            if runner is None:
                onnx_hash = self.onnx_entry.content_hash()
                cached = self.cache.find(
                    lambda e: e.key.get("backend") == "tensorrt"
                    and e.key.get("onnx_sha256") == onnx_hash
                    and e.key.get("precision") == self.precision
                    and ShapeProfile.from_dict(e.key["profile"]).covers(need)
                )
                runner = self._load(ShapeProfile.from_dict(cached[0].key["profile"]) if cached else need)
        return runner(inputs)


def swap_denoiser(
    pipeline: Any,
    runtime: str,
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    profile: ShapeProfile | None = None,
    precision: str | None = None,
) -> Any:
    """Replace ``pipeline.transformer`` by an onnxruntime/TensorRT stand-in; return the pipeline.

    ``runtime``: auto | torch | onnxruntime | tensorrt. ``cache_dir``: engine cache root
    (default ``$GENPOST_ENGINE_CACHE``). ``profile``: TensorRT shape profile to build up front
    (else engines are built, once, for the shapes of the first call). ``precision``: engine
    precision (default: the transformer's dtype; onnxruntime-CUDA uses float16 for bfloat16).
    """
    transformer = getattr(pipeline, "transformer", None)
    if transformer is None:
        raise UsageError("pipeline has no transformer to swap")
    if getattr(transformer, "runner", None) is not None:
        return pipeline  # already swapped
    from .onnx_export import ONNX_FILE, ensure_onnx, transformer_device, transformer_dtype

    device = transformer_device(transformer)
    chosen, why = resolve_runtime(runtime, device=str(device))
    log.info("denoiser runtime: %s (%s)", chosen, why)
    if chosen == "torch":
        return pipeline
    cache = EngineCache(cache_dir)
    dtype = str(transformer_dtype(transformer)).replace("torch.", "")
    if chosen == "onnxruntime":
        from .ort_backend import OrtRunner, make_session

        on_gpu = device.type == "cuda"
        # onnxruntime runs float32 on CPU and float16 on CUDA (its bfloat16 kernels are sparse)
        export_precision = precision or (("float16" if dtype == "bfloat16" else dtype) if on_gpu else "float32")
        entry = ensure_onnx(transformer, cache=cache, precision=export_precision)
        providers = (CUDA, CPU) if on_gpu else (CPU,)
        session = make_session(entry.file(ONNX_FILE), providers=providers, device_id=device.index or 0)
        runner: Any = OrtRunner(session, cuda=on_gpu)
        label = f"onnxruntime-{'cuda' if on_gpu else 'cpu'}"
    else:
        engine_precision = precision or dtype
        entry = ensure_onnx(transformer, cache=cache, precision=dtype, validate=False)
        runner = _TrtDispatch(entry, engine_precision, cache, profile)
        label = "tensorrt"
    standin = _standin_class()(transformer.config, transformer_dtype(transformer), device, runner, label)
    pipeline.transformer = standin
    del transformer  # the PyTorch weights go once nothing else holds them
    from .registry import _free_memory

    _free_memory()
    log.info("denoiser swapped for %s (cache entry %s)", label, Path(entry.path).name)
    return pipeline
