"""Swap a pipeline's PyTorch denoiser for an onnxruntime session or a TensorRT engine.

``swap_denoiser(pipeline, runtime)`` with runtime ``auto`` picks TensorRT only where the engine
cache holds an engine for this model, TensorRT version and GPU whose build-time parity check
against PyTorch passed (``genpost engine build --runtime tensorrt`` builds and checks one), then
onnxruntime-CUDA, then PyTorch; ``torch`` leaves the pipeline alone; a forced runtime that is
unavailable raises DependencyError with a one-line reason. Under ``auto`` the PyTorch
transformer stays loaded beside the engines: a shape no checked engine covers gets a new engine
checked against it, or runs in PyTorch when that check fails. None of the GPU paths has run here
(no GPU on the build machines): README, "GPU paths". The stand-in that replaces
``pipeline.transformer`` is a ``torch.nn.Module`` with what the diffusers pipeline reads from its
denoiser: ``.config``, ``.dtype``, ``.device``, ``cache_context()`` and the forward keywords.
The pipeline is changed in place and returned.
"""

from __future__ import annotations

import contextlib
import json
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


NO_VERIFIED_ENGINE = ("no TensorRT engine for this model whose build-time parity check against PyTorch passed "
                      "(`genpost engine build --runtime tensorrt` builds and checks one)")


def choose_auto(on_gpu: bool, tensorrt: tuple[bool, str], verified: tuple[bool, str],
                ort_cuda: tuple[bool, str]) -> tuple[str, str]:
    """``--runtime auto``: (runtime, reason) from what is available: TensorRT only with a verified
    engine (``verified``), then onnxruntime-CUDA, then PyTorch; each ``(ok, reason)``."""
    if not on_gpu:
        return "torch", "pipeline is on CPU (TensorRT and onnxruntime-CUDA need a GPU)"
    reasons = []
    if tensorrt[0] and verified[0]:
        return "tensorrt", f"{tensorrt[1]}; {verified[1]}"
    reasons.append(tensorrt[1] if not tensorrt[0] else f"{tensorrt[1]} but {verified[1]}")
    if ort_cuda[0]:
        return "onnxruntime", "; ".join([ort_cuda[1], *reasons])
    reasons.append(ort_cuda[1])
    return "torch", "; ".join(reasons)


def resolve_runtime(runtime: str, *, device: str = "cpu", verified: tuple[bool, str] | None = None) -> tuple[str, str]:
    """(runtime to use, reason). ``device`` is where the pipeline lives ("cpu"/"cuda...");
    ``verified``: whether a parity-checked TensorRT engine exists (``auto`` needs one)."""
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
    if not on_gpu:
        return choose_auto(False, (False, ""), (False, ""), (False, ""))
    return choose_auto(True, tensorrt_available(), verified or (False, NO_VERIFIED_ENGINE), ort_cuda_available())


def verified_tensorrt(transformer: Any, cache: EngineCache, onnx_precision: str, precision: str) -> tuple[bool, str]:
    """Whether ``cache`` holds a parity-checked engine at ``precision`` of ``transformer``'s ONNX
    export (at ``onnx_precision``) for this TensorRT version and GPU (looked up, never built)."""
    from .onnx_export import onnx_key
    from .tensorrt_backend import gpu_identity, require_tensorrt, verified_engines

    onnx_entry = cache.lookup(json.loads(json.dumps(onnx_key(transformer, onnx_precision), default=str)))
    if onnx_entry is None:
        return False, NO_VERIFIED_ENGINE
    identity = {"tensorrt_version": require_tensorrt().__version__, **gpu_identity(transformer_device_index(transformer))}
    engines = verified_engines(cache, onnx_entry.content_hash(), precision, identity)
    if not engines:
        return False, NO_VERIFIED_ENGINE
    best = engines[0].meta["parity"]
    return True, f"engine {engines[0].name} passed its parity check (max abs diff {best['max_abs_diff']:.3g})"


def transformer_device_index(transformer: Any) -> int:
    from .onnx_export import transformer_device

    return int(transformer_device(transformer).index or 0)


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

    def __init__(self, onnx_entry: Any, precision: str, cache: EngineCache, profile: ShapeProfile | None,
                 reference: Any = None) -> None:
        self.onnx_entry = onnx_entry
        self.precision = precision
        self.cache = cache
        #: ``--runtime auto``: the PyTorch transformer, kept to check new engines and to run the
        #: shapes whose engine failed its check (None: forced tensorrt, engines used unchecked).
        self.reference = reference
        self.runners: list[Any] = []
        self.torch_shapes: list[ShapeProfile] = []
        self.lock = threading.Lock()
        if profile is not None:
            self._load(profile)

    def _load(self, profile: ShapeProfile) -> Any:
        from .tensorrt_backend import PLAN_FILE, TrtRunner, ensure_engine, parity_passed

        entry = ensure_engine(self.onnx_entry, profile, precision=self.precision, cache=self.cache,
                              reference=self.reference)
        if self.reference is not None and not parity_passed(entry):
            log.warning("TensorRT engine %s failed its parity check: shapes %s run in PyTorch", entry.name, profile.spec())
            self.torch_shapes.append(profile)
            return None
        runner = TrtRunner(entry.file(PLAN_FILE), profile)
        self.runners.append(runner)
        return runner

    def _torch(self, inputs: dict[str, Any]) -> Any:
        import torch

        from .onnx_export import INPUT_NAMES, _wrapper

        with torch.no_grad():
            return _wrapper(self.reference)(*(inputs[n] for n in INPUT_NAMES))

    def __call__(self, inputs: dict[str, Any]) -> Any:
        need = ShapeProfile.from_latent_shapes(
            tuple(inputs["hidden_states"].shape), int(inputs["encoder_hidden_states"].shape[1])
        )
        from .tensorrt_backend import parity_passed

        with self.lock:
            runner = next((r for r in self.runners if r.profile.covers(need)), None)
            if runner is None and not any(p.covers(need) for p in self.torch_shapes):
                onnx_hash = self.onnx_entry.content_hash()
                cached = self.cache.find(
                    lambda e: e.key.get("backend") == "tensorrt"
                    and e.key.get("onnx_sha256") == onnx_hash
                    and e.key.get("precision") == self.precision
                    and ShapeProfile.from_dict(e.key["profile"]).covers(need)
                    and (self.reference is None or parity_passed(e))
                )
                runner = self._load(ShapeProfile.from_dict(cached[0].key["profile"]) if cached else need)
        return self._torch(inputs) if runner is None else runner(inputs)


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
    cache = EngineCache(cache_dir)
    dtype = str(transformer_dtype(transformer)).replace("torch.", "")
    verified = None
    if runtime == "auto" and device.type == "cuda":
        from .tensorrt_backend import tensorrt_available

        if tensorrt_available()[0]:
            verified = verified_tensorrt(transformer, cache, dtype, precision or dtype)
    chosen, why = resolve_runtime(runtime, device=str(device), verified=verified)
    log.info("denoiser runtime: %s (%s)", chosen, why)
    if chosen == "torch":
        return pipeline
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
        keep = transformer if runtime == "auto" else None  # auto: check new engines, fall back per shape
        runner = _TrtDispatch(entry, engine_precision, cache, profile, reference=keep)
        label = "tensorrt"
    standin = _standin_class()(transformer.config, transformer_dtype(transformer), device, runner, label)
    pipeline.transformer = standin
    del transformer  # the PyTorch weights go once nothing else holds them
    from .registry import _free_memory

    _free_memory()
    log.info("denoiser swapped for %s (cache entry %s)", label, Path(entry.path).name)
    return pipeline
