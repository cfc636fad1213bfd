"""Forward splatting with a z-buffer: push source pixels into another camera, nearest wins.

Convention: ``src_depth`` is planar camera-space ``Z`` held by ``src_view`` (invalid depth is
not splatted); pixel centres at integers; each source pixel lands on the nearest destination
pixel centre and the smallest destination ``Z`` wins; cameras in OpenCV axes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .depth import valid_depth
from .projection import relative_transform

if TYPE_CHECKING:  # pragma: no cover
    from ..shot.camera import CameraView


def splat(
    src_image: np.ndarray,
    src_depth: np.ndarray,
    src_view: "CameraView",
    dst_view: "CameraView",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Forward-splat ``src_image`` into ``dst_view``: ``(image (H', W', C), depth (H', W'), covered)``.

    Each valid source pixel lands on the nearest destination pixel; where several land on one
    pixel the one nearest the destination camera wins (deterministic z-buffer). ``depth`` is
    destination camera-space depth, ``inf`` where nothing landed; uncovered pixels are 0.
    One pixel per sample: magnified surfaces leave holes (``covered`` False) for a fill to close.
    """
    img = np.asarray(src_image)
    squeeze = img.ndim == 2
    if squeeze:
        img = img[..., None]
    d = np.asarray(src_depth)
    sh, sw = d.shape
    if (sw, sh) != (src_view.width, src_view.height) or img.shape[:2] != (sh, sw):
        raise ValueError(
            f"source depth {d.shape} and image {img.shape} must match the source view "
            f"{src_view.width}x{src_view.height}"
        )
    dw, dh = dst_view.width, dst_view.height
    c = img.shape[2]

    sel = np.flatnonzero(valid_depth(d))
    ys, xs = np.divmod(sel, sw)
    z = d.reshape(-1)[sel].astype(np.float64)
    T = relative_transform(dst_view, src_view)  # src camera -> dst camera
    A = np.asarray(dst_view.K, dtype=np.float64) @ T[:3, :3] @ np.linalg.inv(np.asarray(src_view.K, dtype=np.float64))
    b = np.asarray(dst_view.K, dtype=np.float64) @ T[:3, 3]
    p = [z * (A[i, 0] * xs + A[i, 1] * ys + A[i, 2]) + b[i] for i in range(3)]
    zd = p[2]
    front = zd > 1e-6
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.rint(p[0] / zd)
        v = np.rint(p[1] / zd)
    keep = front & (u >= 0) & (u < dw) & (v >= 0) & (v < dh)
    pix = (v[keep] * dw + u[keep]).astype(np.int64)
    zk = zd[keep]
    src_ids = sel[keep]
    order = np.lexsort((zk, pix))  # by pixel, then nearest first
    pix_sorted = pix[order]
    first = np.ones(pix_sorted.size, dtype=bool)
    first[1:] = pix_sorted[1:] != pix_sorted[:-1]
    winners = order[first]

    out = np.zeros((dh * dw, c), dtype=np.float32)
    depth = np.full(dh * dw, np.inf, dtype=np.float32)
    covered = np.zeros(dh * dw, dtype=bool)
    target = pix[winners]
    values = img.reshape(-1, c)[src_ids[winners]].astype(np.float32)
    values[~np.isfinite(values)] = 0.0
    out[target] = values
    depth[target] = zk[winners]
    covered[target] = True
    out = out.reshape(dh, dw, c)
    return (out[..., 0] if squeeze else out), depth.reshape(dh, dw), covered.reshape(dh, dw)
