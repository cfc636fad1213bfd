"""World-space facade continuation: repeat a facade's known storeys upward, using the camera.

A first stage before PatchMatch (:mod:`.patchmatch`) for set extension, where the pixels to fill
lie above a filmed set on (near-)vertical proxy surfaces. With the camera (metric depth, K,
world-to-camera, world up) every pixel is a world point ``X``; a facade repeats along ``up``
with a storey period ``P``, so a pixel to fill at ``X`` takes the colour of the first
``X - n P up`` (n = 1, 2, ...) that projects onto a known pixel of the same surface (a z-test in
world units), bilinearly. Image-space PatchMatch cannot do this: perspective changes a storey's
size and direction in the image, so its copies smear.

Per building-sized piece of each facade plane:

* ``P`` is measured by self-similarity of the known texture along ``up`` (re-projected shifts
  ``X -> X - p up`` landing on known pixels of the same surface) when the known band shows two
  storeys or more ("vertical").
* Otherwise (a set cut just above the first floor) it cannot be measured; the facade's bay
  spacing, measured the same way along the facade, is the storey prior ("horizontal-prior"),
  and only the top ``REPEAT_BAND`` of a period below the band's top is copied (the bottom of a
  filmed band is usually a different ground floor). The part of each storey the band never
  shows is made from the band's top and bottom mirrored (a horizontal edge where they meet).
* Facade pixels with no known pixel of their own surface below (a building the set never
  showed) take a measured piece's texture at the same height and bay phase (a "donor").

Copies read a blurred level as wide as the filled pixel's footprint (no aliasing when a far
facade is textured from a near one). What this stage leaves (non-vertical surfaces, far or
no-hit pixels, pieces without a period) is PatchMatch's. Vectorised numpy; no randomness.

Modules: :mod:`.facade_geometry` (the frame's world points, normals, footprints; same-surface
sampling), :mod:`.facade_period` (the period search); this one splits facades into pieces,
picks each piece's period and copies storeys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..conditioning.morphology import box_sum
from .facade_geometry import FrameCamera, Geometry, blur_pyramid, geometry, nearest_ok, sample_at
from .facade_period import estimate_period
from .patch_features import to_feature

#: Fraction of a period below a short band's top that is copied (the rest is mirrored).
REPEAT_BAND = 0.6

#: Storey heights the bay-spacing prior may give, in scene units (metres: the Solaris default).
#: Only a sanity bound on the prior; measured vertical periods are not limited by it.
PRIOR_RANGE = (2.0, 6.0)

#: A vertical period must match at least this well (self-difference / unrelated pixels').
VERTICAL_MAX_SCORE = 0.5


@dataclass
class FacadeResult:
    """Colours (H, W, 3) and the mask of pixels the continuation filled; how P was found."""

    image: np.ndarray
    filled: np.ndarray
    period: Optional[float]
    mode: str  # "vertical", "horizontal-prior" or "none"


def _high_pass(feat: np.ndarray, known: np.ndarray, r: int = 6) -> np.ndarray:
    """Log colour minus its local mean over known pixels: texture, not a building's tint or light."""
    kf = known.astype(np.float32)
    mean = box_sum(feat * kf[..., None], r) / np.maximum(box_sum(kf, r), 1.0)[..., None]
    hp = np.where(known[..., None], feat - mean, 0.0)
    # a light blur: shifted samples land between pixels, this keeps their comparison stable
    smooth = box_sum(hp, 1) / np.maximum(box_sum(kf, 1), 1.0)[..., None]
    return np.where(known[..., None], smooth, 0.0).astype(np.float32)


def _chunk_ids(g: Geometry, n: np.ndarray, mask: np.ndarray, length: float, offset_bin: float) -> np.ndarray:
    """(H, W) int64 chunk id of ``mask`` pixels (-1 elsewhere): facade plane (normal azimuth in
    8 bins, offset in ``offset_bin`` bins) and a stretch of ``length`` along it, so each building-sized
    piece gets its own period."""
    ids = np.full(mask.shape, -1, np.int64)
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return ids
    nv = n[ys, xs]
    # any fixed horizontal frame will do: azimuth of the normal in 8 bins
    e1 = np.array([1.0, 0.0, 0.0]) if abs(g.up[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    e1 = e1 - g.up * (e1 @ g.up)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(g.up, e1)
    az = np.arctan2(nv @ e2, nv @ e1)
    az_bin = np.floor((az + np.pi) / (np.pi / 4) + 0.5).astype(np.int64) % 8
    centre = (az_bin * (np.pi / 4)) - np.pi
    nrm = np.cos(centre)[:, None] * e1 + np.sin(centre)[:, None] * e2
    along = np.cross(g.up, nrm)
    pts = g.world[ys, xs]
    off = np.floor((pts * nrm).sum(1) / offset_bin).astype(np.int64)
    pos = np.floor((pts * along).sum(1) / length).astype(np.int64)
    off -= off.min()
    pos -= pos.min()
    key = (pos * (int(off.max()) + 1) + off) * 8 + az_bin
    _, inv = np.unique(key, return_inverse=True)
    ids[ys, xs] = inv.reshape(-1)
    return ids


@dataclass
class _Donor:
    """A facade piece with a measured storey and bay: texture for facades that show none."""

    normal: np.ndarray
    along: np.ndarray
    offset: float  # normal . X of the plane
    s_mid: float  # median position along the facade of its known pixels
    bay: float
    period: float
    band: Optional[float]
    measured: bool
    size: int


def continue_facades(linear: np.ndarray, known: np.ndarray, fill: np.ndarray, norm_depth: np.ndarray,
                     cam: FrameCamera, *, far_depth: float = 0.999, max_steps: int = 40) -> FacadeResult:
    """Fill what it can of ``fill`` on vertical surfaces by repeating known storeys upward.

    ``linear`` (H, W, 3) scene-linear, ``known``/``fill`` (H, W) bool, ``norm_depth`` the
    request's shot-normalised depth (pixels at ``far_depth`` or beyond are left alone).
    Returns a copy of ``linear`` with the filled pixels written; nothing else changes.

    The period is estimated per building-sized piece of each facade plane (see
    :func:`_chunk_ids`). Facade pixels with no known pixel of their own surface below them (a
    building the set never showed) take the texture of the best measured piece facing the same
    way, at the same height and bay phase (shop fronts stay at street level, windows above).
    """
    out = np.asarray(linear, dtype=np.float32).copy()
    filled = np.zeros_like(fill)
    none = FacadeResult(out, filled, None, "none")
    if not fill.any() or not known.any():
        return none
    g = geometry(cam)
    near = norm_depth < far_depth
    ok_src = known & g.vertical & near & np.isfinite(g.footprint)
    targets = fill & g.vertical & near & np.isfinite(g.footprint)
    if ok_src.sum() < 200 or not targets.any():
        return none
    feat = _high_pass(to_feature(out), known)
    hk = g.height[ok_src]
    lo_h, hi_h = np.percentile(hk, [1, 99])
    extent = float(hi_h - lo_h)
    if not extent > 0:
        return none
    normal = np.nan_to_num(g.normal)
    along = np.cross(cam.up, normal)
    along /= np.maximum(np.linalg.norm(along, axis=-1, keepdims=True), 1e-12)
    ids = _chunk_ids(g, normal, ok_src | targets, 1.6 * extent, 0.3 * extent)
    pyramid = blur_pyramid(out, ok_src)
    periods: list[float] = []
    modes: list[str] = []
    donors: list[_Donor] = []
    orphans = np.zeros_like(targets)  # no known pixel of their own surface below
    unmeasured = np.zeros_like(targets)  # pieces whose period could not be found
    for cid in np.unique(ids[targets]):
        src_c = ok_src & (ids == cid)
        tgt_c = targets & (ids == cid)
        found = _piece_period(cam, g, feat, src_c, along)
        if found is None:
            unmeasured |= tgt_c
            continue
        period, band, mode, bay = found
        ty, tx = np.nonzero(tgt_c)
        done, colour, unseen = _repeat(out, ok_src, g.world[ty, tx], cam, g, period, band, max_steps, first=1,
                                       foot=g.footprint[ty, tx], pyramid=pyramid, measured=mode == "vertical")
        out[ty[done], tx[done]] = colour[done]
        filled[ty[done], tx[done]] = True
        orphans[ty[unseen], tx[unseen]] = True
        periods.append(period)
        modes.append(mode)
        if bay is not None:
            nrm = normal[src_c].mean(axis=0)
            nrm -= cam.up * (nrm @ cam.up)
            nrm /= max(float(np.linalg.norm(nrm)), 1e-12)
            alo = np.cross(cam.up, nrm)
            pts = g.world[src_c]
            donors.append(_Donor(nrm, alo, float(np.median(pts @ nrm)), float(np.median(pts @ alo)), bay,
                                 period, band, mode == "vertical", int(src_c.sum())))
    if donors and unmeasured.any():
        # their own band, repeated with the period of the nearest measured piece facing the same way
        ty, tx = np.nonzero(unmeasured)
        pick = _nearest_donor(donors, g.world[ty, tx], normal[ty, tx], cam.up)
        for k, donor in enumerate(donors):
            sel = np.nonzero(pick == k)[0]
            if sel.size == 0:
                continue
            done, colour, unseen = _repeat(out, ok_src, g.world[ty[sel], tx[sel]], cam, g, donor.period, REPEAT_BAND,
                                           max_steps, first=1, foot=g.footprint[ty[sel], tx[sel]], pyramid=pyramid)
            out[ty[sel[done]], tx[sel[done]]] = colour[done]
            filled[ty[sel[done]], tx[sel[done]]] = True
            orphans[ty[sel[unseen]], tx[sel[unseen]]] = True
    if orphans.any() and donors:
        _transfer(out, filled, orphans, ok_src, normal, cam, g, donors, max_steps, pyramid)
    if not periods:
        return FacadeResult(out, filled, None, "none")
    mode = max(set(modes), key=modes.count)
    return FacadeResult(out, filled, float(np.median(periods)), mode)


def _piece_period(cam: FrameCamera, g: Geometry, feat: np.ndarray, src: np.ndarray, along: np.ndarray
                  ) -> Optional[tuple[float, Optional[float], str, Optional[float]]]:
    """(period, repeat band or None, mode, bay or None) of one facade piece, or None.

    Search ranges are relative to the piece's known extent, up along ``up`` and along the
    facade; only the bay prior is bounded in scene units (:data:`PRIOR_RANGE`).
    """
    if src.sum() < 200:
        return None
    c_lo, c_hi = np.percentile(g.height[src], [1, 99])
    c_ext = float(c_hi - c_lo)
    pix = float(np.median(g.footprint[src]))
    if not c_ext > 8 * pix:
        return None
    s_along = (g.world[src] * along[src]).sum(axis=1)
    a_lo, a_hi = np.percentile(s_along, [1, 99])
    span = min(c_ext, float(a_hi - a_lo))
    found = estimate_period(cam, g, feat, src, along, max(6 * pix, 0.3 * span), span, samples=1500)
    bay = found[0] if found is not None else None
    # vertical: two storeys seen at least, matching well; a mediocre match only with three or
    # more, and then columns that do not show them are banded like the prior (see _repeat)
    found = estimate_period(cam, g, feat, src, cam.up, max(6 * pix, 0.05 * c_ext), 0.5 * c_ext, samples=1500)
    if found is not None and found[1] < VERTICAL_MAX_SCORE:
        return found[0], None, "vertical", bay
    if found is not None and found[0] <= c_ext / 3.0:
        # some columns may still be short (another building in the piece): band them
        return found[0], REPEAT_BAND, "vertical", bay
    # too short a band to see two storeys: the facade's bay spacing is the storey prior, if the
    # band shows 1.6 to 4 of it and it is a plausible storey (PRIOR_RANGE)
    if bay is None or not (0.25 * c_ext <= bay <= 0.62 * c_ext and PRIOR_RANGE[0] <= bay <= PRIOR_RANGE[1]):
        return None
    return bay, REPEAT_BAND, "horizontal-prior", bay


def _nearest_donor(donors: list[_Donor], pts: np.ndarray, normals: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Per point, the index of the nearest donor (along its facade) facing the same way; -1: none."""
    best = np.full(pts.shape[0], np.inf)
    pick = np.full(pts.shape[0], -1, dtype=np.int64)
    for k, d in enumerate(donors):
        facing = normals @ d.normal > 0.7
        dist = np.abs(pts @ d.along - d.s_mid) + np.abs(pts @ d.normal - d.offset)
        better = facing & (dist < best)
        best[better], pick[better] = dist[better], k
    return pick


def _transfer(out: np.ndarray, filled: np.ndarray, orphans: np.ndarray, ok_src: np.ndarray, normal: np.ndarray,
              cam: FrameCamera, g: Geometry, donors: list[_Donor], max_steps: int, pyramid: np.ndarray) -> None:
    """Texture orphan facade pixels from the nearest donor piece facing the same way."""
    ty, tx = np.nonzero(orphans & ~filled)
    if ty.size == 0:
        return
    n = normal[ty, tx]
    pick = _nearest_donor(donors, g.world[ty, tx], n, cam.up)
    for k, donor in enumerate(donors):
        idx = np.nonzero(pick == k)[0]
        if idx.size == 0:
            continue
        pts = g.world[ty[idx], tx[idx]]
        alo = np.cross(cam.up, n[idx])
        alo /= np.maximum(np.linalg.norm(alo, axis=-1, keepdims=True), 1e-12)
        s_t = (pts * alo).sum(axis=1)
        # same bay phase as the target (world-anchored, so keyframes agree), near the donor's middle
        s_src = donor.bay * np.floor(donor.s_mid / donor.bay - 0.5) + np.mod(s_t, donor.bay)
        start = (donor.normal * donor.offset + donor.along * s_src[:, None]
                 + cam.up * (pts @ cam.up)[:, None])
        done, colour, _ = _repeat(out, ok_src, start, cam, g, donor.period, donor.band, max_steps, first=0,
                                  foot=g.footprint[ty[idx], tx[idx]], pyramid=pyramid, measured=donor.measured)
        out[ty[idx[done]], tx[idx[done]]] = colour[done]
        filled[ty[idx[done]], tx[idx[done]]] = True


def _unseen_storey(src: np.ndarray, ok_src: np.ndarray, cam: FrameCamera, g: Geometry, above: np.ndarray,
                   lo: np.ndarray, hi: np.ndarray, period: float, band: float, foot: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Colour for points ``above`` the band's top, in the part of a storey the band never shows.

    The top is found by bisection between ``lo`` (known) and ``hi`` (not known) along up. The
    lower half of the unseen part mirrors the band's top (what is just below the cut goes on a
    little), the upper half mirrors the band's bottom (what starts the next storey): both seams
    continue, and they meet in a horizontal edge, like a window head.
    """
    for _ in range(6):
        mid = 0.5 * (lo + hi)
        known_mid, _, _ = nearest_ok(cam, g, ok_src, mid)
        lo = np.where(known_mid[:, None], mid, lo)
        hi = np.where(known_mid[:, None], hi, mid)
    e = (above - lo) @ cam.up  # height above the top
    unseen = (1.0 - band) * period
    below_top = lo - e[:, None] * cam.up
    above_bottom = lo - (band * period - (unseen - e))[:, None] * cam.up
    return sample_at(src, ok_src, cam, g, np.where((e < 0.5 * unseen)[:, None], below_top, above_bottom), foot)


def _repeat(out: np.ndarray, ok_src: np.ndarray, pts: np.ndarray, cam: FrameCamera, g: Geometry, period: float,
            band: Optional[float], max_steps: int, *, first: int, foot: np.ndarray, pyramid: np.ndarray,
            measured: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For world points (N, 3): the first ``X - n P up`` (n >= ``first``) on a known pixel of
    the same surface, bilinearly. Returns (found, colours (N, 3) float32, unseen: no known
    pixel of that surface at all below). With ``band``, a landing (n > 0) deeper than
    ``band * P`` below the band's top is refused: that part of the storey was never seen, and
    it is made from the band's top and bottom mirrored (:func:`_unseen_storey`), or left
    to PatchMatch when that fails. With ``measured`` (a vertical period measured on the piece)
    the band applies only to columns that do not show 1.5 more storeys below the landing: a
    piece can mix tall known columns with short ones (another building, another keyframe)."""
    nt = pts.shape[0]
    hmin = float(g.height[ok_src].min())
    steps = int(min(max_steps, np.ceil(max(float((pts @ cam.up).max()) - hmin, 0.0) / period) + 1))
    colour = np.zeros((nt, 3), np.float64)
    done = np.zeros(nt, dtype=bool)
    failed = np.zeros(nt, dtype=bool)
    src = pyramid
    step = period * cam.up
    for n in range(first, max(steps, first) + 1):
        todo = np.nonzero(~done & ~failed)[0]
        if todo.size == 0:
            break
        q = pts[todo] - n * step
        acc, wsum = sample_at(src, ok_src, cam, g, q, foot[todo])
        hit = wsum > 0.25
        if band is not None and n > 0 and hit.any():
            # only the top of the band repeats: the point band * P above the source must not be known
            hi_idx = np.nonzero(hit)[0]
            is_known, _, _ = nearest_ok(cam, g, ok_src, q[hi_idx] + band * step)
            if measured:  # a column that shows 1.5 more storeys below is truly periodic
                tall, _, _ = nearest_ok(cam, g, ok_src, q[hi_idx] - 1.5 * step)
                is_known &= ~tall
            deep = hi_idx[is_known]
            failed[todo[deep]] = True
            hit[deep] = False
            if deep.size:
                macc, mw = _unseen_storey(src, ok_src, cam, g, q[deep] + step, q[deep] + band * step, q[deep] + step,
                                          period, band, foot[todo[deep]])
                good = mw > 0.25
                acc[deep[good]], wsum[deep[good]] = macc[good], mw[good]
                hit[deep[good]] = True
        sel = todo[hit]
        colour[sel] = acc[hit] / wsum[hit, None]
        done[sel] = True
    return done, colour.astype(np.float32), ~done & ~failed
