"""Film/sensor grain: measure it on the plate, remove it from sources, add it back fresh.

Grain must never stick to the scene: a grainy source pixel reprojected into another frame would
carry its grain with the surface (a frozen pattern sliding with the set), and bilinear
resampling would also thin it (the extension looks cleaner than the plate). So sources are
*degrained*, the extension is assembled clean, and fresh grain with the plate's statistics is
added to the extended pixels of every frame (seeded by frame: any chunking gives the same grain).

Model (:class:`GrainModel`): per channel, the grain's standard deviation as a function of the
pixel's value (a table over value bins, interpolated), and its spatial correlation as the sigma
``blur`` of a Gaussian applied to white noise. Measured (:func:`measure_grain`) on trusted plate
pixels from the finest wavelet details (robust MAD per value bin, so texture counts little);
``blur`` from the ratio of the two finest levels' energies. Degraining (:func:`degrain`) is an
a-trous B3-spline wavelet shrinkage with per-pixel thresholds from the model; regraining
(:func:`regrain`) adds ``sigma(value) * noise``.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Mapping

import numpy as np

#: Wavelet levels used (scales 1, 2, 4 pixels).
LEVELS = 3
#: Value bins of the sigma table.
BINS = 8
#: Grain is "present" when its median sigma exceeds this fraction of the value and PRESENT_ABS;
#: beyond MAX_REL of the value it is texture, not grain. Fewer samples than MIN_SAMPLES: none.
PRESENT_REL, PRESENT_ABS, MAX_REL, MIN_SAMPLES = 0.006, 0.0015, 0.2, 20_000
#: Shrinkage threshold, in grain sigmas of each wavelet level.
SHRINK = 2.0
#: Candidate correlation blurs (pixels) for measurement.
BLURS = (0.0, 0.3, 0.45, 0.6, 0.75, 0.9, 1.1, 1.3)
_B3 = np.array([1.0, 4.0, 6.0, 4.0, 1.0], np.float32) / 16.0


def _separable(x: np.ndarray, kernel: np.ndarray, step: int = 1) -> np.ndarray:
    """``x`` (H, W[, C]) convolved along rows and columns with a symmetric odd ``kernel`` whose
    taps are ``step`` pixels apart (a-trous holes), reflected edges, float32."""
    r = (len(kernel) // 2) * step
    out = np.asarray(x, dtype=np.float32)
    for axis in (0, 1):
        pad = [(0, 0)] * out.ndim
        pad[axis] = (r, r)
        p = np.pad(out, pad, mode="reflect")
        n = out.shape[axis]
        acc = np.zeros_like(out)
        for i, k in enumerate(kernel):
            o = i * step
            acc += np.float32(k) * (p[o:o + n] if axis == 0 else p[:, o:o + n])
        out = acc
    return out


def gauss_blur(x: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur of (H, W[, C]) with reflected edges (float32)."""
    if sigma <= 0:
        return np.array(x, dtype=np.float32)
    r = max(1, int(np.ceil(3 * sigma)))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    return _separable(x, k / k.sum())


def _atrous(x: np.ndarray, level: int) -> np.ndarray:
    """One a-trous B3-spline smoothing at ``level`` (holes of 2**level - 1), reflected edges."""
    return _separable(x, _B3, 2 ** level)


def wavelet_details(x: np.ndarray, levels: int = LEVELS) -> tuple[list[np.ndarray], np.ndarray]:
    """(details per level, residual smooth image): ``x = residual + sum(details)``."""
    c = np.asarray(x, dtype=np.float32)
    details = []
    for j in range(levels):
        s = _atrous(c, j)
        details.append(c - s)
        c = s
    return details, c


@functools.lru_cache(maxsize=None)
def _level_sigmas(blur: float) -> tuple[float, ...]:
    """Standard deviation of each wavelet level's details for unit-variance grain with ``blur``."""
    rng = np.random.default_rng(12345)
    n = rng.standard_normal((192, 192)).astype(np.float32)
    n = gauss_blur(n, blur)
    n /= n.std()
    details, _ = wavelet_details(n)
    return tuple(float(d[16:-16, 16:-16].std()) for d in details)


@dataclass(frozen=True)
class GrainModel:
    """Grain of a plate: ``sigma[c][i]`` at ``values[i]`` (per channel), correlation ``blur``."""

    present: bool
    values: tuple[float, ...] = ()
    sigma: tuple[tuple[float, ...], ...] = ()
    blur: float = 0.0

    def sigma_at(self, values: np.ndarray) -> np.ndarray:
        """Per-pixel grain sigma (H, W, 3) at scene-linear ``values`` (H, W, 3)."""
        out = np.zeros(values.shape, np.float32)
        if not self.present:
            return out
        for c in range(3):
            out[..., c] = np.interp(values[..., c], self.values, self.sigma[c]).astype(np.float32)
        return out

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "GrainModel":
        return cls(present=bool(data["present"]), values=tuple(float(v) for v in data.get("values", ())),
                   sigma=tuple(tuple(float(v) for v in row) for row in data.get("sigma", ())),
                   blur=float(data.get("blur", 0.0)))


NO_GRAIN = GrainModel(present=False)


#: Grain is measured on a grid of CROPS x CROPS tiles of CROP pixels (all of a small image).
CROPS, CROP = 3, 256


def _crops(shape: tuple[int, ...]) -> list[tuple[slice, slice]]:
    """Tiles spread evenly over an image of ``shape`` (the whole image when it is small)."""
    h, w = shape[:2]
    if h * w <= (CROPS * CROP) ** 2:
        return [(slice(0, h), slice(0, w))]
    out = []
    for i in range(CROPS):
        for j in range(CROPS):
            y0 = int(round(i * max(0, h - CROP) / max(1, CROPS - 1)))
            x0 = int(round(j * max(0, w - CROP) / max(1, CROPS - 1)))
            out.append((slice(y0, min(h, y0 + CROP)), slice(x0, min(w, x0 + CROP))))
    return out


def measure_grain(samples: Iterable[tuple[np.ndarray, np.ndarray]]) -> GrainModel:
    """The grain of ``(plate (H, W, 3), trusted (H, W) bool)`` pairs at full resolution (on a
    grid of tiles of each, so the cost does not grow with the plate's size).

    Per channel and value bin, the grain sigma is the robust spread (1.4826 MAD) of the finest
    wavelet details over trusted pixels, divided by that level's sigma for unit grain of the
    measured correlation. Returns :data:`NO_GRAIN` when too few pixels or the grain is below
    PRESENT_REL of the value (a clean render, quantisation, compression).
    """
    d0s, d1s, vals = [], [], []
    for plate, trusted in samples:
        for ys, xs in _crops(np.asarray(trusted).shape):
            details, smooth = wavelet_details(plate[ys, xs], 2)
            ok = np.array(trusted[ys, xs], dtype=bool)
            ok[:4] = ok[-4:] = False
            ok[:, :4] = ok[:, -4:] = False
            if ok.sum() < 64:
                continue
            d0s.append(details[0][ok])
            d1s.append(details[1][ok])
            vals.append(smooth[ok])
    if not vals:
        return NO_GRAIN
    d0, d1, v = np.concatenate(d0s), np.concatenate(d1s), np.concatenate(vals)
    if len(v) < MIN_SAMPLES:
        return NO_GRAIN
    mad = lambda a: 1.4826 * float(np.median(np.abs(a - np.median(a))))  # noqa: E731
    ratio = np.median([mad(d1[:, c]) / max(mad(d0[:, c]), 1e-9) for c in range(3)])
    widest = _level_sigmas(BLURS[-1])
    if ratio > 1.15 * widest[1] / widest[0]:
        return NO_GRAIN  # coarser than any grain: texture of a small or soft image, not grain
    blur = min(BLURS, key=lambda b: abs(_level_sigmas(b)[1] / _level_sigmas(b)[0] - ratio))
    unit0 = _level_sigmas(blur)[0]
    level = v.mean(axis=1)
    edges = np.quantile(level, np.linspace(0.0, 1.0, BINS + 1))
    centres, table = [], [[], [], []]
    for i in range(BINS):
        sel = (level >= edges[i]) & (level <= edges[i + 1])
        if sel.sum() < 64:
            continue
        centres.append(float(np.median(level[sel])))
        for c in range(3):
            table[c].append(mad(d0[sel, c]) / unit0)
    if not centres:
        return NO_GRAIN
    sig = np.asarray(table, np.float64)
    rel = np.median(sig / np.maximum(np.asarray(centres)[None, :], 0.02))
    present = bool(PRESENT_REL < rel < MAX_REL and np.median(sig) > PRESENT_ABS)
    if not present:
        return NO_GRAIN
    # a sigma table must be monotone in the bin order it was measured in: keep it as measured,
    # but never below zero
    return GrainModel(present=True, values=tuple(centres), sigma=tuple(tuple(max(0.0, float(s)) for s in row) for row in sig),
                      blur=float(blur))


def degrain(image: np.ndarray, model: GrainModel) -> np.ndarray:
    """``image`` (H, W, 3) with the modelled grain removed (wavelet garrote shrinkage).

    Thresholds per pixel and level: SHRINK x the grain sigma at the pixel's smoothed value x
    that level's unit sigma. Edges and texture well above the grain keep their contrast.
    """
    if not model.present:
        return np.asarray(image, np.float32)
    details, smooth = wavelet_details(image)
    sigma = model.sigma_at(smooth)
    units = _level_sigmas(model.blur)
    out = smooth.copy()
    for j, d in enumerate(details):
        t2 = np.square(SHRINK * units[j] * sigma)
        out += d * np.maximum(0.0, 1.0 - t2 / np.maximum(d * d, 1e-20))
    return out.astype(np.float32)


def grain_noise(shape: tuple[int, int], seed: int, blur: float) -> np.ndarray:
    """Unit-variance grain (H, W, 3) for one frame: white Gaussian noise blurred by ``blur`` and
    renormalised by the blur's theoretical gain (independent of the image content and size)."""
    rng = np.random.default_rng(seed)
    n = rng.standard_normal((shape[0], shape[1], 3), dtype=np.float32)
    if blur > 0:
        n = gauss_blur(n, blur)
        r = max(1, int(np.ceil(3 * blur)))
        k = np.exp(-0.5 * (np.arange(-r, r + 1) / blur) ** 2)
        k /= k.sum()
        n /= np.float32(np.sum(k * k))  # variance of a 2D separable blur: (sum k^2)^2; std: sum k^2
    return n


def regrain(image: np.ndarray, model: GrainModel, seed: int, where: np.ndarray | None = None) -> np.ndarray:
    """``image`` (H, W, 3) with fresh grain of ``model`` added (only at ``where`` when given)."""
    if not model.present:
        return np.asarray(image, np.float32)
    img = np.asarray(image, np.float32)
    noise = grain_noise(img.shape[:2], seed, model.blur)
    grain = model.sigma_at(img) * noise
    if where is not None:
        grain[~np.asarray(where, bool)] = 0.0
    return (img + grain).astype(np.float32)
