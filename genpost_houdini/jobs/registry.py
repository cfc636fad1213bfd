"""Job kinds and their parameters: :mod:`genpost_houdini.farm.kinds`, re-exported here (the
name every host has used)."""

from __future__ import annotations

from ..farm.kinds import (
    CROWD_PARAMS,
    JOB_KINDS,
    PARAM_TYPES,
    REQUIRED,
    ROLES,
    SETEXT_PARAMS,
    JobKind,
    ParamSpec,
    Runner,
    get_hook,
    get_runner,
    job_kind,
    param_specs,
    validate_params,
)

__all__ = [
    "CROWD_PARAMS",
    "JOB_KINDS",
    "PARAM_TYPES",
    "REQUIRED",
    "ROLES",
    "SETEXT_PARAMS",
    "JobKind",
    "ParamSpec",
    "Runner",
    "get_hook",
    "get_runner",
    "job_kind",
    "param_specs",
    "validate_params",
]
