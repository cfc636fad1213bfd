"""One pyramid level of the classical completion (:mod:`.patchmatch`): the level's arrays
(:class:`Level`, halved by :meth:`Level.down`) and its nearest-neighbour field
(:class:`Solver`: PatchMatch search -- random init, propagation, random search, depth-matched
and self-similarity candidates -- and patch voting), vectorised over the target patches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

import numpy as np

from ..conditioning.morphology import dilate, distance_to, erode
from .patch_features import pca_basis, thin_mm

if TYPE_CHECKING:  # pragma: no cover
    from .patchmatch import CompletionParams


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


@dataclass
class Level:
    feat: np.ndarray  # (h, w, C) current estimate; known pixels hold their features
    known: np.ndarray  # (h, w) bool
    region: np.ndarray  # (h, w) bool, pixels to synthesise
    depth: np.ndarray  # (h, w) float32
    guide: np.ndarray  # (h, w, G) known everywhere (depth, its slope); the last G feat channels

    @property
    def shape(self) -> tuple[int, int]:
        return self.known.shape  # type: ignore[return-value]

    def down(self) -> "Level":
        kb = _blocks(self.known)
        fb = _blocks(self.feat)
        wk = kb.astype(np.float32)
        cnt = wk.sum(axis=2)
        fsum = (fb * wk[..., None]).sum(axis=2)
        feat = np.where(cnt[..., None] > 0, fsum / np.maximum(cnt, 1.0)[..., None], fb.mean(axis=2))
        guide = _blocks(self.guide).mean(axis=2).astype(np.float32)
        feat[..., -guide.shape[2] :] = guide
        return Level(
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


class Solver:
    """NNF search and voting on one level (all arrays over the level's target patches)."""

    def __init__(self, lv: Level, params: "CompletionParams", rng: np.random.Generator, r: int) -> None:
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
            out += thin_mm(pad[y0 : y0 + h, x0 : x0 + w].reshape(h * w, -1), self.basis[j])
        return out

    def _target_descriptors(self, feat: np.ndarray) -> np.ndarray:
        r = self.r
        pad = self._padded(feat)
        pw = self.w + 2 * r
        flat = pad.reshape(-1, pad.shape[2])
        base = (self.ty + r) * pw + (self.tx + r)
        out = np.zeros((self.n, self.basis.shape[2]), dtype=np.float32)
        for j in range(self.dy.size):
            out += thin_mm(flat[base + self.dy[j] * pw + self.dx[j]], self.basis[j])
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
