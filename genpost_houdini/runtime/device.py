"""Device and dtype choice, from what the machine has, stated in the log.

GPU (CUDA): bfloat16 where the card supports it (compute capability >= 8.0), else float16.
CPU: float32 always (fp16 on CPU is slow or unsupported for many ops).
torch is imported only when :func:`choose_device` runs.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from ..errors import DependencyError, UsageError

log = logging.getLogger("genpost.runtime")

DEVICE_ENV = "GENPOST_DEVICE"
_DTYPES = ("float16", "bfloat16", "float32")


@dataclass(frozen=True)
class DeviceChoice:
    """Where and in which precision models run, and why."""

    device: str  # "cuda" or "cpu" (or "cuda:N" when a card was named)
    dtype: str  # "float16" | "bfloat16" | "float32"
    reason: str

    @property
    def is_cuda(self) -> bool:
        return self.device.startswith("cuda")

    def torch_dtype(self):  # -> torch.dtype
        """The torch dtype object (imports torch)."""
        import torch

        return getattr(torch, self.dtype)


def choose_device(prefer: str | None = None, *, dtype: str | None = None) -> DeviceChoice:
    """Pick the device and dtype.

    ``prefer``: None/"auto" (CUDA when available, else CPU; ``$GENPOST_DEVICE`` overrides),
    "cpu", "cuda" or "cuda:N" (an unavailable CUDA request raises DependencyError).
    ``dtype`` forces a precision ("float16", "bfloat16", "float32"); on CPU only float32 and
    bfloat16 are accepted.
    """
    prefer = (prefer or os.environ.get(DEVICE_ENV) or "auto").strip().lower()
    if dtype is not None and dtype not in _DTYPES:
        raise UsageError(f"unknown dtype {dtype!r}: use one of {', '.join(_DTYPES)}")
    if prefer not in ("auto", "cpu", "cuda") and not prefer.startswith("cuda:"):
        raise UsageError(f"unknown device {prefer!r}: use auto, cpu, cuda or cuda:N")
    try:
        import torch
    except ImportError:
        if prefer.startswith("cuda"):
            raise DependencyError("torch is not importable: install the models extra to run on CUDA") from None
        choice = DeviceChoice("cpu", "float32", "torch is not installed")
        log.info("device: cpu float32 (%s)", choice.reason)
        return choice

    cuda_ok = torch.cuda.is_available()
    if prefer.startswith("cuda") and not cuda_ok:
        raise DependencyError(
            f"device {prefer!r} requested but torch sees no CUDA GPU (torch {torch.__version__}); "
            "use --device cpu or auto"
        )
    if prefer == "cpu" or not cuda_ok:
        why = "requested" if prefer == "cpu" else "no CUDA GPU visible to torch"
        if dtype == "float16":
            raise UsageError("float16 is not supported on CPU: use float32 (or bfloat16)")
        choice = DeviceChoice("cpu", dtype or "float32", f"cpu {why}")
    else:
        device = prefer if prefer.startswith("cuda:") else "cuda"
        index = torch.device(device).index or 0
        name = torch.cuda.get_device_name(index)
        major, minor = torch.cuda.get_device_capability(index)
        bf16 = major >= 8 and torch.cuda.is_bf16_supported()
        chosen = dtype or ("bfloat16" if bf16 else "float16")
        if chosen == "bfloat16" and not bf16:
            raise UsageError(f"{name} (sm_{major}{minor}) does not support bfloat16: use float16")
        choice = DeviceChoice(
            device, chosen, f"{name} (compute capability {major}.{minor}); "
            + ("bf16 supported" if bf16 else "no bf16 support, using fp16")
        )
    log.info("device: %s %s (%s)", choice.device, choice.dtype, choice.reason)
    return choice
