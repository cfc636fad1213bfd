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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

import numpy as np

from ..errors import BadInputError
from ..geometry.projection import backproject, project
from ..imageio.policy import valid_depth
from ..shot.camera import CameraView

#: The option keys a job passes to describe the camera (all or none).
CAMERA_KEYS = ("depth_metric", "K", "world_to_camera", "world_up")
#: |normal . up| below this: a vertical surface.
VERTICAL_COS = 0.25
#: Fraction of a period below a short band's top that is copied (the rest is mirrored).
REPEAT_BAND = 0.6
#: Storey heights the bay-spacing prior may give, in scene units (metres: the Solaris default).
#: Only a sanity bound on the prior; measured vertical periods are not limited by it.
PRIOR_RANGE = (2.0, 6.0)
#: A vertical period must match at least this well (self-difference / unrelated pixels').
VERTICAL_MAX_SCORE = 0.5
_LOG_EPS = 2.0**-7


@dataclass(frozen=True)
class FrameCamera:
    """One frame's camera: metric depth (H, W) (inf = no hit), K (3, 3), world-to-camera (4, 4), up (3,)."""

    depth: np.ndarray
    K: np.ndarray
    world_to_camera: np.ndarray
    up: np.ndarray

    @property
    def view(self) -> CameraView:
        """The camera as a :class:`~genpost_houdini.shot.camera.CameraView` (OpenCV axes,
        pixel centres at integers) for :mod:`genpost_houdini.geometry`."""
        h, w = self.depth.shape
        return CameraView(K=self.K, world_to_camera=self.world_to_camera, width=w, height=h)


def camera_from_options(options: Mapping[str, Any], count: int, shape: tuple[int, int]) -> Optional[list[FrameCamera]]:
    """Per-frame cameras from a request's options; None when the request carries no camera.

    Raises BadInputError when only some of :data:`CAMERA_KEYS` are given or shapes disagree.
    """
    present = [k for k in CAMERA_KEYS if options.get(k) is not None]
    if not present:
        return None
    if len(present) != len(CAMERA_KEYS):
        missing = [k for k in CAMERA_KEYS if k not in present]
        raise BadInputError(f"classical generator: camera options incomplete, missing {', '.join(missing)}")
    h, w = shape
    depth = np.asarray(options["depth_metric"], dtype=np.float32)
    K = np.asarray(options["K"], dtype=np.float64)
    w2c = np.asarray(options["world_to_camera"], dtype=np.float64)
    up = np.asarray(options["world_up"], dtype=np.float64).reshape(-1)
    for name, arr, want in (("depth_metric", depth, (count, h, w)), ("K", K, (count, 3, 3)),
                            ("world_to_camera", w2c, (count, 4, 4))):
        if arr.shape != want:
            raise BadInputError(f"classical generator: option {name} has shape {arr.shape}, expected {want}")
    if up.shape != (3,) or not np.isfinite(up).all() or np.linalg.norm(up) < 1e-9:
        raise BadInputError(f"classical generator: option world_up must be a non-zero 3-vector, got {up!r}")
    if not (np.isfinite(K).all() and np.isfinite(w2c).all()):
        raise BadInputError("classical generator: K or world_to_camera holds NaN or inf")
    for i in range(count):
        if abs(np.linalg.det(K[i])) < 1e-12 or abs(np.linalg.det(w2c[i][:3, :3])) < 1e-12:
            raise BadInputError(f"classical generator: frame index {i}: K or world_to_camera is singular")
    up = up / np.linalg.norm(up)
    return [FrameCamera(depth[i], K[i], w2c[i], up) for i in range(count)]


# --- geometry -------------------------------------------------------------------------------


@dataclass
class _Geometry:
    world: np.ndarray  # (H, W, 3) float64, NaN where no hit
    valid: np.ndarray  # finite depth
    vertical: np.ndarray  # on a (near-)vertical surface
    normal: np.ndarray  # (H, W, 3)
    footprint: np.ndarray  # world size of a pixel (H, W), inf where unknown
    height: np.ndarray  # X . up
    up: np.ndarray


def _smaller_diff(a: np.ndarray, axis: int) -> np.ndarray:
    """Per pixel, the forward or backward difference along ``axis``, whichever is shorter
    (so a depth edge on one side does not bend the normal); NaN where neither exists."""
    d = np.diff(a, axis=axis)
    pad_shape = list(a.shape)
    pad_shape[axis] = 1
    nan = np.full(pad_shape, np.nan)
    fwd = np.concatenate([d, nan], axis=axis)
    bwd = np.concatenate([nan, d], axis=axis)
    nf = np.linalg.norm(fwd, axis=-1)
    nb = np.linalg.norm(bwd, axis=-1)
    use_b = np.isnan(nf) | (nb < nf)
    return np.where(use_b[..., None], bwd, fwd)


def geometry(cam: FrameCamera) -> _Geometry:
    """World points, normals, pixel footprints and heights of one frame."""
    valid = valid_depth(cam.depth)
    world = backproject(cam.depth, cam.view, dtype=np.float64)
    du = _smaller_diff(world, 1)
    dv = _smaller_diff(world, 0)
    n = np.cross(du, dv)
    nn = np.linalg.norm(n, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        n = n / nn[..., None]
        cos_up = np.abs(n @ cam.up)
    vertical = valid & np.isfinite(cos_up) & (cos_up < VERTICAL_COS)
    foot = np.fmax(np.linalg.norm(du, axis=-1), np.linalg.norm(dv, axis=-1))
    foot = np.where(np.isfinite(foot), foot, np.inf)
    return _Geometry(world=world, valid=valid, vertical=vertical, normal=n, footprint=foot,
                     height=world @ cam.up, up=cam.up)


def _project(cam: FrameCamera, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, 3) world points -> pixel (u, v) float, NaN behind the camera."""
    uv, _ = project(pts, cam.view)
    return uv[:, 0], uv[:, 1]


def _same_surface_at(g: _Geometry, ok_src: np.ndarray, pts: np.ndarray, yy: np.ndarray, xx: np.ndarray,
                     slack: float) -> np.ndarray:
    """Whether integer pixels (yy, xx) are usable sources whose world point lies near ``pts``."""
    h, w = ok_src.shape
    inb = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
    yc, xc = np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)
    ok = inb & ok_src[yc, xc]
    dist = np.linalg.norm(g.world[yc, xc] - pts, axis=-1)
    tol = slack * g.footprint[yc, xc]
    return ok & (dist < tol)


def _nearest_ok(cam: FrameCamera, g: _Geometry, ok_src: np.ndarray, pts: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(whether the nearest pixel of each projected point is a source on its surface, row, col)."""
    uu, vv = _project(cam, pts)
    fin = np.isfinite(uu) & np.isfinite(vv)
    xx = np.where(fin, np.rint(np.where(fin, uu, 0)), -1).astype(np.int64)
    yy = np.where(fin, np.rint(np.where(fin, vv, 0)), -1).astype(np.int64)
    return _same_surface_at(g, ok_src, pts, yy, xx, 1.5) & fin, yy, xx


# --- period -----------------------------------------------------------------------------------


def _shift_scores(cam: FrameCamera, g: _Geometry, feat: np.ndarray, ok_src: np.ndarray, sy: np.ndarray,
                  sx: np.ndarray, direction: np.ndarray, periods: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean |feature difference| between samples and their shifts by -p * direction, and the
    number of pairs that landed on the same surface, per candidate period."""
    pts = g.world[sy, sx]
    fs = feat[sy, sx]
    scores = np.full(periods.size, np.inf)
    counts = np.zeros(periods.size, dtype=np.int64)
    for i, p in enumerate(periods):
        q = pts - p * direction
        ok, yy, xx = _nearest_ok(cam, g, ok_src, q)
        if ok.sum() == 0:
            continue
        d = np.abs(fs[ok] - feat[yy[ok], xx[ok]]).mean()
        scores[i], counts[i] = d, int(ok.sum())
    return scores, counts


def _pick_period(periods: np.ndarray, scores: np.ndarray, counts: np.ndarray, baseline: float,
                 min_pairs: int, max_score: float = 0.7, min_dip: float = 0.12) -> Optional[tuple[float, float]]:
    """(period, normalised score) of the smallest period at a clear dip of the curve, or None."""
    s = np.where(counts >= min_pairs, scores / max(baseline, 1e-9), np.inf)
    good: list[int] = []
    running_max = -np.inf
    for i in range(s.size):
        if np.isfinite(s[i]):
            left = s[i - 1] if i > 0 else np.inf
            right = s[i + 1] if i + 1 < s.size else np.inf
            if s[i] <= left and s[i] <= right and s[i] < max_score and running_max >= s[i] + min_dip:
                good.append(i)
            running_max = max(running_max, s[i])
    if not good:
        return None
    best = min(s[i] for i in good)
    for i in good:  # smallest period that is nearly as good: a fundamental, not a multiple
        if s[i] <= best + 0.05:
            return float(periods[i]), float(s[i])
    return None


def _samples(mask: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.nonzero(mask)
    if ys.size > limit:
        take = np.linspace(0, ys.size - 1, limit).astype(np.int64)
        ys, xs = ys[take], xs[take]
    return ys, xs


def estimate_period(cam: FrameCamera, g: _Geometry, feat: np.ndarray, ok_src: np.ndarray,
                    direction: np.ndarray, lo: float, hi: float, samples: int = 3000,
                    max_score: float = 0.7) -> Optional[tuple[float, float]]:
    """(period, score) of the known texture along ``direction`` (a (3,) vector or (H, W, 3) field) in
    [lo, hi] world units, or None when there is no clear one (no dip of the self-difference,
    relative to that of unrelated pixels, below ``max_score``). Coarse log grid, then refined."""
    if not hi > lo > 0:
        return None
    sy, sx = _samples(ok_src, samples)
    if sy.size < 100:
        return None
    dirs = direction[sy, sx] if direction.ndim == 3 else direction
    fs = feat[sy, sx]
    perm = np.roll(np.arange(sy.size), sy.size // 2 + 1)
    baseline = float(np.abs(fs - fs[perm]).mean())
    min_pairs = max(60, sy.size // 20)
    periods = np.exp(np.arange(np.log(lo), np.log(hi), np.log(1.025)))
    if periods.size < 3:
        return None

    def scores_for(ps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _shift_scores(cam, g, feat, ok_src, sy, sx, dirs, ps)

    scores, counts = scores_for(periods)
    picked = _pick_period(periods, scores, counts, baseline, min_pairs, max_score=max_score)
    if picked is None:
        return None
    p, score = picked
    # refine on a fine grid: bilinear samples, the same pairs for every candidate
    fine = p * np.linspace(0.975, 1.025, 21)
    pts = g.world[sy, sx]
    src = np.where(ok_src[..., None], feat, 0.0)
    diffs = np.full((fine.size, sy.size), np.nan)
    for i, pf in enumerate(fine):
        acc, wsum = _sample(src, ok_src, cam, g, pts - pf * dirs)
        good = wsum > 0.9
        diffs[i, good] = np.abs(fs[good] - acc[good] / wsum[good, None]).mean(axis=1)
    common = np.isfinite(diffs).all(axis=0)
    if common.sum() < min_pairs:
        return p, score
    return float(fine[int(np.argmin(diffs[:, common].mean(axis=1)))]), score


# --- continuation ---------------------------------------------------------------------------


@dataclass
class FacadeResult:
    """Colours (H, W, 3) and the mask of pixels the continuation filled; how P was found."""

    image: np.ndarray
    filled: np.ndarray
    period: Optional[float]
    mode: str  # "vertical", "horizontal-prior" or "none"


def _high_pass(feat: np.ndarray, known: np.ndarray, r: int = 6) -> np.ndarray:
    """Log colour minus its local mean over known pixels: texture, not a building's tint or light."""
    from ..conditioning.morphology import box_sum

    kf = known.astype(np.float32)
    mean = box_sum(feat * kf[..., None], r) / np.maximum(box_sum(kf, r), 1.0)[..., None]
    hp = np.where(known[..., None], feat - mean, 0.0)
    # a light blur: shifted samples land between pixels, this keeps their comparison stable
    smooth = box_sum(hp, 1) / np.maximum(box_sum(kf, 1), 1.0)[..., None]
    return np.where(known[..., None], smooth, 0.0).astype(np.float32)


def _chunk_ids(g: _Geometry, n: np.ndarray, mask: np.ndarray, length: float, offset_bin: float) -> np.ndarray:
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
    feat = _high_pass(np.log2(np.maximum(out, 0.0) + _LOG_EPS).astype(np.float32), known)
    hk = g.height[ok_src]
    lo_h, hi_h = np.percentile(hk, [1, 99])
    extent = float(hi_h - lo_h)
    if not extent > 0:
        return none
    normal = np.nan_to_num(g.normal)
    along = np.cross(cam.up, normal)
    along /= np.maximum(np.linalg.norm(along, axis=-1, keepdims=True), 1e-12)
    ids = _chunk_ids(g, normal, ok_src | targets, 1.6 * extent, 0.3 * extent)
    pyramid = _pyramid(out, ok_src)
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


def _piece_period(cam: FrameCamera, g: _Geometry, feat: np.ndarray, src: np.ndarray, along: np.ndarray
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
              cam: FrameCamera, g: _Geometry, donors: list[_Donor], max_steps: int, pyramid: np.ndarray) -> None:
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


def _sample(src: np.ndarray, ok_src: np.ndarray, cam: FrameCamera, g: _Geometry, q: np.ndarray,
            foot: Optional[np.ndarray] = None) -> tuple[np.ndarray, np.ndarray]:
    """Bilinear colour at world points ``q`` (N, 3) from known pixels of the same surface:
    (colour sums (N, 3), weight sums (N,)); the colour is sums / weights where weights > 0.

    ``src`` is (H, W, C) or a pyramid (L, H, W, C) of ever wider blurs (:func:`_pyramid`); with
    ``foot`` (N,), the world size of the pixel being filled, a level as wide as that footprint
    is read, so a distant facade copied from a near one does not alias.
    """
    h, w = ok_src.shape
    uu, vv = _project(cam, q)
    fin = np.isfinite(uu) & np.isfinite(vv)
    uu, vv = np.where(fin, uu, -10.0), np.where(fin, vv, -10.0)
    x0, y0 = np.floor(uu).astype(np.int64), np.floor(vv).astype(np.int64)
    fx, fy = uu - x0, vv - y0
    pyr = src if src.ndim == 4 else src[None]
    level = np.zeros(q.shape[0], dtype=np.int64)
    if foot is not None and pyr.shape[0] > 1:
        ratio = foot / g.footprint[np.clip(y0, 0, h - 1), np.clip(x0, 0, w - 1)]
        with np.errstate(invalid="ignore", divide="ignore"):
            level = np.clip(np.floor(np.log2(np.where(ratio > 1, ratio, 1.0))), 0, pyr.shape[0] - 1).astype(np.int64)
    acc = np.zeros((q.shape[0], pyr.shape[-1]))
    wsum = np.zeros(q.shape[0])
    for dy, dx, wt in ((0, 0, (1 - fx) * (1 - fy)), (0, 1, fx * (1 - fy)), (1, 0, (1 - fx) * fy), (1, 1, fx * fy)):
        yy, xx = y0 + dy, x0 + dx
        ok = _same_surface_at(g, ok_src, q, yy, xx, 2.5) & fin
        wt = np.where(ok, wt, 0.0)
        acc += wt[:, None] * pyr[level, np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)]
        wsum += wt
    return acc, wsum


def _pyramid(image: np.ndarray, ok: np.ndarray, levels: int = 4) -> np.ndarray:
    """(levels, H, W, 3) float32: ``image`` where ``ok``, then box blurs over ``ok`` pixels
    of radius 1, 2, 4, ... (level k: about 2**k pixels wide)."""
    from ..conditioning.morphology import box_sum

    okf = ok.astype(np.float32)
    base = np.where(ok[..., None], image, 0.0).astype(np.float32)
    out = [base]
    for k in range(1, levels):
        r = 2 ** (k - 1)
        out.append((box_sum(base, r) / np.maximum(box_sum(okf, r), 1.0)[..., None]).astype(np.float32))
    return np.stack(out)


def _unseen_storey(src: np.ndarray, ok_src: np.ndarray, cam: FrameCamera, g: _Geometry, above: np.ndarray,
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
        known_mid, _, _ = _nearest_ok(cam, g, ok_src, mid)
        lo = np.where(known_mid[:, None], mid, lo)
        hi = np.where(known_mid[:, None], hi, mid)
    e = (above - lo) @ cam.up  # height above the top
    unseen = (1.0 - band) * period
    below_top = lo - e[:, None] * cam.up
    above_bottom = lo - (band * period - (unseen - e))[:, None] * cam.up
    return _sample(src, ok_src, cam, g, np.where((e < 0.5 * unseen)[:, None], below_top, above_bottom), foot)


def _repeat(out: np.ndarray, ok_src: np.ndarray, pts: np.ndarray, cam: FrameCamera, g: _Geometry, period: float,
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
        acc, wsum = _sample(src, ok_src, cam, g, q, foot[todo])
        hit = wsum > 0.25
        if band is not None and n > 0 and hit.any():
            # only the top of the band repeats: the point band * P above the source must not be known
            hi_idx = np.nonzero(hit)[0]
            is_known, _, _ = _nearest_ok(cam, g, ok_src, q[hi_idx] + band * step)
            if measured:  # a column that shows 1.5 more storeys below is truly periodic
                tall, _, _ = _nearest_ok(cam, g, ok_src, q[hi_idx] - 1.5 * step)
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
