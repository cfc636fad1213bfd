"""Pixel rays of a camera, and the two ways a renderer stores depth.

Convention (every genpost module):

- Pixel centres are at integer coordinates ``(u, v)``, ``u`` right, ``v`` down, row 0 at the top;
  ``K`` is the 3x3 intrinsics in pixels for the image's own resolution.
- Camera axes are OpenCV's: x right, y down, z forward (USD cameras look down -Z with +Y up;
  :mod:`genpost_houdini.shot.camera` converts when it reads a USD camera).
- **Planar depth** ``Z`` (the default, Karma's ``Pz``, Nuke's and most renderers' "depth") is
  the camera-space z of the surface point: the distance along the view axis.
- **Ray depth** ``D`` (some renderers' "distance", e.g. a path length from the camera centre) is
  the Euclidean distance from the camera centre to the point: ``D = Z * |K^-1 [u, v, 1]|`` with
  the ray scaled to ``z = 1``. :func:`to_planar` converts exactly with the camera's ``K``.

Every genpost computation uses planar ``Z``; ray depth is converted when it is read
(``--depth-kind ray``). :func:`depth_kind_evidence` tells the two apart from the image itself:
on a plane, inverse planar depth ``1/Z`` is an affine function of ``(u, v)``, so its second
differences vanish; ray distance adds the curvature of ``|r(u, v)|`` (largest at wide angles).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from . import DEPTH_KINDS

log = logging.getLogger("genpost")

__all__ = ["DEPTH_KINDS", "DepthKindEvidence", "check_depth_kind", "depth_kind_evidence", "pixel_rays",
           "ray_lengths", "to_planar", "to_ray"]


@lru_cache(maxsize=16)
def _rays_cached(k_bytes: bytes, width: int, height: int, dtype: str) -> np.ndarray:
    K = np.frombuffer(k_bytes, dtype=np.float64).reshape(3, 3)
    k_inv = np.linalg.inv(K)
    u = np.arange(width, dtype=np.float64)
    v = np.arange(height, dtype=np.float64)
    rays = np.empty((height, width, 3), dtype=np.float64)
    for i in range(3):
        rays[..., i] = k_inv[i, 0] * u[None, :] + (k_inv[i, 1] * v[:, None] + k_inv[i, 2])
    # Normalise so z == 1 exactly (a general K^-1 has third row (0, 0, 1) anyway).
    rays /= rays[..., 2:3]
    rays = rays.astype(dtype)
    rays.flags.writeable = False
    return rays


def pixel_rays(K: np.ndarray, width: int, height: int, *, dtype: type = np.float32) -> np.ndarray:
    """Camera-space rays through every pixel centre, shape (H, W, 3), z == 1 (read-only, cached;
    float32 unless ``dtype`` says otherwise)."""
    K64 = np.ascontiguousarray(K, dtype=np.float64)
    return _rays_cached(K64.tobytes(), int(width), int(height), np.dtype(dtype).name)


def ray_lengths(K: np.ndarray, width: int, height: int) -> np.ndarray:
    """``|r|`` of every pixel's ray scaled to ``z = 1`` (H, W) float64: ray depth / planar depth."""
    rays = pixel_rays(K, width, height, dtype=np.float64)
    return np.sqrt(np.einsum("hwc,hwc->hw", rays, rays))


def to_planar(depth: np.ndarray, K: np.ndarray, kind: str) -> np.ndarray:
    """``depth`` (H, W) of ``kind`` ("planar" or "ray") as planar Z, float32; no hit (inf) stays
    inf. Planar depth comes back unchanged (the same array)."""
    if kind == "planar":
        return depth
    if kind != "ray":
        raise ValueError(f"depth kind must be one of {', '.join(DEPTH_KINDS)}, got {kind!r}")
    h, w = depth.shape
    with np.errstate(invalid="ignore", over="ignore"):
        return (np.asarray(depth, dtype=np.float64) / ray_lengths(K, w, h)).astype(np.float32)


def to_ray(depth: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Planar Z (H, W) as ray distance, float32 (what a renderer writing ray depth would hold)."""
    h, w = depth.shape
    with np.errstate(invalid="ignore", over="ignore"):
        return (np.asarray(depth, dtype=np.float64) * ray_lengths(K, w, h)).astype(np.float32)


#: Evidence thresholds: the share of smooth pixels where the planar reading is the flatter one.
#: Above LOOKS_PLANAR the depth reads as planar, below LOOKS_RAY as ray distance, else unknown.
LOOKS_PLANAR, LOOKS_RAY = 0.75, 0.25
#: Fewest smooth pixels the test needs (else it says nothing).
MIN_PIXELS = 500
#: A pixel is "smooth" (a surface interior, not an edge) when both readings' relative second
#: difference is below this.
SMOOTH = 0.05


@dataclass(frozen=True)
class DepthKindEvidence:
    """What :func:`depth_kind_evidence` measured on one depth image."""

    planar_share: float  # share of smooth pixels where 1/Z is flatter read as planar than as ray
    pixels: int  # smooth pixels compared
    step: int  # pixels between the samples of a second difference

    @property
    def looks_like(self) -> str | None:
        """"planar", "ray", or None when the image cannot tell (narrow lens, curved or noisy
        surfaces, too few pixels)."""
        if self.pixels < MIN_PIXELS:
            return None
        if self.planar_share >= LOOKS_PLANAR:
            return "planar"
        if self.planar_share <= LOOKS_RAY:
            return "ray"
        return None


def _flatness(z: np.ndarray, s: int) -> np.ndarray:
    """|second difference| of 1/z along x plus along y, relative to 1/z, with step ``s``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(np.isfinite(z) & (z > 0), 1.0 / z, np.nan)
        centre = f[s:-s, s:-s]
        dx = f[s:-s, 2 * s:] - 2.0 * centre + f[s:-s, : -2 * s]
        dy = f[2 * s:, s:-s] - 2.0 * centre + f[: -2 * s, s:-s]
        return (np.abs(dx) + np.abs(dy)) / centre


def depth_kind_evidence(depth: np.ndarray, K: np.ndarray, *, step: int | None = None) -> DepthKindEvidence:
    """Whether ``depth`` (H, W; no hit = inf) reads as planar Z or as ray distance under ``K``.

    The heuristic (the radial pattern on planes): read as planar and as ray distance, compute the
    relative second difference of inverse depth over ``step`` pixels (default a 30th of the
    shorter side, so the ray's curvature, which grows with the step squared, rises above
    rendering noise), keep the pixels where both readings are smooth (surface interiors), and
    count where the planar reading is the flatter. Planes are flat in inverse planar depth, so
    planar depth of a set of planes scores near 1 and ray distance near 0; curved surfaces, a
    narrow lens (rays almost parallel) or noise give a share near 0.5: no verdict.
    """
    d = np.asarray(depth, dtype=np.float64)
    h, w = d.shape
    s = step or max(1, int(round(min(h, w) / 30)))
    if h <= 2 * s or w <= 2 * s:
        return DepthKindEvidence(0.5, 0, s)
    as_planar = _flatness(d, s)
    as_ray = _flatness(d / ray_lengths(K, w, h), s)
    ok = np.isfinite(as_planar) & np.isfinite(as_ray) & (as_planar < SMOOTH) & (as_ray < SMOOTH)
    ok &= as_planar != as_ray
    n = int(ok.sum())
    share = float((as_planar[ok] < as_ray[ok]).mean()) if n else 0.5
    return DepthKindEvidence(share, n, s)


def check_depth_kind(depth: np.ndarray, K: np.ndarray, declared: str, where: str) -> DepthKindEvidence:
    """Warn (log ``genpost``) when ``depth`` as read looks like the other kind than ``declared``
    (:func:`depth_kind_evidence`); returns the evidence. Never raises: the heuristic can be
    wrong on unusual scenes, and the artist's ``--depth-kind`` decides."""
    evidence = depth_kind_evidence(depth, K)
    seen = evidence.looks_like
    if seen is not None and seen != declared:
        hint = "--depth-kind ray" if seen == "ray" else "--depth-kind planar (the default)"
        log.warning(
            "%s: this depth looks like %s, but it is read as %s depth (on %d surface pixels, inverse "
            "depth is flat on planes in %.0f%% of them when read as planar Z); if the renderer wrote "
            "%s, pass %s",
            where, "ray distance from the camera centre" if seen == "ray" else "planar camera-space Z",
            declared, evidence.pixels, 100.0 * evidence.planar_share,
            "ray distance" if seen == "ray" else "planar Z", hint,
        )
    return evidence
