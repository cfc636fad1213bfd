"""sd-inpaint-depth through the real StableDiffusionControlNetInpaintPipeline (tiny, CPU)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from genpost_houdini.errors import ModelError
from genpost_houdini.generators.base import GenerationRequest
from genpost_houdini.generators.sd_inpaint_depth import SdInpaintDepthGenerator

SETTINGS = dict(steps=2, device="cpu")


def make_request(frames: list[int], seed: int = 5, size: int = 32) -> GenerationRequest:
    images, generate = [], []
    for f in frames:
        rng = np.random.default_rng(f)
        img = (rng.random((size, size, 3)) * 3.0).astype(np.float32)
        gen = np.zeros((size, size), bool)
        gen[size // 2 :, :] = True
        img[gen] = 0.0
        images.append(img)
        generate.append(gen)
    gen_a = np.stack(generate)
    depth = np.tile(np.linspace(0.0, 1.0, size, dtype=np.float32)[:, None], (len(frames), 1, size))
    return GenerationRequest(
        frames=frames, images=np.stack(images), known=~gen_a, generate=gen_a, depth=depth, seed=seed,
        prompt="a wide shot of a city", negative_prompt="blurry",
    )


@pytest.fixture(scope="module")
def sd(tiny_sd: Path) -> SdInpaintDepthGenerator:
    return SdInpaintDepthGenerator(tiny_sd, **SETTINGS)


def test_keyframes_fill_only_the_mask(sd: SdInpaintDepthGenerator) -> None:
    request = make_request([1001, 1002])
    out = sd.generate(request)
    assert out.shape == request.images.shape
    assert np.array_equal(out[request.known], request.images[request.known])
    gen = out[request.generate]
    assert np.isfinite(gen).all() and len(np.unique(gen.round(4))) > 50
    # frames are independent and seeded by frame number: one at a time gives the same pixels
    alone = sd.generate(make_request([1002]))
    assert np.array_equal(alone[0], out[1])
    assert not np.array_equal(out[0][request.generate[0]], out[1][request.generate[1]])


def test_separate_controlnet_folder_and_provenance(tiny_sd: Path) -> None:
    gen = SdInpaintDepthGenerator(tiny_sd, controlnet=tiny_sd / "controlnet", **SETTINGS)
    request = make_request([1003])
    out = gen.generate(request)
    assert np.array_equal(out[request.known], request.images[request.known])
    prov = gen.provenance()
    assert prov["model_id"] == "genpost/tiny-sd-inpaint-depth"
    assert prov["licence"] == "Apache-2.0 (random weights, test only)"
    assert len(prov["weights_hash"]) == 64 and "controlnet" in prov


def test_refuses_a_wan_folder(tiny_wan: Path) -> None:
    with pytest.raises(ModelError, match="expected StableDiffusionControlNetInpaintPipeline"):
        SdInpaintDepthGenerator(tiny_wan)
    ok, reason = SdInpaintDepthGenerator.availability({"model": str(tiny_wan)})
    assert not ok and "WanVACEPipeline" in reason
