"""Screens and spill: which plate pixels may be a source (synthetic plates with known layout)."""

from __future__ import annotations

import numpy as np
import pytest

from genpost_houdini.conditioning.plate import (
    EDGE_MARGIN_PX, Screen, detect_screen, spill_band_px, untrusted_pixels,
)
from genpost_houdini.errors import UsageError

H, W = 120, 160
BLUE, GREEN = (0.035, 0.085, 0.42), (0.055, 0.36, 0.075)


def _plate(screen_rgb: tuple[float, float, float] | None, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A grey wall with a screen over the top 40 rows and a soft 6-pixel matte ramp."""
    plate = np.full((H, W, 3), 0.45, np.float32) + rng.normal(0, 0.01, (H, W, 3)).astype(np.float32)
    y = np.arange(H, dtype=np.float32)[:, None]
    matte = np.clip((43 - y) / 6.0, 0.0, 1.0) * np.ones((1, W), np.float32)
    if screen_rgb is not None:  # screen light spills onto the set near the edge
        spill = np.clip((49 - y) / 6.0, 0.0, 1.0) * (1 - matte)
        plate = (plate + 0.3 * spill[..., None] * np.asarray(screen_rgb, np.float32)) * (1 - matte[..., None]) \
            + np.asarray(screen_rgb, np.float32) * matte[..., None]
    return plate.astype(np.float32), matte.astype(np.float32)


def test_detects_blue_and_green_screens_and_none() -> None:
    rng = np.random.default_rng(0)
    blue = detect_screen([_plate(BLUE, rng)])
    assert blue.kind == "blue" and blue.present and blue.share > 0.9 and blue.spill
    assert np.allclose(blue.rgb, BLUE, atol=0.02)
    assert detect_screen([_plate(GREEN, rng)]).kind == "green"
    clean = detect_screen([_plate(None, rng)])  # the set itself under the matte: no screen
    assert clean.kind == "none" and not clean.present
    assert detect_screen([_plate(BLUE, rng)], "none").kind == "none"
    forced = detect_screen([_plate(None, rng)], "green")  # forced: pure hue when none is measured
    assert forced.kind == "green" and forced.rgb == (0.0, 1.0, 0.0)
    with pytest.raises(UsageError):
        detect_screen([], "purple")
    again = Screen.from_json(blue.to_json())
    assert again == blue


def test_untrusted_covers_matte_band_screen_colour_and_spill() -> None:
    rng = np.random.default_rng(1)
    plate, matte = _plate(BLUE, rng)
    screen = detect_screen([(plate, matte)])
    band = spill_band_px(W, H)
    # a screen-coloured patch far below the matte, and spill beyond the band
    plate[100:110, 20:30] = BLUE
    last = int(np.nonzero(matte[:, 0] > 0)[0].max())  # the last row the matte touches
    y_spill = last + band + 6
    plate[y_spill, 80:90] += np.asarray([0.0, 0.01, 0.12], np.float32)
    bad = untrusted_pixels(plate, matte, screen)
    assert bad[matte > 0].all()
    assert bad[last + band, :].all() and not bad[last + band + 8, 5:15].any()  # spill ends 6 rows below
    assert bad[100:110, 20:30].all()
    assert bad[y_spill, 80:90].all()
    assert bad[60:100, 40:150].mean() < 0.01  # the clean wall stays trusted


def test_without_a_screen_only_the_edge_is_excluded() -> None:
    rng = np.random.default_rng(2)
    plate, matte = _plate(None, rng)
    plate[100:110, 20:30] = BLUE  # a blue object on a plate without a screen is the set
    bad = untrusted_pixels(plate, matte, Screen("none"))
    assert bad[matte > 0].all()
    first_kept = int(np.argmax(matte[:, 0] == 0))
    assert bad[first_kept + EDGE_MARGIN_PX - 1].all() and not bad[first_kept + EDGE_MARGIN_PX + 1].any()
    assert not bad[100:110, 20:30].any()
