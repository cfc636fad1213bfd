"""Which plate pixels can be trusted: soft mattes, screens and their spill.

A real plate's extend matte is soft (0..1). The output is ``plate * (1 - m) + extension * m``,
so the plate where ``m == 0`` is never altered. But only *clean* plate pixels may be copied into
other frames or shown to the generator as context: a pixel under a partial matte mixes the
screen into the scene, screen light spills onto the set near the matte's edge, and anything of
the screen's colour (a screen corner outside the matte, a reflection) is not the set.

- :func:`detect_screen` decides, once per shot, whether a blue or green screen lies under the
  matte (``auto``), and measures its colour and the plate's normal level of the screen's hue;
- :func:`untrusted_pixels` gives, per frame, the plate pixels that are never a source or
  context: partial matte, a spill band along the matte edge, screen-coloured pixels, and pixels
  near the matte with the screen's hue above the plate's normal level (adaptive spill);
- :func:`unmix_screen` takes the screen out of a keyed matte's soft edge: there the plate is
  ``scene * (1 - m) + screen * m`` (with the screen's light spilled on the scene), so the
  output's ``plate * (1 - m)`` part would show a dark, screen-coloured line along the edge.

Conventions: images (H, W, 3) scene-linear float32; mattes (H, W) float32 in [0, 1].
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Iterable, Mapping

import numpy as np

from ..errors import UsageError
from .morphology import box_sum, dilate

SCREEN_CHOICES = ("auto", "blue", "green", "none")
#: Dominant channel of each screen colour.
SCREEN_CHANNEL = {"blue": 2, "green": 1}
#: A pixel is of a screen's hue when its dominance (screen channel over the larger other one,
#: relative to the screen channel) exceeds this; auto-detection needs this share of the
#: fully matted pixels to be of one screen's hue.
SCREEN_DOMINANCE, SCREEN_SHARE = 0.3, 0.5
#: Band along the matte edge never trusted: pixels (at least), and as a fraction of the image's
#: larger side, when a screen is present; without a screen only anti-aliasing is excluded.
SPILL_BAND_PX, SPILL_BAND_FRACTION, EDGE_MARGIN_PX = 4, 0.02, 2
#: The screen behind a soft edge is the mean of the pure screen within this radius (pixels, at
#: least; UNMIX_FRACTION of the image's larger side).
UNMIX_PX, UNMIX_FRACTION = 12, 0.02
#: Adaptive spill: within this many bands of the matte, a pixel whose hue excess exceeds the
#: plate's normal level by SPILL_EXCESS is spill. The edge spills when its median hue excess
#: exceeds the set's typical one by SPILL_SEEN.
SPILL_SEARCH_BANDS, SPILL_EXCESS, SPILL_SEEN = 4, 0.04, 0.02


@dataclass(frozen=True)
class Screen:
    """A detected (or forced) screen: ``kind`` blue/green/none, its colour, and the plate's
    excess of the screen's hue over kept pixels far from the matte: ``normal_excess`` (99th
    percentile: the most the set itself shows; beyond it a pixel is screen light or spill) and
    ``typical_excess`` (median: what despilled pixels near the matte are brought back to)."""

    kind: str
    rgb: tuple[float, float, float] | None = None
    normal_excess: float = 0.0
    share: float = 0.0
    typical_excess: float = 0.0
    #: Screen light spills onto the set near the matte (the band along the edge is more of the
    #: screen's hue than the set far from it): then a spill band is never trusted.
    spill: bool = True

    @property
    def present(self) -> bool:
        return self.kind in SCREEN_CHANNEL

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Screen":
        rgb = data.get("rgb")
        return cls(kind=str(data["kind"]), rgb=tuple(rgb) if rgb is not None else None,  # type: ignore[arg-type]
                   normal_excess=float(data.get("normal_excess", 0.0)), share=float(data.get("share", 0.0)),
                   typical_excess=float(data.get("typical_excess", 0.0)), spill=bool(data.get("spill", True)))


def box_down(image: np.ndarray, factor: int) -> np.ndarray:
    """Mean over ``factor`` x ``factor`` blocks of (H, W[, C]) (a partial last block is dropped);
    block (i, j) covers pixels ``[i f, (i + 1) f)`` x ``[j f, (j + 1) f)``."""
    a = np.asarray(image, np.float32)
    if factor <= 1:
        return a
    h, w = a.shape[0] // factor, a.shape[1] // factor
    rest = a.shape[2:]
    c = int(np.prod(rest)) if rest else 1
    rows = a[: h * factor, : w * factor].reshape(h, factor, w * factor * c).sum(axis=1)  # contiguous sums
    out = rows.reshape(h, w, factor, c).sum(axis=2) / np.float32(factor * factor)
    return out.reshape((h, w) + rest).astype(np.float32, copy=False)


def _level(img: np.ndarray) -> np.ndarray:
    """The mean of R, G, B (explicit: faster than a reduction over the last axis)."""
    return (img[..., 0] + img[..., 1] + img[..., 2]) * np.float32(1.0 / 3.0)


def hue_excess(image: np.ndarray, channel: int) -> np.ndarray:
    """(H, W): the ``channel`` minus the larger other channel, relative to the pixel's mean level."""
    img = np.asarray(image, dtype=np.float32)
    others = [c for c in range(3) if c != channel]
    excess = img[..., channel] - np.maximum(img[..., others[0]], img[..., others[1]])
    return excess / (np.maximum(_level(img), 0.0) + 0.02)


def dominance(image: np.ndarray, channel: int) -> np.ndarray:
    """(H, W): ``channel`` over the larger other channel, relative to ``channel`` (1 = pure hue)."""
    img = np.asarray(image, dtype=np.float32)
    others = [c for c in range(3) if c != channel]
    top = np.maximum(img[..., channel], 1e-6)
    return (img[..., channel] - np.maximum(img[..., others[0]], img[..., others[1]])) / top


def spill_band_px(width: int, height: int) -> int:
    """The spill band's width in pixels for an image of this size (when a screen is present)."""
    return max(SPILL_BAND_PX, int(round(SPILL_BAND_FRACTION * max(width, height))))


def detect_screen(samples: Iterable[tuple[np.ndarray, np.ndarray]], choice: str = "auto") -> Screen:
    """Decide the shot's screen from ``(plate, matte)`` pairs (any resolution, e.g. low-res).

    ``choice``: ``auto`` (a screen when at least SCREEN_SHARE of the fully matted pixels have
    its hue), ``blue``/``green`` (forced; colour measured when present, else pure hue), ``none``.
    """
    if choice not in SCREEN_CHOICES:
        raise UsageError(f"--screen must be one of {', '.join(SCREEN_CHOICES)}, got {choice!r}")
    if choice == "none":
        return Screen("none")
    under: list[np.ndarray] = []
    kept: list[np.ndarray] = []
    near: list[np.ndarray] = []
    for plate, matte in samples:
        full = matte >= 0.999
        if full.any():
            under.append(plate[full])
        touched = matte > 0
        far = ~dilate(touched, max(4, int(0.05 * max(matte.shape))))
        if far.any():
            kept.append(plate[far])
        ring = dilate(touched, 2) & ~touched  # the kept plate right along the edge
        if ring.any():
            near.append(plate[ring])
    pix = np.concatenate(under) if under else np.zeros((0, 3), np.float32)
    kept_pix = np.concatenate(kept) if kept else np.zeros((0, 3), np.float32)
    best, best_share = "none", 0.0
    kinds = list(SCREEN_CHANNEL) if choice == "auto" else [choice]
    for kind in kinds:
        if not pix.size:
            break
        share = float((dominance(pix[:, None, :], SCREEN_CHANNEL[kind])[:, 0] > SCREEN_DOMINANCE).mean())
        if share > best_share:
            best, best_share = kind, share
    if choice == "auto" and best_share < SCREEN_SHARE:
        return Screen("none", share=best_share)
    kind = best if choice == "auto" else choice
    ch = SCREEN_CHANNEL[kind]
    if pix.size:
        hue = dominance(pix[:, None, :], ch)[:, 0] > SCREEN_DOMINANCE
        rgb = tuple(float(v) for v in np.median(pix[hue], axis=0)) if hue.any() else None
    else:
        rgb = None
    if rgb is None:
        rgb = tuple(1.0 if c == ch else 0.0 for c in range(3))
    excess = hue_excess(kept_pix[:, None, :], ch)[:, 0] if kept_pix.size else np.zeros(1, np.float32)
    normal, typical = (float(v) for v in np.quantile(excess, [0.99, 0.5]))
    near_pix = np.concatenate(near) if near else np.zeros((0, 3), np.float32)
    spill = bool(near_pix.size and float(np.median(hue_excess(near_pix[:, None, :], ch)[:, 0])) > typical + SPILL_SEEN)
    return Screen(kind, rgb=rgb, normal_excess=max(normal, 0.0), share=best_share, typical_excess=typical,  # type: ignore[arg-type]
                  spill=spill)


def screen_tinted(image: np.ndarray, screen: Screen) -> np.ndarray:
    """(H, W) bool: pixels with more of the screen's hue than the set normally shows."""
    if not screen.present:
        return np.zeros(np.asarray(image).shape[:2], bool)
    return hue_excess(image, SCREEN_CHANNEL[screen.kind]) > screen.normal_excess + SPILL_EXCESS


def unmix_screen(plate: np.ndarray, matte: np.ndarray, screen: Screen) -> np.ndarray:
    """The part ``plate * (1 - m)`` of the output ``plate * (1 - m) + extension * m`` where a
    keyed screen lies behind the soft edge: the foreground alone, without the screen and its
    spill, so the edge meets the extension without a dark or screen-coloured line.

    A plate pixel of the edge is ``fg + screen * m`` (``fg``: the scene premultiplied by
    ``1 - m``, screen light spilled on it). The screen behind it is the local mean of the pure
    screen (matte >= 0.999 and of the screen's hue) within UNMIX_PX; ``fg`` is then despilled
    (the screen's channel clamped against the larger other channel (classic despill), and the screen's colour in the same
    proportion taken from the other channels). Pixels without pure screen nearby (a soft matte
    over the set, no screen) and pixels with matte 0 or 1 keep ``plate * (1 - m)``.
    """
    img = np.asarray(plate, dtype=np.float32)
    m = np.asarray(matte, dtype=np.float32)
    out = img * (1.0 - m)[..., None]
    ramp = (m > 0) & (m < 0.999)
    if not screen.present or not ramp.any():
        return out
    ch = SCREEN_CHANNEL[screen.kind]
    pure = (m >= 0.999) & (dominance(img, ch) > SCREEN_DOMINANCE)
    if not pure.any():
        return out
    h, w = m.shape
    r = max(UNMIX_PX, int(round(UNMIX_FRACTION * max(h, w))))
    ys, xs = np.nonzero(ramp)
    y0, y1 = max(0, ys.min() - r), min(h, ys.max() + r + 1)
    x0, x1 = max(0, xs.min() - r), min(w, xs.max() + r + 1)
    sub_pure = pure[y0:y1, x0:x1].astype(np.float32)
    count = box_sum(sub_pure, r)
    behind = box_sum(img[y0:y1, x0:x1] * sub_pure[..., None], r) / np.maximum(count, 1.0)[..., None]
    sel = ramp[y0:y1, x0:x1] & (count >= 1.0)
    if not sel.any():
        return out
    p, mm, scr = img[y0:y1, x0:x1][sel], m[y0:y1, x0:x1][sel], behind[sel]
    fg = np.maximum(p - scr * mm[:, None], 0.0)
    # spill: the least amount a of the screen's colour whose removal leaves no more of the
    # screen's hue than the set typically shows: fg[ch] - a*s[ch] <= fg[c] - a*s[c] + allowance
    rgb = np.asarray(screen.rgb or tuple(1.0 if c == ch else 0.0 for c in range(3)), np.float32)
    allowance = screen.typical_excess * (np.maximum(_level(fg), 0.0) + 0.02)
    amount = np.full(fg.shape[0], np.inf, np.float32)
    for c in (c for c in range(3) if c != ch):
        gap = max(float(rgb[ch] - rgb[c]), 1e-6)
        amount = np.minimum(amount, (fg[:, ch] - fg[:, c] - allowance) / gap)
    amount = np.maximum(amount, 0.0)
    fg = np.maximum(fg - amount[:, None] * rgb[None, :], 0.0)
    sub = out[y0:y1, x0:x1]
    sub[sel] = fg
    return out


def untrusted_pixels(plate: np.ndarray, matte: np.ndarray, screen: Screen, *, band: int | None = None) -> np.ndarray:
    """(H, W) bool: plate pixels that are never a source nor generator context (the extend
    region itself included): matte > 0, a band along the matte edge (SPILL band with a screen,
    EDGE_MARGIN without), screen-coloured pixels anywhere, and pixels with more of the screen's
    hue than the set normally shows (spill near the matte, screen light elsewhere)."""
    hard, spill = plate_flaws(plate, matte, screen, band=band)
    return hard | spill


def plate_flaws(plate: np.ndarray, matte: np.ndarray, screen: Screen, *, band: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(hard, spill): the untrusted pixels of :func:`untrusted_pixels` split into those that are
    not the set at all (matte > 0, screen-coloured, or anywhere more of the screen's hue than
    the set normally shows) and the kept plate that is the set with spill on it (the band, and
    the screen's hue beyond the set's normal near the matte; it can anchor the frame's own
    blend)."""
    touched = matte > 0
    h, w = matte.shape
    if band is None:
        band = spill_band_px(w, h) if screen.present and screen.spill else EDGE_MARGIN_PX
    hard = touched.copy()
    spill = (dilate(touched, band) & ~touched) if touched.any() else np.zeros_like(touched)
    if screen.present:
        ch = SCREEN_CHANNEL[screen.kind]
        hard |= dominance(plate, ch) > SCREEN_DOMINANCE
        tinted = screen_tinted(plate, screen)
        near = dilate(touched, band * SPILL_SEARCH_BANDS) if touched.any() else np.zeros_like(touched)
        spill |= tinted & near & ~touched
        hard |= tinted & ~near  # bluer (greener) than the set ever is: screen light, not set
    return hard, spill & ~hard
