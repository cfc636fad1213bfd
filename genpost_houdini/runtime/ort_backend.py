"""onnxruntime sessions for the exported denoiser (CPU, and CUDA where onnxruntime-gpu is installed)."""

from __future__ import annotations

import logging
import os
from typing import Any, Sequence

from ..errors import DependencyError

log = logging.getLogger("genpost.runtime")

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"


def ort_available() -> tuple[bool, str]:
    """(importable, reason)."""
    try:
        import onnxruntime
    except ImportError:
        return False, "onnxruntime is not importable: install the onnx extra"
    return True, f"onnxruntime {onnxruntime.__version__}"


def ort_cuda_available() -> tuple[bool, str]:
    """(usable, reason): onnxruntime with the CUDA provider and a CUDA GPU visible to torch."""
    ok, why = ort_available()
    if not ok:
        return ok, why
    import onnxruntime

    if CUDA not in onnxruntime.get_available_providers():
        return False, f"onnxruntime {onnxruntime.__version__} has no CUDAExecutionProvider (install onnxruntime-gpu)"
    try:
        import torch

        if not torch.cuda.is_available():
            return False, "no CUDA GPU visible"
    except ImportError:
        return False, "torch is not importable"
    return True, f"onnxruntime {onnxruntime.__version__} with CUDA"


def make_session(path: str | os.PathLike[str], *, providers: Sequence[str] = (CPU,), device_id: int = 0) -> Any:
    """An InferenceSession for ``path`` with ``providers`` (CUDA gets ``device_id``)."""
    ok, why = ort_available()
    if not ok:
        raise DependencyError(why)
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    provider_list: list[Any] = [(CUDA, {"device_id": device_id}) if p == CUDA else p for p in providers]
    session = ort.InferenceSession(str(path), sess_options=opts, providers=provider_list)
    log.debug("onnxruntime session on %s for %s", session.get_providers(), path)
    return session


_NUMPY_TO_ORT = {"tensor(float)": "float32", "tensor(float16)": "float16", "tensor(bfloat16)": "bfloat16"}


class OrtRunner:
    """Runs the denoiser session on torch tensors; returns a torch tensor on the inputs' device.

    On CUDA the tensors are bound in place through IO binding (no host copies; not verified
    without a GPU). On CPU they pass through numpy.
    """

    def __init__(self, session: Any, *, cuda: bool) -> None:
        self.session = session
        self.cuda = cuda
        self.input_types = {i.name: _NUMPY_TO_ORT.get(i.type, "float32") for i in session.get_inputs()}
        self.output_name = session.get_outputs()[0].name
        self.output_type = _NUMPY_TO_ORT.get(session.get_outputs()[0].type, "float32")

    def __call__(self, inputs: dict[str, Any]) -> Any:
        import torch

        cast = {n: inputs[n].to(getattr(torch, self.input_types[n])).contiguous() for n in self.input_types}
        if not self.cuda:
            feed = {n: t.detach().cpu().numpy() for n, t in cast.items()}
            return torch.from_numpy(self.session.run([self.output_name], feed)[0])
        binding = self.session.io_binding()
        for name, t in cast.items():
            binding.bind_input(name, "cuda", t.device.index or 0, _np_dtype(t.dtype), tuple(t.shape), t.data_ptr())
        ref = cast["hidden_states"]
        out = torch.empty((ref.shape[0], _out_channels(self.session), *ref.shape[2:]),
                          dtype=getattr(torch, self.output_type), device=ref.device)
        binding.bind_output(
            self.output_name, "cuda", out.device.index or 0, _np_dtype(out.dtype), tuple(out.shape), out.data_ptr()
        )
        torch.cuda.current_stream().synchronize()
        self.session.run_with_iobinding(binding)
        binding.synchronize_outputs()
        return out


def _out_channels(session: Any) -> int:
    """Channel count of the output (static in the export)."""
    return int(session.get_outputs()[0].shape[1])


def _np_dtype(torch_dtype: Any) -> Any:
    import numpy as np
    import torch

    if torch_dtype == torch.bfloat16:
        raise DependencyError("onnxruntime IO binding cannot take bfloat16 from numpy: export in float16 for onnxruntime-CUDA")
    return {torch.float32: np.float32, torch.float16: np.float16}[torch_dtype]
