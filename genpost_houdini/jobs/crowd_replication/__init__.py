"""Crowd replication: element sequences placed in 3D on a region prim, locked to the shot.

People are attached to world positions (walkers to paths across the region) and rendered per
frame from the shot camera as camera-facing cards, so scale, perspective and parallax follow
the camera; the set's depth render occludes them. Placement and variation derive from (seed,
instance id) and the shot range; each frame is rendered from the frame number alone, so any
chunking gives identical pixels.

Outputs: ``crowd.####.exr`` (R,G,B,A premultiplied scene-linear, Z, crowd_id, shadow), the
element sprites under ``sprites/``, and ``crowd.usda`` (a PointInstancer lighters sublayer).

Modules: :mod:`.params` (the job-file parameters :data:`JOB_PARAMS`, :class:`CrowdParams`,
:func:`validate`) and :mod:`.job` (:class:`CrowdReplication`: placement, frames, outputs, the
USD layer; :func:`run_job`, the job-file entry point). Placement, rendering and shadows live in
:mod:`genpost_houdini.crowd`.
"""

from __future__ import annotations

from .job import CrowdReplication, run_job
from .params import JOB_KIND, JOB_PARAMS, LAYER_NAME, OUTPUT_NAME, PATH_PARAMS, CrowdParams, validate

__all__ = ["JOB_KIND", "JOB_PARAMS", "LAYER_NAME", "OUTPUT_NAME", "PATH_PARAMS", "CrowdParams", "CrowdReplication",
           "run_job", "validate"]
