"""wan-vace through the real diffusers WanVACEPipeline on a tiny random model, on CPU."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from genpost_houdini.errors import ModelError
from genpost_houdini.generators.base import GenerationRequest
from genpost_houdini.generators.wan_vace import WanVaceGenerator

SETTINGS = dict(steps=2, window=9, overlap=1, window_origin=1001, runtime="torch", device="cpu", max_sequence_length=16)


def make_request(frames: list[int], *, height: int = 32, width: int = 32, seed: int = 3) -> GenerationRequest:
    """A deterministic shot: frame content depends on the frame number only (never on the request)."""
    images, generate, depth = [], [], []
    for f in frames:
        rng = np.random.default_rng(f)
        img = (rng.random((height, width, 3)) * 4.0).astype(np.float32)  # scene-linear, above 1.0 too
        gen = np.zeros((height, width), bool)
        gen[:, (width * 5) // 8 :] = True  # the right part is set extension
        gen[: height // 4, : width // 4] = (f % 2) == 0  # and a patch that comes and goes
        img[gen] = 0.0
        images.append(img)
        generate.append(gen)
        depth.append(np.tile(np.linspace(0.1, 0.9, width, dtype=np.float32), (height, 1)))
    generate_a = np.stack(generate)
    return GenerationRequest(
        frames=frames,
        images=np.stack(images),
        known=~generate_a,
        generate=generate_a,
        depth=np.stack(depth),
        seed=seed,
        prompt="a city street at night",
        negative_prompt="blurry, low quality",
    )


@pytest.fixture(scope="module")
def wan(tiny_wan: Path) -> WanVaceGenerator:
    return WanVaceGenerator(tiny_wan, **SETTINGS)


@pytest.fixture(scope="module")
def full_run(wan: WanVaceGenerator) -> tuple[GenerationRequest, np.ndarray]:
    request = make_request(list(range(1001, 1018)))
    return request, wan.generate(request)


def test_shapes_masks_and_colour(full_run: tuple[GenerationRequest, np.ndarray]) -> None:
    request, out = full_run
    assert out.shape == request.images.shape and out.dtype == np.float32
    assert np.array_equal(out[request.known], request.images[request.known])  # plate untouched, bit-exact
    generated = out[request.generate]
    assert np.isfinite(generated).all()
    assert not np.array_equal(generated, request.images[request.generate])  # something was generated
    assert generated.min() >= 0.0
    assert len(np.unique(generated.round(4))) > 50  # not a flat fill


def test_chunking_gives_the_same_pixels(wan: WanVaceGenerator, full_run: tuple[GenerationRequest, np.ndarray]) -> None:
    _, full = full_run
    first = wan.generate(make_request(list(range(1001, 1010))))
    assert np.array_equal(first, full[:9])
    # the second chunk gets its window's anchor (frame 1009) as final, fully known pixels
    second_req = make_request(list(range(1009, 1018)))
    anchor = np.zeros_like(second_req.generate[0])
    second_req = GenerationRequest(
        frames=second_req.frames,
        images=np.concatenate([first[-1:], second_req.images[1:]]),
        known=np.concatenate([~anchor[None], second_req.known[1:]]),
        generate=np.concatenate([anchor[None], second_req.generate[1:]]),
        depth=second_req.depth,
        seed=second_req.seed,
        prompt=second_req.prompt,
        negative_prompt=second_req.negative_prompt,
    )
    second = wan.generate(second_req)
    assert np.array_equal(second[1:], full[9:])


def test_farm_chunk_widened_by_chunk_frames(wan: WanVaceGenerator, full_run: tuple[GenerationRequest, np.ndarray]) -> None:
    """An off-grid farm chunk (1012-1014), widened as a job would, reproduces the whole-shot pixels."""
    from genpost_houdini.generators.windows import chunk_frames

    _, full = full_run
    frames, anchors = chunk_frames(1012, 1014, shot_first=1001, shot_last=1017, length=9, overlap=1, origin=1001)
    assert frames == list(range(1009, 1018)) and anchors == [1009]
    req = make_request(frames)
    a = [frames.index(f) for f in anchors]
    images, known, generate = req.images.copy(), req.known.copy(), req.generate.copy()
    images[a] = full[[f - 1001 for f in anchors]]  # final pixels written by an earlier chunk
    known[a], generate[a] = True, False
    chunk = wan.generate(
        GenerationRequest(frames=frames, images=images, known=known, generate=generate, depth=req.depth,
                          seed=req.seed, prompt=req.prompt, negative_prompt=req.negative_prompt)
    )
    assert np.array_equal(chunk[3:6], full[11:14])


def test_seed_changes_generated_pixels_only(wan: WanVaceGenerator, full_run: tuple[GenerationRequest, np.ndarray]) -> None:
    request, full = full_run
    frames = list(range(1001, 1010))
    other = wan.generate(make_request(frames, seed=4))
    gen = request.generate[:9]
    assert np.array_equal(other[~gen], full[:9][~gen])
    assert not np.array_equal(other[gen], full[:9][gen])


def test_off_grid_resolution_round_trips(tiny_wan: Path) -> None:
    request = make_request([1001, 1002], height=20, width=28)  # runs at 32x32 (grid 16)
    out = WanVaceGenerator(tiny_wan, **SETTINGS).generate(request)
    assert out.shape == (2, 20, 28, 3)
    assert np.array_equal(out[request.known], request.images[request.known])
    assert np.isfinite(out).all()


def test_provenance_and_availability(tiny_wan: Path, wan: WanVaceGenerator, tmp_path: Path) -> None:
    prov = wan.provenance()
    assert prov["model_id"] == "genpost/tiny-wan-vace"
    assert len(prov["weights_hash"]) == 64
    assert prov["licence"] == "Apache-2.0 (random weights, test only)"
    assert prov["dtype"] == "float32" and prov["device"] == "cpu"
    ok, reason = WanVaceGenerator.availability({"model": str(tiny_wan)})
    assert ok, reason
    ok, reason = WanVaceGenerator.availability({"model": str(tmp_path / "absent")})
    assert not ok and "absent" in reason
    with pytest.raises(ModelError, match="absent"):
        WanVaceGenerator(tmp_path / "absent")


def test_registry_builds_it_from_entry_point(tiny_wan: Path) -> None:
    from genpost_houdini.generators.registry import get_generator

    gen = get_generator("wan-vace", model=str(tiny_wan), runtime="torch")
    assert gen.temporal and gen.name == "wan-vace"


def test_folder_without_text_encoder_uses_prompt_embeds(tiny_wan: Path, tmp_path: Path) -> None:
    folder = tmp_path / "no-text"
    shutil.copytree(tiny_wan, folder)
    shutil.rmtree(folder / "text_encoder")
    shutil.rmtree(folder / "tokenizer")
    index = json.loads((folder / "model_index.json").read_text())
    index["text_encoder"] = [None, None]
    index["tokenizer"] = [None, None]
    (folder / "model_index.json").write_text(json.dumps(index))
    request = make_request([1001, 1002])
    out = WanVaceGenerator(folder, **SETTINGS).generate(request)
    assert np.array_equal(out[request.known], request.images[request.known])
    assert np.isfinite(out).all()
