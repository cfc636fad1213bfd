"""Crowd job parameters: the job-file defaults (:data:`JOB_PARAMS`, derived from the job kinds'
table ``jobs.registry.CROWD_PARAMS``), the checked :class:`CrowdParams`, and :func:`validate`
(every check before reading a pixel).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from ...errors import UsageError
from ...limits import MAX_VARIANTS, bounded
from ...shot import DEPTH_KINDS
from ...shot.frames import parse_frame_range
from ..common import frame_list, generator_options, merge_params
from ..registry import CROWD_PARAMS, job_defaults, path_params

JOB_KIND = "crowd"
OUTPUT_NAME = "crowd"
LAYER_NAME = "crowd.usda"

#: Parameters a job file may hold, with their defaults (None = required): derived from the job
#: kinds' table (jobs.registry.CROWD_PARAMS, the single source of names, types, roles, defaults).
#: ``source`` is a pattern or a list; ``shutter`` -1: the camera's shutter:open/close when
#: authored, else 0.5.
JOB_PARAMS: dict[str, Any] = job_defaults(CROWD_PARAMS)
PATH_PARAMS = path_params(CROWD_PARAMS)


def _as_list(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [str(value)]


def _expand_libraries(sources: list[str]) -> list[str]:
    """A source that is a folder holding ``library.json`` (``genpost samples crowd DIR``) stands
    for every element pattern of that library."""
    import json

    out: list[str] = []
    for src in sources:
        index = Path(src) / "library.json"
        if Path(src).is_dir() and index.is_file():
            try:
                patterns = json.loads(index.read_text(encoding="utf-8"))["sources"]
            except (OSError, ValueError, KeyError, TypeError) as exc:
                from ...errors import BadInputError

                raise BadInputError(f"crowd library {index} is unreadable: {exc}") from exc
            out += [str(Path(src) / p) for p in patterns]
        else:
            out.append(src)
    return out


@dataclass
class CrowdParams:
    stage: str
    region: str
    sources: list[str]
    depth: str
    frames: list[int]
    camera: str | None = None
    source_mattes: list[str] = dataclasses.field(default_factory=list)
    source_frames: list[int] | None = None
    count: int = 100
    seed: int = 0
    min_spacing: float = 0.6
    person_height: float = 1.75
    no_consent_record: bool = False
    generator: str = ""
    model: str = ""
    variants: int = 0
    prompt: str = ""
    negative_prompt: str = ""
    runtime: str = "auto"
    allow_pickle: bool = False
    plate: str = ""
    walkers: float = 0.3
    stagger: bool = True
    facing: str = "random"
    look_at: str = ""
    walk_direction: str = ""
    colourways: int = 6
    height_sd: float = 0.04
    light_direction: str = ""
    shadow_density: float = 0.6
    haze_distance: float = 1500.0
    shutter: float = 0.5
    depth_kind: str = "planar"
    undistort: str = ""
    redistort: str = ""

    @classmethod
    def from_mapping(cls, params: Mapping[str, Any]) -> "CrowdParams":
        v = merge_params("crowd", JOB_PARAMS, params)
        if str(v.get("depth_kind") or "planar") not in DEPTH_KINDS:
            raise UsageError(f"depth_kind must be one of {', '.join(DEPTH_KINDS)}, got {v['depth_kind']!r}")
        sources = _expand_libraries(_as_list(v["source"]))
        mattes = _as_list(v["source_matte"])
        if mattes and len(mattes) != len(sources):
            raise UsageError(f"{len(mattes)} --source-matte for {len(sources)} --source: give one matte per source, or none")
        frames = frame_list(v["frames"])
        sf = v.get("source_frames") or ""
        generator = str(v["generator"] or "")
        variants = bounded("--variants", v["variants"], 0, MAX_VARIANTS)
        from ...crowd.look import parse_vector

        facing = str(v.get("facing") or "random")
        if facing not in ("random", "camera"):
            parse_vector(facing, "--facing")
        for name, flag in (("look_at", "--look-at"), ("walk_direction", "--walk-direction"), ("light_direction", "--light-direction")):
            parse_vector(v.get(name) or None, flag)
        checks = [
            (0.0 <= float(v["walkers"]) <= 1.0, f"--walkers must be a fraction 0..1 (got {v['walkers']})"),
            (0.0 <= float(v["height_sd"]) <= 0.3, f"--height-sd must be 0..0.3 (got {v['height_sd']})"),
            (0.0 <= float(v["shadow_density"]) <= 1.0, f"--shadow-density must be 0..1 (got {v['shadow_density']})"),
            (float(v["haze_distance"]) >= 0.0, f"--haze-distance must be 0 (off) or more (got {v['haze_distance']})"),
            (float(v["shutter"]) == -1.0 or 0.0 <= float(v["shutter"]) <= 1.0,
             f"--shutter must be 0..1 frames, or -1 for the camera's (got {v['shutter']})"),
            (float(v["min_spacing"]) > 0.0, f"--min-spacing must be a positive distance (got {v['min_spacing']})"),
            (int(v["count"]) >= 1, "--count must be at least 1"),
        ]
        bounded("--colourways", v["colourways"], 1, 64)
        for ok, message in checks:
            if not ok:
                raise UsageError(message)
        if variants and generator in ("", "none", "classical"):
            raise UsageError(
                "--variants needs a generative backend (e.g. --generator wan-vace --model DIR): the default "
                "replicates the sources with variation only"
            )
        return cls(
            stage=str(v["stage"]),
            region=str(v["region"]),
            sources=sources,
            depth=str(v["depth"]),
            frames=frames,
            camera=v.get("camera") or None,
            source_mattes=mattes,
            source_frames=parse_frame_range(sf) if sf else None,
            count=int(v["count"]),
            seed=int(v["seed"]),
            min_spacing=float(v["min_spacing"]),
            person_height=float(v["person_height"]),
            no_consent_record=bool(v["no_consent_record"]),
            generator=generator,
            model=str(v.get("model") or ""),
            variants=variants,
            prompt=str(v.get("prompt") or ""),
            negative_prompt=str(v.get("negative_prompt") or ""),
            runtime=str(v.get("runtime") or "auto"),
            allow_pickle=bool(v.get("allow_pickle")),
            plate=str(v.get("plate") or ""),
            walkers=float(v["walkers"]),
            stagger=bool(v.get("stagger", True)),
            facing=facing,
            look_at=str(v.get("look_at") or ""),
            walk_direction=str(v.get("walk_direction") or ""),
            colourways=int(v["colourways"]),
            height_sd=float(v["height_sd"]),
            light_direction=str(v.get("light_direction") or ""),
            shadow_density=float(v["shadow_density"]),
            haze_distance=float(v["haze_distance"]),
            shutter=float(v["shutter"]),
            depth_kind=str(v.get("depth_kind") or "planar"),
            undistort=str(v.get("undistort") or ""),
            redistort=str(v.get("redistort") or ""),
        )

    def generator_options(self) -> dict[str, Any]:
        """The options :func:`get_generator` gets for the variants (model, runtime, allow_pickle)."""
        return generator_options(model=self.model, runtime=self.runtime, allow_pickle=self.allow_pickle)


def validate(params: Mapping[str, Any]) -> CrowdParams:
    """Every check before reading a pixel: values, and the generator (name, options, model
    folder) when variants are generated. Run before any work and at ``--save-job``."""
    checked = CrowdParams.from_mapping(params)
    if checked.model and not checked.variants:
        raise UsageError(
            f"--model {checked.model}: the crowd uses a model only for generated variants (--variants N with "
            f"--generator NAME); without them it replicates the sources and would ignore it"
        )
    if checked.variants:
        from ...generators.registry import check_generator

        check_generator(checked.generator, **checked.generator_options())
    return checked
