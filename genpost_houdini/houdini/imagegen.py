"""One image through a genpost generator: what the Generate SOP and the Copernicus snippet call.

Pure numpy in, numpy out (no hou). Models load through the shared runtime inside the generator,
so several nodes in one Houdini session share them.
"""

from __future__ import annotations

from typing import Any

from ..errors import BadInputError


def normalise_depth(depth: Any) -> Any:
    """Depth to [0, 1] over this image's own range, the jobs' rule
    (:class:`~genpost_houdini.conditioning.depth.DepthRange`: 0 near, 1 far / no hit)."""
    import numpy as np

    from ..conditioning.depth import DepthRange
    from ..errors import InvalidDepthError

    d = np.asarray(depth, dtype=np.float32)
    try:
        return DepthRange.from_depths([d]).normalise(d)
    except InvalidDepthError:  # no valid pixel: all far
        return np.ones_like(d, dtype=np.float32)


def generate_image(
    rgb: Any,
    depth: Any,
    mask: Any,
    *,
    frame: int,
    generator: str = "classical",
    seed: int = 0,
    prompt: str = "",
    strength: float = 1.0,
    model: str = "",
    where: str = "image",
) -> Any:
    """Fill the pixels where ``mask > 0.5`` of ``rgb`` (H, W, 3) with ``generator``; pixels
    outside the mask are returned unchanged. Non-classical generators need the model
    environment (activated here, with a message saying what to run when it is missing)."""
    import numpy as np

    rgb = np.asarray(rgb, dtype=np.float32)
    mask = np.asarray(mask, dtype=np.float32)
    if rgb.ndim != 3 or rgb.shape[-1] != 3:
        raise BadInputError(f"{where}: colour must be (H, W, 3), got {rgb.shape}")
    if mask.shape != rgb.shape[:2] or np.asarray(depth).shape != rgb.shape[:2]:
        raise BadInputError(f"{where}: colour {rgb.shape[:2]}, depth {np.asarray(depth).shape} and mask {mask.shape} differ in size")
    fill = mask > 0.5
    if not fill.any():
        return rgb.copy()
    if generator != "classical":
        from .env import activate_model_env

        activate_model_env()
    from ..generators.base import GenerationRequest
    from ..generators.registry import get_generator

    options = {"model": model} if model else {}
    gen = get_generator(generator, **options)
    known = ~fill
    images = np.where(known[..., None], np.nan_to_num(rgb), 0.0).astype(np.float32)
    request = GenerationRequest(
        frames=[int(frame)],
        images=images[None],
        known=known[None],
        generate=fill[None],
        depth=normalise_depth(depth)[None],
        seed=int(seed),
        prompt=prompt,
        strength=float(strength),
    )
    out = np.asarray(gen.generate(request))[0].astype(np.float32)
    out[known] = rgb[known]
    return out
