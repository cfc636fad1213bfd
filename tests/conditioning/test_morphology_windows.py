"""Window extremes (conditioning.morphology.window_max/min) against a brute-force reference."""

from __future__ import annotations

import numpy as np
import pytest

from genpost_houdini.conditioning.morphology import window_max, window_min


def _brute(values: np.ndarray, r: int, fn, fill: float) -> np.ndarray:
    p = np.pad(values, r, constant_values=fill)
    h, w = values.shape
    out = np.full((h, w), fill, values.dtype)
    for dy in range(2 * r + 1):
        for dx in range(2 * r + 1):
            out = fn(out, p[dy:dy + h, dx:dx + w])
    return out


@pytest.mark.parametrize("r", [1, 3, 8])
def test_window_extremes_are_exact_up_to_eight_pixels(r: int) -> None:
    v = np.random.default_rng(r).normal(size=(37, 53)).astype(np.float32)
    assert np.array_equal(window_max(v, r), _brute(v, r, np.maximum, -np.inf))
    assert np.array_equal(window_min(v, r), _brute(v, r, np.minimum, np.inf))


def test_wide_windows_cover_at_least_the_window() -> None:
    v = np.random.default_rng(1).normal(size=(61, 47)).astype(np.float32)
    r = 13
    hi, lo = window_max(v, r), window_min(v, r)
    wide = 4 * -(-r // 4) + 3  # the documented bound
    assert (hi >= _brute(v, r, np.maximum, -np.inf)).all() and (hi <= _brute(v, wide, np.maximum, -np.inf)).all()
    assert (lo <= _brute(v, r, np.minimum, np.inf)).all() and (lo >= _brute(v, wide, np.minimum, np.inf)).all()
    assert not np.array_equal(hi, _brute(v, wide + 4, np.maximum, -np.inf))  # not the whole image
