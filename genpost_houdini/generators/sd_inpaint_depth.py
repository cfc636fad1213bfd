"""``sd-inpaint-depth``: Stable Diffusion inpainting with a depth ControlNet (keyframes).

Contracts (beyond :class:`~genpost_houdini.generators.base.Generator`):

* Weights from local folders only, offline, safetensors unless ``allow_pickle``: ``model``
  (a path or a name under ``$GENPOST_MODELS``; default ``sd-inpaint-depth``) holds either a
  whole ``StableDiffusionControlNetInpaintPipeline`` or an SD inpainting pipeline, in which
  case the depth ControlNet comes from ``controlnet`` (path or name; default
  ``$GENPOST_MODELS/controlnet-depth``).
* Frames are independent (``temporal = False``); each frame's seed is
  ``frame_seed(request seed, frame number)``, so chunking never changes pixels.
* The model sees display space (OpenColorIO view), the mask of pixels to generate (white) and
  the shot-normalised depth as a control image (near = bright); output returns through the
  inverse view; pixels not asked for are copied from ``request.images`` bit-exactly.
* ``request.strength`` is the img2img strength (at least one step always runs);
  ``controlnet_conditioning_scale`` weighs the depth control.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from pathlib import Path
from typing import Any, Mapping, Optional

import numpy as np

from ..errors import ModelError, OutputCheckError, UsageError
from ..progress import ProgressFn
from ..seeds import frame_seed
from .base import GenerationRequest, enforce_result
from .diffusers_common import DiffusersBackend

log = logging.getLogger("genpost.generators")

PIPELINE_CLASS = "StableDiffusionControlNetInpaintPipeline"
BASE_CLASSES = (PIPELINE_CLASS, "StableDiffusionInpaintPipeline")
DEFAULT_MODEL_NAME = "sd-inpaint-depth"
DEFAULT_CONTROLNET_NAME = "controlnet-depth"
REQUEST_OPTIONS = ("steps", "guidance_scale", "controlnet_conditioning_scale")


class SdInpaintDepthGenerator(DiffusersBackend):
    """Stable Diffusion inpainting + depth ControlNet from local folders (per frame)."""

    PIPELINE_CLASS = PIPELINE_CLASS

    name = "sd-inpaint-depth"
    temporal = False
    description = "Stable Diffusion inpainting with a depth ControlNet, per keyframe (diffusers, local weights)"

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        controlnet: str | os.PathLike[str] | None = None,
        allow_pickle: bool = False,
        runtime: str = "auto",
        device: str | None = None,
        dtype: str | None = None,
        steps: int = 30,
        guidance_scale: float = 7.5,
        controlnet_conditioning_scale: float = 1.0,
        max_area: int | None = 512 * 512,
    ) -> None:
        from ..runtime.loading import check_model_folder, resolve_model_dir

        if int(steps) < 1:
            raise UsageError(f"sd-inpaint-depth: steps must be >= 1, got {steps}")
        self.model_dir = resolve_model_dir(model, DEFAULT_MODEL_NAME)
        self.folder = check_model_folder(self.model_dir, allow_pickle=allow_pickle, expect_class=BASE_CLASSES)
        self.controlnet_dir = self._controlnet_dir(controlnet, allow_pickle)
        self.allow_pickle = bool(allow_pickle)
        self.runtime = str(runtime or "auto")
        self.device_pref = device
        self.dtype_pref = dtype
        self.steps = int(steps)
        self.guidance_scale = float(guidance_scale)
        self.controlnet_conditioning_scale = float(controlnet_conditioning_scale)
        self.max_area = int(max_area) if max_area else None
        self._choice: Any = None
        self._provenance: dict[str, Any] | None = None
        self._last_seed: int | None = None

    def _controlnet_dir(self, controlnet: str | os.PathLike[str] | None, allow_pickle: bool) -> Path | None:
        from ..runtime.loading import check_model_folder, models_root, resolve_model_dir

        if controlnet is not None and str(controlnet).strip():
            path = resolve_model_dir(controlnet, DEFAULT_CONTROLNET_NAME)
        elif "controlnet" in self.folder.index and (self.model_dir / "controlnet").is_dir():
            return None  # the pipeline folder carries its ControlNet
        else:
            root = models_root()
            candidate = root / DEFAULT_CONTROLNET_NAME if root is not None else None
            if candidate is None or not candidate.is_dir():
                raise ModelError(
                    f"{self.model_dir}: has no controlnet component; pass controlnet=PATH (a depth "
                    f"ControlNet folder) or put one in $GENPOST_MODELS/{DEFAULT_CONTROLNET_NAME}"
                )
            path = candidate.resolve()
        check_model_folder(path, allow_pickle=allow_pickle, pipeline=False, expect_class="ControlNetModel")
        return path

    # -- plugin hooks -------------------------------------------------------------------------
    @classmethod
    def availability(cls, options: Mapping[str, Any]) -> tuple[bool, str]:
        """Whether diffusers is importable and the model (and ControlNet) folders are usable."""
        for mod in ("torch", "diffusers", "transformers"):
            if importlib.util.find_spec(mod) is None:
                return False, f"{mod} is not installed (pip install genpost-houdini[models])"
        try:
            probe = cls.__new__(cls)
            from ..runtime.loading import check_model_folder, resolve_model_dir

            allow = bool(options.get("allow_pickle"))
            probe.model_dir = resolve_model_dir(options.get("model"), DEFAULT_MODEL_NAME)
            probe.folder = check_model_folder(probe.model_dir, allow_pickle=allow, expect_class=BASE_CLASSES)
            probe._controlnet_dir(options.get("controlnet"), allow)
        except ModelError as exc:
            return False, f"no weights: {exc}"
        return True, f"weights in {probe.model_dir}"

    def _model_provenance(self) -> dict[str, Any]:
        """The base model's card, combined with the ControlNet's (weights hash and licence)."""
        from ..runtime.loading import model_provenance

        prov = model_provenance(self.model_dir)
        if self.controlnet_dir is not None:
            cn = model_provenance(self.controlnet_dir)
            prov["controlnet"] = cn
            prov["weights_hash"] = _combine(prov["weights_hash"], cn["weights_hash"])
            if cn["licence"] != prov["licence"]:
                prov["licence"] = f"{prov['licence']}; controlnet: {cn['licence']}"
        return prov

    def _provenance_settings(self) -> dict[str, Any]:
        return {
            "steps": self.steps,
            "guidance_scale": self.guidance_scale,
            "controlnet_conditioning_scale": self.controlnet_conditioning_scale,
            "seed_rule": "frame_seed(seed, frame)",
        }

    # -- loading ------------------------------------------------------------------------------
    def pipeline(self) -> Any:
        """The shared pipeline for these folders/device/dtype (loaded once per process)."""
        from ..runtime.registry import get_registry

        choice = self._device()
        key = (
            "sd-inpaint-depth",
            str(self.model_dir),
            str(self.controlnet_dir or ""),
            choice.device,
            choice.dtype,
            self.allow_pickle,
        )
        return get_registry().get(key, self._load)

    def _load(self) -> Any:
        from ..runtime.loading import load_model, load_pipeline
        from .diffusers_common import torch_dtype

        choice = self._device()
        dtype = torch_dtype(choice.dtype)
        extra: dict[str, Any] = {"safety_checker": None, "feature_extractor": None, "requires_safety_checker": False}
        if self.controlnet_dir is not None:
            extra["controlnet"] = load_model(
                "ControlNetModel", self.controlnet_dir, allow_pickle=self.allow_pickle, torch_dtype=dtype
            )
        pipe = load_pipeline(PIPELINE_CLASS, self.model_dir, allow_pickle=self.allow_pickle, torch_dtype=dtype, **extra)
        pipe.to(choice.device)
        if self.runtime not in ("auto", "torch"):
            log.warning("sd-inpaint-depth: runtime %r is not supported for UNet pipelines; using torch", self.runtime)
        return pipe

    # -- generation ---------------------------------------------------------------------------
    def generate(self, request: GenerationRequest, progress: Optional[ProgressFn] = None) -> np.ndarray:
        """Fill ``request.generate`` frame by frame; returns (F, H, W, 3) scene-linear."""
        f_count = len(request.frames)
        result = np.array(request.images, dtype=np.float32, copy=True)
        opts = {k: request.options[k] for k in REQUEST_OPTIONS if k in request.options}
        steps = int(opts.get("steps", self.steps))
        guidance = float(opts.get("guidance_scale", self.guidance_scale))
        cn_scale = float(opts.get("controlnet_conditioning_scale", self.controlnet_conditioning_scale))
        self._last_seed = request.seed
        done = 0
        for i, frame in enumerate(request.frames):
            if progress is not None:
                progress(i / max(1, f_count), f"sd-inpaint-depth: frame {frame}")
            if request.generate[i].any():
                result[i] = self._run_frame(request, i, steps, guidance, cn_scale)
            done += 1
        if progress is not None:
            progress(1.0, "sd-inpaint-depth: done")
        if done != f_count or result.shape != request.images.shape:
            raise OutputCheckError(f"sd-inpaint-depth: produced {done} of {f_count} frames")
        return enforce_result(request, result, generator=self.name)

    def _run_frame(self, request: GenerationRequest, i: int, steps: int, guidance: float, cn_scale: float) -> np.ndarray:
        import torch

        from .diffusers_common import GridFit, composite, depth_control, from_model_rgb, to_model_rgb

        pipe = self.pipeline()
        _, height, width = request.shape
        multiple = int(pipe.vae_scale_factor) * 2 ** (len(pipe.unet.config.block_out_channels) - 1)
        fit = GridFit.make(height, width, multiple, self.max_area)
        image = fit.forward(to_model_rgb(request.images[i : i + 1], request.colourspace))
        control = fit.forward(depth_control(request.depth[i : i + 1]))
        mask = fit.forward_mask(request.generate[i : i + 1]).astype(np.float32)

        def nchw(a: np.ndarray) -> Any:
            return torch.from_numpy(np.ascontiguousarray(a.transpose(0, 3, 1, 2)))

        # the strength schedule keeps int(steps * strength) steps: at least one must run
        strength = max(float(request.strength), 1.0 / steps)
        seed = frame_seed(request.seed, request.frames[i])
        kwargs: dict[str, Any] = {
            "image": nchw(image),
            "mask_image": torch.from_numpy(mask[:, None]),
            "control_image": nchw(control),
            "height": fit.mh,
            "width": fit.mw,
            "strength": strength,
            "num_inference_steps": steps,
            "guidance_scale": guidance,
            "controlnet_conditioning_scale": cn_scale,
            "generator": torch.Generator(device="cpu").manual_seed(seed),
            "output_type": "np",
        }
        if getattr(pipe, "text_encoder", None) is not None and getattr(pipe, "tokenizer", None) is not None:
            kwargs["prompt"] = request.prompt or ""
            if guidance > 1.0:
                kwargs["negative_prompt"] = request.negative_prompt or ""
        else:
            dim = int(pipe.unet.config.cross_attention_dim)
            zeros = torch.zeros(1, 77, dim, dtype=pipe.unet.dtype)
            kwargs["prompt_embeds"] = zeros
            if guidance > 1.0:
                kwargs["negative_prompt_embeds"] = zeros.clone()
        out = np.asarray(pipe(**kwargs).images, dtype=np.float32)
        if out.shape != (1, fit.mh, fit.mw, 3):
            raise OutputCheckError(
                f"sd-inpaint-depth: frame {request.frames[i]}: pipeline returned {out.shape}, "
                f"expected {(1, fit.mh, fit.mw, 3)}"
            )
        scene = from_model_rgb(fit.back(out), request.colourspace)[0]
        return composite(request.images[i], scene, request.generate[i])

    def __repr__(self) -> str:
        return f"SdInpaintDepthGenerator(model={str(self.model_dir)!r})"


def _combine(a: str, b: str) -> str:
    import hashlib

    return hashlib.sha256(f"{a}\0{b}".encode("ascii")).hexdigest()
