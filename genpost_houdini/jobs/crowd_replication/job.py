"""The crowd job: placement, frames, outputs and the USD layer (see the package docstring)."""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ...progress import ProgressFn
from ...provenance import file_stamp, hash_data, make_provenance
from ...seeds import derive_seed
from ...shot.frames import format_frames, output_pattern
from ..common import OUTPUT_COMPRESSION, check_in_shot, claim_output, job_identity, layer_is_current, run_frames
from .params import JOB_KIND, LAYER_NAME, OUTPUT_NAME, CrowdParams, validate

log = logging.getLogger("genpost")


class CrowdReplication:
    def __init__(self, params: CrowdParams, out_dir: str | os.PathLike[str], *, progress: ProgressFn | None = None):
        from ...crowd.look import Look, camera_lens, camera_shutter, choose_light, parse_vector, plate_grade
        from ...crowd.placement import clamp_count, place_crowd, spacing_floor
        from ...crowd.region import Region
        from ...crowd.sources import load_source
        from ...crowd.variation import design_colourways, look_stats
        from ...shot.shot import Shot

        self.params = params
        self.out_dir = Path(out_dir).absolute()
        self.progress = progress or (lambda f, m: None)
        self.shot = Shot.open(params.stage, camera=params.camera, depth=params.depth, frames=params.frames,
                              plate=params.plate or None, depth_kind=params.depth_kind,
                              undistort=params.undistort or None, redistort=params.redistort or None)
        stage = self.shot.camera.stage
        first = self.shot.frames[0]
        # The region first: the count is bounded by what it holds before anything is allocated.
        self.region = Region.read(stage, params.region, first)
        self.up = self.region.up
        spacing, floor_note = spacing_floor(params.min_spacing, params.person_height)
        count, self.capacity, count_note = clamp_count(self.region, params.count, spacing)
        bounds_notes = [n for n in (floor_note, count_note) if n]
        for note in bounds_notes:
            log.warning(note)
            self.progress(0.0, note)
        self.sources = [
            load_source(
                i,
                pattern,
                matte=params.source_mattes[i] if params.source_mattes else None,
                frames=params.source_frames,
                require_consent=not params.no_consent_record,
            )
            for i, pattern in enumerate(params.sources)
        ]
        self.model_provenance: dict[str, Any] = {}
        if params.variants:
            self.sources += self._generated_variants()
        from pxr import UsdGeom

        light, light_source, light_angle = choose_light(parse_vector(params.light_direction or None, "--light-direction"),
                                                        stage, first, self.region)
        mpu = float(UsdGeom.GetStageMetersPerUnit(stage) or 1.0)
        self.look = Look(light=light, light_source=light_source, light_angle=light_angle,
                         shadow_density=params.shadow_density,
                         haze_distance=params.haze_distance / mpu if params.haze_distance > 0 else 0.0,
                         lens=camera_lens(self.shot, first), meters_per_unit=mpu,
                         shutter=params.shutter if params.shutter >= 0 else camera_shutter(self.shot, first))
        grade = plate_grade(self.shot, self.region, self.shot.frames)
        if grade:
            for key in ("gain", "lift", "haze_colour", "ground_luma"):
                if key in grade:
                    setattr(self.look, key, grade[key])
        facing: Any = params.facing if params.facing in ("random", "camera") else parse_vector(params.facing, "--facing")
        self.layout = place_crowd(
            self.region,
            [s.element for s in self.sources],  # type: ignore[misc]
            count=count,
            seed=params.seed,
            frames=self.shot.frames,
            fps=self.shot.camera.fps,
            spacing=spacing,
            walkers=params.walkers,
            facing=facing,
            look_at=parse_vector(params.look_at or None, "--look-at"),
            walk_direction=parse_vector(params.walk_direction or None, "--walk-direction"),
            person_height=params.person_height,
            height_sd=params.height_sd,
            colourways=params.colourways,
            camera_pos=self.shot.camera.view(first, 16, 16).position,
            cameras=[self.shot.camera.view(f, 16, 16).position for f in
                     sorted({first, self.shot.frames[len(self.shot.frames) // 2], self.shot.frames[-1]})]
            if params.stagger else None,
        )
        self.layout.notes[:0] = bounds_notes
        self.instances = self.layout.instances
        self.matrices = design_colourways([look_stats(s.sprites, s.variation) for s in self.sources], params.colourways)
        self.output = output_pattern(self.out_dir, OUTPUT_NAME)

    def _generated_variants(self) -> list[Any]:
        """N generated variants per source: different people, same motion and lighting.

        The generator repaints each source's person (alpha >= 0.5) over its whole sequence,
        conditioned on the alpha (what to repaint) and a flat depth, with the background and the
        alpha kept; seeds derive from (seed, source, variant). Each variant carries its
        source's consent record and the model's provenance.
        """
        import dataclasses as dc

        from ...generators.base import GenerationRequest
        from ...generators.registry import get_generator

        p = self.params
        generator = get_generator(p.generator, **p.generator_options())
        self.model_provenance = dict(generator.provenance())
        out: list[Any] = []
        for src in list(self.sources):
            alpha = src.sprites[..., 3]
            straight = np.where(alpha[..., None] > 1e-3, src.sprites[..., :3] / np.maximum(alpha[..., None], 1e-3), 0.18)
            person = alpha >= 0.5
            frames = list(range(1, len(src.sprites) + 1))
            for v in range(p.variants):
                self.progress(0.0, f"crowd: variant {v + 1}/{p.variants} of source {src.index}")
                request = GenerationRequest(
                    frames=frames,
                    images=np.where(person[..., None], 0.0, straight).astype(np.float32),
                    known=~person,
                    generate=person,
                    depth=np.full(alpha.shape, 0.5, np.float32),
                    seed=derive_seed(p.seed, src.index, f"crowd-variant-{v}"),
                    prompt=p.prompt or "a different person, same pose, same lighting",
                    negative_prompt=p.negative_prompt,
                )
                rgb = np.asarray(generator.generate(request), dtype=np.float32)
                rgb = np.where(person[..., None], rgb, straight)
                sprites = np.concatenate([rgb * alpha[..., None], alpha[..., None]], axis=-1).astype(np.float32)
                out.append(dc.replace(
                    src,
                    index=len(self.sources) + len(out),
                    sprites=sprites,
                    pixels=None,
                    info={**src.info, "variant_of": src.index, "variant": v, "generator": p.generator,
                          "model": {k: self.model_provenance.get(k, "") for k in ("model_id", "weights_hash", "licence")}},
                ))
        return out

    def identity(self) -> dict[str, Any]:
        """The job's identity for its output folder: inputs and parameters, not the frames."""
        params = dataclasses.asdict(self.params)
        params["camera"] = self.shot.camera.prim_path
        return job_identity(JOB_KIND, params, ("stage", "sources", "source_mattes", "depth", "plate", "model"))

    def job_key(self) -> str:
        p = self.params
        return hash_data(
            "crowd-v2",
            file_stamp(p.stage),
            self.shot.camera.prim_path,
            dataclasses.asdict(p),
            [[file_stamp(f) for f in self.shot.input_files(t)] for t in self.shot.frames],
            [[file_stamp(path) for path in _source_files(s)] for s in self.sources],
        )

    def shutter_times(self, frame: int) -> list[float]:
        """Sub-frame offsets across the shutter (centred on the frame, inside the shot)."""
        half = self.look.shutter / 2.0
        if half <= 0:
            return [0.0]
        lo, hi = self.shot.frames[0], self.shot.frames[-1]
        return [min(max(frame + t, lo), hi) - frame for t in np.linspace(-half, half, 5)]

    def render(self, frame: int) -> dict[str, np.ndarray]:
        from ...crowd.render import render_frame

        times = self.shutter_times(frame)
        width, height = self.shot.resolution
        views = [self.shot.camera.view(frame + t, width, height) for t in times]
        depth = self.shot.read("depth", frame)
        exposure = None
        if self.shot.plate is not None and self.look.ground_luma > 0:
            exposure = self._exposure(frame, views[len(views) // 2])
        return render_frame(self.layout, self.sources, self.matrices, frame, views, times, self.up, depth, self.look, exposure)

    def _exposure(self, frame: int, view: Any) -> Any:
        """Per person, the plate's brightness beside the feet relative to the region's."""
        from ...crowd.look import local_exposure
        from ...geometry import project

        plate = self.shot.read("plate", frame)
        e1, e2 = self.region.basis

        def factors(positions: np.ndarray, depth: np.ndarray) -> np.ndarray:
            offsets = np.array([e1, -e1, e2, -e2, (e1 + e2) * 0.7, -(e1 + e2) * 0.7]) * 0.45
            pts = positions[:, None, :] + offsets[None, :, :]
            uv, z = project(pts, view)
            uv = np.where((z > 1e-3)[..., None], uv, np.nan)
            return local_exposure(plate, uv, self.look.ground_luma)

        return factors

    def provenance(self, inputs_hash: str, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        consent_missing = self.params.no_consent_record
        return make_provenance(
            job=JOB_KIND,
            generator=self.params.generator or "replicate",
            seed=self.params.seed,
            inputs_hash=inputs_hash,
            prompt=self.params.prompt,
            model=self.model_provenance or {"model_id": "none (replication with variation)", "licence": ""},
            extra={
                "sources": [s.provenance() for s in self.sources],
                "no_consent_record": consent_missing,
                "instances": [[i.id, i.source, self.sources[i.source].provenance()["consent_reference"], i.offset, int(i.flip),
                               i.variant, int(i.walking)] for i in self.instances],
                "instance_fields": ["id", "source", "consent_reference", "offset", "flip", "colourway", "walking"],
                "look": self.look.to_json(),
                "count_requested": self.params.count,
                "region_capacity": self.capacity,
                **(extra or {}),
            },
        )

    def run(self, frames: Sequence[int] | None = None, *, force: bool = False) -> dict[str, Any]:
        from ...imageio import exr

        frames = list(self.shot.frames if frames is None else frames)
        started = time.perf_counter()
        check_in_shot(frames, self.shot.frames)
        manifest = claim_output(self.out_dir, self.identity(), force=force)
        key = self.job_key()
        visible: set[int] = set()

        def render(t: int, inputs_hash: str) -> dict[str, np.ndarray]:
            channels = self.render(t)
            if self.shot.lens is not None:  # rendered undistorted, published in plate space
                from ...shot.lens import redistort

                channels = redistort(channels, self.shot.lens.redistort(t), nearest=("Z", "crowd_id"))
            visible.update(int(v) for v in np.unique(channels["crowd_id"]) if v > 0)
            return channels

        def write(t: int, inputs_hash: str, channels: dict[str, np.ndarray]) -> list[Path]:
            path = exr.write_exr(
                self.output.path(t),
                channels,
                kinds={"R": "colour", "G": "colour", "B": "colour", "A": "colour", "Z": "depth", "crowd_id": "id",
                       "shadow": "mask"},
                compression=OUTPUT_COMPRESSION,
                metadata=self.provenance(inputs_hash, {"frame": t}),
                colourspace="ACEScg",
            )
            return [Path(path)]

        written, skipped = run_frames(
            out_dir=self.out_dir,
            frames=frames,
            shot_frames=self.shot.frames,
            inputs_hash=lambda t: hash_data(key, "frame", t),
            render=render,
            write=write,
            force=force,
            progress=self.progress,
            manifest=manifest,
        )
        layer = self.out_dir / LAYER_NAME
        if written or not layer_is_current(layer, key):
            layer = self.write_layer(key)
        return {
            "job": JOB_KIND,
            "out": str(self.out_dir),
            "images": self.output.hash_pattern,
            "layer": str(layer),
            "frames": format_frames(frames),
            "written": format_frames(written),
            "skipped": format_frames(skipped),
            "instances": len(self.instances),
            "walkers": sum(1 for i in self.instances if i.walking),
            "count_requested": self.params.count,
            "region_capacity": self.capacity,
            "notes": list(self.layout.notes),
            "visible_instances": len(visible) if written else None,  # counted over frames written now
            "seconds": round(time.perf_counter() - started, 3),
        }

    def write_layer(self, key: str) -> Path:
        from ...usd_out.crowd_layer import write_crowd_layer

        return write_crowd_layer(
            self.out_dir,
            LAYER_NAME,
            camera=self.shot.camera,
            frames=self.shot.frames,
            layout=self.layout,
            sources=self.sources,
            matrices=self.matrices,
            up=self.up,
            provenance=self.provenance(key),
        )


def _source_files(source: Any) -> list[Path]:
    from ...shot.frames import FrameSeq

    files = [FrameSeq.parse(source.pattern).path(f) for f in source.frames]
    if source.matte:
        files += [FrameSeq.parse(source.matte).path(f) for f in source.frames]
    return files


def run_job(params: Mapping[str, Any], frames: Sequence[int] | None = None, *, out_dir: str | os.PathLike[str], force: bool = False, progress: ProgressFn | None = None) -> dict[str, Any]:
    """The job-file entry point (``genpost run``): params as in :data:`JOB_PARAMS`."""
    job = CrowdReplication(validate(params), out_dir, progress=progress)
    return job.run(frames, force=force)
