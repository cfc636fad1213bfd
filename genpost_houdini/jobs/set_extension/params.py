"""Set extension's parameters, output channels and source codes (what a job file may hold)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ...conditioning.plate import SCREEN_CHOICES
from ...errors import UsageError
from ...shot import DEPTH_KINDS
from ...limits import MAX_KEYFRAMES, MAX_SOURCES, bounded
from ..common import frame_list, generator_options, merge_params
from ..registry import SETEXT_PARAMS, job_defaults, path_params

JOB_KIND = "setext"
OUTPUT_NAME = "setext"
LAYER_NAME = "setext.usda"

#: Source codes written to the `source` channel.
SOURCE_PLATE, SOURCE_OTHER_FRAME, SOURCE_KEYFRAME, SOURCE_GENERATED = 0, 1, 2, 3
#: Confidence per source (how much of the pixel is observation rather than invention).
CONFIDENCE = {SOURCE_PLATE: 1.0, SOURCE_OTHER_FRAME: 0.9, SOURCE_KEYFRAME: 0.6, SOURCE_GENERATED: 0.3}

#: Output channels: colour half (lossless zip), depth float; the small codes and [0, 1] values
#: are exact enough in half (0..3 exactly), which halves the bytes a 2K frame writes.
OUTPUT_KINDS = {"R": "colour", "G": "colour", "B": "colour", "A": "colour", "source": "mask", "matte": "mask", "confidence": "mask", "Z": "depth"}
OUTPUT_TYPES = {"source": "half", "matte": "half", "confidence": "half"}


#: Parameters a job file may hold for this job, with their defaults (None = required): derived
#: from the job kinds' table (jobs.registry.SETEXT_PARAMS, the single source of names, types,
#: roles and defaults).
JOB_PARAMS: dict[str, Any] = job_defaults(SETEXT_PARAMS)
#: Parameters that are file paths (resolved relative to a job file).
PATH_PARAMS = path_params(SETEXT_PARAMS)
#: Choices of the grain parameter (screen: conditioning.plate.SCREEN_CHOICES).
GRAIN_CHOICES = ("auto", "off")


@dataclass
class SetExtensionParams:
    """Validated parameters of one set-extension job (the shot range, not a chunk)."""

    stage: str
    plate: str
    depth: str
    extend: str
    frames: list[int]
    camera: str | None = None
    generator: str = "classical"
    model: str | None = None
    seed: int = 0
    prompt: str = ""
    negative_prompt: str = ""
    strength: float = 1.0
    runtime: str = "auto"
    allow_pickle: bool = False
    max_keyframes: int = 8
    max_sources: int = 8
    screen: str = "auto"
    holdout: str | None = None
    grain: str = "auto"
    undistort: str | None = None
    redistort: str | None = None
    depth_kind: str = "planar"

    @classmethod
    def from_mapping(cls, params: Mapping[str, Any]) -> "SetExtensionParams":
        values = merge_params("set-extension", JOB_PARAMS, params)
        frames = frame_list(values["frames"])
        strength = float(values["strength"])
        if not 0.0 <= strength <= 1.0:  # NaN fails too
            raise UsageError(f"strength must be within 0..1, got {values['strength']}")
        bounded("max_keyframes", values["max_keyframes"], 0, MAX_KEYFRAMES)
        bounded("max_sources", values["max_sources"], 0, MAX_SOURCES)
        if not str(values["generator"]).strip():
            raise UsageError("generator: empty name (see `genpost generators`)")
        if str(values["screen"]) not in SCREEN_CHOICES:
            raise UsageError(f"screen must be one of {', '.join(SCREEN_CHOICES)}, got {values['screen']!r}")
        if str(values["grain"]) not in GRAIN_CHOICES:
            raise UsageError(f"grain must be one of {', '.join(GRAIN_CHOICES)}, got {values['grain']!r}")
        if bool(values.get("undistort")) != bool(values.get("redistort")):
            raise UsageError("lens distortion needs both undistort and redistort ST maps")
        if str(values.get("depth_kind") or "planar") not in DEPTH_KINDS:
            raise UsageError(f"depth_kind must be one of {', '.join(DEPTH_KINDS)}, got {values['depth_kind']!r}")
        return cls(
            stage=str(values["stage"]),
            plate=str(values["plate"]),
            depth=str(values["depth"]),
            extend=str(values["extend"]),
            frames=frames,
            camera=values.get("camera") or None,
            generator=str(values["generator"]),
            model=values.get("model") or None,
            seed=int(values["seed"]),
            prompt=str(values["prompt"]),
            negative_prompt=str(values["negative_prompt"]),
            strength=float(values["strength"]),
            runtime=str(values["runtime"]),
            allow_pickle=bool(values["allow_pickle"]),
            max_keyframes=int(values["max_keyframes"]),
            max_sources=int(values["max_sources"]),
            screen=str(values["screen"]),
            holdout=values.get("holdout") or None,
            grain=str(values["grain"]),
            undistort=values.get("undistort") or None,
            redistort=values.get("redistort") or None,
            depth_kind=str(values.get("depth_kind") or "planar"),
        )

    def generator_options(self) -> dict[str, Any]:
        """The options :func:`get_generator` gets for this job (runtime, model, allow_pickle)."""
        return generator_options(model=self.model, runtime=self.runtime, allow_pickle=self.allow_pickle)


def validate(params: Mapping[str, Any]) -> SetExtensionParams:
    """Every check a job can make before reading a pixel: values (strength, counts, frames),
    the generator's name, options and availability, its model folder. Run before planning and
    at ``--save-job``; nothing is written for a job that cannot run."""
    from ...generators.registry import check_generator

    checked = SetExtensionParams.from_mapping(params)
    check_generator(checked.generator, **checked.generator_options())
    return checked
