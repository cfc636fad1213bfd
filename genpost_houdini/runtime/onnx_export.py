"""ONNX export of the Wan (VACE) denoiser and its parity check against PyTorch.

Only the dynamo exporter handles the Wan transformer (``rms_norm``): ``torch.onnx.export(...,
dynamo=True, opset 18)`` with dynamic latent frames, height, width and text length. Batch is 1
(the pipeline runs conditional and unconditional passes separately; the stand-in loops over a
larger batch). Inputs, in order: ``hidden_states`` (1, C, F, H, W), ``timestep`` (1,) float32,
``encoder_hidden_states`` (1, L, D), ``control_hidden_states`` (1, Cv, F, H, W),
``control_hidden_states_scale`` (n_vace,); output ``sample`` (1, C, F, H, W).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..errors import DependencyError, OutputCheckError
from .engine_cache import CacheEntry, EngineCache

log = logging.getLogger("genpost.runtime")

INPUT_NAMES: tuple[str, ...] = (
    "hidden_states",
    "timestep",
    "encoder_hidden_states",
    "control_hidden_states",
    "control_hidden_states_scale",
)
OUTPUT_NAME = "sample"
OPSET = 18
ONNX_FILE = "denoiser.onnx"
_EXTERNAL_DATA_OVER = 1 << 30  # weights above this go to a separate .data file (protobuf 2 GB cap)


def _require_onnx() -> None:
    import importlib.util

    for name in ("onnx", "onnxscript"):
        if importlib.util.find_spec(name) is None:
            raise DependencyError(f"ONNX export needs the onnx extra ({name} is not importable)")


def _wrapper(transformer: Any) -> Any:
    """A module whose forward takes the five denoiser inputs positionally and returns the sample."""
    import torch

    class DenoiserForExport(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(  # type: ignore[no-untyped-def]
            self, hidden_states, timestep, encoder_hidden_states, control_hidden_states, control_hidden_states_scale
        ):
            return self.inner(
                hidden_states=hidden_states,
                timestep=timestep,
                encoder_hidden_states=encoder_hidden_states,
                control_hidden_states=control_hidden_states,
                control_hidden_states_scale=control_hidden_states_scale,
                return_dict=False,
            )[0]

    return DenoiserForExport(transformer).eval()


def cast_model(model: Any, dtype: Any) -> Any:
    """``model.to(dtype)`` that keeps diffusers' ``_keep_in_fp32_modules`` (rope, norms...) in float32,
    as ``from_pretrained(torch_dtype=...)`` does. Returns the model."""
    import torch

    keep = set(getattr(model, "_keep_in_fp32_modules", None) or ())
    torch.nn.Module.to(model, dtype)  # the plain cast (ModelMixin.to warns about the fp32 modules)
    if dtype != torch.float32 and keep:
        with torch.no_grad():
            for name, tensor in list(model.named_parameters()) + list(model.named_buffers()):
                if keep.intersection(name.split(".")) and tensor.is_floating_point():
                    tensor.data = tensor.data.float()
    return model


def transformer_dtype(transformer: Any) -> Any:
    """The compute dtype (diffusers' ``.dtype`` skips the modules kept in float32)."""
    dtype = getattr(transformer, "dtype", None)
    return dtype if dtype is not None else next(transformer.parameters()).dtype


def transformer_device(transformer: Any) -> Any:
    return next(transformer.parameters()).device


def example_inputs(
    config: Mapping[str, Any],
    *,
    frames: int = 2,
    height: int = 4,
    width: int = 4,
    text_len: int = 8,
    dtype: Any = None,
    device: Any = "cpu",
    seed: int = 0,
) -> dict[str, Any]:
    """Random denoiser inputs in latent units (``frames``, ``height``, ``width`` are latent sizes)."""
    import torch

    dtype = dtype or torch.float32
    g = torch.Generator().manual_seed(seed)
    c_in, c_vace = int(config["in_channels"]), int(config["vace_in_channels"])

    def rnd(*shape: int) -> Any:
        return torch.randn(*shape, generator=g).to(device=device, dtype=dtype)

    return {
        "hidden_states": rnd(1, c_in, frames, height, width),
        "timestep": torch.tensor([float(torch.randint(1, 1000, (1,), generator=g))], device=device),
        "encoder_hidden_states": rnd(1, text_len, int(config["text_dim"])),
        "control_hidden_states": rnd(1, c_vace, frames, height, width),
        "control_hidden_states_scale": torch.rand(len(config["vace_layers"]), generator=g).to(device=device, dtype=dtype),
    }


def export_denoiser(transformer: Any, path: str | os.PathLike[str], *, opset: int = OPSET) -> list[Path]:
    """Export ``transformer`` (a WanVACETransformer3DModel, in its own dtype and device) to ``path``.

    Returns the files written (the .onnx and, for large models, its external ``.data`` file).
    """
    _require_onnx()
    import torch
    from torch.export import Dim

    path = Path(path)
    config = transformer.config
    p_t, p_h, p_w = (int(v) for v in config["patch_size"])
    rope_max = int(config.get("rope_max_seq_len", 1024))
    frames = Dim("frames", min=1, max=rope_max)
    height = Dim("height", min=1, max=rope_max)
    width = Dim("width", min=1, max=rope_max)
    text = Dim("text_len", min=1, max=8192)
    spatial = {2: frames * p_t if p_t > 1 else frames, 3: height * p_h, 4: width * p_w}
    dynamic_shapes = {
        "hidden_states": spatial,
        "timestep": None,
        "encoder_hidden_states": {1: text},
        "control_hidden_states": spatial,
        "control_hidden_states_scale": None,
    }
    sample = example_inputs(
        config, frames=2 * p_t, height=4 * p_h, width=4 * p_w, text_len=8,
        dtype=transformer_dtype(transformer), device=transformer_device(transformer),
    )
    n_bytes = sum(p.numel() * p.element_size() for p in transformer.parameters())
    external = n_bytes > _EXTERNAL_DATA_OVER
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(
            _wrapper(transformer),
            tuple(sample[n] for n in INPUT_NAMES),
            str(path),
            dynamo=True,
            opset_version=opset,
            input_names=list(INPUT_NAMES),
            output_names=[OUTPUT_NAME],
            dynamic_shapes=dynamic_shapes,
            external_data=external,
            verbose=False,
        )
    written = [path] + sorted(
        p for p in path.parent.iterdir() if p.name.startswith(path.name + ".") or p.name == path.stem + ".data"
    )
    return list(dict.fromkeys(written))


def torch_reference(transformer: Any, inputs: Mapping[str, Any]) -> Any:
    """The PyTorch denoiser output for ``inputs`` (float32 numpy)."""
    import torch

    with torch.no_grad():
        out = _wrapper(transformer)(*(inputs[n] for n in INPUT_NAMES))
    return out.float().cpu().numpy()


def onnxruntime_output(session: Any, inputs: Mapping[str, Any]) -> Any:
    """Run an onnxruntime session on torch ``inputs``; float32 numpy output."""
    import numpy as np

    types = {i.name: i.type for i in session.get_inputs()}
    feed = {}
    for name in INPUT_NAMES:
        arr = inputs[name].detach().float().cpu().numpy()
        feed[name] = arr.astype(np.float16) if types[name] == "tensor(float16)" else arr
    return np.asarray(session.run([OUTPUT_NAME], feed)[0], dtype=np.float32)


def validate_onnx(
    transformer: Any,
    onnx_path: str | os.PathLike[str],
    *,
    shapes: Sequence[tuple[int, int, int, int]] = ((2, 4, 4, 8), (3, 6, 8, 5)),
    atol: float = 1e-4,
    providers: Sequence[str] = ("CPUExecutionProvider",),
) -> float:
    """Max abs difference between onnxruntime and PyTorch over latent ``shapes`` (F, H, W, L).

    Raises OutputCheckError when it exceeds ``atol``. Shapes other than the export sample's prove
    the dynamic dims work.
    """
    from .ort_backend import make_session

    session = make_session(onnx_path, providers=providers)
    worst = 0.0
    for i, (f, h, w, t) in enumerate(shapes):
        inputs = example_inputs(
            transformer.config, frames=f, height=h, width=w, text_len=t, seed=100 + i,
            dtype=transformer_dtype(transformer), device=transformer_device(transformer),
        )
        ref = torch_reference(transformer, inputs)
        got = onnxruntime_output(session, inputs)
        if got.shape != ref.shape:
            raise OutputCheckError(f"{onnx_path}: output shape {got.shape} != PyTorch {ref.shape} at F,H,W,L={f},{h},{w},{t}")
        diff = float(abs(got - ref).max())
        worst = max(worst, diff)
        log.debug("onnx parity F,H,W,L=%s,%s,%s,%s: max abs diff %.3g", f, h, w, t, diff)
    if worst > atol:
        raise OutputCheckError(f"{onnx_path}: onnxruntime differs from PyTorch by {worst:.3g} (> {atol:g})")
    return worst


def source_fingerprint(transformer: Any) -> str:
    """Identity of the transformer's weights: its folder's files when it came from one, else its tensors.

    Folder: config.json's bytes plus each weight file's name, size and first/last MiB (cheap for
    multi-GB checkpoints). In-memory modules: sha256 over every parameter and buffer.
    """
    h = hashlib.sha256()
    h.update(json.dumps(_plain_config(transformer.config), sort_keys=True, default=str).encode("utf-8"))
    folder = transformer.config.get("_name_or_path") if hasattr(transformer.config, "get") else None
    weights: list[Path] = []
    if folder and Path(folder).is_dir():  # a transformer folder, or a pipeline folder holding one
        for candidate in (Path(folder), Path(folder) / "transformer"):
            weights = weights or sorted(candidate.glob("*.safetensors"))
    if weights:
        h.update(b"folder")
        for w in weights:
            size = w.stat().st_size
            h.update(f"{w.name}:{size}".encode("utf-8"))
            with open(w, "rb") as fh:
                h.update(fh.read(1 << 20))
                fh.seek(max(0, size - (1 << 20)))
                h.update(fh.read(1 << 20))
        return h.hexdigest()
    h.update(b"tensors")
    for name, t in list(transformer.named_parameters()) + list(transformer.named_buffers()):
        h.update(name.encode("utf-8") + str(t.dtype).encode("ascii") + str(tuple(t.shape)).encode("ascii"))
        h.update(t.detach().cpu().contiguous().view(-1).view(dtype=_byte_dtype()).numpy().tobytes())
    return h.hexdigest()


def _byte_dtype() -> Any:
    import torch

    return torch.uint8


def _plain_config(config: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in dict(config).items() if not str(k).startswith("_")}


def onnx_key(transformer: Any, precision: str, *, opset: int = OPSET) -> dict[str, Any]:
    """Cache key of the exported ONNX for ``transformer`` at ``precision``."""
    import torch

    return {
        "backend": "onnxruntime",
        "source": source_fingerprint(transformer),
        "precision": precision,
        "opset": opset,
        "exporter": "torch.onnx.dynamo",
        "torch_version": torch.__version__.split("+")[0],
        "model_class": type(transformer).__name__,
    }


def ensure_onnx(
    transformer: Any,
    *,
    cache: EngineCache | None = None,
    precision: str | None = None,
    validate: bool = True,
) -> CacheEntry:
    """The cached ONNX export of ``transformer`` (exported, and checked on CPU, when missing).

    ``precision``: dtype name to export in (default: the transformer's). A converted copy is made
    when it differs from the module's dtype. Validation runs only for float32 exports on CPU
    (lower precisions are compared against PyTorch by the caller's own tolerance).
    """
    import copy

    import torch

    cache = cache or EngineCache()
    current = str(transformer_dtype(transformer)).replace("torch.", "")
    precision = precision or current
    key = onnx_key(transformer, precision)

    def build(folder: Path) -> dict[str, Any]:
        model = transformer if precision == current else cast_model(copy.deepcopy(transformer), getattr(torch, precision))
        log.info("exporting the denoiser to ONNX (%s, opset %d); this takes a while for large models", precision, OPSET)
        files = export_denoiser(model, folder / ONNX_FILE)
        meta: dict[str, Any] = {"files_written": [f.name for f in files], "config": _plain_config(transformer.config)}
        if validate and precision == "float32" and transformer_device(model).type == "cpu":
            meta["parity_max_abs_diff"] = validate_onnx(model, folder / ONNX_FILE)
        return meta

    entry, built = cache.get_or_build(key, build)
    if not built:
        log.info("engine cache: reusing ONNX %s", entry.path)
    entry.meta.setdefault("onnx_sha256", entry.content_hash())
    return entry
