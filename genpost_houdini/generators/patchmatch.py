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
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

import numpy as np

from ..conditioning.morphology import box_sum, dilate, distance_to, erode
from ..conditioning.pullpush import pull_push
from ..errors import BadInputError
from ..progress import ProgressFn

LOG_EPS = 2.0**-7  # log2(max(x, 0) + eps): dark values do not dominate the patch distance


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


# --- small image helpers ------------------------------------------------------------------


def texture_features(feat: np.ndarray, known: np.ndarray, r: int = 2) -> np.ndarray:
    """(h, w, 2): local mean |d/dx| and |d/dy| of log luminance over known pixels.

    Newson et al. (2014): with these, a blurry estimate no longer matches flat source patches
    better than textured ones, so the fill keeps the texture instead of smearing.
    """
    lum = feat.mean(axis=2)
    h, w = lum.shape
    g = np.zeros((h, w, 2), dtype=np.float32)
    kx = known[:, 1:] & known[:, :-1]
    ky = known[1:, :] & known[:-1, :]
    g[:, :-1, 0] = np.where(kx, np.abs(lum[:, 1:] - lum[:, :-1]), 0.0)
    g[:-1, :, 1] = np.where(ky, np.abs(lum[1:, :] - lum[:-1, :]), 0.0)
    wgt = np.zeros((h, w, 2), dtype=np.float32)
    wgt[:, :-1, 0] = kx
    wgt[:-1, :, 1] = ky
    num, den = box_sum(g, r), box_sum(wgt, r)
    return np.where(den > 0, num / np.maximum(den, 1e-6), 0.0).astype(np.float32)


def to_feature(linear: np.ndarray) -> np.ndarray:
    """Scene-linear RGB -> log2 features (perceptual enough for patch distances)."""
    return np.log2(np.maximum(linear, 0.0) + LOG_EPS).astype(np.float32)


#: Keep each BLAS call below OpenBLAS's threading threshold (m*n*k ~ 2.6e5): these products are
#: thin, and on a loaded machine (a farm node, a Houdini session) threaded BLAS runs 10-20x slower.
_BLAS_SINGLE = 200_000


def _mm(x: np.ndarray, b: np.ndarray) -> np.ndarray:
    """x (n, c) @ b (c, k), in row chunks small enough for single-threaded BLAS."""
    n = x.shape[0]
    step = max(64, _BLAS_SINGLE // max(1, x.shape[1] * b.shape[1]))
    if n <= step:
        return x @ b
    out = np.empty((n, b.shape[1]), dtype=np.result_type(x, b))
    for i in range(0, n, step):
        np.matmul(x[i : i + step], b, out=out[i : i + step])
    return out


def _tmm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a.T @ b for a (n, p), b (n, d), accumulated over row chunks (single-threaded size)."""
    n = a.shape[0]
    step = max(1, _BLAS_SINGLE // max(1, a.shape[1] * b.shape[1]))
    out = np.zeros((a.shape[1], b.shape[1]), dtype=np.result_type(a, b))
    for i in range(0, n, step):
        out += a[i : i + step].T @ b[i : i + step]
    return out


def _orthonormal(y: np.ndarray) -> np.ndarray:
    """An orthonormal basis of y's columns (n, p) via its small Gram matrix (no tall QR)."""
    g = _tmm(y, y).astype(np.float64)
    vals, vecs = np.linalg.eigh(g)
    keep = vals > vals.max() * 1e-10 if vals.max() > 0 else np.zeros_like(vals, dtype=bool)
    if not keep.any():
        return np.zeros((y.shape[0], 1), dtype=y.dtype)
    whiten = (vecs[:, keep] / np.sqrt(vals[keep])).astype(y.dtype)
    return _mm(y, whiten)


def pca_basis(x: np.ndarray, k: int, rng: np.random.Generator, power_iters: int = 2) -> np.ndarray:
    """(d, k) leading principal directions of centred samples ``x`` (n, d), strongest first.

    Randomised range finder (Halko et al. 2011): only thin products and tiny factorisations, so
    it stays fast where a (d, d) eigendecomposition through threaded LAPACK would not.
    """
    n, d = x.shape
    k = min(k, d, n)
    p = min(d, n, k + 8)
    y = _mm(x, rng.standard_normal((d, p)).astype(x.dtype))
    for _ in range(power_iters):
        y = _mm(x, _tmm(x, _orthonormal(y)))  # x @ (x.T @ q)
    q = _orthonormal(y)
    small = _tmm(q, x)  # (p, d) = q.T @ x
    _, _, vt = np.linalg.svd(small.astype(np.float64), full_matrices=False)
    return vt[:k].T.astype(np.float32)


def _pad_even(a: np.ndarray) -> np.ndarray:
    h, w = a.shape[:2]
    pads = [(0, h % 2), (0, w % 2)] + [(0, 0)] * (a.ndim - 2)
    return np.pad(a, pads, mode="edge") if (h % 2 or w % 2) else a


def _blocks(a: np.ndarray) -> np.ndarray:
    """(h, w, ...) -> (h/2, w/2, 4, ...) after edge padding to even size."""
    a = _pad_even(a)
    h, w = a.shape[:2]
    b = a.reshape(h // 2, 2, w // 2, 2, *a.shape[2:]).swapaxes(1, 2)
    return b.reshape(h // 2, w // 2, 4, *a.shape[2:])


# --- one pyramid level ----------------------------------------------------------------------


@dataclass
class _Level:
    feat: np.ndarray  # (h, w, C) current estimate; known pixels hold their features
    known: np.ndarray  # (h, w) bool
    region: np.ndarray  # (h, w) bool, pixels to synthesise
    depth: np.ndarray  # (h, w) float32
    guide: np.ndarray  # (h, w, G) known everywhere (depth, its slope); the last G feat channels

    @property
    def shape(self) -> tuple[int, int]:
        return self.known.shape  # type: ignore[return-value]

    def down(self) -> "_Level":
        kb = _blocks(self.known)
        fb = _blocks(self.feat)
        wk = kb.astype(np.float32)
        cnt = wk.sum(axis=2)
        fsum = (fb * wk[..., None]).sum(axis=2)
        feat = np.where(cnt[..., None] > 0, fsum / np.maximum(cnt, 1.0)[..., None], fb.mean(axis=2))
        guide = _blocks(self.guide).mean(axis=2).astype(np.float32)
        feat[..., -guide.shape[2] :] = guide
        return _Level(
            feat=feat.astype(np.float32),
            known=kb.all(axis=2),
            region=_blocks(self.region).any(axis=2),
            depth=_blocks(self.depth).mean(axis=2).astype(np.float32),
            guide=guide,
        )


def _patch_offsets(r: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    dy, dx = np.mgrid[-r : r + 1, -r : r + 1]
    dy, dx = dy.ravel(), dx.ravel()
    sigma = max(r, 1) * 1.0
    g = np.exp(-(dy**2 + dx**2) / (2 * sigma**2))
    return dy.astype(np.int64), dx.astype(np.int64), (g / g.sum()).astype(np.float32)


class _Solver:
    """NNF search and voting on one level (all arrays over the level's target patches)."""

    def __init__(self, lv: _Level, params: CompletionParams, rng: np.random.Generator, r: int) -> None:
        self.lv, self.p, self.rng, self.r = lv, params, rng, r
        h, w = lv.shape
        self.h, self.w = h, w
        self.dy, self.dx, g = _patch_offsets(r)
        self.sqrt_g = np.sqrt(g)
        # sources: patch wholly inside the image and known
        self.valid = erode(lv.known, r)
        sy, sx = np.nonzero(self.valid)
        if sy.size == 0:
            raise ValueError("no valid source patch")
        self.src_y, self.src_x = sy.astype(np.int64), sx.astype(np.int64)
        order = np.argsort(lv.depth[sy, sx], kind="stable")
        self.src_sorted = order
        self.src_depth_sorted = lv.depth[sy, sx][order]
        # targets: patches overlapping the region
        tmask = dilate(lv.region, r)
        ty, tx = np.nonzero(tmask)
        self.ty, self.tx = ty.astype(np.int64), tx.astype(np.int64)
        self.n = ty.size
        self.tmap = np.full(h * w, -1, dtype=np.int64)
        self.tmap[self.ty * w + self.tx] = np.arange(self.n)
        self.tdepth = lv.depth[ty, tx]
        self.src_cost: Optional[np.ndarray] = None
        self.offsets = np.zeros((0, 2), dtype=np.int64)
        if params.proximity_weight > 0:
            near = distance_to(lv.region, max(h, w)) / float(h)
            self.src_cost = (params.proximity_weight * near * near).astype(np.float32).ravel()
        self._fit_pca()
        self.src_desc = self._full_descriptors(lv.feat)
        self.tdesc = self._target_descriptors(lv.feat)
        self.nnf_y = np.zeros(self.n, dtype=np.int64)
        self.nnf_x = np.zeros(self.n, dtype=np.int64)
        self.dist = np.full(self.n, np.inf, dtype=np.float32)

    # -- descriptors
    def _fit_pca(self) -> None:
        nsrc = self.src_y.size
        take = self.rng.choice(nsrc, size=1500, replace=False) if nsrc > 1500 else np.arange(nsrc)
        cy, cx = self.src_y[take], self.src_x[take]
        feat = self.lv.feat
        c = feat.shape[2]
        vecs = np.empty((take.size, self.dy.size, c), dtype=np.float32)
        for j in range(self.dy.size):
            vecs[:, j, :] = feat[cy + self.dy[j], cx + self.dx[j]] * self.sqrt_g[j]
        vecs = vecs.reshape(take.size, -1)
        vecs -= vecs.mean(axis=0)
        basis = pca_basis(vecs, self.p.pca_dims, self.rng)  # (P*C, k)
        k = basis.shape[1]
        self.basis = (basis.reshape(self.dy.size, c, k) * self.sqrt_g[:, None, None]).astype(np.float32)

    def _padded(self, feat: np.ndarray) -> np.ndarray:
        r = self.r
        return np.pad(feat, ((r, r), (r, r), (0, 0)), mode="edge")

    def _full_descriptors(self, feat: np.ndarray) -> np.ndarray:
        h, w, r = self.h, self.w, self.r
        pad = self._padded(feat)
        out = np.zeros((h * w, self.basis.shape[2]), dtype=np.float32)
        for j in range(self.dy.size):
            y0, x0 = r + self.dy[j], r + self.dx[j]
            out += _mm(pad[y0 : y0 + h, x0 : x0 + w].reshape(h * w, -1), self.basis[j])
        return out

    def _target_descriptors(self, feat: np.ndarray) -> np.ndarray:
        r = self.r
        pad = self._padded(feat)
        pw = self.w + 2 * r
        flat = pad.reshape(-1, pad.shape[2])
        base = (self.ty + r) * pw + (self.tx + r)
        out = np.zeros((self.n, self.basis.shape[2]), dtype=np.float32)
        for j in range(self.dy.size):
            out += _mm(flat[base + self.dy[j] * pw + self.dx[j]], self.basis[j])
        return out

    # -- distances
    def _distance(self, sy: np.ndarray, sx: np.ndarray) -> np.ndarray:
        d = self.tdesc - self.src_desc[sy * self.w + sx]
        dist = np.einsum("ij,ij->i", d, d)
        dd = self.tdepth - self.lv.depth[sy, sx]
        dist += self.p.depth_weight * dd * dd
        if self.p.position_weight > 0:
            px = (self.tx - sx) / float(self.w)
            dist += self.p.position_weight * px * px
        if self.src_cost is not None:
            dist += self.src_cost[sy * self.w + sx]
        return dist.astype(np.float32)

    def _try(self, cy: np.ndarray, cx: np.ndarray, ok: np.ndarray) -> None:
        if not ok.any():
            return
        cy = np.where(ok, cy, self.nnf_y)
        cx = np.where(ok, cx, self.nnf_x)
        ok &= self.valid[cy, cx]
        if not ok.any():
            return
        d = self._distance(cy, cx)
        better = ok & (d < self.dist)
        self.nnf_y[better], self.nnf_x[better], self.dist[better] = cy[better], cx[better], d[better]

    def depth_candidates(self) -> tuple[np.ndarray, np.ndarray]:
        """Random sources of similar depth to each target."""
        nsrc = self.src_depth_sorted.size
        span = max(8, nsrc // 50)
        pos = np.searchsorted(self.src_depth_sorted, self.tdepth)
        pos = np.clip(pos + self.rng.integers(-span, span + 1, size=self.n), 0, nsrc - 1)
        idx = self.src_sorted[pos]
        return self.src_y[idx], self.src_x[idx]

    def init_random(self) -> None:
        self.nnf_y, self.nnf_x = self.depth_candidates()
        self.dist = self._distance(self.nnf_y, self.nnf_x)

    def set_nnf(self, sy: np.ndarray, sx: np.ndarray) -> None:
        ok = (sy >= 0) & (sy < self.h) & (sx >= 0) & (sx < self.w)
        sy, sx = np.clip(sy, 0, self.h - 1), np.clip(sx, 0, self.w - 1)
        ok &= self.valid[sy, sx]
        ry, rx = self.depth_candidates()
        self.nnf_y, self.nnf_x = np.where(ok, sy, ry), np.where(ok, sx, rx)
        self.dist = self._distance(self.nnf_y, self.nnf_x)

    def refresh(self, feat: np.ndarray) -> None:
        """New estimate: recompute target descriptors and current distances."""
        self.tdesc = self._target_descriptors(feat)
        self.dist = self._distance(self.nnf_y, self.nnf_x)

    def patchmatch(self, iters: int) -> None:
        h, w = self.h, self.w
        for it in range(iters):
            jumps = self.p.jumps if it % 2 == 0 else tuple(reversed(self.p.jumps))
            for k in jumps:
                for ddy, ddx in ((0, k), (k, 0), (0, -k), (-k, 0)):
                    ny, nx = self.ty - ddy, self.tx - ddx
                    inb = (ny >= 0) & (ny < h) & (nx >= 0) & (nx < w)
                    ni = self.tmap[np.where(inb, ny * w + nx, 0)]
                    ok = inb & (ni >= 0)
                    ni = np.where(ok, ni, 0)
                    cy, cx = self.nnf_y[ni] + ddy, self.nnf_x[ni] + ddx
                    ok &= (cy >= 0) & (cy < h) & (cx >= 0) & (cx < w)
                    self._try(np.clip(cy, 0, h - 1), np.clip(cx, 0, w - 1), ok)
            radius = max(h, w) / 2.0
            for _ in range(self.p.random_radii):
                rr = max(int(radius), 1)
                cy = self.nnf_y + self.rng.integers(-rr, rr + 1, size=self.n)
                cx = self.nnf_x + self.rng.integers(-rr, rr + 1, size=self.n)
                ok = (cy >= 0) & (cy < h) & (cx >= 0) & (cx < w)
                self._try(np.clip(cy, 0, h - 1), np.clip(cx, 0, w - 1), ok)
                radius /= 2.0
                if radius < 1:
                    break
            for _ in range(self.p.depth_samples):
                cy, cx = self.depth_candidates()
                self._try(cy, cx, np.ones(self.n, dtype=bool))
            for oy, ox in self.offsets:
                self._try(*self._offset_candidates(int(oy), int(ox)))

    def _offset_candidates(self, oy: int, ox: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """t + m * (oy, ox) for the smallest m in 1..6 that lands on a valid source."""
        h, w = self.h, self.w
        cy = np.zeros(self.n, dtype=np.int64)
        cx = np.zeros(self.n, dtype=np.int64)
        found = np.zeros(self.n, dtype=bool)
        for m in range(1, 7):
            y, x = self.ty + m * oy, self.tx + m * ox
            inb = (y >= 0) & (y < h) & (x >= 0) & (x < w)
            ok = ~found & inb
            ok[ok] = self.valid[y[ok], x[ok]]
            cy[ok], cx[ok] = y[ok], x[ok]
            found |= ok
            if found.all():
                break
        return cy, cx, found

    def find_offsets(self) -> None:
        """Dominant self-similarity offsets of the known texture (He and Sun 2012).

        Each sampled source patch finds its best match among shifted copies of itself; the
        most frequent shifts (a facade's floor and window spacing) become extra candidates, so
        the fill repeats the structure instead of smearing it.
        """
        k = self.p.offsets
        nsrc = self.src_y.size
        if k <= 0 or nsrc < 64:
            return
        h, w = self.h, self.w
        take = self.rng.choice(nsrc, size=min(nsrc, 1200), replace=False)
        sy, sx = self.src_y[take], self.src_x[take]
        sdesc = self.src_desc[sy * w + sx]
        sdep = self.lv.depth[sy, sx]
        best = np.full(take.size, np.inf, dtype=np.float32)
        best_o = np.zeros((take.size, 2), dtype=np.int64)
        lim = max(h, w) // 2
        lo = self.r + 1
        for oy in range(-lim, lim + 1):
            y = sy + oy
            iny = (y >= 0) & (y < h)
            for ox in range(-lim, lim + 1):
                if max(abs(oy), abs(ox)) < lo:
                    continue
                x = sx + ox
                ok = iny & (x >= 0) & (x < w)
                yy, xx = np.where(ok, y, 0), np.where(ok, x, 0)
                ok &= self.valid[yy, xx]
                d = sdesc - self.src_desc[yy * w + xx]
                dist = np.einsum("ij,ij->i", d, d)
                dd = sdep - self.lv.depth[yy, xx]
                dist += self.p.depth_weight * dd * dd
                better = ok & (dist < best)
                best[better] = dist[better]
                best_o[better] = (oy, ox)
        good = np.isfinite(best)
        if not good.any():
            return
        keys, counts = np.unique(best_o[good], axis=0, return_counts=True)
        order = np.argsort(-counts, kind="stable")
        chosen: list[tuple[int, int]] = []
        min_count = max(3, int(0.01 * good.sum()))
        for i in order:
            if counts[i] < min_count or len(chosen) >= k:
                break
            oy, ox = int(keys[i, 0]), int(keys[i, 1])
            if any(max(abs(oy - a), abs(ox - b)) <= 1 for a, b in chosen):
                continue
            chosen.append((oy, ox))
        self.offsets = np.array(chosen, dtype=np.int64).reshape(-1, 2)

    def vote(self, source: np.ndarray, radius: int) -> np.ndarray:
        """Each region pixel: weighted mean of what the overlapping patches' matches put there.

        ``source`` (h, w, C) holds the values to copy (features or scene-linear); returns the
        (n_region, C) values in region order (``np.nonzero(region)``).
        """
        h, w = self.h, self.w
        ry, rx = np.nonzero(self.lv.region)
        finite = self.dist[np.isfinite(self.dist)]
        sigma2 = float(np.percentile(finite, 75)) if finite.size else 1.0
        sigma2 = max(sigma2, 1e-6) / max(self.p.vote_sharpness, 1e-6)
        wq = np.exp(-self.dist / (2.0 * sigma2)).astype(np.float32) + 1e-12
        flat = source.reshape(-1, source.shape[2])
        acc = np.zeros((ry.size, source.shape[2]), dtype=np.float64)
        wsum = np.zeros(ry.size, dtype=np.float64)
        rad = min(radius, self.r)
        for ddy in range(-rad, rad + 1):
            for ddx in range(-rad, rad + 1):
                qy, qx = ry - ddy, rx - ddx
                inb = (qy >= 0) & (qy < h) & (qx >= 0) & (qx < w)
                qi = self.tmap[np.where(inb, qy * w + qx, 0)]
                ok = inb & (qi >= 0)
                qi = np.where(ok, qi, 0)
                wt = np.where(ok, wq[qi], 0.0)
                src = (self.nnf_y[qi] + ddy) * w + (self.nnf_x[qi] + ddx)
                acc += wt[:, None] * flat[src]
                wsum += wt
        return (acc / np.maximum(wsum, 1e-30)[:, None]).astype(np.float32)


# --- driver ---------------------------------------------------------------------------------


def depth_guide(depth: np.ndarray, params: CompletionParams) -> np.ndarray:
    """(h, w, 3) guide channels known everywhere: depth and its slope (per image width).

    The slope tells a floor from a wall that meets it at the same depth; jumps (silhouettes)
    are clipped so they do not swamp the rest.
    """
    h, w = depth.shape
    d = depth.astype(np.float32)
    gx = np.zeros_like(d)
    gy = np.zeros_like(d)
    gx[:, 1:-1] = (d[:, 2:] - d[:, :-2]) * 0.5
    gy[1:-1, :] = (d[2:, :] - d[:-2, :]) * 0.5
    scale = float(max(h, w))
    slope = np.clip(np.stack([gx, gy], axis=2) * scale, -params.slope_clip, params.slope_clip)
    return np.concatenate(
        [d[..., None] * params.depth_patch_weight, slope * params.slope_weight], axis=2
    ).astype(np.float32)


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


def _update(lv: _Level, idx: tuple[np.ndarray, ...], voted: np.ndarray, params: CompletionParams) -> None:
    """Write voted features into the region; guide channels keep their true values."""
    voted[:, -lv.guide.shape[2] :] = lv.guide[idx]
    lv.feat[idx] = voted


def _levels(finest: _Level, params: CompletionParams, r: int) -> list[_Level]:
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
    finest = _Level(feat=feat0, known=known.copy(), region=region, depth=depth.astype(np.float32), guide=guide)
    levels = _levels(finest, params, r)
    nlev = len(levels)

    prev: Optional[_Solver] = None
    for li in range(nlev - 1, -1, -1):
        lv = levels[li]
        if prev is None:
            lv.feat = pull_push(lv.feat, lv.known.astype(np.float32))
        solver = _Solver(lv, params, rng, r)
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
