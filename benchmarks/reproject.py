"""Reprojection throughput at 2048x1152 RGBA: genpost's z-tested warp vs kornia's warp_frame_depth.

Prints frames/s for ``genpost_houdini.geometry.reproject`` (bilinear, per-tap z-test, float32),
for the same warp limited by a ``where`` mask to 25 % of the pixels, and, when kornia is
installed, for ``kornia.geometry.depth.warp_frame_depth`` (bilinear, no z-test) in the same
process on the same data. kornia is a benchmark peer only, never a dependency.

The scene is analytic (a box room with a sphere in front of the walls), so both depth maps are
exact and consistent; the destination camera is translated and rotated, so there are
disocclusions for the z-test to reject.

    .venv/bin/python benchmarks/reproject.py [--width 2048 --height 1152 --repeat 10 --threads N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from genpost_houdini.geometry import reproject  # noqa: E402
from genpost_houdini.shot.camera import CameraView  # noqa: E402


def _camera(width: int, height: int, position: np.ndarray, yaw: float) -> CameraView:
    f = 0.9 * width
    K = np.array([[f, 0, width / 2 - 0.5], [0, f, height / 2 - 0.5], [0, 0, 1.0]])
    c, s = np.cos(yaw), np.sin(yaw)
    c2w = np.eye(4)
    c2w[:3, :3] = [[c, 0, s], [0, 1, 0], [-s, 0, c]]
    c2w[:3, 3] = position
    return CameraView(K=K, world_to_camera=np.linalg.inv(c2w), width=width, height=height)


def _depth(view: CameraView) -> np.ndarray:
    """Camera-space Z of a box room [-4,4]x[-3,3]x[-2,12] with a sphere (r=1.2 at (0.8, 0.3, 5))."""
    h, w = view.height, view.width
    v, u = np.mgrid[0:h, 0:w].astype(np.float64)
    Ki = np.linalg.inv(view.K)
    rays_c = np.stack([Ki[0, 0] * u + Ki[0, 2], Ki[1, 1] * v + Ki[1, 2], np.ones_like(u)], -1)
    c2w = np.linalg.inv(view.world_to_camera)
    dirs = rays_c @ c2w[:3, :3].T  # t along these == camera z
    o = c2w[:3, 3]
    t = np.full((h, w), np.inf)
    for axis, lo, hi in ((0, -4, 4), (1, -3, 3), (2, -2, 12)):
        d = dirs[..., axis]
        with np.errstate(divide="ignore", invalid="ignore"):
            for bound in (lo, hi):
                tt = (bound - o[axis]) / d
                t = np.where((tt > 0) & (tt < t), tt, t)
    centre, radius = np.array([0.8, 0.3, 5.0]), 1.2
    oc = o - centre
    a = np.einsum("hwi,hwi->hw", dirs, dirs)
    b = 2 * dirs @ oc
    disc = b * b - 4 * a * (oc @ oc - radius * radius)
    with np.errstate(invalid="ignore"):
        ts = (-b - np.sqrt(disc)) / (2 * a)
    t = np.where((disc > 0) & (ts > 0) & (ts < t), ts, t)
    return t.astype(np.float32)


def _time(fns: dict, repeat: int) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) seconds per call of each function, runs interleaved so that load from
    other processes hits every contender alike. CPU time counts every thread of this process."""
    for fn in fns.values():
        fn()  # warm-up (caches, thread pool, torch kernels)
    samples: dict[str, list[tuple[float, float]]] = {k: [] for k in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            w0, c0 = time.perf_counter(), time.process_time()
            fn()
            samples[name].append((time.perf_counter() - w0, time.process_time() - c0))
    return {k: (float(np.median([s[0] for s in v])), float(np.median([s[1] for s in v]))) for k, v in samples.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--width", type=int, default=2048)
    ap.add_argument("--height", type=int, default=1152)
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--threads", type=int, default=None, help="threads for ours and torch (default: all CPUs)")
    args = ap.parse_args()
    if args.threads:
        os.environ["GENPOST_THREADS"] = str(args.threads)

    w, h = args.width, args.height
    src = _camera(w, h, np.array([0.0, 0.0, 0.0]), 0.0)
    dst = _camera(w, h, np.array([0.35, 0.1, 0.2]), np.radians(4.0))
    src_depth, dst_depth = _depth(src), _depth(dst)
    rng = np.random.default_rng(0)
    image = rng.random((h, w, 4), dtype=np.float32)
    threads = args.threads or len(os.sched_getaffinity(0))
    print(f"reprojection {w}x{h} RGBA float32, {threads} CPU thread(s), median of {args.repeat}")

    out, valid = reproject(image, src_depth, src, dst_depth, dst)
    where = np.zeros((h, w), dtype=bool)
    where[:, : w // 4] = True
    fns = {
        "ours": lambda: reproject(image, src_depth, src, dst_depth, dst),
        "where": lambda: reproject(image, src_depth, src, dst_depth, dst, where=where),
    }
    peer_note = "kornia not installed: no peer figure (pip install kornia to compare)"
    try:
        import torch
        from kornia.geometry.depth import warp_frame_depth
    except ImportError:
        torch = None
    if torch is not None:
        torch.set_num_threads(threads)
        img_t = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None]
        dep_t = torch.from_numpy(dst_depth)[None, None]
        T = torch.from_numpy((src.world_to_camera @ np.linalg.inv(dst.world_to_camera)).astype(np.float32))[None]
        K_t = torch.from_numpy(src.K.astype(np.float32))[None]

        def peer() -> None:
            with torch.inference_mode():
                warp_frame_depth(img_t, dep_t, T, K_t)

        fns["kornia"] = peer
        with torch.inference_mode():
            theirs = warp_frame_depth(img_t, dep_t, T, K_t)[0].permute(1, 2, 0).numpy()
        diff = np.abs(theirs - out).max(axis=-1)[valid]
        peer_note = (
            f"agreement over our valid pixels: median |ours - kornia| {np.median(diff):.1e}, "
            f"{(diff > 1e-3).mean():.1%} differ by > 1e-3 (taps our z-test rejected at depth edges)"
        )
    res = _time(fns, args.repeat)
    labels = {
        "ours": f"genpost reproject (bilinear + z-test, {valid.mean():.0%} valid)",
        "where": "genpost reproject, where = 25 % of pixels",
        "kornia": "kornia warp_frame_depth (bilinear, no z-test)",
    }
    for name, (wall, cpu) in res.items():
        print(f"  {labels[name]:<52} {1 / wall:6.2f} frames/s  ({wall * 1e3:6.1f} ms wall, {cpu * 1e3:6.1f} ms CPU)")
    if "kornia" in res:
        print(
            f"  speed-up vs kornia: {res['kornia'][0] / res['ours'][0]:.2f}x wall, "
            f"{res['kornia'][1] / res['ours'][1]:.2f}x CPU time"
        )
    print(f"  {peer_note}")


if __name__ == "__main__":
    main()
