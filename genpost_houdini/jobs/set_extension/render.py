"""Set extension's job: renders any frames of the shot range and publishes them.

:class:`SetExtension` ties the parts together: the plan (:mod:`.plan`, made once per shot and
cached), the fill stages (:mod:`.fill`), the output channels of a frame (:meth:`render`), the
work-unit loop that skips finished frames and publishes atomically (:meth:`run`), and the USD
layer (:meth:`write_layer`).

A frame's output is ``plate * (1 - m) + extension * m`` with the soft extend matte ``m``: the
plate where ``m == 0`` is copied, never resampled; along a keyed screen's soft edge the plate's
part is its foreground alone (:func:`~genpost_houdini.conditioning.plate.unmix_screen`: no
screen, no spill), so no dark or screen-coloured line runs along the matte edge. The extension is assembled in the depth's
(undistorted) space from trusted, degrained sources, blended in the gradient domain, taken back
to plate space through the redistort ST map (with a lens), and regrained with fresh grain of
the plate's statistics (seeded by frame). The blend's boundary is the frame's own plate as it is
output beside the edge (spill band included, never despilled there): the extension meets what
the viewer sees next to it.
"""

from __future__ import annotations

import functools
import os
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ...progress import ProgressFn
from ...provenance import file_stamp, hash_data, make_provenance
from ...shot.frames import format_frames, output_pattern
from ..common import OUTPUT_COMPRESSION, check_in_shot, claim_output, job_identity, layer_is_current, run_frames
from .canvas import output_source
from .fill import Filler
from .params import CONFIDENCE, JOB_KIND, LAYER_NAME, OUTPUT_KINDS, OUTPUT_NAME, OUTPUT_TYPES, PATH_PARAMS, SetExtensionParams, validate
from .plan import Plan, load_or_make_plan, make_plan, read_low_res
from .plates import PlateAnalysis, analyse_plates, load_or_analyse


#: The extension's own structure fades in over this many pixels from the matte edge (at
#: least; FADE_FRACTION of the image's larger side at high resolutions).
FADE_PX, FADE_FRACTION = 4, 0.03


def fade_px(width: int, height: int) -> int:
    """Pixels over which the extension's structure fades in from the matte edge."""
    return max(FADE_PX, int(round(FADE_FRACTION * max(width, height))))


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
            holdout=params.holdout,
            undistort=params.undistort,
            redistort=params.redistort,
            depth_kind=params.depth_kind,
        )
        self._plan: Plan | None = None
        self._plates: PlateAnalysis | None = None
        self._filler: Filler | None = None
        self.output = output_pattern(self.out_dir, OUTPUT_NAME)

    # -- identity -----------------------------------------------------------------------------
    def plan_key(self) -> str:
        """Hash of every input file (stamp) and every parameter that changes pixels."""
        p = self.params
        stamps = [[file_stamp(f) for f in self.shot.input_files(t)] for t in self.shot.frames]
        stage_stamp = file_stamp(p.stage)
        return hash_data(
            "setext-plan-v6",  # v2: one seed rule, hole windows = generator windows; v3: real plates; v4: unmixed edge, mover colour grown; v5: depth-aware blending (keyframes change); v6: the blend meets the plate as output
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
            p.screen,
            p.grain,
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
    def plates(self) -> PlateAnalysis:
        """The shot's plate conditions: screen, grain, moving content (cached in ``.genpost/``)."""
        if self._plates is None:
            key = self.plan_key()
            self._plates = load_or_analyse(self.work_dir, key, lambda: analyse_plates(self.shot, self.params, self.progress))
        return self._plates

    @property
    def plan(self) -> Plan:
        """The whole-shot plan (cached in ``.genpost/``; made at low resolution once)."""
        if self._plan is None:
            key = self.plan_key()

            def make() -> Plan:
                low = read_low_res(self.shot, self.progress, self.plates)
                return make_plan(key, self.shot.frames, low, max_sources=self.params.max_sources,
                                 max_keyframes=self.params.max_keyframes, progress=self.progress)

            self._plan = load_or_make_plan(self.work_dir, key, make)
        return self._plan

    @property
    def filler(self) -> Filler:
        """The fill stages under this job's plan (holds the generator and keyframe cache)."""
        if self._filler is None:
            self._filler = Filler(self.shot, self.plan, self.params, self.work_dir, progress=self.progress, plates=self.plates)
            self._filler.final_image = self.final_image
        return self._filler

    @property
    def generator(self) -> Any:
        return self.filler.generator

    @property
    def generator_seconds(self) -> float:
        return self.filler.generator_seconds

    # -- one frame ------------------------------------------------------------------------------
    def render(self, t: int) -> dict[str, np.ndarray]:
        """The output channels of frame ``t`` (plate space)."""
        return self._compose(t, self._extension(t))

    def final_image(self, t: int) -> np.ndarray:
        """Frame ``t``'s final colour in the depth's (CG) space: what a video generator's next
        window sees of an anchor frame (the published pixels, without a lens)."""
        if self.shot.lens is None:
            channels = self.render(t)
            return np.stack([channels[c] for c in "RGB"], axis=-1)
        c = self._extension(t)
        m = self.shot.read("matte", t)[..., None]
        return (self.shot.read("plate", t) * (1.0 - m) + c.image * m).astype(np.float32)

    def _extension(self, t: int) -> Any:
        """Frame ``t``'s canvas, filled and blended (CG space, degrained)."""
        depth = self.shot.read("depth", t)
        c = self.filler.canvas(t)
        self.filler.fill_from_plates(t, depth, c)
        self.filler.fill_from_keyframes(t, depth, c, self.plan.keyframes)
        tr = self.filler.trust(t)
        spare = c.missing & ~tr.need  # kept plate around the matte: context only, never output
        if spare.any():
            c.put_filled(spare)
        if c.missing.any() and getattr(self.generator, "temporal", False):
            c.put_generated(c.missing, self.filler.temporal_holes(t)[c.missing])
        else:
            self.filler.generator_seconds += self.filler.generate(t, depth, c, "holes")
        c.blend(tr.anchor, tr.image, kept=~tr.need, fade=fade_px(*self.shot.plate_resolution), generated_last=True)
        return c

    def _compose(self, t: int, c: Any) -> dict[str, np.ndarray]:
        """The output channels: ``plate * (1 - m) + extension * m`` in plate space, regrained."""
        from ...conditioning.grain import regrain
        from ...conditioning.plate import unmix_screen
        from ...seeds import derive_seed

        depth = self.shot.read("depth", t)
        ext, plate_w, other, z = c.image, c.plate, c.other, depth
        if self.shot.lens is not None:
            ext, plate_w, other, z = self._to_plate_space(t, ext, plate_w, other, depth)
        plate = self.shot.read_plate_space("plate", t)
        matte = self.shot.read_plate_space("matte", t)
        kept = matte <= 0
        if self.plates.grain.present:
            ext = regrain(ext, self.plates.grain, derive_seed(self.params.seed, t, "grain"), where=~kept)
        m = matte[..., None]
        # plate * (1 - m), without the screen and its spill where a keyed screen is behind the edge
        image = (unmix_screen(plate, matte, self.plates.screen) + np.where(kept[..., None], 0.0, ext) * m).astype(np.float32)
        image[kept] = plate[kept]  # the plate is never altered where the matte is 0
        source = output_source(matte, plate_w, other)
        confidence = np.ones(matte.shape, np.float32)
        for code, value in CONFIDENCE.items():
            confidence[source == code] = value
        finite_depth = np.where(np.isfinite(z), z, np.float32(np.inf)).astype(np.float32)
        return {
            "R": image[..., 0],
            "G": image[..., 1],
            "B": image[..., 2],
            "A": np.ones(matte.shape, np.float32),
            "source": source.astype(np.float32),
            "matte": matte.astype(np.float32),
            "confidence": confidence,
            "Z": finite_depth,
        }

    def _to_plate_space(self, t: int, ext: np.ndarray, plate_w: np.ndarray, other: np.ndarray, depth: np.ndarray) -> tuple[np.ndarray, ...]:
        """The extension and its records through the redistort ST map (colour: a cubic filter;
        weights bilinear; codes and depth: nearest)."""
        from ...shot.lens import redistort

        red = self.shot.lens.redistort(t)  # type: ignore[union-attr]
        ch = redistort({"R": ext[..., 0], "G": ext[..., 1], "B": ext[..., 2], "plate": plate_w,
                        "other": other.astype(np.float32), "Z": depth.astype(np.float32)}, red,
                       cubic=("R", "G", "B"), nearest=("other", "Z"))
        ext_p = np.stack([ch["R"], ch["G"], ch["B"]], axis=-1)
        return ext_p, ch["plate"], ch["other"].astype(np.uint8), ch["Z"]

    # -- the job --------------------------------------------------------------------------------
    def run(self, frames: Sequence[int] | None = None, *, force: bool = False) -> dict[str, Any]:
        """Render ``frames`` (default: the shot range); skip frames already done with the same inputs."""
        from ...imageio import exr

        frames = list(self.shot.frames if frames is None else frames)
        started = time.perf_counter()
        check_in_shot(frames, self.shot.frames)
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
        qc = self.plate_qc(frames)
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
            "screen": self.plates.screen.kind,
            "grain": self.plates.grain.present,
            "moving_frames": sorted(t for t, m in self.plates.moving.items() if m.any()),
            "missing_after_plates": plan.missing_after_plates,
            "missing_after_keyframes": plan.missing_after_keyframes,
            **qc,
            "seconds": round(elapsed, 3),
            "generator_seconds": round(self.generator_seconds, 3),
        }

    def plate_qc(self, frames: Sequence[int]) -> dict[str, Any]:
        """Real-plate QC of the published ``frames`` beside their warping error
        (:meth:`warping_qc`; qc.plate_report: ``spill_pixels``, ``leaked_pixels``,
        ``grain_ratio``, ``edge_step``, ``edge_step_plate``, ``edge_step_ratio``); the screen is
        the one the job found."""
        from ...imageio import exr
        from ...qc.plate_report import plate_report

        read = functools.lru_cache(maxsize=2)(lambda f: exr.read_rgb(self.output.path(f)))  # pairs read each frame twice
        report = plate_report(self.shot, read, frames, screen=self.plates.screen.kind)
        report.pop("screen", None)
        return {**self.warping_qc(frames, read), **report}

    def warping_qc(self, frames: Sequence[int], read: Any) -> dict[str, Any]:
        """``warping_error`` of the published ``frames`` over the extended pixels (matte >= 0.5)
        and ``plate_warping_error`` over the rest, as ``genpost qc`` measures them (in the
        depth's space: undistorted with a lens); None with fewer than two frames."""
        from ...qc.warping import warping_error

        measured = read
        if self.shot.lens is not None:
            from ...shot.lens import COLOUR_FILTER, warp_stmap

            measured = lambda f: warp_stmap(read(f), self.shot.lens.undistort(f), filtername=COLOUR_FILTER)[0]  # noqa: E731
        result = warping_error(self.shot, measured, frames)  # region: the extend matte >= 0.5
        return {"warping_error": result.region_error, "plate_warping_error": result.plate_error}

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
