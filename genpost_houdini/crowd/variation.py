"""Per-person variation: clothing colourways, and who wears which look where.

A *look* is (source, colourway). Colourway 0 is the element as filmed; colourway k > 0 is a
pair of 3x3 matrices (upper and lower clothing) applied to scene-linear ACEScg colour *only
inside the source's variation matte* (clothing; skin and hair are never touched; the
``variation_lower`` part takes the second matrix). Each matrix dresses a garment in a colour
of the wardrobe (:data:`WARDROBE_TOPS`, :data:`WARDROBE_BOTTOMS`): in an opponent space
(luminance Y, chroma R-Y and B-Y) Y is scaled and the chroma rotated, scaled and tinted
(:func:`garment_matrix`), so patterns and shading survive. The matrices depend only on the
sources and the number of colourways, so a look is the same wherever it appears. Looks are
dealt from a shuffled deck so each is worn about equally often, and :func:`separate_neighbours`
makes sure no two neighbours share source, colourway and time-offset bucket.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

#: ACEScg (AP1) luminance weights.
_Y = np.array([0.2722287168, 0.6740817658, 0.0536895174])
#: Offsets fall into this many buckets per clip (a quarter cycle apart reads as a different step).
OFFSET_BUCKETS = 4


def _opponent() -> tuple[np.ndarray, np.ndarray]:
    T = np.array([_Y, [1.0, 0.0, 0.0] - _Y, [0.0, 0.0, 1.0] - _Y])
    return T, np.linalg.inv(T)


@dataclass(frozen=True)
class LookStats:
    """What a source's clothing contributes to how the person reads, over its solid pixels
    (alpha >= 0.5) of a sample of its frames. For each part of the person's bounding box
    (``whole``, ``upper`` and ``lower`` half) ``parts[p] = (a, b_upper, b_lower)``: the mean
    straight colour and the means of (clothing fraction x straight colour) for upper and lower
    clothing; the part's mean colour recoloured by (Mu, Ml) is ``a + (Mu - I) b_upper + (Ml - I)
    b_lower`` (linear). ``garments``: the mean colour of the upper and of the lower clothing
    (None where there is none); ``samples``: a few of each garment's pixel colours (patterns)."""

    parts: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]
    garments: tuple[np.ndarray | None, np.ndarray | None]
    samples: tuple[np.ndarray, np.ndarray]

    def predict(self, upper: np.ndarray, lower: np.ndarray, part: str = "whole") -> np.ndarray:
        """Mean straight colour of ``part`` recoloured by matrices ``upper``/``lower`` ((..., 3, 3))."""
        a, bu, bl = self.parts[part]
        eye = np.eye(3)
        return a + np.einsum("...ij,j->...i", upper - eye, bu) + np.einsum("...ij,j->...i", lower - eye, bl)


PARTS = ("whole", "upper", "lower")


def look_stats(sprites: np.ndarray, variation: np.ndarray | None) -> LookStats:
    """:class:`LookStats` of a source from about 24 of its frames (every clip and view)."""
    step = max(1, len(sprites) // 24)
    rgba = np.asarray(sprites[::step], np.float32)
    alpha = rgba[..., 3]
    solid: np.ndarray = np.asarray(alpha >= 0.5)
    zero = np.zeros(3)
    rows = np.arange(alpha.shape[1])[None, :, None]
    any_row: np.ndarray = np.asarray(solid.any(axis=2))  # (F, h)
    top = np.where(any_row.any(axis=1), np.argmax(any_row, axis=1), 0)
    bottom = np.where(any_row.any(axis=1), alpha.shape[1] - 1 - np.argmax(any_row[:, ::-1], axis=1), 0)
    mid = (0.5 * (top + bottom))[:, None, None]
    masks = {"whole": solid, "upper": solid & (rows <= mid), "lower": solid & (rows > mid)}
    straight = np.where(solid[..., None], rgba[..., :3] / np.maximum(alpha, 1e-4)[..., None], 0.0)
    if variation is not None:
        v = np.asarray(variation[::step], np.float32) / np.maximum(alpha, 1e-4)[..., None]
        lower = np.clip(v[..., 1], 0.0, 1.0)
        upper = np.clip(v[..., 0], 0.0, 1.0) - lower
    else:
        lower = upper = np.zeros(alpha.shape, np.float32)
    parts = {}
    for name, m in masks.items():
        if not m.any():
            parts[name] = (zero, zero, zero)
            continue
        c = straight[m]
        parts[name] = (c.mean(axis=0), (c * upper[m][:, None]).mean(axis=0), (c * lower[m][:, None]).mean(axis=0))
    garments: list[np.ndarray | None] = []
    samples: list[np.ndarray] = []
    rng = np.random.default_rng(0)
    for frac in (upper, lower):
        sel = solid & (frac > 0.9)
        if sel.sum() < 8:
            garments.append(None)
            samples.append(np.zeros((0, 3)))
            continue
        c = straight[sel]
        garments.append(c.mean(axis=0))
        samples.append(c[rng.choice(len(c), size=min(len(c), 256), replace=False)])
    return LookStats(parts, (garments[0], garments[1]), (samples[0], samples[1]))


def _encode(rgb: np.ndarray) -> np.ndarray:
    """The display encoding looks are compared in: (x / (1 + x)) ** (1 / 2.2)."""
    x = np.clip(rgb, 0.0, None)
    return (x / (1.0 + x)) ** (1.0 / 2.2)


def _srgb(rgb: np.ndarray) -> np.ndarray:
    """Clipped sRGB-style encoding (a second way a viewer might compare colours)."""
    x = np.clip(rgb, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)


def _lin(c: Sequence[float]) -> np.ndarray:
    return np.asarray(c, np.float64) ** 2.2


#: What extras wear: (name, display-referred colour (linear = x ** 2.2), kind). Kinds:
#: ``neutral`` (black, greys, white, navy, denim, beige, browns), ``colour`` (muted or mid
#: colours) and ``bold`` (strong colours; tops only, in moderation).
WARDROBE_TOPS: tuple[tuple[str, tuple[float, float, float], str], ...] = (
    ("white", (0.92, 0.92, 0.90), "neutral"), ("cream", (0.90, 0.85, 0.72), "neutral"),
    ("light grey", (0.72, 0.72, 0.72), "neutral"), ("grey", (0.50, 0.50, 0.52), "neutral"),
    ("charcoal", (0.24, 0.24, 0.26), "neutral"), ("black", (0.08, 0.08, 0.09), "neutral"),
    ("navy", (0.12, 0.16, 0.32), "neutral"), ("brown", (0.40, 0.26, 0.16), "neutral"),
    ("camel", (0.74, 0.56, 0.36), "neutral"), ("khaki", (0.60, 0.57, 0.40), "neutral"),
    ("olive", (0.42, 0.42, 0.22), "neutral"),
    ("royal blue", (0.20, 0.34, 0.70), "colour"), ("sky blue", (0.56, 0.70, 0.88), "colour"),
    ("teal", (0.10, 0.45, 0.45), "colour"), ("forest green", (0.15, 0.34, 0.20), "colour"),
    ("mustard", (0.86, 0.66, 0.16), "colour"), ("orange", (0.90, 0.46, 0.14), "colour"),
    ("red", (0.78, 0.12, 0.12), "colour"), ("burgundy", (0.45, 0.08, 0.15), "colour"),
    ("pink", (0.92, 0.62, 0.70), "colour"), ("purple", (0.40, 0.22, 0.52), "colour"),
    ("cobalt", (0.10, 0.30, 0.78), "bold"), ("emerald", (0.05, 0.52, 0.32), "bold"),
    ("yellow", (0.95, 0.80, 0.10), "bold"), ("raspberry", (0.82, 0.25, 0.55), "bold"),
    ("scarlet", (0.88, 0.10, 0.08), "bold"), ("leaf green", (0.45, 0.66, 0.20), "bold"),
)
WARDROBE_BOTTOMS: tuple[tuple[str, tuple[float, float, float], str], ...] = (
    ("black", (0.08, 0.08, 0.09), "neutral"), ("charcoal", (0.24, 0.24, 0.26), "neutral"),
    ("navy", (0.12, 0.16, 0.32), "neutral"), ("dark denim", (0.15, 0.22, 0.38), "neutral"),
    ("denim", (0.32, 0.42, 0.60), "neutral"), ("light denim", (0.58, 0.66, 0.78), "neutral"),
    ("grey", (0.50, 0.50, 0.52), "neutral"), ("light grey", (0.74, 0.74, 0.74), "neutral"),
    ("beige", (0.74, 0.66, 0.50), "neutral"), ("cream", (0.90, 0.86, 0.76), "neutral"),
    ("olive", (0.40, 0.40, 0.24), "neutral"), ("brown", (0.38, 0.26, 0.17), "neutral"),
    ("burgundy", (0.42, 0.10, 0.16), "colour"), ("rust", (0.66, 0.30, 0.16), "colour"),
    ("red", (0.70, 0.12, 0.12), "colour"), ("mustard", (0.80, 0.62, 0.18), "colour"),
    ("green", (0.18, 0.40, 0.25), "colour"), ("blue", (0.15, 0.30, 0.65), "colour"),
)
#: What colourway k (1, 2, ...; cycling) dresses a person in: the kinds its top and bottom are
#: drawn from. Most outfits keep at least one neutral garment, as real extras' do.
OUTFIT_SLOTS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("colour", "bold"), ("neutral",)),
    (("neutral",), ("neutral",)),
    (("colour",), ("neutral",)),
    (("neutral",), ("colour",)),
    (("neutral",), ("neutral",)),
    (("colour", "bold"), ("neutral",)),
    (("colour",), ("colour",)),
)
#: A garment's mean colour as filmed is about this fraction of its albedo (its lit and shaded
#: sides under a key light): what a wardrobe colour is compared with.
FILMED_SHADE = 0.65
#: Bounds on the luminance gain of a recolour: brightening a dark garment a lot would brighten
#: the antialiased edge pixels it shares with skin too.
GAIN_RANGE = (1.0 / 60.0, 5.0)
#: Relative chroma (|chroma| / Y) above which a garment's own hue is rotated (else tinted).
_CHROMA_FULL = 0.25


def _opponent_matrix(om: np.ndarray, ot: np.ndarray) -> np.ndarray:
    """3x3 in opponent space taking opponent colour ``om`` to ``ot`` (see :func:`garment_matrix`)."""
    ky = ot[0] / om[0]
    mc, tc = om[1:], ot[1:]
    nm, nt = float(np.linalg.norm(mc)), float(np.linalg.norm(tc))
    beta = min(1.0, nm / om[0] / _CHROMA_FULL) if nm > 1e-9 else 0.0
    A = np.zeros((3, 3))
    A[0, 0] = ky
    if beta > 0:
        ang = math.atan2(tc[1], tc[0]) - math.atan2(mc[1], mc[0]) if nt > 1e-9 else 0.0
        s = beta * nt / nm
        c, sn = math.cos(ang), math.sin(ang)
        A[1:, 1:] = s * np.array([[c, -sn], [sn, c]])
    A[1:, 0] = (1.0 - beta) * tc / om[0]
    return A


def garment_matrix(mean: np.ndarray, target: np.ndarray, samples: np.ndarray | None = None) -> np.ndarray | None:
    """3x3 (column vectors, linear) taking a garment of mean colour ``mean`` to ``target``, its
    pattern and shading kept: in opponent space (Y, R - Y, B - Y) luminance is scaled, the
    garment's own chroma rotated and scaled towards the target's, and (for greyish garments)
    chroma added in proportion to Y. With ``samples`` (a few of the garment's pixel colours) the
    target's chroma is lessened until the recoloured pattern stays a colour cloth can be (no
    negative channel on more than 5 % of them); None when the luminance gain is outside
    :data:`GAIN_RANGE` or the pattern would turn brighter than white (1.2) on more than 5 %."""
    T, Tinv = _opponent()
    om, ot = T @ np.asarray(mean, np.float64), T @ np.asarray(target, np.float64)
    if om[0] <= 1e-6 or not GAIN_RANGE[0] <= ot[0] / om[0] <= GAIN_RANGE[1]:
        return None
    for strength in (1.0, 0.75, 0.5, 0.3, 0.15, 0.0):
        m = Tinv @ _opponent_matrix(om, np.concatenate([ot[:1], strength * ot[1:]])) @ T
        if samples is None or not len(samples):
            return m
        out = samples @ m.T
        if float((out.max(axis=1) > 1.2).mean()) > 0.05:
            return None
        if float((out.min(axis=1) < -0.01).mean()) <= 0.05:
            return m
    return None


#: How looks are compared when colourways are chosen: the mean colour of each part of the
#: person, in each encoding.
_COMPARE = (("whole", "display"), ("whole", "srgb"), ("upper", "display"), ("upper", "srgb"),
            ("lower", "display"), ("lower", "srgb"))
#: Looks closer than about this (encoded units) read as one look.
LOOK_RADIUS = 0.1


def _descriptor(stats: LookStats, upper: np.ndarray, lower: np.ndarray) -> list[np.ndarray]:
    """How a look reads, each way of :data:`_COMPARE`: (..., 3) each."""
    means = {p: stats.predict(upper, lower, p) for p in PARTS}
    return [_encode(means[p]) if enc == "display" else _srgb(means[p]) for p, enc in _COMPARE]


def design_colourways(stats: Sequence[LookStats], colourways: int) -> dict[tuple[int, int], np.ndarray]:
    """Colourways per (source, k): (2, 3, 3) matrices (upper, lower clothing), chosen so that
    looks differ, whichever way a viewer compares them.

    Colourway 0 is each source as filmed. The others dress the source's clothing in a top and
    a bottom from :data:`WARDROBE_TOPS` x :data:`WARDROBE_BOTTOMS` (:func:`garment_matrix`; a
    source with one garment only changes that one). Each new look, source by source in turn,
    is the candidate in the emptiest part of look space: the fewest looks already chosen (over
    every source) near it, counted with a Gaussian of :data:`LOOK_RADIUS`, in the most crowded
    of the comparisons of :data:`_COMPARE` (mean colour of the whole person, of the upper and
    of the lower half, display- and sRGB-encoded). So looks spread evenly over what clothing
    can make of each person, and no look attracts many others. Sources without clothing
    coverage keep the identity. Deterministic.
    """
    eye = np.eye(3)
    ident = np.stack([eye, eye]).astype(np.float32)
    tops = np.array([_lin(c) for _, c, _ in WARDROBE_TOPS]) * FILMED_SHADE
    bottoms = np.array([_lin(c) for _, c, _ in WARDROBE_BOTTOMS]) * FILMED_SHADE
    top_kind = np.array([k for _, _, k in WARDROBE_TOPS])
    bottom_kind = np.array([k for _, _, k in WARDROBE_BOTTOMS])
    out: dict[tuple[int, int], np.ndarray] = {}
    chosen: list[list[np.ndarray]] = []
    # Per source: descriptors, matrices, and which wardrobe entry (-1: unchanged) top and bottom take.
    options: list[tuple[list[np.ndarray], np.ndarray, np.ndarray, np.ndarray] | None] = []
    for si, st in enumerate(stats):
        out[(si, 0)] = ident
        chosen.append(_descriptor(st, eye, eye))
        gu, gl = st.garments
        mu: list[tuple[int, np.ndarray]] = [(-1, eye)]
        ml: list[tuple[int, np.ndarray]] = [(-1, eye)]
        if gu is not None:
            mu = [(i, m) for i, m in enumerate(garment_matrix(gu, t, st.samples[0]) for t in tops) if m is not None]
        if gl is not None:
            ml = [(i, m) for i, m in enumerate(garment_matrix(gl, t, st.samples[1]) for t in bottoms) if m is not None]
        if (gu is None and gl is None) or not mu or not ml:
            options.append(None)
            continue
        pairs = np.array([np.stack([a[1], b[1]]) for a in mu for b in ml])  # (C, 2, 3, 3)
        ti = np.array([a[0] for a in mu for _ in ml])
        bi = np.array([b[0] for _ in mu for b in ml])
        options.append((_descriptor(st, pairs[:, 0], pairs[:, 1]), pairs, ti, bi))
    used: dict[int, tuple[set[int], set[int]]] = {si: (set(), set()) for si in range(len(stats))}
    for k in range(1, max(1, colourways)):
        want_top, want_bottom = OUTFIT_SLOTS[(k - 1) % len(OUTFIT_SLOTS)]
        for si in range(len(stats)):
            opt = options[si]
            if opt is None:
                out[(si, k)] = ident
                continue
            desc, pairs, ti, bi = opt
            fits = ((ti < 0) | np.isin(top_kind[np.maximum(ti, 0)], want_top)) & \
                   ((bi < 0) | np.isin(bottom_kind[np.maximum(bi, 0)], want_bottom))
            fresh = ~np.isin(ti, list(used[si][0])) & ~np.isin(bi, list(used[si][1]))
            crowding = np.zeros(len(pairs))
            nearest = np.full(len(pairs), np.inf)
            for d, ref in zip(desc, zip(*chosen)):
                dist = np.sqrt(((d[:, None, :] - np.stack(ref)[None]) ** 2).sum(-1))
                crowding = np.maximum(crowding, np.exp(-((dist / LOOK_RADIUS) ** 2)).sum(axis=1))
                nearest = np.minimum(nearest, dist.min(axis=1))
            # Outside the slot's kinds or repeating this source's garment colours only as a last resort.
            cost = crowding - 1e-3 * nearest + 100.0 * ~fits + 10.0 * ~fresh
            best = int(np.argmin(cost))
            out[(si, k)] = pairs[best].astype(np.float32)
            chosen.append([d[best] for d in desc])
            used[si][0].add(int(ti[best]))
            used[si][1].add(int(bi[best]))
    return out


def deal_looks(n: int, n_sources: int, colourways: int, rng: np.random.Generator,
               weights: Sequence[float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(source, colourway) for ``n`` people from shuffled decks: every look is dealt once
    before any is dealt twice (optionally only sources with non-zero ``weights``)."""
    allowed = [s for s in range(n_sources) if weights is None or weights[s] > 0] or list(range(n_sources))
    deck = np.array([(s, k) for s in allowed for k in range(max(1, colourways))], np.int64)
    picks: list[np.ndarray] = []
    while sum(int(len(p)) for p in picks) < n:
        picks.append(deck[rng.permutation(len(deck))])
    looks = np.concatenate(picks)[:n] if picks else np.zeros((0, 2), np.int64)
    return looks[:, 0].copy(), looks[:, 1].copy()


def separate_neighbours(source: np.ndarray, colourway: np.ndarray, bucket: np.ndarray, pairs: tuple[np.ndarray, np.ndarray],
                        colourways: int, buckets: int = OFFSET_BUCKETS) -> tuple[np.ndarray, np.ndarray, int]:
    """Change colourways (then offset buckets) so no neighbouring pair shares (source, colourway,
    bucket); prefer that neighbours do not even share (source, colourway). ``pairs`` are index
    pairs (i, j) of neighbours. Returns (colourway, bucket, pairs still sharing a key)."""
    n = len(source)
    colourway, bucket = colourway.copy(), bucket.copy()
    src = np.asarray(source, np.int64)
    pi, pj = (np.asarray(p, np.int64) for p in pairs)
    if not len(pi):
        return colourway, bucket, 0
    cw = max(1, colourways)
    # Integer codes for (source, colourway) and (source, colourway, bucket).
    nc = max(cw, int(colourway.max()) + 1)
    nb = max(buckets, int(bucket.max()) + 1)
    # Neighbour lists (CSR): person i's neighbours are nbr[ptr[i]:ptr[i + 1]].
    ends = np.concatenate([pi, pj])
    order = np.argsort(ends, kind="stable")
    nbr = np.concatenate([pj, pi])[order]
    ptr = np.searchsorted(ends[order], np.arange(n + 1))
    for i in np.flatnonzero(ptr[1:] > ptr[:-1]).tolist():
        near = nbr[ptr[i]:ptr[i + 1]]
        near_look = src[near] * nc + colourway[near]
        looks = set(near_look.tolist())
        keys = set((near_look * nb + bucket[near]).tolist())
        s_i = int(src[i]) * nc
        if s_i + int(colourway[i]) in looks:
            for step in range(1, cw):
                k = (int(colourway[i]) + step) % cw
                if s_i + k not in looks:
                    colourway[i] = k
                    break
        look_i = (s_i + int(colourway[i])) * nb
        if look_i + int(bucket[i]) in keys:
            for step in range(1, buckets):
                b = (int(bucket[i]) + step) % buckets
                if look_i + b not in keys:
                    bucket[i] = b
                    break
    left = int(np.count_nonzero((src[pi] == src[pj]) & (colourway[pi] == colourway[pj]) & (bucket[pi] == bucket[pj])))
    return colourway, bucket, left


def apply_colourway(rgb: np.ndarray, alpha: np.ndarray, variation: np.ndarray, matrices: np.ndarray) -> np.ndarray:
    """Apply a colourway (upper, lower matrices (2, 3, 3)) to premultiplied ``rgb`` (N, 3)
    inside the variation coverage ``variation`` (N, 2): all clothing, and its lower part.

    With c = C / alpha the straight colour, the result is C + v_upper (Mu - I) c + v_lower
    (Ml - I) c (v_upper = all - lower): pixels outside the matte (variation 0) are returned
    unchanged, bit for bit.
    """
    total = variation[:, 0]
    sel = total > 1e-4
    if not sel.any():
        return rgb
    out = rgb.copy()
    straight = rgb[sel] / np.maximum(alpha[sel], 1e-4)[:, None]
    lower = np.minimum(variation[sel, 1], total[sel])
    upper = total[sel] - lower
    eye = np.eye(3, dtype=np.float32)
    delta = upper[:, None] * (straight @ (matrices[0] - eye).T) + lower[:, None] * (straight @ (matrices[1] - eye).T)
    out[sel] = np.maximum(rgb[sel] + delta, 0.0)
    return out
