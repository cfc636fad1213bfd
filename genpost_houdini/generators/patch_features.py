"""Patch descriptors of the classical completion (:mod:`.patchmatch`).

Per pixel: log2 colour (:func:`to_feature`), local texture energy (:func:`texture_features`,
Newson et al. 2014) and guide channels known everywhere (:func:`depth_guide`: depth and its
slope). Patches are compared through a short PCA descriptor found by a randomised range finder
(:func:`pca_basis`, Halko et al. 2011), with every matrix product cut to single-threaded BLAS
size (thin products run 10-20x slower threaded on a loaded machine).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..conditioning.morphology import box_sum

if TYPE_CHECKING:  # pragma: no cover
    from .patchmatch import CompletionParams

LOG_EPS = 2.0**-7  # log2(max(x, 0) + eps): dark values do not dominate the patch distance


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


def thin_mm(x: np.ndarray, b: np.ndarray) -> np.ndarray:
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
    return thin_mm(y, whiten)


def pca_basis(x: np.ndarray, k: int, rng: np.random.Generator, power_iters: int = 2) -> np.ndarray:
    """(d, k) leading principal directions of centred samples ``x`` (n, d), strongest first.

    Randomised range finder (Halko et al. 2011): only thin products and tiny factorisations, so
    it stays fast where a (d, d) eigendecomposition through threaded LAPACK would not.
    """
    n, d = x.shape
    k = min(k, d, n)
    p = min(d, n, k + 8)
    y = thin_mm(x, rng.standard_normal((d, p)).astype(x.dtype))
    for _ in range(power_iters):
        y = thin_mm(x, _tmm(x, _orthonormal(y)))  # x @ (x.T @ q)
    q = _orthonormal(y)
    small = _tmm(q, x)  # (p, d) = q.T @ x
    _, _, vt = np.linalg.svd(small.astype(np.float64), full_matrices=False)
    return vt[:k].T.astype(np.float32)


def depth_guide(depth: np.ndarray, params: "CompletionParams") -> np.ndarray:
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
