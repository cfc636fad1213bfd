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

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..conditioning.morphology import box_sum, dilate, erode
from ..progress import ProgressFn

#: Views compared with each frame: at these frame distances on both sides (near views see the
#: same part of the set, far ones see a mover elsewhere).
DISTANCES = (1, 3, 8, 24)
#: Only a view at least this many frames away can confirm a pixel another frame needs, when a
#: mover was seen within 1/SUSPICION of the image of it (here or, reprojected, in a partner).
MIN_GAP, SUSPICION = 3, 12
#: Allowed log difference: RELATIVE + NOISE_SIGMAS x the grain's sigma relative to the level
#: (values are floored at LOG_FLOOR before the log).
NOISE_SIGMAS, RELATIVE, LOG_FLOOR = 4.0, 0.15, 0.02
#: Near a mover, pixels within this log distance of its median colour (every channel) move too.
MOVER_COLOUR = 0.25
#: Opening radius (pixels at the working resolution) that disagreements must survive.
OPENING = 2
#: Pixels seen by fewer views than this are weakly verified: a detected mover grows into them.
WEAK_VIEWS, GROW_STEPS = 3, 12


def partner_frames(frames: Sequence[int], t: int, distances: Sequence[int] = DISTANCES) -> list[int]:
    """The frames of ``frames`` at ``distances`` before and after ``t`` (those that exist)."""
    have = set(frames)
    return sorted({f for d in distances for f in (t - d, t + d) if f in have and f != t})


def _luma(image: np.ndarray) -> np.ndarray:
    return image.mean(axis=-1)


@dataclass
class ViewCheck:
    """What the partners say about frame ``t``'s trusted pixels: ``disagree`` (bool, they show
    something else), ``views`` (int, how many saw the pixel), ``far_views`` (int, how many of
    those are at least ``gap`` frames away), ``needed`` (bool, a partner needs the pixel: it
    lies in that partner's extend region, so ``t`` may become its source), ``flagged`` (bool,
    a partner's ``flags`` mask covers the pixel's surface)."""

    disagree: np.ndarray
    views: np.ndarray
    far_views: np.ndarray
    needed: np.ndarray
    flagged: np.ndarray


def compare_views(
    t: int,
    images: Mapping[int, np.ndarray],
    trusted: Mapping[int, np.ndarray],
    depths: Mapping[int, np.ndarray],
    views: Mapping[int, Any],
    partners: Sequence[int],
    *,
    noise: Callable[[np.ndarray], np.ndarray] | None = None,
    needs: Mapping[int, np.ndarray] | None = None,
    flags: Mapping[int, np.ndarray] | None = None,
    gap: int = MIN_GAP,
) -> ViewCheck:
    """Compare frame ``t``'s trusted pixels with the median of the ``partners``' reprojected
    trusted pixels (see :class:`ViewCheck`)."""
    from ..geometry import reproject

    img_t = np.asarray(images[t], dtype=np.float32)
    ok_t = np.asarray(trusted[t], dtype=bool)
    h, w = ok_t.shape
    count = np.zeros((h, w), np.int32)
    far = np.zeros((h, w), np.int32)
    needed = np.zeros((h, w), bool)
    flagged = np.zeros((h, w), bool)
    if not ok_t.any():
        return ViewCheck(np.zeros((h, w), bool), count, far, needed, flagged)
    samples: list[np.ndarray] = []
    zero = np.zeros((h, w, 1), np.float32)
    for s in partners:
        planes = [np.asarray(images[s], np.float32), np.asarray(trusted[s], np.float32)[..., None],
                  np.asarray(needs[s], np.float32)[..., None] if needs is not None else zero,
                  np.asarray(flags[s], np.float32)[..., None] if flags is not None else zero]
        sampled, valid = reproject(np.concatenate(planes, axis=-1), depths[s], views[s], depths[t], views[t], where=ok_t)
        needed |= valid & (sampled[..., 4] > 0) & ok_t
        flagged |= valid & (sampled[..., 5] > 0) & ok_t
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
        if abs(s - t) >= gap:
            far += ok
        samples.append((abs(s - t) >= gap, rgb))
    if not samples:
        return ViewCheck(np.zeros((h, w), bool), count, far, needed, flagged)
    # The median of the distant views where any saw the pixel (near views overlap a slow
    # mover and would outvote them), else of all views.
    median = _median([v for is_far, v in samples if is_far], far > 0)
    near_only = (count > 0) & (far == 0)
    if near_only.any():
        median[near_only] = _median([v for _, v in samples], near_only)[near_only]
    lone = (count == 1) | (far == 1)  # one view judges: as likely the odd one as this frame
    bad = _disagreement(img_t, median, (count > 0) & ok_t, noise, single=lone)
    # opening: misregistration at depth edges and specular glints leave thin lines and specks
    return ViewCheck(dilate(erode(bad, OPENING), OPENING), count, far, needed, flagged)


def _median(samples: Sequence[np.ndarray], where: np.ndarray) -> np.ndarray:
    """Per-pixel median over the finite values of ``samples`` ((H, W, 3) each, NaN = not seen)
    at ``where``; 0 elsewhere."""
    h, w = where.shape
    out = np.zeros((h, w, 3), np.float32)
    if not samples or not where.any():
        return out
    stack = np.sort(np.stack([v[where] for v in samples]), axis=0)  # NaN (not seen) sorts last
    n = np.isfinite(stack[..., 0]).sum(axis=0)
    ok = n > 0
    lo, hi = (np.maximum(n, 1) - 1) // 2, np.maximum(n, 1) // 2
    idx = np.arange(n.size)
    vals = 0.5 * (stack[lo, idx] + stack[hi, idx])
    vals[~ok] = 0.0
    out[where] = vals
    return out


def _local_plane(values: np.ndarray, weight: np.ndarray, radius: int) -> np.ndarray:
    """(C, H, W): at each pixel, the weighted least-squares plane ``a + bx x + by y`` of
    ``values`` (C, H, W) over the (2r+1)^2 window around it, evaluated there (a constant where
    the window's samples cannot fix a slope)."""
    h, w = weight.shape
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    wt = weight.astype(np.float64)
    s0 = np.maximum(box_sum(wt, radius), 1e-9)
    mx, my = box_sum(wt * x, radius) / s0, box_sum(wt * y, radius) / s0
    # centred second moments (per pixel window), regularised so flat windows fall back to the mean
    ridge = 1e-3 * (radius * radius)
    cxx = box_sum(wt * x * x, radius) / s0 - mx * mx + ridge
    cyy = box_sum(wt * y * y, radius) / s0 - my * my + ridge
    cxy = box_sum(wt * x * y, radius) / s0 - mx * my
    det = cxx * cyy - cxy * cxy
    out = np.empty(values.shape, np.float32)
    for c in range(values.shape[0]):
        v = values[c].astype(np.float64) * wt
        mv = box_sum(v, radius) / s0
        cxv = box_sum(v * x, radius) / s0 - mx * mv
        cyv = box_sum(v * y, radius) / s0 - my * mv
        bx = (cxv * cyy - cyv * cxy) / det
        by = (cyv * cxx - cxv * cxy) / det
        out[c] = mv + bx * (x - mx) + by * (y - my)
    return out


def _disagreement(image: np.ndarray, median: np.ndarray, where: np.ndarray,
                  noise: Callable[[np.ndarray], np.ndarray] | None, single: np.ndarray | None = None) -> np.ndarray:
    """Pixels of ``where`` whose log colour differs from the views' median by more than shading,
    grain and misregistration explain.

    Shading: the log ratio's local plane (a least-squares fit over a window of 1/4 of the
    image, over agreeing pixels, twice) is removed, so view-dependent shading and vignetting
    (smooth gradients) do not count while a compact mover does. Misregistration: each pixel is compared with the best of the median's
    3x3 neighbours. Where only one view saw the pixel (``single``) twice the difference is
    allowed: a lone view is as likely to be the odd one as the frame is.
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
    if single is not None:
        inv_allowed = np.where(single[None], 0.5 * inv_allowed, inv_allowed).astype(np.float32)
    padded = np.pad(lm, ((0, 0), (1, 1), (1, 1)), mode="edge")
    diff = lt - lm
    weight = where.astype(np.float32)
    bad = np.zeros((h, w), bool)
    for _ in range(2):
        target = lt - _local_plane(diff, weight, radius)
        best = np.full((h, w), np.inf, np.float32)
        for dy in range(3):
            for dx in range(3):
                dev = np.abs(target - padded[:, dy:dy + h, dx:dx + w])
                dev *= inv_allowed
                np.minimum(best, np.maximum(np.maximum(dev[0], dev[1]), dev[2]), out=best)
        bad = where & (best > 1.0)
        weight = (where & ~bad).astype(np.float32)
    return bad


@dataclass
class Verdict:
    """What may not be a source in one frame: ``moving`` content (disagrees with the other
    views), and ``unverified`` pixels: near a mover seen in this frame or a partner, another
    frame needs them and no distant view confirmed them (a slow mover overlaps itself in
    neighbouring frames, so only a distant view vouches for a pixel a mover may cover)."""

    moving: np.ndarray
    unverified: np.ndarray


def moving_masks(
    frames: Sequence[int],
    images: Mapping[int, np.ndarray],
    trusted: Mapping[int, np.ndarray],
    depths: Mapping[int, np.ndarray],
    views: Mapping[int, Any],
    *,
    noise: Callable[[np.ndarray], np.ndarray] | None = None,
    needs: Mapping[int, np.ndarray] | None = None,
    grow: int = 1,
    progress: ProgressFn | None = None,
) -> dict[int, Verdict]:
    """Per frame, the trusted pixels that must not be a source (see :class:`Verdict`; without
    ``needs``, each frame's extend region, nothing is unverified).

    Two passes: the second compares against partners whose first-pass movers are excluded (a
    mover in a partner view no longer drags the median). A detected mover then grows into the
    pixels few views verified (connected, up to GROW_STEPS pixels), and by ``grow`` pixels.
    """
    from ..geometry import reproject

    frames = sorted(frames)
    gap = MIN_GAP if len(frames) > 2 * MIN_GAP else 1
    first: dict[int, ViewCheck] = {}
    for i, t in enumerate(frames):
        first[t] = compare_views(t, images, trusted, depths, views, partner_frames(frames, t), noise=noise, needs=needs, gap=gap)
        if progress:
            progress(0.4 * (i + 1) / len(frames), f"moving content: frame {t}")
    cleaned = {t: np.asarray(trusted[t], bool) & ~first[t].disagree for t in frames}
    moving: dict[int, np.ndarray] = {}
    checks: dict[int, ViewCheck] = {}
    for i, t in enumerate(frames):
        partners = partner_frames(frames, t)
        trusted_t = {**cleaned, t: np.asarray(trusted[t], bool)}
        if any(first[s].disagree.any() for s in partners):
            check = compare_views(t, images, trusted_t, depths, views, partners, noise=noise, needs=needs, gap=gap)
        else:  # no partner moved: the second pass would compare against the same views
            check = first[t]
        bad = check.disagree
        weak = trusted_t[t] & (check.views < WEAK_VIEWS)
        if bad.any() and weak.any():
            for _ in range(GROW_STEPS):
                grown = bad | (dilate(bad, 1) & weak)
                if np.array_equal(grown, bad):
                    break
                bad = grown
        if grow > 0:
            bad = dilate(bad, grow)
        moving[t] = bad & trusted_t[t]
        checks[t] = check
        if progress:
            progress(0.4 + 0.4 * (i + 1) / len(frames), f"moving content: frame {t} checked")
    # substantial movers (blobs surviving a wider opening) make their surroundings suspicious,
    # and there anything of a mover's colour moves too: a mover whose path follows the camera is
    # nearly still in the world for a while, and only its colour gives it away then
    movers = {t: dilate(erode(m, 2 * OPENING), 2 * OPENING) for t, m in moving.items()}
    colours = {}
    for t, m in movers.items():
        if m.any():  # a mover's colour counts only when it stands out from the frame's plate
            logs = np.log(np.maximum(np.asarray(images[t], np.float32), 0.0) + LOG_FLOOR)
            colour, typical = np.median(logs[m], axis=0), np.median(logs[np.asarray(trusted[t], bool) & ~m], axis=0)
            if np.abs(colour - typical).max() > 2 * MOVER_COLOUR:
                colours[t] = colour
    out: dict[int, Verdict] = {}
    for i, t in enumerate(frames):
        ok_t = np.asarray(trusted[t], bool)
        suspicious = movers[t].copy()
        near = [s for s in frames if 0 < abs(s - t) <= MIN_GAP and s in colours]
        for s in near:  # movers in the frames around t, on t's surfaces and at the same place in the frame
            flag, valid = reproject(movers[s].astype(np.float32), depths[s], views[s], depths[t], views[t])
            suspicious |= (valid & (flag[..., 0] > 0)) | movers[s]
        unverified = np.zeros_like(suspicious)
        moving_t = moving[t]
        if suspicious.any():
            suspicious = dilate(suspicious, max(2, max(suspicious.shape) // SUSPICION))
            log_t = np.log(np.maximum(np.asarray(images[t], np.float32), 0.0) + LOG_FLOOR)
            alike = np.zeros_like(suspicious)
            for s in near + ([t] if t in colours else []):
                alike |= (np.abs(log_t - colours[s]).max(axis=-1) < MOVER_COLOUR)
            moving_t = moving_t | (suspicious & alike & ok_t)
            if needs is not None:
                unverified = (checks[t].far_views == 0) & suspicious & ok_t & ~moving_t
        out[t] = Verdict(moving_t, unverified)
        if progress:
            progress(0.8 + 0.2 * (i + 1) / len(frames), f"moving content: frame {t} verified")
    return out
