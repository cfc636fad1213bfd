"""Set extension locked to the shot.

For every pixel to extend (extend mask = 1) the job takes the first source that can see it:

1. another frame's plate, reprojected with depth and camera and z-tested (clean-plate
   projection; only plate pixels, never another frame's own extend region);
2. a generated keyframe, reprojected the same way;
3. the generator, only for what no frame and no keyframe saw.

Keyframes are chosen by coverage (greedy: the frame that sees most of what is still missing),
planned at low resolution over the whole shot range. The plan and the keyframes depend only on
the shot's inputs and the parameters, never on which frames a chunk renders, and are cached in
``out/.genpost/``: any chunking of the frame range gives identical pixels. The plate's own
pixels outside the mask are copied, never resampled. Frames are streamed (a small cache of
decoded frames), so memory does not grow with shot length.

Modules: :mod:`.params` (job parameters, output channels, source codes), :mod:`.plan` (the
whole-shot plan, a pure function of low-resolution inputs), :mod:`.fill` (the three fill
stages, keyframes, video hole windows), :mod:`.render` (the job: frames, outputs, USD layer).
The farm-session worker lives in :mod:`genpost_houdini.runtime.worker.session`.
"""

from __future__ import annotations

from typing import Any, Mapping

from ...runtime.worker.session import WORKER_SOCKET_ENV, enter, exit_session
from .params import (
    CONFIDENCE,
    JOB_KIND,
    JOB_PARAMS,
    LAYER_NAME,
    OUTPUT_KINDS,
    OUTPUT_NAME,
    OUTPUT_TYPES,
    PATH_PARAMS,
    SOURCE_GENERATED,
    SOURCE_KEYFRAME,
    SOURCE_OTHER_FRAME,
    SOURCE_PLATE,
    SetExtensionParams,
    validate,
)
from .plan import Plan
from .render import SetExtension, run_job

__all__ = [
    "CONFIDENCE",
    "JOB_KIND",
    "JOB_PARAMS",
    "LAYER_NAME",
    "OUTPUT_KINDS",
    "OUTPUT_NAME",
    "OUTPUT_TYPES",
    "PATH_PARAMS",
    "SOURCE_GENERATED",
    "SOURCE_KEYFRAME",
    "SOURCE_OTHER_FRAME",
    "SOURCE_PLATE",
    "WORKER_SOCKET_ENV",
    "Plan",
    "SetExtension",
    "SetExtensionParams",
    "run_job",
    "session_enter",
    "session_exit",
    "validate",
]


def session_enter(params: Mapping[str, Any]) -> dict[str, str]:
    """Farm session start: a model generator gets a ``genpost worker`` that keeps the model
    loaded for every task of the session; returns the environment for those tasks."""
    return enter(str(params.get("generator") or "classical"))


def session_exit(params: Mapping[str, Any]) -> dict[str, str]:
    """Farm session end: stop the session's worker (frees all GPU memory)."""
    return exit_session()
