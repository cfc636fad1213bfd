"""The ``shadow`` channel: how much each person darkens the plate under and beside them.

Receivers are the plate's own surfaces (every pixel back-projected with the set's depth), so
shadows fall on the ground, kerbs and walls that are really there and never on the sky or on
what the set hides. Two terms per person:

- **cast**: the person's silhouette as seen from the light (the element's view for the light's
  angle to their heading) on a vertical card through their feet facing the light; a receiver
  point is shadowed when the ray from it towards the light crosses the silhouette. Density
  ``look.shadow_density`` (0.6 by default: sunlit ground in shade keeps ~40 %), softened by the
  light's angular size with distance from the feet.
- **contact**: a soft occlusion disc under the feet (radius ~0.3 m for a 1.75 m person), what
  keeps a person on the ground under any light.

People are independent: the shadows of several people multiply. Contact and cast shadows of
one person multiply too (the same as 1 - (1 - cast)(1 - contact) for people not fading in or
out at the region's edges).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

import numpy as np

from ..imageio.policy import valid_depth

if TYPE_CHECKING:  # pragma: no cover
    from ..shot.camera import CameraView
    from .look import Look
    from .placement import CrowdLayout, Instance
    from .sources import CrowdSource


class Cancelled(Exception):
    """The caller gave up on this frame's shadows (an interrupt on the rendering thread)."""


#: Cast shadows longer than this many person heights are cut (a grazing light).
MAX_SHADOW_LENGTH = 4.0


@dataclass
class ShadowCaster:
    position: np.ndarray  # feet, world
    inst: "Instance"
    scale: float  # world units per sprite pixel
    fade: float = 1.0  # walkers fading in or out at the region's edges


#: Receiver pixels handled at once (bounds memory: ~15 arrays of this many values).
CHUNK_PIXELS = 1 << 20


def _box_pixels(x0: np.ndarray, x1: np.ndarray, y0: np.ndarray, y1: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pixel of each box [x0, x1) x [y0, y1): (box index, y, x), box by box."""
    w, h = x1 - x0, y1 - y0
    area = np.maximum(w, 0) * np.maximum(h, 0)
    k = np.repeat(np.arange(len(area)), area)
    local = np.arange(len(k)) - np.repeat(np.cumsum(area) - area, area)
    return k, y0[k] + local // w[k], x0[k] + local % w[k]


def render_shadows(casters: Sequence[ShadowCaster], sources: Sequence["CrowdSource"], layout: "CrowdLayout",
                   frame: int, view: "CameraView", up: np.ndarray, set_depth: np.ndarray | None,
                   look: "Look", *, cancelled: Callable[[], bool] | None = None) -> np.ndarray:
    """(H, W) float32 shadow density in [0, 1]; ``cancelled`` (checked between chunks) ends
    the work early with :class:`Cancelled`.

    All casters at once: the receivers' world offsets are affine in the pixel times the depth,
    so each field (``depth * m . (x, y, 1)``) is computed once per frame over the region the
    shadows can reach, and every (caster, pixel) pair only adds the caster's constant. The
    shadows of several people multiply (accumulated as sums of log(1 - shade))."""
    from .render import view_angle

    height, width = view.height, view.width
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
    cast_overhead = hn <= 1e-9
    if cast_overhead:
        n_light = np.cross(up, np.array([1.0, 0.0, 0.0]) if abs(up[0]) < 0.9 else np.array([0.0, 1.0, 0.0]))
        n_light /= np.linalg.norm(n_light)
    else:
        n_light = horiz / hn  # caster card normal (faces the light)
    r_light = np.cross(up, n_light)
    e1, e2 = layout.region.basis
    soft = math.tan(math.radians(max(look.light_angle, 0.2)) / 2.0)

    n = len(casters)
    pos = np.array([c.position for c in casters], np.float64)
    person = np.array([c.inst.height for c in casters], np.float64)
    scale = person / 1.75
    fade = np.array([c.fade for c in casters], np.float64)
    rel0 = c2w[:3, 3][None, :] - pos  # receiver W = origin + depth * M @ (x, y, 1); rel = W - p

    def boxes(pts: np.ndarray, margin: int) -> tuple[np.ndarray, ...]:
        """Screen boxes (x0, x1, y0, y1) of each caster's points (n, m, 3), empty when none is
        in front of the camera."""
        cam = pts @ w2c[:3, :3].T + w2c[:3, 3]
        front = cam[..., 2] > 1e-3
        uv = cam @ K.T
        with np.errstate(divide="ignore", invalid="ignore"):
            u = np.where(front, uv[..., 0] / uv[..., 2], np.nan)
            v = np.where(front, uv[..., 1] / uv[..., 2], np.nan)
        seen = front.any(axis=1)
        u = np.where(seen[:, None], u, 0.0)
        v = np.where(seen[:, None], v, 0.0)
        x0 = np.maximum(np.floor(np.nanmin(u, axis=1)).astype(np.int64) - margin, 0)
        x1 = np.minimum(np.ceil(np.nanmax(u, axis=1)).astype(np.int64) + 1 + margin, width)
        y0 = np.maximum(np.floor(np.nanmin(v, axis=1)).astype(np.int64) - margin, 0)
        y1 = np.minimum(np.ceil(np.nanmax(v, axis=1)).astype(np.int64) + 1 + margin, height)
        x1 = np.where(seen, np.maximum(x1, x0), x0)
        y1 = np.where(seen, np.maximum(y1, y0), y0)
        return x0, x1, y0, y1

    # Shadow boxes: the feet disc plus the shadow's far end; contact boxes: near the feet only
    # (the disc is ~0 beyond 3 radii).
    length = (np.minimum(person / max(math.tan(math.asin(min(elev, 1.0))), 1e-3), MAX_SHADOW_LENGTH * person)
              if cast else np.zeros(n))
    dirs = [np.zeros(3), r_light, -r_light, n_light, -n_light]
    ground = pos[:, None, :] + (0.45 * person)[:, None, None] * np.array(dirs)[None]
    if cast and not cast_overhead:
        far = pos - n_light[None, :] * length[:, None]
        ground = np.concatenate([ground, (far[:, None, :] + (0.4 * person)[:, None, None]
                                          * np.array([r_light, -r_light])[None])], axis=1)
    bx0, bx1, by0, by1 = boxes(ground, 2)
    too_big = (bx1 - bx0) * (by1 - by0) > 4_000_000
    bx1 = np.where(too_big, bx0, bx1)
    corners = np.array([su * e1 + sv * e2 for su in (-1, 1) for sv in (-1, 1)]) * 0.8
    nx0, nx1, ny0, ny1 = boxes(pos[:, None, :] + scale[:, None, None] * corners[None], 2)
    nx0, nx1 = np.maximum(nx0, bx0), np.minimum(nx1, bx1)
    ny0, ny1 = np.maximum(ny0, by0), np.minimum(ny1, by1)
    nx1, ny1 = np.maximum(nx1, nx0), np.maximum(ny1, ny0)
    if not ((bx1 > bx0) & (by1 > by0)).any():
        return np.zeros((height, width), np.float32)

    # Per-frame fields over the region every box lies in.
    ux0, ux1 = int(bx0[bx1 > bx0].min()), int(bx1[bx1 > bx0].max())
    uy0, uy1 = int(by0[by1 > by0].min()), int(by1[by1 > by0].max())
    uw = ux1 - ux0
    d = set_depth[uy0:uy1, ux0:ux1].astype(np.float64)
    valid = valid_depth(d).ravel()  # finite, > 0, nearer than imageio.policy.NO_HIT_DEPTH
    d = np.where(valid.reshape(d.shape), d, np.nan)
    gx = np.arange(ux0, ux1, dtype=np.float64)[None, :]
    gy = np.arange(uy0, uy1, dtype=np.float64)[:, None]

    def field(v: np.ndarray) -> np.ndarray:
        m = v @ M
        return d * (m[0] * gx + m[1] * gy + m[2])

    g1, g2 = field(e1), field(e2)
    fp = [f.ravel() for f in _footprint(g1, g2)]
    g1, g2, gup = g1.ravel(), g2.ravel(), field(up).ravel()
    uh = uy1 - uy0
    log_keep = np.zeros(uh * uw)  # over the union of the boxes, indexed like the fields

    def accumulate(ui: np.ndarray, shade: np.ndarray) -> None:
        nonlocal log_keep
        live = shade > 0
        if live.any():
            log_keep += np.bincount(ui[live], weights=np.log1p(-np.minimum(shade[live], 1.0 - 1e-7)),
                                    minlength=uh * uw)

    # Contact: a soft disc under the feet, filtered by each pixel's footprint (casters in chunks
    # of about CHUNK_PIXELS receiver pixels).
    c1, c2, cu = rel0 @ e1, rel0 @ e2, rel0 @ up  # each caster's constants
    for sel in _chunks((nx1 - nx0) * (ny1 - ny0), cancelled):
        k, ys, xs = _box_pixels(nx0[sel], nx1[sel], ny0[sel], ny1[sel])
        k = sel[k]
        ui = (ys - uy0) * uw + (xs - ux0)
        ok = valid[ui]
        k, ys, xs, ui = k[ok], ys[ok], xs[ok], ui[ok]
        if not len(k):
            continue
        f1 = c1[k] + g1[ui]
        f2 = c2[k] + g2[ui]
        hg = cu[k] + gup[ui]
        disc = _filtered_disc(np.stack([f1, f2], axis=1), [f[ui] for f in fp], 0.26 * scale[k])
        contact = look.contact_density * disc * np.clip(1.0 - np.abs(hg) / (0.3 * scale[k]), 0.0, 1.0)
        accumulate(ui, fade[k] * np.clip(contact, 0.0, 1.0))

    if cast:
        gn, gr = field(n_light).ravel(), field(r_light).ravel()
        # Each caster's silhouette from the light: its element's view for the light's angle.
        atlas_keys: dict[tuple[int, int], int] = {}
        key = np.zeros(n, np.int64)
        mirror = np.zeros(n, bool)
        anchor = np.zeros((n, 2))
        cscale = np.array([c.scale for c in casters], np.float64)
        for i, c in enumerate(casters):
            if not i % 256:
                _check(cancelled)
            el = sources[c.inst.source].element
            assert el is not None
            angle = view_angle(np.asarray(c.inst.heading, np.float64), n_light, up)
            clip, mirror[i] = el.clip_for("walk" if c.inst.walking else "idle", angle)
            key[i] = atlas_keys.setdefault((c.inst.source, clip.frame(_counter(layout, c.inst, frame))), len(atlas_keys))
            anchor[i] = el.anchor
        items = sorted(atlas_keys.items(), key=lambda kv: kv[1])
        _check(cancelled)
        alphas = [np.asarray(sources[s].sprites[f][..., 3], np.float32) for (s, f), _ in items]
        covers = [sources[s].cover(f) for (s, f), _ in items]
        sizes = np.array([a.shape for a in alphas], np.int64)  # (h, w) per key
        offsets = np.concatenate([[0], np.cumsum(sizes[:, 0] * sizes[:, 1])[:-1]])
        atlas = np.concatenate([a.ravel() for a in alphas])
        cover_atlas = np.concatenate([c.ravel() for c in covers])
        denom = float(to_light @ n_light)
        lr, lu = float(to_light @ r_light), float(to_light @ up)
        cn, cr = rel0 @ n_light, rel0 @ r_light
        for sel in _chunks((bx1 - bx0) * (by1 - by0), cancelled):  # casters in chunks of ~CHUNK_PIXELS receivers
            k, ys, xs = _box_pixels(bx0[sel], bx1[sel], by0[sel], by1[sel])
            k = sel[k]
            ui = (ys - uy0) * uw + (xs - ux0)
            ok = valid[ui]
            k, ys, xs, ui = k[ok], ys[ok], xs[ok], ui[ok]
            if not len(k) or abs(denom) <= 1e-9:
                continue
            # Ray from the receiver towards the light, through the vertical card facing the light.
            tau = (cn[k] + gn[ui]) * (-1.0 / denom)
            inv = 1.0 / cscale[k]
            sx = (cr[k] + gr[ui] + tau * lr) * np.where(mirror[k], -inv, inv) + anchor[k, 0]
            sy = anchor[k, 1] - (cu[k] + gup[ui] + tau * lu) * inv
            kk = key[k]
            h, w, off = sizes[kk, 0], sizes[kk, 1], offsets[kk]
            inside = (tau > 0) & (sx >= -0.5) & (sx <= w - 0.5) & (sy >= -0.5) & (sy <= h - 0.5)
            inside[inside] = cover_atlas[off[inside] + np.clip(np.rint(sy[inside]), 0, h[inside] - 1).astype(np.int64)
                                         * w[inside] + np.clip(np.rint(sx[inside]), 0, w[inside] - 1).astype(np.int64)]
            if not inside.any():
                continue
            k, ui, tau, sx, sy = k[inside], ui[inside], tau[inside], sx[inside], sy[inside]
            h, w, off = h[inside], w[inside], off[inside]
            occ = _bilinear_atlas(atlas, off, h, w, sx, sy)
            # Penumbra: the farther from the caster, the softer (and the weaker).
            blur = np.clip(tau * soft / (0.05 * scale[k]), 0.0, 4.0)
            accumulate(ui, fade[k] * look.shadow_density * occ / (1.0 + 0.35 * blur))
    out = np.zeros((height, width), np.float32)
    out[uy0:uy1, ux0:ux1] = (1.0 - np.exp(log_keep)).reshape(uh, uw)
    return out


def _check(cancelled: Callable[[], bool] | None) -> None:
    if cancelled is not None and cancelled():
        raise Cancelled()


def _chunks(area: np.ndarray, cancelled: Callable[[], bool] | None) -> Iterator[np.ndarray]:
    """Caster indices in runs whose boxes hold about :data:`CHUNK_PIXELS` pixels together (at
    least one caster each); :class:`Cancelled` between runs once ``cancelled()``."""
    start, n = 0, len(area)
    cum = np.cumsum(area)
    while start < n:
        _check(cancelled)
        base = int(cum[start - 1]) if start else 0
        stop = max(int(np.searchsorted(cum, base + CHUNK_PIXELS, side="right")), start + 1)
        yield np.arange(start, min(stop, n))
        start = stop


def _bilinear_atlas(atlas: np.ndarray, off: np.ndarray, h: np.ndarray, w: np.ndarray, x: np.ndarray,
                    y: np.ndarray) -> np.ndarray:
    """Bilinear samples of images laid end to end in ``atlas`` (each (h, w) from ``off``), at
    float pixel coordinates (pixel centres at integers; edges clamp)."""
    x = np.clip(x, 0.0, w - 1.0)
    y = np.clip(y, 0.0, h - 1.0)
    x0, y0 = x.astype(np.int64), y.astype(np.int64)
    fx, fy = x - x0, y - y0
    i00 = off + y0 * w + x0
    dx = (x0 < w - 1).astype(np.int64)
    dy = np.where(y0 < h - 1, w, 0)
    top = atlas[i00] * (1 - fx) + atlas[i00 + dx] * fx
    bottom = atlas[i00 + dy] * (1 - fx) + atlas[i00 + dy + dx] * fx
    return top * (1 - fy) + bottom * fy


def _footprint(f1: np.ndarray, f2: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per pixel of a (h, w) grid of receivers' horizontal coordinates (``f1``, ``f2``), the
    covariance of the pixel's footprint as (c11, c12, c22): a box spanned by the steps to the
    neighbouring pixels' points (forward differences; across x, the backward one where the
    next pixel has no receiver; steps across depth edges, over 2 units, count as 0)."""

    def steps(axis: int, fallback: bool) -> tuple[np.ndarray, np.ndarray]:
        if f1.shape[axis] < 2:
            return np.zeros_like(f1), np.zeros_like(f2)
        out = []
        for f in (f1, f2):
            d = np.diff(f, axis=axis)
            end, start = [(0, 0), (0, 0)], [(0, 0), (0, 0)]
            end[axis], start[axis] = (0, 1), (1, 0)
            fwd = np.pad(d, end, mode="edge")
            out.append(np.where(np.isnan(fwd), np.pad(d, start, mode="edge"), fwd) if fallback else fwd)
        d1, d2 = out
        bad = ~(np.isfinite(d1) & np.isfinite(d2)) | (d1 * d1 + d2 * d2 > 4.0)
        return np.where(bad, 0.0, d1), np.where(bad, 0.0, d2)

    u1, u2 = steps(1, True)
    v1, v2 = steps(0, False)
    return (u1 * u1 + v1 * v1) / 12.0, (u1 * u2 + v1 * v2) / 12.0, (u2 * u2 + v2 * v2) / 12.0


def _filtered_disc(offset: np.ndarray, footprint: Sequence[np.ndarray], radius: float | np.ndarray) -> np.ndarray:
    """exp(-(d / radius)^2) averaged over each pixel's footprint ((c11, c12, c22) per pixel):
    the Gaussian convolved with the footprint's covariance (so a disc smaller than a pixel far
    away still darkens the pixel, by the right amount, instead of being missed between pixel
    centres)."""
    s0 = radius * radius / 2.0
    a = s0 + footprint[0]
    b = footprint[1]
    c = s0 + footprint[2]
    det = a * c - b * b
    x, y = offset[:, 0], offset[:, 1]
    quad = (c * x * x - 2 * b * x * y + a * y * y) / np.maximum(det, 1e-12)
    return np.sqrt(s0 * s0 / np.maximum(det, 1e-12)) * np.exp(-0.5 * quad)


def _counter(layout: "CrowdLayout", inst: "Instance", frame: int) -> int:
    return int(math.floor(inst.offset + layout.rate(inst) * (frame - layout.first_frame) + 1e-9))
