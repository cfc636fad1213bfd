"""Set extension's job: renders any frames of the shot range and publishes them.

:class:`SetExtension` ties the parts together: the plan (:mod:`.plan`, made once per shot and
cached), the fill stages (:mod:`.fill`), the output channels of a frame (:meth:`render`), the
work-unit loop that skips finished frames and publishes atomically (:meth:`run`), and the USD
layer (:meth:`write_layer`). The plate's own pixels outside the mask are copied, never resampled.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ...errors import UsageError
from ...progress import ProgressFn
from ...provenance import file_stamp, hash_data, make_provenance
from ...shot.frames import format_frames, output_pattern
from ..common import OUTPUT_COMPRESSION, claim_output, job_identity, layer_is_current, run_frames
from .fill import Filler
from .params import CONFIDENCE, JOB_KIND, LAYER_NAME, OUTPUT_KINDS, OUTPUT_NAME, OUTPUT_TYPES, PATH_PARAMS, SOURCE_GENERATED, SetExtensionParams, validate
from .plan import Plan, load_or_make_plan, make_plan, read_low_res


class SetExtension:
    """One set-extension job over a shot range; renders any subset of it."""

    def __init__(self, params: SetExtensionParams, out_dir: str | os.PathLike[str], *, progress: ProgressFn | None = None):
        from ...shot.shot import Shot

        self.params = params
        self.out_dir = Path(out_dir).absolute()
        self.work_dir = self.out_dir / ".genpost"
        self.progress = progress or (lambda fraction, message: None)
        self.shot = Shot.open(
            params.stage,
            camera=params.camera,
            depth=params.depth,
            frames=params.frames,
            plate=params.plate,
            mask=params.extend,
            depth_kind=params.depth_kind,
        )
        self._plan: Plan | None = None
        self._filler: Filler | None = None
        self.output = output_pattern(self.out_dir, OUTPUT_NAME)

    # -- identity -----------------------------------------------------------------------------
    def plan_key(self) -> str:
        """Hash of every input file (stamp) and every parameter that changes pixels."""
        p = self.params
        stamps = [[file_stamp(f) for f in self.shot.input_files(t)] for t in self.shot.frames]
        stage_stamp = file_stamp(p.stage)
        return hash_data(
            "setext-plan-v2",  # v2: one seed rule (seeds.derive_seed), hole windows = generator windows
            stage_stamp,
            self.shot.camera.prim_path,
            stamps,
            p.generator,
            p.model or "",
            p.seed,
            p.prompt,
            p.negative_prompt,
            p.strength,
            p.max_keyframes,
            p.max_sources,
            p.depth_kind,
        )

    def identity(self) -> dict[str, Any]:
        """The job's identity for its output folder: inputs and parameters, not the frames."""
        from dataclasses import asdict

        params = asdict(self.params)
        params["camera"] = self.shot.camera.prim_path  # the camera found, named or not
        params["model"] = params["model"] or ""
        return job_identity(JOB_KIND, params, PATH_PARAMS)

    def frame_inputs_hash(self, frame: int) -> str:
        return hash_data(self.plan.key, "frame", frame)

    @property
    def plan(self) -> Plan:
        """The whole-shot plan (cached in ``.genpost/``; made at low resolution once)."""
        if self._plan is None:
            key = self.plan_key()

            def make() -> Plan:
                low = read_low_res(self.shot, self.progress)
                return make_plan(key, self.shot.frames, low, max_sources=self.params.max_sources,
                                 max_keyframes=self.params.max_keyframes, progress=self.progress)

            self._plan = load_or_make_plan(self.work_dir, key, make)
        return self._plan

    @property
    def filler(self) -> Filler:
        """The fill stages under this job's plan (holds the generator and keyframe cache)."""
        if self._filler is None:
            self._filler = Filler(self.shot, self.plan, self.params, self.work_dir, progress=self.progress)
        return self._filler

    @property
    def generator(self) -> Any:
        return self.filler.generator

    @property
    def generator_seconds(self) -> float:
        return self.filler.generator_seconds

    # -- one frame ------------------------------------------------------------------------------
    def render(self, t: int) -> dict[str, np.ndarray]:
        """The output channels of frame ``t``."""
        depth = self.shot.read("depth", t)
        plate = self.shot.read("plate", t)
        mask = self.shot.read("mask", t)
        image = plate.copy()
        source = np.zeros(mask.shape, np.uint8)
        missing = mask.copy()
        self.filler.fill_from_plates(t, depth, image, source, missing)
        self.filler.fill_from_keyframes(t, depth, image, source, missing, self.plan.keyframes)
        if missing.any() and getattr(self.generator, "temporal", False):
            filled = self.filler.temporal_holes(t)
            image[missing] = filled[missing]
            source[missing] = SOURCE_GENERATED
        else:
            self.filler.generator_seconds += self.filler.generate(t, depth, image, source, missing, "holes")
        image[~mask] = plate[~mask]  # the plate is never altered outside the mask
        confidence = np.zeros(mask.shape, np.float32)
        for code, value in CONFIDENCE.items():
            confidence[source == code] = value
        finite_depth = np.where(np.isfinite(depth), depth, np.float32(np.inf)).astype(np.float32)
        return {
            "R": image[..., 0],
            "G": image[..., 1],
            "B": image[..., 2],
            "A": np.ones(mask.shape, np.float32),
            "source": source.astype(np.float32),
            "matte": mask.astype(np.float32),
            "confidence": confidence,
            "Z": finite_depth,
        }

    # -- the job --------------------------------------------------------------------------------
    def run(self, frames: Sequence[int] | None = None, *, force: bool = False) -> dict[str, Any]:
        """Render ``frames`` (default: the shot range); skip frames already done with the same inputs."""
        from ...imageio import exr

        frames = list(self.shot.frames if frames is None else frames)
        started = time.perf_counter()
        outside = sorted(set(frames) - set(self.shot.frames))
        if outside:
            raise UsageError(f"frames {format_frames(outside)} lie outside the shot range {format_frames(self.shot.frames)}")
        manifest = claim_output(self.out_dir, self.identity(), force=force)
        try:
            plan = self.plan
        except BaseException:
            manifest.close()
            raise
        provenance_model: dict[str, Any] | None = None

        def render(t: int, inputs_hash: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
            nonlocal provenance_model
            channels = self.render(t)
            if provenance_model is None:
                provenance_model = dict(self.generator.provenance())
            prov = make_provenance(
                job=JOB_KIND,
                generator=self.params.generator,
                seed=self.params.seed,
                inputs_hash=inputs_hash,
                prompt=self.params.prompt,
                model=provenance_model,
                extra={"frame": t, "keyframes": plan.keyframes, "camera": self.shot.camera.prim_path},
            )
            return channels, prov

        def write(t: int, inputs_hash: str, data: tuple[dict[str, np.ndarray], dict[str, Any]]) -> list[Path]:
            channels, prov = data
            path = exr.write_exr(
                self.output.path(t),
                channels,
                kinds=OUTPUT_KINDS,
                types=OUTPUT_TYPES,
                compression=OUTPUT_COMPRESSION,
                metadata=prov,
                colourspace="ACEScg",
            )
            return [Path(path)]

        written, skipped = run_frames(
            out_dir=self.out_dir,
            frames=frames,
            shot_frames=self.shot.frames,
            inputs_hash=self.frame_inputs_hash,
            render=render,
            write=write,
            force=force,
            progress=self.progress,
            start=0.4,
            manifest=manifest,
        )
        layer = self.out_dir / LAYER_NAME
        if written or not layer_is_current(layer, self.plan.key):
            layer = self.write_layer(provenance_model)
        elapsed = time.perf_counter() - started
        return {
            "job": JOB_KIND,
            "out": str(self.out_dir),
            "images": str(self.output.hash_pattern),
            "layer": str(layer),
            "frames": format_frames(frames),
            "written": format_frames(written),
            "skipped": format_frames(skipped),
            "keyframes": plan.keyframes,
            "missing_after_plates": plan.missing_after_plates,
            "missing_after_keyframes": plan.missing_after_keyframes,
            "seconds": round(elapsed, 3),
            "generator_seconds": round(self.generator_seconds, 3),
        }

    def write_layer(self, model: Mapping[str, Any] | None) -> Path:
        from ...usd_out.aov_layer import write_card_layer

        if model is None:
            model = dict(self.generator.provenance())
        prov = make_provenance(
            job=JOB_KIND,
            generator=self.params.generator,
            seed=self.params.seed,
            inputs_hash=self.plan.key,
            prompt=self.params.prompt,
            model=model,
            extra={"keyframes": self.plan.keyframes, "frames": format_frames(self.shot.frames)},
        )
        return write_card_layer(
            self.out_dir / LAYER_NAME,
            camera=self.shot.camera,
            frames=self.shot.frames,
            image_name=f"{OUTPUT_NAME}.####.exr",
            resolution=self.shot.resolution,
            provenance=prov,
            colourspace="ACEScg",
            card_name="genpost_setext",
        )


def run_job(params: Mapping[str, Any], frames: Sequence[int] | None = None, *, out_dir: str | os.PathLike[str], force: bool = False, progress: ProgressFn | None = None) -> dict[str, Any]:
    """The job-file entry point (``genpost run``): params as in :data:`JOB_PARAMS`."""
    job = SetExtension(validate(params), out_dir, progress=progress)
    return job.run(frames, force=force)
