"""Per-person variation: clothing colourways, and who wears which look where.

A *look* is (source, colourway). Colourway 0 is the element as filmed; colourway k > 0 is a
pair of 3x3 matrices (upper and lower clothing) applied to scene-linear ACEScg colour *only
inside the source's variation matte* (clothing; skin and hair are never touched; the
``variation_lower`` part takes the second matrix): in an opponent space (luminance Y, chroma
R-Y and B-Y) the chroma is rotated in hue, scaled in saturation and tinted, and Y is scaled.
The matrices depend only on (source index, colourway), so a look is the same wherever it
appears. Looks are dealt from a shuffled deck so each is worn about equally often, and
:func:`separate_neighbours` makes sure no two neighbours share source, colourway and time-offset
bucket.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

#: ACEScg (AP1) luminance weights.
_Y = np.array([0.2722287168, 0.6740817658, 0.0536895174])
#: Offsets fall into this many buckets per clip (a quarter cycle apart reads as a different step).
OFFSET_BUCKETS = 4
_VALUES = (1.0, 0.62, 1.32, 0.8, 1.16, 0.5, 1.45, 0.9)
_SATS = (1.0, 1.3, 0.85, 1.2, 0.7, 1.35, 1.1, 0.9)
#: How much the top's and the bottom's own colours count beside the person's average colour
#: when colourways are chosen (the average is what tells people apart at a distance).
_PART_WEIGHT = 0.3


def _opponent() -> tuple[np.ndarray, np.ndarray]:
    T = np.array([_Y, [1.0, 0.0, 0.0] - _Y, [0.0, 0.0, 1.0] - _Y])
    return T, np.linalg.inv(T)


def _matrix(hue: float, value: float, sat: float, tint: float) -> np.ndarray:
    """Opponent-space recolour: rotate chroma by ``hue`` (radians), scale it by ``sat`` and the
    luminance by ``value``, and add chroma ``tint`` x Y (colour for grey clothes)."""
    T, Tinv = _opponent()
    c, s = math.cos(hue), math.sin(hue)
    A = np.zeros((3, 3))
    A[0, 0] = value
    A[1:, 1:] = value * sat * np.array([[c, -s], [s, c]])
    A[1:, 0] = value * tint * np.array([math.cos(hue + 1.3), math.sin(hue + 1.3)])
    return Tinv @ A @ T


def colourway_matrix(source: int, colourway: int) -> np.ndarray:
    """(2, 3, 3) float32 (upper, lower clothing) acting on column RGB vectors; identity for
    colourway 0. A fixed family, for when nothing is known about the source's colours (see
    :func:`design_colourways`)."""
    if colourway <= 0:
        return np.stack([np.eye(3), np.eye(3)]).astype(np.float32)
    golden = 0.6180339887
    hue = 2 * math.pi * ((colourway * golden + source * 0.1370) % 1.0)
    top = _matrix(hue, _VALUES[colourway % len(_VALUES)], _SATS[(colourway + source) % len(_SATS)], 0.22)
    bottom = _matrix(hue + 2.4, 0.8, 0.8, 0.1)
    return np.stack([top, bottom]).astype(np.float32)


def look_stats(sprites: np.ndarray, variation: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(a, b_upper, b_lower, fractions) of a source over its solid pixels (alpha >= 0.5): the
    mean straight colour ``a``, the means of (clothing fraction x straight colour) for upper and
    lower clothing, and the mean upper and lower clothing fractions. The mean colour of the
    person recoloured by (Mu, Ml) is ``a + (Mu - I) b_upper + (Ml - I) b_lower`` (linear)."""
    step = max(1, len(sprites) // 24)
    rgba = np.asarray(sprites[::step], np.float32)
    alpha = rgba[..., 3]
    solid = alpha >= 0.5
    zero = np.zeros(3)
    if not solid.any():
        return zero, zero, zero, np.zeros(2)
    straight = rgba[..., :3][solid] / alpha[solid][:, None]
    a = straight.mean(axis=0)
    if variation is None:
        return a, zero, zero, np.zeros(2)
    v = np.asarray(variation[::step], np.float32)[solid] / alpha[solid][:, None]
    lower = np.clip(v[:, 1], 0.0, 1.0)
    upper = np.clip(v[:, 0], 0.0, 1.0) - lower
    return (a, (straight * upper[:, None]).mean(axis=0), (straight * lower[:, None]).mean(axis=0),
            np.array([upper.mean(), lower.mean()]))


def _encode(rgb: np.ndarray) -> np.ndarray:
    x = np.clip(rgb, 0.0, None)
    return (x / (1.0 + x)) ** (1.0 / 2.2)


def _grid(values: Sequence[float], sats: Sequence[float], tints: Sequence[float]) -> np.ndarray:
    return np.stack([_matrix(h, v, s_, t) for h in np.linspace(0, 2 * math.pi, 12, endpoint=False)
                     for v in values for s_ in sats for t in tints])


def design_colourways(stats: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
                      colourways: int) -> dict[tuple[int, int], np.ndarray]:
    """Colourways per (source, k): (2, 3, 3) matrices (upper, lower clothing), chosen so that
    looks differ as much as possible.

    Colourway 0 is each source as filmed. The others are picked by farthest-point sampling among
    candidate (top, bottom) recolours (hue rotations, values, saturations, tints; the bottom
    turned by the same hue as the top, kept to quieter colours): each new look is the candidate whose average colour,
    and top and bottom colours (display-encoded), are farthest from every look already chosen
    over all sources, among candidates whose recoloured clothing stays a plausible colour
    (0..0.85). Sources without clothing coverage keep the identity. Deterministic.
    """
    eye = np.eye(3)
    ident = np.stack([eye, eye]).astype(np.float32)
    tops = _grid((0.35, 0.6, 1.0, 1.5, 2.2), (0.6, 1.0, 1.6), (0.0, 0.35))
    bottoms = _grid((0.3, 0.6, 1.0, 1.4), (0.4, 0.7, 1.0), (0.0, 0.2))
    rng = np.random.default_rng(12)
    pairs = np.stack([rng.integers(len(tops), size=2000), rng.integers(len(bottoms), size=2000)], axis=1)
    # Outfits keep one hue family: the bottom's hue rotation follows the top's (a person's
    # average colour then stays put whether the legs are seen or hidden behind someone).
    per_hue_t, per_hue_b = len(tops) // 12, len(bottoms) // 12
    pairs[:, 1] = (pairs[:, 0] // per_hue_t) * per_hue_b + pairs[:, 1] % per_hue_b
    out: dict[tuple[int, int], np.ndarray] = {}
    chosen: list[np.ndarray] = []
    options: list[tuple[np.ndarray, np.ndarray] | None] = []
    for si, (a, bu, bl, frac) in enumerate(stats):
        out[(si, 0)] = ident
        cu = bu / max(float(frac[0]), 1e-6)  # mean upper clothing colour
        cl = bl / max(float(frac[1]), 1e-6)
        chosen.append(np.concatenate([_encode(a), _PART_WEIGHT * _encode(cu), _PART_WEIGHT * _encode(cl)]))
        if not np.any(bu > 1e-6) and not np.any(bl > 1e-6):
            options.append(None)
            continue
        mt, mb = tops[pairs[:, 0]], bottoms[pairs[:, 1]]
        means = a[None, :] + np.einsum("cij,j->ci", mt - eye, bu) + np.einsum("cij,j->ci", mb - eye, bl)
        top_c = np.einsum("cij,j->ci", mt, cu)
        bot_c = np.einsum("cij,j->ci", mb, cl)
        ok = (means.min(axis=1) >= 0.0) & (top_c.min(axis=1) >= -1e-3) & (top_c.max(axis=1) <= 0.85)
        if frac[1] > 1e-3:
            ok &= (bot_c.min(axis=1) >= -1e-3) & (bot_c.max(axis=1) <= 0.85)
        if not ok.any():
            options.append(None)
            continue
        desc = np.concatenate([_encode(means), _PART_WEIGHT * _encode(top_c), _PART_WEIGHT * _encode(bot_c)], axis=1)[ok]
        options.append((desc, np.stack([mt[ok], mb[ok]], axis=1)))
    for k in range(1, max(1, colourways)):
        for si in range(len(stats)):
            opt = options[si]
            if opt is None:
                out[(si, k)] = ident
                continue
            desc, m = opt
            ref = np.stack(chosen)
            d = np.sqrt(((desc[:, None, :] - ref[None, :, :]) ** 2).sum(axis=-1)).min(axis=1)
            best = int(np.argmax(d))
            out[(si, k)] = m[best].astype(np.float32)
            chosen.append(desc[best])
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
    nbrs: list[list[int]] = [[] for _ in range(n)]
    for i, j in zip(*pairs):
        nbrs[int(i)].append(int(j))
        nbrs[int(j)].append(int(i))
    cw = max(1, colourways)
    for i in range(n):
        near = nbrs[i]
        if not near:
            continue
        looks = {(int(source[j]), int(colourway[j])) for j in near}
        keys = {(int(source[j]), int(colourway[j]), int(bucket[j])) for j in near}
        if (int(source[i]), int(colourway[i])) in looks:
            for step in range(1, cw):
                k = (int(colourway[i]) + step) % cw
                if (int(source[i]), k) not in looks:
                    colourway[i] = k
                    break
        if (int(source[i]), int(colourway[i]), int(bucket[i])) in keys:
            for step in range(1, buckets):
                b = (int(bucket[i]) + step) % buckets
                if (int(source[i]), int(colourway[i]), b) not in keys:
                    bucket[i] = b
                    break
    left = sum(1 for i, j in zip(*pairs) if (source[i], colourway[i], bucket[i]) == (source[j], colourway[j], bucket[j]))
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
