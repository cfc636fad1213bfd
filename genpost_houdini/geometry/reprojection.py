"""Backward warping (reprojection) with z-tested visibility: the hot path of the jobs.

For every destination pixel with valid depth, its surface point is projected into the source
camera; the source image is sampled bilinearly there, using only the neighbours whose own depth
agrees with the projected depth within ``rel_tolerance`` (the z-test: a source pixel that sees
another surface, nearer or farther, never contributes). A destination pixel is valid when at
least one neighbour passes. Everything runs in float32 on row bands (cache-sized, threaded; numpy
releases the GIL), with per-pixel rays made from two separable terms instead of a full grid.

Convention:

- Each depth map is held by the frame it was rendered for: ``src_depth`` by ``src_view``,
  ``dst_depth`` by ``dst_view``. Depth is planar camera-space ``Z`` (ray distance is converted
  on reading: :mod:`genpost_houdini.shot.rays`); invalid depth (no hit) is masked, never used.
- Pixel centres at integer ``(u, v)``, ``u`` right, ``v`` down; bilinear weights between the
  four source pixels around the projected point.
- Cameras: ``K`` in pixels, ``world_to_camera`` in OpenCV axes (x right, y down, z forward).
- The z-test is relative: ``|Z_src(sample) - Z_projected| <= rel_tolerance * Z_projected`` per
  neighbour.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

from .depth import valid_depth
from .projection import relative_transform

if TYPE_CHECKING:  # pragma: no cover
    from ..shot.camera import CameraView

_F32_MAX = np.float32(np.finfo(np.float32).max)
_EPS_Z = np.float32(1e-6)
_BAND_PIXELS = 1 << 15  # pixels per work unit: its temporaries stay in cache
_executor: tuple[int, int, ThreadPoolExecutor] | None = None  # (pid, workers, pool)


@dataclass(frozen=True)
class WarpResult:
    """Result of :func:`warp`: ``image`` (H, W, C) float32 or None, ``valid`` (H, W) bool.

    ``image`` is a view of planar (C, H, W) storage: ``image[..., c]`` is contiguous; use
    ``np.ascontiguousarray`` where interleaved memory is needed.
    """

    image: np.ndarray | None
    valid: np.ndarray


def _pool(threads: int) -> ThreadPoolExecutor | None:
    """A shared pool with at least ``threads`` workers (rebuilt in a forked child: its threads are gone)."""
    global _executor
    if threads <= 1:
        return None
    pid = os.getpid()
    if _executor is None or _executor[0] != pid or _executor[1] < threads:
        _executor = (pid, threads, ThreadPoolExecutor(max_workers=threads, thread_name_prefix="genpost-warp"))
    return _executor[2]


def _default_threads() -> int:
    env = os.environ.get("GENPOST_THREADS")
    if env and env.isdigit() and int(env) > 0:
        return min(int(env), 256)  # limits.MAX_WORKERS
    try:
        return max(1, min(len(os.sched_getaffinity(0)), 16))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, min(os.cpu_count() or 1, 16))


def _gather_view(image: np.ndarray) -> tuple[np.ndarray, int]:
    """A 1-D view of an (H, W, C) float32 image with one element per pixel (one gather per tap)."""
    h, w, c = image.shape
    flat = image.reshape(h * w, c)
    if c == 1:
        return flat.reshape(-1), c
    if c == 2:
        return flat.view(np.float64).reshape(-1), c
    if c == 4:
        return flat.view(np.complex128).reshape(-1), c
    return flat.view(np.dtype((np.void, 4 * c))).reshape(-1), c


class _Warper:
    """Per-call constants of one source -> destination warp."""

    def __init__(
        self,
        src_image: np.ndarray | None,
        src_depth: np.ndarray,
        src_view: "CameraView",
        dst_depth: np.ndarray,
        dst_view: "CameraView",
        rel_tolerance: float,
        depth_channels: Sequence[int],
    ) -> None:
        sw, sh = src_view.width, src_view.height
        if sw < 2 or sh < 2:
            raise ValueError(f"source image must be at least 2x2, got {sw}x{sh}")
        sd = np.asarray(src_depth)
        if sd.shape != (sh, sw):
            raise ValueError(f"source depth is {sd.shape[1]}x{sd.shape[0]} but the source view is {sw}x{sh}")
        dd = np.asarray(dst_depth)
        if dd.shape != (dst_view.height, dst_view.width):
            raise ValueError(
                f"destination depth is {dd.shape[1]}x{dd.shape[0]} but the destination view is "
                f"{dst_view.width}x{dst_view.height}"
            )
        self.sw, self.sh = sw, sh
        self.dw, self.dh = dst_view.width, dst_view.height
        # Source depth: invalid -> float32 max, so it fails every z-test and weight*value stays 0.
        sd_valid = valid_depth(sd)
        self.sd = np.where(sd_valid, sd, _F32_MAX).astype(np.float32, copy=False).reshape(-1)
        self.dvalid = valid_depth(dd)
        self.dz = np.where(self.dvalid, dd, 0).astype(np.float32, copy=False)

        T = relative_transform(src_view, dst_view)  # dst camera -> src camera
        K_s = np.asarray(src_view.K, dtype=np.float64)
        A = K_s @ T[:3, :3] @ np.linalg.inv(np.asarray(dst_view.K, dtype=np.float64))
        b = K_s @ T[:3, 3]
        u = np.arange(self.dw, dtype=np.float64)
        v = np.arange(self.dh, dtype=np.float64)
        # A @ [u, v, 1] = col[i][u] + row[i][v]: per-pixel rays from two separable terms.
        self.col = [(A[i, 0] * u).astype(np.float32) for i in range(3)]
        self.row = [(A[i, 1] * v + A[i, 2]).astype(np.float32) for i in range(3)]
        self.b = [np.float32(x) for x in b]
        # Source camera centre in destination camera coordinates (for depth channels).
        self.centre_z = np.float32(-(T[:3, :3].T @ T[:3, 3])[2])
        self.rel = np.float32(rel_tolerance)
        self.depth_channels = tuple(depth_channels)

        self.gather: list[np.ndarray] | None = None
        self.channels = 0
        if src_image is not None:
            img = np.asarray(src_image)
            if img.ndim == 2:
                img = img[..., None]
            if img.ndim != 3 or img.shape[:2] != (sh, sw):
                raise ValueError(f"source image has shape {img.shape}, expected ({sh}, {sw}[, C])")
            img = np.ascontiguousarray(img, dtype=np.float32)
            g, self.channels = _gather_view(img)
            # Shifted views: tap (x+1, y), (x, y+1), (x+1, y+1) gather with the same flat index.
            self.gather = [g, g[1:], g[sw:], g[sw + 1:]]
            for ch in self.depth_channels:
                if not 0 <= ch < self.channels:
                    raise ValueError(f"depth channel index {ch} out of range for {self.channels} channels")
        sdf = self.sd
        self.taps = [sdf, sdf[1:], sdf[sw:], sdf[sw + 1:]]

    def run(
        self,
        h0: np.ndarray,
        h1: np.ndarray,
        h2: np.ndarray,
        z: np.ndarray,
        zmask: np.ndarray | None,
        out: np.ndarray | None,
    ) -> np.ndarray:
        """Warp n destination pixels (1-D inputs; ``h*`` are scratch); write ``out`` (C, n); return valid."""
        sw, sh = self.sw, self.sh
        b0, b1, b2 = self.b
        # Source-camera depth of the destination point, and its projection (u, v).
        zs = np.multiply(h2, z, out=h2)
        zs += b2
        inb = zs > _EPS_Z
        if zmask is not None:
            inb &= zmask
        inv = np.maximum(zs, _EPS_Z)
        np.reciprocal(inv, out=inv)
        us = np.multiply(h0, z, out=h0)
        us += b0
        us *= inv
        vs = np.multiply(h1, z, out=h1)
        vs += b1
        vs *= inv
        inb &= us > -0.5
        inb &= us < sw - 0.5
        inb &= vs > -0.5
        inb &= vs < sh - 0.5
        np.clip(us, 0, sw - 1, out=us)
        np.clip(vs, 0, sh - 1, out=vs)
        x0 = us.astype(np.intp)
        np.minimum(x0, sw - 2, out=x0)
        y0 = vs.astype(np.intp)
        np.minimum(y0, sh - 2, out=y0)
        fx = np.subtract(us, x0, out=us, dtype=np.float32)
        fy = np.subtract(vs, y0, out=vs, dtype=np.float32)
        idx = y0
        idx *= sw
        idx += x0
        del x0

        # z-test per tap: the source pixel must see this surface (relative tolerance).
        tol = np.multiply(zs, self.rel, out=inv)
        lo = np.subtract(zs, tol)
        hi = np.add(zs, tol, out=tol)
        gx = np.subtract(1, fx, dtype=np.float32)
        gy = np.subtract(1, fy, dtype=np.float32)
        weights = []
        for tap, wx, wy in zip(self.taps, (gx, fx, gx, fx), (gy, gy, fy, fy)):
            d = np.take(tap, idx, mode="clip")
            ok = d >= lo
            ok &= d <= hi
            w = np.multiply(wx, wy)
            w *= ok
            weights.append(w)
        s = weights[0] + weights[1]
        s += weights[2]
        s += weights[3]
        valid = s > 1e-6
        valid &= inb
        np.maximum(s, 1e-6, out=s)
        norm = np.divide(valid, s, dtype=np.float32)
        for w in weights:
            w *= norm

        if self.gather is not None and out is not None:
            # ``out`` is planar (C, n): weighting an interleaved gather into a planar buffer runs
            # with a long inner loop (a per-pixel weight broadcast over C=4 would not).
            c, n = self.channels, idx.size
            tmp = np.empty((c, n), dtype=np.float32) if c > 1 else None
            for k, (tap, w) in enumerate(zip(self.gather, weights)):
                g = np.take(tap, idx, mode="clip")
                g = g[None, :] if c == 1 else g.view(np.float32).reshape(n, c).T
                if k == 0:
                    np.multiply(g, w, out=out)
                elif tmp is None:
                    g *= w
                    out += g
                else:
                    np.multiply(g, w, out=tmp)
                    out += tmp
            if self.depth_channels:
                # A sampled depth value v lies on the source ray through (us, vs) at depth v; the
                # point's destination-camera depth is (v / zs) * (z - cz) + cz.
                scale = np.subtract(z, self.centre_z)
                scale /= np.maximum(zs, _EPS_Z)
                offset = self.centre_z * valid
                for ch in self.depth_channels:
                    out[ch] *= scale
                    out[ch] += offset
            if not np.isfinite(out).all():
                np.nan_to_num(out, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
        return valid


def warp(
    src_image: np.ndarray | None,
    src_depth: np.ndarray,
    src_view: "CameraView",
    dst_depth: np.ndarray,
    dst_view: "CameraView",
    *,
    rel_tolerance: float = 0.01,
    where: np.ndarray | None = None,
    depth_channels: Sequence[int] = (),
    threads: int | None = None,
) -> WarpResult:
    """Backward-warp ``src_image`` into ``dst_view``; see :func:`reproject`.

    ``src_image`` may be None (visibility only). ``depth_channels`` lists channels that hold
    source camera-space depth: they come out re-expressed as destination camera-space depth.
    ``threads`` defaults to the CPUs this process may use (``$GENPOST_THREADS`` overrides).
    """
    wp = _Warper(src_image, src_depth, src_view, dst_depth, dst_view, rel_tolerance, depth_channels)
    dh, dw, c = wp.dh, wp.dw, wp.channels
    # Planar (C, H, W) storage; the caller gets an (H, W, C) view of it.
    planar = np.zeros((c, dh, dw), dtype=np.float32) if src_image is not None else None
    valid = np.zeros((dh, dw), dtype=bool)
    threads = _default_threads() if threads is None else max(1, int(threads))
    jobs = []

    if where is None:
        rows = max(1, _BAND_PIXELS // max(dw, 1))
        for y0 in range(0, dh, rows):
            y1 = min(dh, y0 + rows)
            jobs.append(("band", y0, y1))
    else:
        sel_mask = np.asarray(where, dtype=bool)
        if sel_mask.shape != (dh, dw):
            raise ValueError(f"where mask has shape {sel_mask.shape}, expected ({dh}, {dw})")
        sel = np.flatnonzero(sel_mask & wp.dvalid)
        for i in range(0, sel.size, _BAND_PIXELS):
            jobs.append(("subset", i, min(sel.size, i + _BAND_PIXELS)))
    planar_flat = planar.reshape(c, dh * dw) if planar is not None else None
    valid_flat = valid.reshape(-1)
    dz_flat = wp.dz.reshape(-1)
    dvalid_flat = wp.dvalid.reshape(-1)

    def band(y0: int, y1: int) -> None:
        n = (y1 - y0) * dw
        h = [np.add(wp.col[i][None, :], wp.row[i][y0:y1, None]).reshape(n) for i in range(3)]
        p0, p1 = y0 * dw, y1 * dw
        out = planar_flat[:, p0:p1] if planar_flat is not None else None
        valid_flat[p0:p1] = wp.run(h[0], h[1], h[2], dz_flat[p0:p1], dvalid_flat[p0:p1], out)

    def subset(i0: int, i1: int) -> None:
        ids = sel[i0:i1]
        ys, xs = np.divmod(ids, dw)
        h = [np.take(wp.col[i], xs) + np.take(wp.row[i], ys) for i in range(3)]
        out = np.empty((c, ids.size), dtype=np.float32) if planar_flat is not None else None
        ok = wp.run(h[0], h[1], h[2], np.take(dz_flat, ids), None, out)
        valid_flat[ids] = ok
        if planar_flat is not None and out is not None:
            planar_flat[:, ids] = out

    def do(job: tuple[str, int, int]) -> None:
        (band if job[0] == "band" else subset)(job[1], job[2])

    threads = min(threads, len(jobs))
    pool = _pool(threads)
    if pool is None:
        for job in jobs:
            do(job)
    else:  # ``threads`` interleaved lists of bands: at most that many run at once
        for _ in pool.map(lambda part: [do(job) for job in part], [jobs[i::threads] for i in range(threads)]):
            pass
    image = np.moveaxis(planar, 0, -1) if planar is not None else None
    return WarpResult(image=image, valid=valid)


def reproject(
    src_image: np.ndarray,
    src_depth: np.ndarray,
    src_view: "CameraView",
    dst_depth: np.ndarray,
    dst_view: "CameraView",
    *,
    rel_tolerance: float = 0.01,
    where: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``src_image`` (H, W[, C]) seen from ``dst_view``: ``(image (H', W', C) float32, valid (H', W') bool)``.

    Backward warp: each destination pixel with valid ``dst_depth`` is projected into the source
    and sampled bilinearly from the neighbours that pass the z-test (source depth within
    ``rel_tolerance`` of the projected depth). Invalid pixels are 0. ``where`` (H', W') bool
    limits the work to those destination pixels; the rest are invalid. The image is an
    (H', W', C) view of planar storage (each channel contiguous).
    """
    result = warp(src_image, src_depth, src_view, dst_depth, dst_view, rel_tolerance=rel_tolerance, where=where)
    assert result.image is not None
    return result.image, result.valid


def reproject_depth(
    src_depth: np.ndarray,
    src_view: "CameraView",
    dst_depth: np.ndarray,
    dst_view: "CameraView",
    *,
    rel_tolerance: float = 0.01,
    where: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The source depth map carried into ``dst_view`` as destination camera-space depth.

    Returns ``(depth (H', W') float32, valid)``; where valid it should equal ``dst_depth`` up to
    the z-test tolerance (a consistency check of depth and camera).
    """
    d = np.asarray(src_depth)
    clean = np.where(valid_depth(d), d, 0).astype(np.float32, copy=False)
    result = warp(
        clean, d, src_view, dst_depth, dst_view, rel_tolerance=rel_tolerance, where=where, depth_channels=(0,)
    )
    assert result.image is not None
    return result.image[..., 0], result.valid


def disocclusion_mask(
    src_depth: np.ndarray,
    src_view: "CameraView",
    dst_depth: np.ndarray,
    dst_view: "CameraView",
    *,
    rel_tolerance: float = 0.01,
    include_no_hit: bool = True,
) -> np.ndarray:
    """Destination pixels the source does not see (occluded, out of frame or disoccluded).

    With ``include_no_hit`` (default) destination pixels without valid depth count as unseen;
    otherwise only pixels with valid depth can be True.
    """
    seen = warp(None, src_depth, src_view, dst_depth, dst_view, rel_tolerance=rel_tolerance).valid
    unseen = ~seen
    if not include_no_hit:
        unseen &= valid_depth(np.asarray(dst_depth))
    return unseen
