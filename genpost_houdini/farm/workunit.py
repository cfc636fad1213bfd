"""The work-unit manifest, kept at its old import path: :mod:`genpost_houdini.jobs.workunit` is
its home (every job claims its output folder and records its frames there; the jobs never
import the farm, which sits above them)."""

from __future__ import annotations

from ..jobs.workunit import FrameClaim, Manifest, describe_difference, job_record

__all__ = ["FrameClaim", "Manifest", "describe_difference", "job_record"]
