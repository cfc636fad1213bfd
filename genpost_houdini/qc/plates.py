"""Image measures of a set extension on a real plate: grain, seams at the matte edge, screen cast.

Each measure works on one frame and returns sums (so a shot's figure is a ratio of sums, not a
mean of ratios). They need no truth: QC applies them to the output and to the plate itself,
the evaluation harness (:mod:`.truth_score`) to the output and to the truth.

- **High-frequency energy**: mean square of ``image - blur(image)`` (3x3 binomial) over a
  region; on a flat surface it is the grain's energy.
- **Edge step**: the matte edge's seam. For each pixel of the matte's ramp, the mean of the
  nearby fully extended pixels (a strip ``strip`` pixels wide inside the edge) and of the nearby
  kept pixels (a strip outside, starting ``gap`` pixels beyond the ramp) are compared, within a
  ``radius`` window; the step is the mean absolute difference (over RGB). Averaging over the
  window removes grain, so the figure is the low-frequency seam an artist sees.
- **Screen cast**: the fraction of pixels visibly of the screen's hue: the screen's dominant
  channel exceeds the larger of the other two by more than ``CAST_THRESHOLD`` of the pixel's
  mean level.
"""

from __future__ import annotations

import numpy as np

from ..conditioning.morphology import box_sum, dilate
from ..conditioning.plate import SCREEN_CHANNEL, hue_excess

#: Excess of the screen's channel (relative to the pixel's mean level) that reads as a cast.
CAST_THRESHOLD = 0.12


def high_pass(image: np.ndarray) -> np.ndarray:
    """``image - blur(image)`` with a 3x3 binomial blur (edges replicated), (H, W, C)."""
    img = np.asarray(image, dtype=np.float32)
    p = np.pad(img, ((1, 1), (1, 1), (0, 0)), mode="edge")
    rows = 0.25 * p[:-2] + 0.5 * p[1:-1] + 0.25 * p[2:]
    blur = 0.25 * rows[:, :-2] + 0.5 * rows[:, 1:-1] + 0.25 * rows[:, 2:]
    return img - blur


def hf_energy_sums(image: np.ndarray, region: np.ndarray) -> tuple[float, int]:
    """(sum of squared high-pass values over ``region`` and RGB, number of values)."""
    hp = high_pass(image)
    sel = hp[np.asarray(region, bool)]
    return float(np.square(sel, dtype=np.float64).sum()), int(sel.size)


def edge_strips(matte: np.ndarray, *, strip: int = 4, gap: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(inside strip, outside strip, ramp) of a soft matte's edge.

    Inside: fully extended pixels (matte >= 0.999) within ``strip`` of the rest; outside: kept
    pixels (matte == 0) between ``gap`` and ``gap + strip`` pixels from any matte > 0; ramp: the
    pixels where the step is evaluated (0 < matte < 1, or both sides of a hard edge).
    """
    full = matte >= 0.999
    touched = matte > 0
    inside = full & dilate(~full, strip)
    near = dilate(touched, gap + strip)
    outside = ~touched & near & ~dilate(touched, gap) if gap > 0 else ~touched & near
    ramp = touched & ~full
    if not ramp.any():  # a hard matte: evaluate on the pixels either side of the edge
        ramp = (full & dilate(~touched, 1)) | (~touched & dilate(full, 1))
    return inside, outside, ramp


def edge_step_sums(image: np.ndarray, matte: np.ndarray, *, strip: int = 4, gap: int = 0, radius: int = 12) -> tuple[float, int]:
    """(sum over ramp pixels of the inside/outside mean difference, number of ramp pixels used)."""
    inside, outside, ramp = edge_strips(matte, strip=strip, gap=gap)
    if not inside.any() or not outside.any():
        return 0.0, 0
    img = np.asarray(image, dtype=np.float64)
    n_in = box_sum(inside.astype(np.float64), radius)
    n_out = box_sum(outside.astype(np.float64), radius)
    s_in = box_sum(img * inside[..., None], radius)
    s_out = box_sum(img * outside[..., None], radius)
    use = ramp & (n_in >= 4) & (n_out >= 4)
    if not use.any():
        return 0.0, 0
    m_in = s_in[use] / n_in[use][:, None]
    m_out = s_out[use] / n_out[use][:, None]
    return float(np.abs(m_in - m_out).mean(axis=1).sum()), int(use.sum())


def screen_cast(image: np.ndarray, screen: str) -> np.ndarray:
    """Bool (H, W): pixels visibly of the screen's hue (see the module docstring)."""
    return hue_excess(image, SCREEN_CHANNEL[screen]) > CAST_THRESHOLD
