"""Generator backends: the Generator protocol, the plugin registry and the default backend.

``get_generator(name, **options)`` builds a backend; ``available_generators()`` lists them all
with the reason any is unavailable. Backends that need torch/diffusers import them lazily.
"""

from __future__ import annotations

from ..progress import ProgressFn
from ..seeds import frame_seed
from .base import GenerationRequest, Generator, GeneratorInfo, enforce_result
from .registry import (
    DEFAULT_GENERATOR,
    ENTRY_POINT_GROUP,
    available_generators,
    get_generator,
    register_generator,
    unregister_generator,
)

__all__ = [
    "DEFAULT_GENERATOR",
    "ENTRY_POINT_GROUP",
    "GenerationRequest",
    "Generator",
    "GeneratorInfo",
    "ProgressFn",
    "available_generators",
    "enforce_result",
    "frame_seed",
    "get_generator",
    "register_generator",
    "unregister_generator",
]
