"""The job kinds' registry, kept at its old import path: :mod:`genpost_houdini.jobs.registry`
is its home (the farm sits above the jobs and imports them; the jobs never import the farm)."""

from __future__ import annotations

from ..jobs.registry import (
    CROWD_PARAMS,
    JOB_KINDS,
    PARAM_TYPES,
    PATH_TYPES,
    REQUIRED,
    ROLES,
    SETEXT_PARAMS,
    JobKind,
    ParamSpec,
    Runner,
    get_hook,
    get_runner,
    job_defaults,
    job_kind,
    param_specs,
    path_params,
    validate_params,
)

__all__ = [
    "CROWD_PARAMS",
    "JOB_KINDS",
    "PARAM_TYPES",
    "PATH_TYPES",
    "REQUIRED",
    "ROLES",
    "SETEXT_PARAMS",
    "JobKind",
    "ParamSpec",
    "Runner",
    "get_hook",
    "get_runner",
    "job_defaults",
    "job_kind",
    "param_specs",
    "path_params",
    "validate_params",
]
