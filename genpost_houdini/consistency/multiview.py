"""Moving content in the plate, found by multi-view photometric consistency.

A static surface looks the same from every frame once reprojected with depth and camera; a car,
a person or a rig crossing the plate does not. For a frame ``t``, several other frames spread
over the shot (:func:`partner_frames`) are reprojected into ``t`` (backward warp, z-tested, only
their trusted plate pixels), each gain-matched to ``t`` (exposure drift), and their per-pixel
median is the static scene as the other frames saw it. A trusted pixel of ``t`` that differs from
that median by more than grain and view-dependent shading allow is moving content
(:func:`moving_pixels`): it is never a source nor generator context.

Works on any resolution (the set-extension plan runs it on box-filtered plates a few times
smaller than the plate, which also averages grain away).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..conditioning.morphology import box_sum, dilate, erode
from ..progress import ProgressFn

#: Views compared with each frame: at these frame distances on both sides (near views see the
#: same part of the set, far ones see a mover elsewhere).
DISTANCES = (1, 3, 8, 24)
#: Allowed log difference: RELATIVE + NOISE_SIGMAS x the grain's sigma relative to the level
#: (values are floored at LOG_FLOOR before the log).
NOISE_SIGMAS, RELATIVE, LOG_FLOOR = 4.0, 0.1, 0.02
#: Pixels seen by fewer views than this are weakly verified: a detected mover grows into them.
WEAK_VIEWS, GROW_STEPS = 3, 12


def partner_frames(frames: Sequence[int], t: int, distances: Sequence[int] = DISTANCES) -> list[int]:
    """The frames of ``frames`` at ``distances`` before and after ``t`` (those that exist)."""
    have = set(frames)
    return sorted({f for d in distances for f in (t - d, t + d) if f in have and f != t})


def _luma(image: np.ndarray) -> np.ndarray:
    return image.mean(axis=-1)


def compare_views(
    t: int,
    images: Mapping[int, np.ndarray],
    trusted: Mapping[int, np.ndarray],
    depths: Mapping[int, np.ndarray],
    views: Mapping[int, Any],
    partners: Sequence[int],
    *,
    noise: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(disagree (H, W) bool, views (H, W) int): trusted pixels of ``t`` that differ from the
    median of the ``partners``' reprojected trusted pixels, and how many partners saw each."""
    from ..geometry import reproject

    img_t = np.asarray(images[t], dtype=np.float32)
    ok_t = np.asarray(trusted[t], dtype=bool)
    h, w = ok_t.shape
    count = np.zeros((h, w), np.int32)
    if not ok_t.any():
        return np.zeros((h, w), bool), count
    samples: list[np.ndarray] = []
    for s in partners:
        src = np.concatenate([np.asarray(images[s], np.float32), np.asarray(trusted[s], np.float32)[..., None]], axis=-1)
        sampled, valid = reproject(src, depths[s], views[s], depths[t], views[t], where=ok_t)
        ok = valid & (sampled[..., 3] > 0.99) & ok_t
        if ok.sum() < 16:
            continue
        rgb = np.ascontiguousarray(sampled[..., :3])
        lt, ls = _luma(img_t)[ok], _luma(rgb)[ok]
        good = (lt > 0.01) & (ls > 0.01)
        gain = float(np.median(lt[good] / ls[good])) if good.sum() >= 16 else 1.0
        if not 0.5 < gain < 2.0:
            gain = 1.0
        rgb *= gain
        rgb[~ok] = np.nan
        count += ok
        samples.append(rgb)
    if not samples:
        return np.zeros((h, w), bool), count
    seen = count > 0
    median = np.zeros((h, w, 3), np.float32)
    stack = np.sort(np.stack([v[seen] for v in samples]), axis=0)  # NaN (not seen) sorts last
    n = count[seen]
    lo, hi = (n - 1) // 2, n // 2  # the median of the n finite values of each pixel
    idx = np.arange(n.size)
    median[seen] = 0.5 * (stack[lo, idx] + stack[hi, idx])
    bad = _disagreement(img_t, median, seen & ok_t, noise)
    return dilate(erode(bad, 1), 1), count  # opening: misregistration at depth edges leaves thin lines


def _disagreement(image: np.ndarray, median: np.ndarray, where: np.ndarray,
                  noise: Callable[[np.ndarray], np.ndarray] | None) -> np.ndarray:
    """Pixels of ``where`` whose log colour differs from the views' median by more than shading,
    grain and misregistration explain.

    Shading: the log ratio's local mean (a window of 1/4 of the image, over agreeing pixels,
    twice) is removed, so view-dependent shading and vignetting (smooth) do not count while a
    compact mover does. Misregistration: each pixel is compared with the best of the median's
    3x3 neighbours.
    """
    h, w = where.shape
    planes = lambda a: np.ascontiguousarray(np.moveaxis(a, -1, 0))  # noqa: E731  (3, H, W)
    lt = np.log(np.maximum(planes(image), 0.0) + LOG_FLOOR)
    lm = np.log(np.maximum(planes(median), 0.0) + LOG_FLOOR)
    radius = max(2, max(h, w) // 8)
    level = np.maximum(np.maximum(planes(image), planes(median)), 0.0)
    inv_allowed = np.full(lt.shape, 1.0 / RELATIVE, np.float32)
    if noise is not None:
        allowed = RELATIVE + NOISE_SIGMAS * planes(np.asarray(noise(np.moveaxis(level, 0, -1)), np.float32)) / (level + LOG_FLOOR)
        inv_allowed = (1.0 / allowed).astype(np.float32)
    padded = np.pad(lm, ((0, 0), (1, 1), (1, 1)), mode="edge")
    diff = lt - lm
    weight = where.astype(np.float32)
    bad = np.zeros((h, w), bool)
    for _ in range(2):
        wsum = np.maximum(box_sum(weight, radius), 1e-6)
        target = lt - np.stack([box_sum(diff[c] * weight, radius) / wsum for c in range(3)])
        best = np.full((h, w), np.inf, np.float32)
        for dy in range(3):
            for dx in range(3):
                dev = np.abs(target - padded[:, dy:dy + h, dx:dx + w])
                dev *= inv_allowed
                np.minimum(best, np.maximum(np.maximum(dev[0], dev[1]), dev[2]), out=best)
        bad = where & (best > 1.0)
        weight = (where & ~bad).astype(np.float32)
    return bad


def moving_masks(
    frames: Sequence[int],
    images: Mapping[int, np.ndarray],
    trusted: Mapping[int, np.ndarray],
    depths: Mapping[int, np.ndarray],
    views: Mapping[int, Any],
    *,
    noise: Callable[[np.ndarray], np.ndarray] | None = None,
    grow: int = 1,
    progress: ProgressFn | None = None,
) -> dict[int, np.ndarray]:
    """Moving content of every frame (bool (H, W) each; see the module docstring).

    Two passes: the second compares against partners whose first-pass movers are excluded (a
    mover in a partner view no longer drags the median). A detected mover then grows into the
    pixels few views verified (connected, up to GROW_STEPS pixels), and by ``grow`` pixels.
    """
    frames = sorted(frames)
    first = {}
    for i, t in enumerate(frames):
        first[t] = compare_views(t, images, trusted, depths, views, partner_frames(frames, t), noise=noise)
        if progress:
            progress(0.5 * (i + 1) / len(frames), f"moving content: frame {t}")
    cleaned = {t: np.asarray(trusted[t], bool) & ~first[t][0] for t in frames}
    out: dict[int, np.ndarray] = {}
    for i, t in enumerate(frames):
        partners = partner_frames(frames, t)
        trusted_t = {**cleaned, t: np.asarray(trusted[t], bool)}
        if any(first[s][0].any() for s in partners):
            bad, count = compare_views(t, images, trusted_t, depths, views, partners, noise=noise)
        else:  # no partner moved: the second pass would compare against the same views
            bad, count = first[t]
        weak = trusted_t[t] & (count < WEAK_VIEWS)
        if bad.any() and weak.any():
            for _ in range(GROW_STEPS):
                grown = bad | (dilate(bad, 1) & weak)
                if np.array_equal(grown, bad):
                    break
                bad = grown
        if grow > 0:
            bad = dilate(bad, grow)
        out[t] = bad & trusted_t[t]
        if progress:
            progress(0.5 + 0.5 * (i + 1) / len(frames), f"moving content: frame {t} checked")
    return out
