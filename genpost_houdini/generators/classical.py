"""The default generator: depth-guided patch-based synthesis. No weights, no GPU, no torch.

It continues the plate's own texture into the pixels to fill (PatchMatch + Wexler-style
completion, see :mod:`.patchmatch`): facade pixels copy facade texture at a similar depth, far
pixels copy far content. When the request carries the camera (options ``depth_metric``, ``K``,
``world_to_camera``, ``world_up``, as the set-extension job passes them), a first stage repeats
the known storeys of vertical surfaces upward in world space (:mod:`.facade`), and PatchMatch
fills only what that leaves, with the continued facades as known context (option
``facade=False`` turns the stage off). Frames are filled independently (``temporal = False``),
each with a seed derived from (seed, frame number), so any chunking of a frame range gives the
same pixels.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any, Optional

import numpy as np

from .. import __version__
from ..errors import BadInputError, UsageError
from ..progress import ProgressFn
from ..seeds import frame_seed
from .base import GenerationRequest, enforce_result
from .facade import PRIOR_RANGE, continue_facades
from .facade_geometry import VERTICAL_COS, camera_from_options
from .patchmatch import QUALITY, CompletionParams, complete

#: Options a request (``request.options``) or the constructor may set.
_TUNABLE = ("patch_size", "depth_weight", "position_weight", "pca_dims")
#: Options jobs pass to every backend that mean nothing here; accepted and ignored.
_IGNORED = frozenset({"model", "models", "allow_pickle", "runtime", "device", "dtype", "steps",
                      "guidance_scale", "conditioning_scale", "window", "overlap",
                      "depth_metric", "K", "world_to_camera", "world_up"})


def _flag(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise UsageError(f"classical generator: option {name}={value!r} must be true or false")


def _params(quality: Any, overrides: dict[str, Any]) -> CompletionParams:
    if str(quality) not in QUALITY:
        raise UsageError(f"classical generator: unknown quality {quality!r}; choose one of {', '.join(QUALITY)}")
    params = QUALITY[str(quality)]
    known_fields = {f.name for f in fields(CompletionParams)}
    clean: dict[str, Any] = {}
    for key, value in overrides.items():
        if value is None or key in _IGNORED:
            continue
        if key not in known_fields or key not in _TUNABLE:
            raise UsageError(f"classical generator: unknown option {key!r}; options: quality, {', '.join(_TUNABLE)}")
        try:
            num = float(value)
        except (TypeError, ValueError):
            raise UsageError(f"classical generator: option {key}={value!r} is not a number") from None
        if key in ("patch_size", "pca_dims"):
            if not num.is_integer() or num < 1 or (key == "patch_size" and int(num) % 2 == 0):
                raise UsageError(f"classical generator: {key} must be a positive (odd, for patch_size) integer, got {value!r}")
            clean[key] = int(num)
        else:
            if not np.isfinite(num) or num < 0:
                raise UsageError(f"classical generator: {key} must be a non-negative number, got {value!r}")
            clean[key] = num
    return replace(params, **clean)


class ClassicalGenerator:
    """Default: depth-guided patch synthesis that continues the plate's texture (no weights)."""

    name = "classical"
    temporal = False
    #: No weights: a --model given with this generator is refused by the registry (exit 2).
    takes_model = False
    description = "depth-guided PatchMatch completion that continues the plate's texture; no weights"
    #: What it takes for granted (``genpost generators`` prints these; README repeats them).
    assumptions = (
        f"facades: vertical surfaces (|normal . up| < {VERTICAL_COS:g}, up from the stage) repeat their known "
        "storeys upward in world space; a storey height the plate does not show twice is taken from the bay "
        f"spacing, bounded to {PRIOR_RANGE[0]:g}-{PRIOR_RANGE[1]:g} scene units (metres, the Solaris default)",
        "sky: far no-hit pixels (no depth) with almost nothing far in the plate to copy (fewer than "
        f"{CompletionParams().min_far_sources} known far pixels) are painted as a smooth daylight-blue "
        "gradient at the plate's exposure, not taken from the footage: give the depth render a backdrop, "
        "or use a model, for a night or overcast sky",
        "everything else: the plate's own texture, copied from pixels at a similar depth and nearby "
        "columns; nothing the plate never shows (signs, new materials, people) is invented",
        "frames are filled independently (seed from seed and frame); temporal consistency comes from "
        "the job's keyframes and reprojection, not from this generator",
    )

    def __init__(self, quality: str = "normal", facade: Any = True, **options: Any) -> None:
        self.quality = str(quality)
        self.facade = _flag(facade, "facade")  # world-space facade continuation when the camera is known
        self.options = dict(options)
        self.params = _params(self.quality, self.options)  # validate early

    @classmethod
    def availability(cls, options: Optional[dict[str, Any]] = None) -> tuple[bool, str]:
        return True, ""

    def provenance(self) -> dict[str, Any]:
        p = self.params
        return {
            "model_id": f"genpost-classical-patchmatch/{__version__}",
            "weights_hash": "",
            "licence": "no weights (algorithmic)",
            "quality": self.quality,
            "patch_size": p.patch_size,
            "depth_weight": p.depth_weight,
            "position_weight": p.position_weight,
            "facade_continuation": self.facade,
        }

    def _request_params(self, request: GenerationRequest) -> CompletionParams:
        opts = dict(self.options)
        quality = request.options.get("quality", self.quality)
        opts.update({k: v for k, v in request.options.items() if k in _TUNABLE})
        return _params(quality, opts)

    def generate(self, request: GenerationRequest, progress: Optional[ProgressFn] = None) -> np.ndarray:
        """Fill ``request.generate`` frame by frame; known pixels come back bit-exactly."""
        params = self._request_params(request)
        out = request.images.copy()
        nf = len(request.frames)
        cams = None
        if _flag(request.options.get("facade", self.facade), "facade"):
            cams = camera_from_options(request.options, nf, request.known.shape[1:])
        for i, frame in enumerate(request.frames):
            if not request.generate[i].any():
                continue
            rng = np.random.default_rng(frame_seed(request.seed, frame))

            def _frame_progress(frac: float, msg: str, _i: int = i, _f: int = frame) -> None:
                if progress is not None:
                    progress((_i + frac) / nf, f"frame {_f}: {msg}")

            image, known, todo = request.images[i], request.known[i], request.generate[i]
            depth = request.depth[i]
            if cams is not None:
                # repeat known storeys upward first; PatchMatch treats them as known context
                facade = continue_facades(image, known, todo, depth, cams[i], far_depth=params.far_depth)
                image, known, todo = facade.image, known | facade.filled, todo & ~facade.filled
                _frame_progress(0.0, f"facades continued ({int(facade.filled.sum())} px, {facade.mode})")
            try:
                out[i] = complete(
                    image,
                    known,
                    todo,
                    depth,
                    rng=rng,
                    params=params,
                    progress=_frame_progress,
                )
            except BadInputError as exc:
                raise BadInputError(f"frame {frame}: {exc}") from None
        if progress is not None:
            progress(1.0, "done")
        return enforce_result(request, out, generator=self.name)
