"""Depth-guided patch-based image completion in plain numpy.

Wexler-style completion (Wexler, Shechtman, Irani 2007: alternate nearest-neighbour search and
patch voting, coarse to fine) with a PatchMatch search (Barnes et al. 2009: random init,
propagation, random search), restricted to source patches that lie wholly in known pixels.

Everything is vectorised over the target patches (the pixels to fill, dilated by the patch
radius), so the cost follows the size of the hole, not of the image. To keep each candidate
evaluation cheap, patches are compared through a short PCA descriptor (the patch vector of
log2 colour, Gaussian weighted, projected onto the sources' principal components), plus:

* a depth term, ``depth_weight * (depth_t - depth_s)**2`` on the centre pixels, so a pixel of a
  facade copies facade texture at a similar depth and far pixels copy far content;
* a position prior, ``position_weight * ((x_t - x_s) / width)**2``, which keeps a fill close
  to the columns above which it sits (facades continue upward);
* guide channels known everywhere (depth and its slope, so floors and walls meeting at the same
  depth stay apart) and texture channels (local mean gradient, Newson et al. 2014, so a blurry
  estimate does not match flat sources better than textured ones);
* dominant self-similarity offsets of the known texture (He and Sun 2012) as extra candidates,
  so repeated structure (window spacing) repeats instead of smearing.

Far pixels ("no hit", depth 1) with (almost) no far pixels known to copy from get a smooth sky
gradient at the plate's exposure instead of texture dragged from nearer surfaces.

Random candidates come from PatchMatch's shrinking-window search and from sources of similar
depth (a sorted depth table), so depth-matched content anywhere in the frame is found quickly.
The finest level votes in scene-linear (source pixels are copied, never re-encoded); coarser
levels vote in log2 space. All randomness comes from the ``numpy.random.Generator`` passed in.

Modules: this one holds the parameters and the coarse-to-fine driver (:func:`complete`, the sky
rule); :mod:`.patch_search` one level's nearest-neighbour field and voting; :mod:`.patch_features`
the patch descriptors and the randomised PCA.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

import numpy as np

from ..conditioning.morphology import dilate, erode
from ..conditioning.pullpush import pull_push
from ..errors import BadInputError
from ..progress import ProgressFn
from .patch_features import depth_guide, texture_features, to_feature
from .patch_search import Level, Solver


@dataclass(frozen=True)
class CompletionParams:
    """Tuning of :func:`complete`. ``QUALITY`` holds the named presets."""

    patch_size: int = 7
    pca_dims: int = 12
    depth_weight: float = 40.0
    position_weight: float = 0.5
    proximity_weight: float = 0.0  # prefer sources close to the fill (the band it continues)
    offsets: int = 8  # dominant self-similarity shifts tried as candidates (0: off)
    texture_weight: float = 6.0
    depth_patch_weight: float = 4.0  # depth as a patch channel: depth edges line up
    slope_weight: float = 1.0  # depth slope channels: floors differ from walls
    slope_clip: float = 2.0
    far_depth: float = 0.999  # "no hit" / backdrop depth
    min_far_sources: int = 256  # fewer known far pixels than this: far fill is a sky gradient
    coarsest: int = 64  # the coarsest level's longer side, in pixels (about)
    em_coarsest: int = 6
    em_coarse: int = 3
    em_finest: int = 1
    pm_iters: int = 2
    jumps: tuple[int, ...] = (1, 2, 4, 8)
    random_radii: int = 6
    depth_samples: int = 2
    vote_sharpness: float = 4.0  # weight = exp(-d / (2 sigma^2 / sharpness)); higher: crisper
    finest_vote_radius: int = 1
    vote_radius: int = 1  # overlapping patches averaged on the coarser levels (capped at the patch)


QUALITY: dict[str, CompletionParams] = {
    "draft": CompletionParams(em_coarsest=4, em_coarse=2, em_finest=1, pm_iters=1, random_radii=4,
                              jumps=(1, 4), finest_vote_radius=1),
    "normal": CompletionParams(),
    "high": CompletionParams(em_coarsest=10, em_coarse=4, em_finest=2, pm_iters=3, random_radii=8,
                             depth_samples=3, pca_dims=16, coarsest=48),
}


def far_without_source(known: np.ndarray, fill: np.ndarray, depth: np.ndarray,
                       params: CompletionParams) -> np.ndarray:
    """Fill pixels at "no hit" depth when the known pixels show (almost) nothing that far."""
    far = fill & (depth >= params.far_depth)
    if not far.any():
        return far
    known_far = int((known & (depth >= params.far_depth)).sum())
    # a small far hole beside some known sky copies it; a big one with (almost) none is sky
    if known_far >= min(params.min_far_sources, max(16, int(far.sum()) // 4)):
        return np.zeros_like(far)
    return far


def sky_gradient(linear: np.ndarray, known: np.ndarray, sky: np.ndarray) -> np.ndarray:
    """A smooth sky for ``sky`` pixels: light at the lowest sky row, deeper blue at the top.

    Exposure follows the plate (its bright end), so the sky neither glows nor goes grey.
    """
    h, w = known.shape
    lum = linear[known] @ np.array([0.2722, 0.6741, 0.0537], np.float32)  # ACEScg luminance
    level = float(np.percentile(lum, 95)) if lum.size else 0.5
    level = float(np.clip(level, 0.05, 4.0))
    horizon = np.array([0.90, 0.93, 1.00], np.float32) * level * 1.1
    zenith = np.array([0.35, 0.50, 0.85], np.float32) * level * 0.8
    rows = np.nonzero(sky.any(axis=1))[0]
    top, bottom = int(rows.min()), int(rows.max())
    t = (np.arange(h, dtype=np.float32) - top) / max(bottom - top, 1)  # 0 top .. 1 lowest sky row
    t = np.clip(t, 0.0, 1.0) ** 0.7
    col = zenith[None, :] + (horizon - zenith)[None, :] * t[:, None]
    return np.broadcast_to(col[:, None, :], (h, w, 3)).astype(np.float32)


def _update(lv: Level, idx: tuple[np.ndarray, ...], voted: np.ndarray, params: CompletionParams) -> None:
    """Write voted features into the region; guide channels keep their true values."""
    voted[:, -lv.guide.shape[2] :] = lv.guide[idx]
    lv.feat[idx] = voted


def _levels(finest: Level, params: CompletionParams, r: int) -> list[Level]:
    levels = [finest]
    while True:
        lv = levels[-1]
        h, w = lv.shape
        if max(h, w) <= params.coarsest or min(h, w) < 4 * (2 * r + 1):
            break
        nxt = lv.down()
        if erode(nxt.known, r).sum() < 64:  # too few sources to search at that scale
            break
        levels.append(nxt)
    return levels


def complete(
    linear: np.ndarray,
    known: np.ndarray,
    fill: np.ndarray,
    depth: np.ndarray,
    *,
    rng: np.random.Generator,
    params: CompletionParams = CompletionParams(),
    progress: ProgressFn | None = None,
) -> np.ndarray:
    """Fill ``fill`` pixels of a scene-linear (H, W, 3) image from its ``known`` pixels.

    ``depth`` (H, W) is shot-normalised (0 near, 1 far). Returns (H, W, 3) float32 equal to
    ``linear`` outside ``fill``. Raises BadInputError when nothing is known to copy from.
    """
    h, w = known.shape
    linear = np.asarray(linear, dtype=np.float32)
    out = linear.copy()
    if not fill.any():
        return out
    if not known.any():
        raise BadInputError("classical generator: no known pixel to continue from")
    sky = far_without_source(known, fill, depth, params)
    if sky.any():
        # nothing far is known to copy: a smooth sky beats far-away texture dragged up
        out[sky] = sky_gradient(linear, known, sky)[sky]
        linear = out.copy()
        known, fill = known | sky, fill & ~sky
        if not fill.any():
            return out
    r = max(params.patch_size // 2, 0)
    # shrink the patch until the known area holds at least a few whole patches
    while r > 0 and erode(known, r).sum() < 16:
        r -= 1
    params = replace(params, patch_size=2 * r + 1)
    # synthesise the unknown pixels the fill's patches touch too, so target patches are sound
    region = fill | (~known & dilate(fill, r))
    rgb = to_feature(linear)
    tex = texture_features(rgb, known) * np.float32(params.texture_weight)
    feat0 = pull_push(np.concatenate([rgb, tex], axis=2), known.astype(np.float32))
    guide = depth_guide(depth, params)
    feat0 = np.concatenate([feat0, guide], axis=2)
    finest = Level(feat=feat0, known=known.copy(), region=region, depth=depth.astype(np.float32), guide=guide)
    levels = _levels(finest, params, r)
    nlev = len(levels)

    prev: Optional[Solver] = None
    for li in range(nlev - 1, -1, -1):
        lv = levels[li]
        if prev is None:
            lv.feat = pull_push(lv.feat, lv.known.astype(np.float32))
        solver = Solver(lv, params, rng, r)
        if prev is None:
            solver.find_offsets()
            solver.init_random()
            em = params.em_coarsest
        else:
            # upsample the coarser NNF: child (y, x) of (y//2, x//2) copies the same child
            cy, cx = solver.ty // 2, solver.tx // 2
            pi = prev.tmap[np.clip(cy, 0, prev.h - 1) * prev.w + np.clip(cx, 0, prev.w - 1)]
            has = pi >= 0
            pi = np.where(has, pi, 0)
            sy = np.where(has, 2 * prev.nnf_y[pi] + (solver.ty % 2), -1)
            sx = np.where(has, 2 * prev.nnf_x[pi] + (solver.tx % 2), -1)
            solver.offsets = prev.offsets * 2
            solver.set_nnf(sy, sx)
            em = params.em_finest if li == 0 else params.em_coarse
        region_idx = np.nonzero(lv.region)
        if prev is not None:  # first estimate at this level: vote with the upsampled NNF
            _update(lv, region_idx, solver.vote(lv.feat, params.vote_radius), params)
            solver.refresh(lv.feat)
        for _ in range(em):
            solver.patchmatch(params.pm_iters)
            _update(lv, region_idx, solver.vote(lv.feat, params.vote_radius), params)
            solver.refresh(lv.feat)
        if progress is not None:
            progress((nlev - li) / nlev, f"level {nlev - li}/{nlev} ({lv.shape[1]}x{lv.shape[0]})")
        prev = solver

    assert prev is not None
    solver = prev
    solver.patchmatch(1)
    fy, fx = np.nonzero(fill)
    # final colours: scene-linear source pixels, voted with a small window so seams stay crisp
    vals = solver.vote(linear_source(linear, known), params.finest_vote_radius)
    ry, rx = np.nonzero(finest.region)
    full = np.zeros((h, w, 3), dtype=np.float32)
    full[ry, rx] = vals
    out[fy, fx] = full[fy, fx]
    return out


def linear_source(linear: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Scene-linear values to copy from (unknown pixels zeroed; sources never read them)."""
    return np.where(known[..., None], linear, 0.0).astype(np.float32)
