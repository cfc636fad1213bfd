"""The ``shadow`` channel: how much each person darkens the plate under and beside them.

Receivers are the plate's own surfaces (every pixel back-projected with the set's depth), so
shadows fall on the ground, kerbs and walls that are really there and never on the sky or on
what the set hides. Two terms per person, combined as 1 - (1 - cast)(1 - contact):

- **cast**: the person's silhouette as seen from the light (the element's view for the light's
  angle to their heading) on a vertical card through their feet facing the light; a receiver
  point is shadowed when the ray from it towards the light crosses the silhouette. Density
  ``look.shadow_density`` (0.6 by default: sunlit ground in shade keeps ~40 %), softened by the
  light's angular size with distance from the feet.
- **contact**: a soft occlusion disc under the feet (radius ~0.3 m for a 1.75 m person), what
  keeps a person on the ground under any light.

People are independent: the shadows of several people multiply.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from ..shot.camera import CameraView
    from .look import Look
    from .placement import CrowdLayout, Instance
    from .sources import CrowdSource

#: Cast shadows longer than this many person heights are cut (a grazing light).
MAX_SHADOW_LENGTH = 4.0


@dataclass
class ShadowCaster:
    position: np.ndarray  # feet, world
    inst: "Instance"
    scale: float  # world units per sprite pixel
    fade: float = 1.0  # walkers fading in or out at the region's edges


def render_shadows(casters: Sequence[ShadowCaster], sources: Sequence["CrowdSource"], layout: "CrowdLayout",
                   frame: int, view: "CameraView", up: np.ndarray, set_depth: np.ndarray | None,
                   look: "Look") -> np.ndarray:
    """(H, W) float32 shadow density in [0, 1]."""
    from .render import bilinear, view_angle

    height, width = view.height, view.width
    keep = np.ones((height, width), np.float32)  # product of (1 - shadow)
    if set_depth is None or not casters:
        return np.zeros((height, width), np.float32)
    K, w2c = view.K, view.world_to_camera
    c2w = np.linalg.inv(w2c)
    M = c2w[:3, :3] @ np.linalg.inv(K)  # pixel (x, y, 1) -> world ray with camera-space Z = 1
    to_light = -np.asarray(look.light, np.float64)
    elev = float(to_light @ up)
    cast = elev > math.sin(math.radians(3.0))
    horiz = to_light - up * elev
    hn = float(np.linalg.norm(horiz))
    n_light = horiz / hn if hn > 1e-9 else None  # caster card normal (faces the light)
    if n_light is None:
        cast_overhead = True
        n_light = np.cross(up, np.array([1.0, 0.0, 0.0]) if abs(up[0]) < 0.9 else np.array([0.0, 1.0, 0.0]))
        n_light /= np.linalg.norm(n_light)
    else:
        cast_overhead = False
    r_light = np.cross(up, n_light)
    basis = layout.region.basis
    alphas: dict[tuple[int, int], np.ndarray] = {}  # float32 alpha per (source, sprite), once per frame
    soft = math.tan(math.radians(max(look.light_angle, 0.2)) / 2.0)
    for c in casters:
        inst = c.inst
        src = sources[inst.source]
        el = src.element
        assert el is not None
        p = c.position
        person = inst.height
        length = min(person / max(math.tan(math.asin(min(elev, 1.0))), 1e-3), MAX_SHADOW_LENGTH * person) if cast else 0.0
        # Screen box: the feet disc plus the shadow's far end.
        ground = [p + r * (0.45 * person) for r in (up * 0, r_light, -r_light, n_light, -n_light)]
        if cast and not cast_overhead:
            far = p - n_light * length
            ground += [far + r_light * 0.4 * person, far - r_light * 0.4 * person]
        pts = np.array(ground)
        cam = pts @ w2c[:3, :3].T + w2c[:3, 3]
        if (cam[:, 2] <= 1e-3).all():
            continue
        cam = cam[cam[:, 2] > 1e-3]
        uv = cam @ K.T
        uv = uv[:, :2] / uv[:, 2:3]
        x0 = max(int(np.floor(uv[:, 0].min())) - 2, 0)
        x1 = min(int(np.ceil(uv[:, 0].max())) + 3, width)
        y0 = max(int(np.floor(uv[:, 1].min())) - 2, 0)
        y1 = min(int(np.ceil(uv[:, 1].max())) + 3, height)
        if x0 >= x1 or y0 >= y1 or (x1 - x0) * (y1 - y0) > 4_000_000:
            continue
        d_all = set_depth[y0:y1, x0:x1].astype(np.float64)
        ok_all = np.isfinite(d_all) & (d_all > 0) & (d_all < 1e16)
        if not ok_all.any():
            continue
        depth = np.where(ok_all, d_all, np.nan)
        xs = np.arange(x0, x1, dtype=np.float64)[None, :]
        ys = np.arange(y0, y1, dtype=np.float64)[:, None]
        rel0 = c2w[:3, 3] - p

        def field(v: np.ndarray) -> np.ndarray:
            """(rel . v) over the box: the receiver W = origin + depth * M @ (x, y, 1), rel = W - p."""
            m = v @ M
            return float(rel0 @ v) + depth * (m[0] * xs + m[1] * ys + m[2])

        f1, f2, hgt_all = field(basis[0]), field(basis[1]), field(up)
        ok = ok_all.ravel()
        flat2 = np.stack([f1.ravel()[ok], f2.ravel()[ok]], axis=1)  # horizontal offsets (N, 2)
        hgt = hgt_all.ravel()[ok]
        scale = person / 1.75
        contact = look.contact_density * _filtered_disc(flat2, _footprint(np.stack([f1, f2], axis=-1))[ok], 0.26 * scale)
        contact *= np.clip(1.0 - np.abs(hgt) / (0.3 * scale), 0.0, 1.0)
        shade = contact
        if cast:
            # Ray from the receiver towards the light, through the vertical card facing the light.
            denom = float(to_light @ n_light)
            rn = field(n_light).ravel()[ok]
            tau = -rn / denom if abs(denom) > 1e-9 else np.full(len(rn), -1.0)
            a = field(r_light).ravel()[ok] + tau * float(to_light @ r_light)
            b = hgt + tau * float(to_light @ up)
            angle = view_angle(np.asarray(inst.heading, np.float64), n_light, up)
            clip, mirror = el.clip_for("walk" if inst.walking else "idle", angle)
            state_counter = _counter(layout, inst, frame)
            sprite = src.sprites[clip.frame(state_counter)]
            alpha_key = (inst.source, clip.frame(state_counter))
            if alpha_key not in alphas:
                alphas[alpha_key] = np.asarray(sprite[..., 3], np.float32)
            h, w = sprite.shape[:2]
            ax, ay = el.anchor
            sx = ax + a / c.scale
            if mirror:
                sx = 2 * ax - sx
            sy = ay - b / c.scale
            inside = (tau > 0) & (sx >= -0.5) & (sx <= w - 0.5) & (sy >= -0.5) & (sy <= h - 0.5)
            occ = np.zeros(len(rn), np.float32)
            if inside.any():
                occ[inside] = bilinear(alphas[alpha_key], sx[inside], sy[inside])
                # Penumbra: the farther from the caster, the softer (and the weaker).
                blur = np.clip(tau[inside] * soft / (0.05 * scale), 0.0, 4.0)
                occ[inside] *= 1.0 / (1.0 + 0.35 * blur)
            shade = 1.0 - (1.0 - contact) * (1.0 - look.shadow_density * occ)
        region = keep[y0:y1, x0:x1].reshape(-1)
        vals = region[ok]
        vals *= (1.0 - c.fade * np.clip(shade, 0.0, 1.0)).astype(np.float32)
        region[ok] = vals
        keep[y0:y1, x0:x1] = region.reshape(y1 - y0, x1 - x0)
    return (1.0 - keep).astype(np.float32)


def _footprint(flat: np.ndarray) -> np.ndarray:
    """Per pixel of a (h, w, 2) grid of receivers' horizontal coordinates, the covariance (2x2)
    of the pixel's footprint (a box spanned by the steps to the neighbouring pixels' points;
    steps across depth edges, over 2 units, are left out)."""
    h, w = flat.shape[:2]
    du = np.full((h, w, 2), np.nan)
    dv = np.full((h, w, 2), np.nan)
    if w > 1:
        step = flat[:, 1:] - flat[:, :-1]
        du[:, :-1] = step
        du[:, -1] = step[:, -1]
        du[:, 1:] = np.where(np.isnan(du[:, 1:]), step, du[:, 1:])
    if h > 1:
        step = flat[1:] - flat[:-1]
        dv[:-1] = step
        dv[-1] = step[-1]
    for d in (du, dv):
        bad = ~np.isfinite(d).all(axis=-1) | (np.linalg.norm(np.nan_to_num(d), axis=-1) > 2.0)
        d[bad] = 0.0
    cov = (du[..., :, None] * du[..., None, :] + dv[..., :, None] * dv[..., None, :]) / 12.0
    return cov.reshape(-1, 2, 2)


def _filtered_disc(offset: np.ndarray, footprint: np.ndarray, radius: float) -> np.ndarray:
    """exp(-(d / radius)^2) averaged over each pixel's footprint: the Gaussian convolved with
    the footprint's covariance (so a disc smaller than a pixel far away still darkens the pixel,
    by the right amount, instead of being missed between pixel centres)."""
    s0 = radius * radius / 2.0
    a = s0 + footprint[:, 0, 0]
    b = footprint[:, 0, 1]
    c = s0 + footprint[:, 1, 1]
    det = a * c - b * b
    x, y = offset[:, 0], offset[:, 1]
    quad = (c * x * x - 2 * b * x * y + a * y * y) / np.maximum(det, 1e-12)
    return np.sqrt(s0 * s0 / np.maximum(det, 1e-12)) * np.exp(-0.5 * quad)


def _counter(layout: "CrowdLayout", inst: "Instance", frame: int) -> int:
    return int(math.floor(inst.offset + layout.rate(inst) * (frame - layout.first_frame) + 1e-9))
