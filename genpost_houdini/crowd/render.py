"""Rendering crowd instances: upright camera-facing cards, occluded by the shot's depth.

Each card stands on its instance position, faces the camera (rotating about the stage's up
axis only, so people stay upright), and is ray-cast exactly per pixel: the element follows the
camera's perspective and parallax like a real object at that spot. The set's depth render hides
what is behind the set. Output is premultiplied RGBA plus the nearest instance's depth and id.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .placement import Instance

#: A card pixel is visible when it is no farther than the set's depth by this fraction (feet
#: stand on the ground: equal depth there must not cut them off).
DEPTH_TOLERANCE = 0.02


def card_axes(position: np.ndarray, camera_pos: np.ndarray, up: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(right, normal) of a card at ``position`` facing ``camera_pos`` about ``up``."""
    to_cam = camera_pos - position
    horiz = to_cam - up * float(np.dot(to_cam, up))
    norm = float(np.linalg.norm(horiz))
    normal = horiz / norm if norm > 1e-9 else np.cross(up, np.array([1.0, 0.0, 0.0]) if abs(up[0]) < 0.9 else np.array([0.0, 1.0, 0.0]))
    normal = normal / np.linalg.norm(normal)
    right = np.cross(up, normal)
    return right, normal


def _bilinear(sprite: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    h, w = sprite.shape[:2]
    x = np.clip(x, 0.0, w - 1.0)
    y = np.clip(y, 0.0, h - 1.0)
    x0 = np.floor(x).astype(np.int32)
    y0 = np.floor(y).astype(np.int32)
    x1 = np.minimum(x0 + 1, w - 1)
    y1 = np.minimum(y0 + 1, h - 1)
    fx = (x - x0)[:, None].astype(np.float32)
    fy = (y - y0)[:, None].astype(np.float32)
    top = sprite[y0, x0] * (1 - fx) + sprite[y0, x1] * fx
    bottom = sprite[y1, x0] * (1 - fx) + sprite[y1, x1] * fx
    return top * (1 - fy) + bottom * fy


def render_crowd(
    instances: Sequence[Instance],
    sprite_for: Callable[[Instance], np.ndarray],
    aspect_for: Callable[[Instance], float],
    K: np.ndarray,
    world_to_camera: np.ndarray,
    width: int,
    height: int,
    up: np.ndarray,
    set_depth: np.ndarray | None,
) -> dict[str, np.ndarray]:
    """Channels R,G,B,A (premultiplied), Z (nearest instance, inf elsewhere), crowd_id (0 = none)."""
    K = np.asarray(K, dtype=np.float64)
    w2c = np.asarray(world_to_camera, dtype=np.float64)
    c2w = np.linalg.inv(w2c)
    cam_pos = c2w[:3, 3]
    R_c2w = c2w[:3, :3]
    Kinv = np.linalg.inv(K)
    rgba = np.zeros((height, width, 4), np.float32)
    zbuf = np.full((height, width), np.inf, np.float32)
    ids = np.zeros((height, width), np.float32)

    # Far to near, so "over" compositing and nearest-id both come out right.
    order = sorted(instances, key=lambda i: -float(np.dot(w2c[2, :3], i.position) + w2c[2, 3]))
    for inst in order:
        p = np.asarray(inst.position, dtype=np.float64)
        if float(np.dot(w2c[2, :3], p) + w2c[2, 3]) <= 1e-3:
            continue  # behind the camera
        right, normal = card_axes(p, cam_pos, up)
        h = inst.height
        w = h * aspect_for(inst)
        corners = np.array([p - right * w / 2, p + right * w / 2, p - right * w / 2 + up * h, p + right * w / 2 + up * h])
        cam = corners @ w2c[:3, :3].T + w2c[:3, 3]
        if (cam[:, 2] <= 1e-3).any():
            continue
        uv = cam @ K.T
        uv = uv[:, :2] / uv[:, 2:3]
        x0 = max(int(np.floor(uv[:, 0].min())), 0)
        x1 = min(int(np.ceil(uv[:, 0].max())) + 1, width)
        y0 = max(int(np.floor(uv[:, 1].min())), 0)
        y1 = min(int(np.ceil(uv[:, 1].max())) + 1, height)
        if x0 >= x1 or y0 >= y1:
            continue
        ys, xs = np.mgrid[y0:y1, x0:x1]
        pix = np.stack([xs.ravel(), ys.ravel(), np.ones(xs.size)], axis=1).astype(np.float64)
        d_cam = pix @ Kinv.T  # z = 1 in camera space
        d_world = d_cam @ R_c2w.T
        denom = d_world @ normal
        ok = np.abs(denom) > 1e-12
        s = np.where(ok, float(np.dot(p - cam_pos, normal)) / np.where(ok, denom, 1.0), -1.0)
        X = cam_pos + s[:, None] * d_world
        a = (X - p) @ right / w + 0.5
        b = (X - p) @ up / h
        inside = ok & (s > 1e-3) & (a >= 0) & (a <= 1) & (b >= 0) & (b <= 1)
        if not inside.any():
            continue
        yy, xx = ys.ravel()[inside], xs.ravel()[inside]
        z = s[inside].astype(np.float32)  # camera-space Z, since d_cam has z = 1
        if set_depth is not None:
            vis = z <= set_depth[yy, xx] * (1.0 + DEPTH_TOLERANCE)
            if not vis.any():
                continue
            yy, xx, z = yy[vis], xx[vis], z[vis]
            a_in, b_in = a[inside][vis], b[inside][vis]
        else:
            a_in, b_in = a[inside], b[inside]
        sprite = sprite_for(inst)
        sh, sw = sprite.shape[:2]
        if inst.flip:
            a_in = 1.0 - a_in
        sample = _bilinear(sprite, a_in * sw - 0.5, (1.0 - b_in) * sh - 0.5)
        sample[:, :3] *= np.asarray(inst.gain, np.float32)
        alpha = sample[:, 3]
        dst = rgba[yy, xx]
        rgba[yy, xx] = sample + dst * (1.0 - alpha[:, None])
        claim = (alpha >= 0.5) | ((alpha > 1e-3) & (ids[yy, xx] == 0))
        zbuf[yy[claim], xx[claim]] = z[claim]
        ids[yy[claim], xx[claim]] = float(inst.id)
    return {
        "R": rgba[..., 0],
        "G": rgba[..., 1],
        "B": rgba[..., 2],
        "A": rgba[..., 3],
        "Z": zbuf,
        "crowd_id": ids,
    }
