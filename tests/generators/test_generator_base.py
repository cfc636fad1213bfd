"""GenerationRequest validation and the output contract every backend is held to."""

from __future__ import annotations

import numpy as np
import pytest

from genpost_houdini.errors import BadInputError, OutputCheckError, UsageError
from genpost_houdini.generators.base import GenerationRequest, enforce_result
from genpost_houdini.seeds import derive_seed, frame_seed


def _arrays(f: int = 2, h: int = 8, w: int = 10):
    rng = np.random.default_rng(0)
    images = rng.random((f, h, w, 3), dtype=np.float32)
    known = np.ones((f, h, w), dtype=bool)
    known[:, :3] = False
    generate = ~known
    depth = np.full((f, h, w), 0.5, dtype=np.float32)
    return dict(frames=list(range(1001, 1001 + f)), images=images, known=known, generate=generate, depth=depth)


def test_valid_request_is_normalised() -> None:
    a = _arrays()
    a["images"] = a["images"].astype(np.float64)
    a["images"][0, 0, 0] = np.nan  # unknown pixel: ignored, stored as 0
    req = GenerationRequest(**a, seed=7)
    assert req.images.dtype == np.float32
    assert req.images[0, 0, 0].tolist() == [0.0, 0.0, 0.0]
    assert req.shape == (2, 8, 10)
    one = req.frame(1)
    assert one.frames == [1002] and one.images.shape == (1, 8, 10, 3) and one.seed == 7


@pytest.mark.parametrize(
    "change, error, words",
    [
        (lambda a: a.update(images=a["images"][..., :2]), BadInputError, "(F, H, W, 3)"),
        (lambda a: a.update(known=a["known"][:, :, :-1]), BadInputError, "known has shape"),
        (lambda a: a.update(depth=a["depth"][:1]), BadInputError, "depth has shape"),
        (lambda a: a.update(frames=[1001]), BadInputError, "1 frame numbers for 2 images"),
        (lambda a: a.update(frames=[5, 5]), BadInputError, "repeated frame"),
        (lambda a: a.update(images=(a["images"] * 255).astype(np.uint8)), UsageError, "floating point"),
        (lambda a: a.update(generate=np.ones_like(a["generate"])), BadInputError, "both known and to generate"),
        (lambda a: a["images"].__setitem__((1, 5, 5, 0), np.inf), BadInputError, "frame 1002"),
        (lambda a: a["depth"].__setitem__((0, 1, 1), np.nan), BadInputError, "depth holds NaN"),
        (lambda a: a["depth"].__setitem__((0, 1, 1), 3.0), BadInputError, "not shot-normalised"),
        (lambda a: a.update(known=a["known"].astype(np.float32) * 0.5), BadInputError, "other than 0 and 1"),
    ],
)
def test_bad_requests_are_refused(change, error, words) -> None:
    a = _arrays()
    change(a)
    with pytest.raises(error, match=None) as info:
        GenerationRequest(**a)
    assert words in str(info.value)


def test_bad_scalars_are_refused() -> None:
    with pytest.raises(UsageError, match="seed"):
        GenerationRequest(**_arrays(), seed=-1)
    with pytest.raises(UsageError, match="strength"):
        GenerationRequest(**_arrays(), strength=2.0)


def test_masks_given_as_numbers_are_accepted() -> None:
    a = _arrays()
    a["known"] = a["known"].astype(np.uint8)
    a["generate"] = a["generate"].astype(np.float32)
    req = GenerationRequest(**a)
    assert req.known.dtype == bool and req.generate.dtype == bool


def test_enforce_result_restores_known_pixels_bit_exactly() -> None:
    req = GenerationRequest(**_arrays())
    out = req.images + 0.25  # a backend that touched everything
    fixed = enforce_result(req, out)
    np.testing.assert_array_equal(fixed[req.known], req.images[req.known])
    np.testing.assert_array_equal(fixed[req.generate], out[req.generate])


def test_enforce_result_refuses_bad_outputs() -> None:
    req = GenerationRequest(**_arrays())
    with pytest.raises(OutputCheckError, match="shape"):
        enforce_result(req, req.images[:1], generator="toy")
    bad = req.images.copy()
    bad[1, 0, 0] = np.nan  # a generated pixel
    with pytest.raises(OutputCheckError, match="toy: frame 1002"):
        enforce_result(req, bad, generator="toy")


def test_frame_seed_is_numpys_seed_sequence_of_seed_and_frame() -> None:
    # The rule, written out independently: SeedSequence([seed lo, seed hi, frame, "gen"]), 63 bits.
    for seed, frame in ((3, 1001), (2**40 + 7, 12), (0, 0)):
        words = [seed & 0xFFFFFFFF, seed >> 32, frame & 0xFFFFFFFF, 0x67656E]
        expected = int(np.random.SeedSequence(words).generate_state(1, dtype=np.uint64)[0]) >> 1
        assert frame_seed(seed, frame) == expected
    assert len({frame_seed(3, 1001), frame_seed(3, 1002), frame_seed(4, 1001)}) == 3
    assert 0 <= frame_seed(2**40, 10**6) < 2**63


def test_derive_seed_purposes_differ_and_no_purpose_is_frame_seed() -> None:
    assert derive_seed(3, 1001) == frame_seed(3, 1001)
    seeds = {derive_seed(3, 1001, p) for p in ("", "keyframe:0", "holes:0", "holes-window")}
    assert len(seeds) == 4
