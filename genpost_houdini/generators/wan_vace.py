"""``wan-vace``: video inpainting/outpainting with diffusers' WanVACEPipeline (temporal).

Contracts (beyond :class:`~genpost_houdini.generators.base.Generator`):

* Weights from a local folder only: ``model`` (a path, or a name under ``$GENPOST_MODELS``;
  default ``$GENPOST_MODELS/wan-vace``), offline, safetensors unless ``allow_pickle``.
* Conditioning follows VACE's repaint + control composition: the model's video is
  ``display(images) * (1 - mask) + control * mask`` with ``mask`` = pixels to generate (white)
  and ``control`` = the shot-normalised depth as an image (near = bright).
* Temporal windows of ``window`` = 4k+1 frames laid on frame numbers from the shot's first
  frame (``request.shot_first``; ``window_origin`` overrides it, the request's first frame
  stands in when neither is given; see :mod:`~genpost_houdini.generators.windows`),
  overlapping by ``overlap`` frames; every window
  after the first is anchored on the frames the previous one made final (passed fully known).
  Seeds come from (request seed, window start frame), so chunk boundaries never change noise.
* Frames are fitted to the model grid (multiples of 16 for Wan) and brought back to plate
  resolution; generated pixels leave display space through the inverse view (not clamped at
  1.0 in scene-linear); pixels not asked for are copied from ``request.images`` bit-exactly.
* ``conditioning_scale`` weighs the VACE control (the pipeline has no img2img strength;
  ``request.strength`` is recorded by the job, not used here). ``steps``, ``guidance_scale`` and
  ``conditioning_scale`` can be overridden per request in ``request.options``.
* A request of one frame (a keyframe) runs as a 1-frame video; a partial window runs the
  shortest 4k+1 span holding its frames.
* fp16/bf16 on a GPU, fp32 on CPU (:func:`~genpost_houdini.runtime.device.choose_device`); the
  pipeline is loaded once per (folder, device, dtype, runtime) through the process registry.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import os
from typing import Any, Mapping, Optional

import numpy as np

from ..errors import ModelError, OutputCheckError, UsageError
from ..progress import ProgressFn
from ..seeds import frame_seed
from .base import GenerationRequest, enforce_result
from .diffusers_common import DiffusersBackend
from .windows import DEFAULT_OVERLAP, DEFAULT_WINDOW, Window, check_window, plan_windows

log = logging.getLogger("genpost.generators")

PIPELINE_CLASS = "WanVACEPipeline"
DEFAULT_MODEL_NAME = "wan-vace"
#: Per-request overrides a job may put in ``request.options``.
REQUEST_OPTIONS = ("steps", "guidance_scale", "conditioning_scale")


def _deps_missing() -> str:
    for mod in ("torch", "diffusers", "transformers"):
        if importlib.util.find_spec(mod) is None:
            return f"{mod} is not installed (pip install genpost-houdini[models])"
    return ""


class WanVaceGenerator(DiffusersBackend):
    """Wan 2.1 VACE video inpainting from a local model folder (temporal, depth-controlled)."""

    PIPELINE_CLASS = PIPELINE_CLASS

    name = "wan-vace"
    temporal = True
    description = "Wan VACE video inpainting with depth control, temporal windows (diffusers, local weights)"

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        allow_pickle: bool = False,
        runtime: str = "auto",
        device: str | None = None,
        dtype: str | None = None,
        steps: int = 25,
        guidance_scale: float = 5.0,
        conditioning_scale: float = 1.0,
        window: int = DEFAULT_WINDOW,
        overlap: int = DEFAULT_OVERLAP,
        window_origin: int | None = None,
        max_area: int | None = 832 * 480,
        control: str = "depth",
        max_sequence_length: int = 512,
        engine_cache: str | os.PathLike[str] | None = None,
    ) -> None:
        from ..runtime.loading import check_model_folder, resolve_model_dir

        check_window(int(window), int(overlap))
        if control not in ("depth", "none"):
            raise UsageError(f"wan-vace: control must be 'depth' or 'none', got {control!r}")
        if int(steps) < 1:
            raise UsageError(f"wan-vace: steps must be >= 1, got {steps}")
        self.model_dir = resolve_model_dir(model, DEFAULT_MODEL_NAME)
        self.folder = check_model_folder(self.model_dir, allow_pickle=allow_pickle, expect_class=PIPELINE_CLASS)
        self.allow_pickle = bool(allow_pickle)
        self.runtime = str(runtime or "auto")
        self.device_pref = device
        self.dtype_pref = dtype
        self.steps = int(steps)
        self.guidance_scale = float(guidance_scale)
        self.conditioning_scale = float(conditioning_scale)
        self.window = int(window)
        self.overlap = int(overlap)
        self.window_origin = None if window_origin is None else int(window_origin)
        self.max_area = int(max_area) if max_area else None
        self.control = control
        self.max_sequence_length = int(max_sequence_length)
        self.engine_cache = engine_cache
        self._choice: Any = None
        self._provenance: dict[str, Any] | None = None
        self._last_seed: int | None = None

    # -- plugin hooks -------------------------------------------------------------------------
    @classmethod
    def availability(cls, options: Mapping[str, Any]) -> tuple[bool, str]:
        """Whether diffusers is importable and a WanVACEPipeline folder is where options say."""
        missing = _deps_missing()
        if missing:
            return False, missing
        from ..runtime.loading import check_model_folder, resolve_model_dir

        try:
            path = resolve_model_dir(options.get("model"), DEFAULT_MODEL_NAME)
            check_model_folder(path, allow_pickle=bool(options.get("allow_pickle")), expect_class=PIPELINE_CLASS)
        except ModelError as exc:
            return False, f"no weights: {exc}"
        return True, f"weights in {path}"

    def _model_provenance(self) -> dict[str, Any]:
        from ..runtime.loading import model_provenance

        return model_provenance(self.model_dir)

    def _provenance_settings(self) -> dict[str, Any]:
        return {
            "runtime": self.runtime,
            "steps": self.steps,
            "guidance_scale": self.guidance_scale,
            "conditioning_scale": self.conditioning_scale,
            "window": self.window,
            "overlap": self.overlap,
            "window_origin": self.window_origin,
            "seed_rule": "frame_seed(seed, window start frame)",
        }

    # -- loading ------------------------------------------------------------------------------
    def pipeline(self) -> Any:
        """The shared pipeline for this folder/device/dtype/runtime (loaded once per process)."""
        from ..runtime.registry import get_registry

        choice = self._device()
        key = ("wan-vace", str(self.model_dir), choice.device, choice.dtype, self.runtime, self.allow_pickle)
        return get_registry().get(key, self._load, size_bytes=None)

    def _load(self) -> Any:
        from ..runtime.loading import load_pipeline
        from .diffusers_common import torch_dtype

        choice = self._device()
        dtype = torch_dtype(choice.dtype)
        pipe = load_pipeline(PIPELINE_CLASS, self.model_dir, allow_pickle=self.allow_pickle, torch_dtype=dtype)
        if choice.dtype != "float32":  # the Wan VAE is meant to run in fp32
            import torch

            pipe.vae.to(torch.float32)
        pipe.to(choice.device)
        if self.runtime != "torch":
            from ..runtime.denoiser import swap_denoiser

            pipe = swap_denoiser(pipe, self.runtime, self.engine_cache)
        return pipe

    # -- generation ---------------------------------------------------------------------------
    def _settings(self, request: GenerationRequest) -> dict[str, Any]:
        opts = {k: request.options[k] for k in REQUEST_OPTIONS if k in request.options}
        return {
            "steps": int(opts.get("steps", self.steps)),
            "guidance_scale": float(opts.get("guidance_scale", self.guidance_scale)),
            "conditioning_scale": float(opts.get("conditioning_scale", self.conditioning_scale)),
        }

    def generate(self, request: GenerationRequest, progress: Optional[ProgressFn] = None) -> np.ndarray:
        """Fill ``request.generate`` window by window; returns (F, H, W, 3) scene-linear."""
        f_count, height, width = request.shape
        index = {f: i for i, f in enumerate(request.frames)}
        result = np.array(request.images, dtype=np.float32, copy=True)
        final: set[int] = set()  # request indices whose pixels are final
        origin = request.window_origin if self.window_origin is None else self.window_origin
        windows = plan_windows(request.frames, length=self.window, overlap=self.overlap, origin=origin)
        settings = self._settings(request)
        self._last_seed = request.seed
        for n, win in enumerate(windows):
            if progress is not None:
                progress(n / max(1, len(windows)), f"wan-vace: window {win.start}-{win.end}")
            present = [index[f] for f in win.frames if f in index]
            todo = [i for i in present if i not in final]
            if any(request.generate[i].any() for i in todo):
                self._run_window(request, win, present, final, result, settings)
            final.update(todo)
        if progress is not None:
            progress(1.0, "wan-vace: done")
        missing = [request.frames[i] for i in range(f_count) if i not in final]
        if missing or result.shape != (f_count, height, width, 3):
            raise OutputCheckError(f"wan-vace: frames {missing} were not produced (result shape {result.shape})")
        return enforce_result(request, result, generator=self.name)

    def _run_window(
        self,
        request: GenerationRequest,
        win: Window,
        present: list[int],
        final: set[int],
        result: np.ndarray,
        settings: dict[str, Any],
    ) -> None:
        import torch

        from .diffusers_common import GridFit, depth_control, from_model_rgb, to_model_rgb

        pipe = self.pipeline()
        frames = request.frames
        first = frames[present[0]]
        span = frames[present[-1]] - first + 1
        length = 4 * math.ceil((span - 1) / 4) + 1  # the shortest 4k+1 run holding the present frames
        run = list(range(first, first + length))
        present_frames = np.array([frames[i] for i in present])
        # every run position takes the nearest present frame (earlier on ties): deterministic padding
        source = [present[int(np.argmin(np.abs(present_frames - f)))] for f in run]

        _, height, width = request.shape
        images = np.empty((length, height, width, 3), np.float32)
        generate = np.zeros((length, height, width), bool)
        for p, i in enumerate(source):
            if i in final:  # an anchor: final pixels, fully known
                images[p] = result[i]
            else:
                images[p] = request.images[i]
                generate[p] = request.generate[i]
        depth = request.depth[source]

        base = pipe.vae_scale_factor_spatial * pipe.transformer.config.patch_size[1]
        fit = GridFit.make(height, width, base, self.max_area)
        display = fit.forward(to_model_rgb(images, request.colourspace))
        if self.control == "depth":
            control = fit.forward(depth_control(depth))
        else:
            control = np.full_like(display, 0.5)
        mask = fit.forward_mask(generate)[..., None].astype(np.float32)
        video = display * (1.0 - mask) + control * mask
        mask3 = np.repeat(mask, 3, axis=-1)

        seed = frame_seed(request.seed, win.start)
        kwargs: dict[str, Any] = {
            "video": video[None],
            "mask": mask3[None],
            "conditioning_scale": settings["conditioning_scale"],
            "height": fit.mh,
            "width": fit.mw,
            "num_frames": length,
            "num_inference_steps": settings["steps"],
            "guidance_scale": settings["guidance_scale"],
            "generator": torch.Generator(device="cpu").manual_seed(seed),
            "output_type": "np",
            "max_sequence_length": self.max_sequence_length,
        }
        kwargs.update(self._prompt_kwargs(pipe, request, settings["guidance_scale"]))
        log.debug("wan-vace: window %d-%d (run %d-%d, %dx%d, seed %d)", win.start, win.end, run[0], run[-1], fit.mw, fit.mh, seed)
        out = pipe(**kwargs).frames[0]
        out = np.asarray(out, dtype=np.float32)
        if out.shape != (length, fit.mh, fit.mw, 3):
            raise OutputCheckError(
                f"wan-vace: window {win.start}-{win.end}: pipeline returned {out.shape}, "
                f"expected {(length, fit.mh, fit.mw, 3)} (frames dropped?)"
            )
        scene = from_model_rgb(fit.back(out), request.colourspace)
        for p, f in enumerate(run):
            i = present[int(np.argmin(np.abs(present_frames - f)))]
            if frames[i] != f or i in final:
                continue  # padding, or an anchor already final
            g = request.generate[i]
            result[i][g] = scene[p][g]

    def _prompt_kwargs(self, pipe: Any, request: GenerationRequest, guidance: float) -> dict[str, Any]:
        if getattr(pipe, "text_encoder", None) is not None and getattr(pipe, "tokenizer", None) is not None:
            out: dict[str, Any] = {"prompt": request.prompt or ""}
            if guidance > 1.0:
                out["negative_prompt"] = request.negative_prompt or ""
            return out
        # no text encoder in the folder: a neutral (zero) embedding of the transformer's text width
        import torch

        dim = int(pipe.transformer.config.text_dim)
        dtype = getattr(pipe.transformer, "dtype", torch.float32)
        zeros = torch.zeros(1, self.max_sequence_length, dim, dtype=dtype)
        if request.prompt:
            log.warning("wan-vace: %s has no text encoder: the prompt is ignored", self.model_dir)
        out = {"prompt_embeds": zeros}
        if guidance > 1.0:
            out["negative_prompt_embeds"] = zeros.clone()
        return out

    def __repr__(self) -> str:
        return f"WanVaceGenerator(model={str(self.model_dir)!r}, runtime={self.runtime!r})"

