"""Rendering a synthetic person (:mod:`.people`) into an RGBA element frame with numpy.

The body is a set of tapered capsules and spheres in person-local 3D, seen orthographically
from a view angle (degrees from the person's facing towards their left; 0 = facing the
camera). Each pixel keeps the nearest surface (z-tested, antialiased coverage), shaded by a
soft key light fixed to the camera (as an element shot on a stage is lit) plus ambient.
Outputs are premultiplied scene-linear RGB, alpha, ``variation``: the premultiplied coverage
of recolourable clothing (never skin, hair, shoes or bags), and ``variation_lower``: the part of
it below the waist (trousers, skirt, shorts), so tops and bottoms can take different colours.

Image convention: pixel centres at integers, row 0 at the top; the ground (y = 0) is the
bottom edge of the image and the body axis (x = z = 0) is the column ``(W - 1) / 2``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .people import Person

#: The element's key light in view space (x right, y up, z towards the camera).
_LIGHT = np.array([-0.35, 0.75, 0.56]) / np.linalg.norm([-0.35, 0.75, 0.56])
#: Headroom: the image is this many metres tall, so the tallest person and hair fit.
FRAME_METRES = 2.08
#: Width of the element in metres (a side view's stride and swinging arms fit).
WIDTH_METRES = 1.04


@dataclass
class _Prim:
    a: np.ndarray  # 3D start (person-local)
    b: np.ndarray  # 3D end
    ra: float
    rb: float
    material: str
    mask: str = ""  # hair masks on the head sphere
    caps: bool = True  # False: a truncated cone with a flat end at ``b`` (a skirt's hem)


def frame_size(height_px: int) -> tuple[int, int, float]:
    """(width, height, pixels per metre) of an element frame ``height_px`` tall."""
    ppm = height_px / FRAME_METRES
    width = int(round(WIDTH_METRES * ppm / 2)) * 2
    return width, height_px, ppm


def _primitives(person: Person, j: dict[str, np.ndarray]) -> list[_Prim]:
    H, b = person.height, person.build
    head_r = float(np.asarray(j["head_r"]).reshape(-1, 3)[0, 0])
    prims: list[_Prim] = []
    add = prims.append
    leg_top = "bottom" if person.bottom_kind != "skirt" else "skin"
    shin_mat = "bottom" if person.bottom_kind == "trousers" else "skin"
    for s in ("l", "r"):
        heel = j[f"ankle_{s}"] + np.array([0.0, -0.028 * H, -0.03 * H])
        thigh_top = j[f"hip_{s}"] if person.bottom_kind != "skirt" else j[f"hip_{s}"] + 0.55 * (j[f"knee_{s}"] - j[f"hip_{s}"])
        add(_Prim(thigh_top, j[f"knee_{s}"], 0.062 * H * b if person.bottom_kind != "skirt" else 0.05 * H,
                  0.045 * H * (0.8 + 0.2 * b), leg_top))
        add(_Prim(j[f"knee_{s}"], j[f"ankle_{s}"], 0.043 * H * (0.8 + 0.2 * b), 0.026 * H, shin_mat))
        add(_Prim(heel, j[f"toe_{s}"], 0.02 * H, 0.018 * H, "shoes"))
        add(_Prim(j[f"ankle_{s}"], heel + np.array([0.0, 0.01 * H, 0.02 * H]), 0.024 * H, 0.022 * H, "shoes"))
    if person.bottom_kind == "shorts":
        for s in ("l", "r"):
            knee_mid = j[f"hip_{s}"] + 0.55 * (j[f"knee_{s}"] - j[f"hip_{s}"])
            add(_Prim(j[f"hip_{s}"], knee_mid, 0.068 * H * b, 0.058 * H * b, "bottom"))
    pelvis, chest, neck = j["pelvis"], j["chest"], j["neck"]
    hip_w = 0.045 * H * b
    for sx in (1.0, -1.0):
        off = np.array([sx * hip_w, 0.0, 0.0])
        add(_Prim(pelvis + off + np.array([0, 0.045 * H, 0]), chest + off * 1.05, 0.063 * H * b, 0.066 * H * b, "top"))
        add(_Prim(chest + off * 1.05, neck + off * 0.9 + np.array([0, -0.035 * H, 0]), 0.066 * H * b, 0.058 * H * b, "top"))
        add(_Prim(pelvis + off * 1.1 - np.array([0, 0.035 * H, 0]), pelvis + off * 1.1 + np.array([0, 0.01 * H, 0]),
                  0.064 * H * b, 0.063 * H * b, "bottom"))
    if person.bottom_kind == "skirt":
        hem = 0.5 * (j["knee_l"] + j["knee_r"]) + np.array([0.0, 0.09 * H, 0.0])
        add(_Prim(pelvis + np.array([0, 0.07 * H, 0]), hem, 0.07 * H * b, 0.115 * H * b, "bottom", caps=False))
    add(_Prim(j["shoulder_l"], j["shoulder_r"], 0.045 * H * b, 0.045 * H * b, "top"))
    add(_Prim(neck + np.array([0, -0.02 * H, 0]), j["head"] - np.array([0, 0.4 * head_r, 0]), 0.026 * H, 0.024 * H, "skin"))
    add(_Prim(j["head"], j["head"] + np.array([0, -0.25 * head_r, 0.05 * head_r]), head_r, 0.9 * head_r, "skin", "face"))
    style = person.hair_style
    head = j["head"]
    if style in ("short", "long", "bun", "curly"):
        add(_Prim(head, head, head_r * (1.08 if style != "curly" else 1.2), head_r, "hair", style))
    if style == "long":
        add(_Prim(head + np.array([0, 0.1 * head_r, -0.45 * head_r]), head + np.array([0, -2.2 * head_r, -0.75 * head_r]),
                  0.85 * head_r, 0.7 * head_r, "hair"))
    if style == "bun":
        add(_Prim(head + np.array([0, 0.75 * head_r, -0.7 * head_r]), head + np.array([0, 0.75 * head_r, -0.7 * head_r]), 0.48 * head_r, 0.48 * head_r, "hair"))
    if style == "beanie":
        add(_Prim(head, head, head_r * 1.12, head_r, "cap", "beanie"))
    if style == "scarf":  # a headscarf: hair and neck covered, the face open
        add(_Prim(head, head, head_r * 1.16, head_r, "cap", "scarf"))
        add(_Prim(neck + np.array([0, 0.005 * H, -0.01 * H]), head - np.array([0, 0.75 * head_r, 0.15 * head_r]),
                  0.052 * H * b, 0.8 * head_r, "cap"))
    if style == "cap":
        add(_Prim(head, head, head_r * 1.1, head_r, "cap", "cap"))
        add(_Prim(head + np.array([0, 0.32 * head_r, 0.5 * head_r]), head + np.array([0, 0.28 * head_r, 1.35 * head_r]),
                  0.16 * head_r, 0.12 * head_r, "cap"))
    if person.bag is not None:
        hip = j["pelvis"] + np.array([-(hip_w + 0.07 * H * b), 0.03 * H, 0.0])
        add(_Prim(hip, hip + np.array([0, 0.08 * H, -0.01 * H]), 0.05 * H, 0.05 * H, "bag"))
        add(_Prim(j["shoulder_l"] + np.array([0, 0.01 * H, 0]), hip + np.array([0, 0.08 * H, 0]), 0.007 * H, 0.007 * H, "bag"))
    sleeve_end = "top" if person.sleeves == "long" else "skin"
    for s in ("l", "r"):
        sh, el, wr = j[f"shoulder_{s}"], j[f"elbow_{s}"], j[f"wrist_{s}"]
        if person.sleeves == "short":
            mid = sh + 0.55 * (el - sh)
            add(_Prim(sh, mid, 0.04 * H * b, 0.036 * H * b, "top"))
            add(_Prim(mid, el, 0.028 * H * b, 0.025 * H, "skin"))
        else:
            add(_Prim(sh, el, 0.04 * H * b, 0.033 * H * b, "top"))
        add(_Prim(el, wr, 0.03 * H * (0.8 + 0.2 * b) if sleeve_end == "top" else 0.024 * H, 0.022 * H, sleeve_end))
        hand = wr + (wr - el) / np.maximum(np.linalg.norm(wr - el, axis=-1, keepdims=True), 1e-9) * 0.03 * H
        add(_Prim(hand, hand, 0.026 * H, 0.026 * H, "skin"))
    return prims


#: Recolourable clothing: (variation, variation_lower) weight per material.
_CLOTHING = {"top": (1.0, 0.0), "cap": (1.0, 0.0), "bottom": (1.0, 1.0)}


def _smooth_stripe(coord: np.ndarray, period: float, width_px_m: float) -> np.ndarray:
    """0..1 antialiased square wave of ``coord`` (metres) with ``period``."""
    phase = np.mod(coord / period, 1.0)
    edge = width_px_m / period
    up = np.clip((phase - 0.5) / max(edge, 1e-6) + 0.5, 0.0, 1.0)
    down = np.clip((1.0 - phase) / max(edge, 1e-6) + 0.0, 0.0, 1.0)
    return np.minimum(up, down)


def render_views(person: Person, joints: list[dict[str, np.ndarray]], view_deg: float, height_px: int) -> np.ndarray:
    """(F, H, W, 6) float32: premultiplied R, G, B, alpha, variation, variation_lower of ``person`` in each pose
    of ``joints`` seen from ``view_deg``. All frames are rasterised together, one primitive at
    a time (numpy's per-call cost is paid once per primitive, not per frame)."""
    width, height, ppm = frame_size(height_px)
    n_frames = len(joints)
    a = math.radians(view_deg)
    to_cam = np.array([math.sin(a), 0.0, math.cos(a)])
    right = np.array([math.cos(a), 0.0, -math.sin(a)])
    up = np.array([0.0, 1.0, 0.0])
    cx, cy = (width - 1) / 2.0, height - 0.5
    stacked = {k: np.stack([np.asarray(jj[k], np.float32) for jj in joints]) for k in joints[0]}
    to_cam, right, up = to_cam.astype(np.float32), right.astype(np.float32), up.astype(np.float32)

    npx = height * width
    cflat = np.zeros((n_frames * npx, 3), np.float32)
    aflat = np.zeros(n_frames * npx, np.float32)
    vflat = np.zeros(n_frames * npx, np.float32)
    lflat = np.zeros(n_frames * npx, np.float32)
    zflat = np.full(n_frames * npx, -np.inf, np.float32)
    prims = _primitives(person, stacked)
    prims.sort(key=lambda p: float(np.mean((p.a + p.b) @ to_cam)))  # far to near
    H = person.height
    pix_m = 1.0 / ppm
    head, head_r = stacked["head"], float(stacked["head_r"][0, 0])
    chest_y = stacked["chest"][:, 1]

    for p in prims:
        pa = np.broadcast_to(np.asarray(p.a, np.float32), (n_frames, 3))
        pb = np.broadcast_to(np.asarray(p.b, np.float32), (n_frames, 3))
        ax, ay, az = pa @ right, pa[:, 1], pa @ to_cam
        bx, by, bz = pb @ right, pb[:, 1], pb @ to_cam
        rmax = max(p.ra, p.rb)
        x0 = np.floor(cx + (np.minimum(ax, bx) - rmax) * ppm).astype(int) - 1
        x1 = np.ceil(cx + (np.maximum(ax, bx) + rmax) * ppm).astype(int) + 2
        y0 = np.floor(cy - (np.maximum(ay, by) + rmax) * ppm).astype(int) - 1
        y1 = np.ceil(cy - (np.minimum(ay, by) - rmax) * ppm).astype(int) + 2
        bw, bh = int((x1 - x0).max()), int((y1 - y0).max())
        gy, gx = np.mgrid[0:bh, 0:bw].astype(np.int32)
        gx = gx.ravel()[None, :] + x0[:, None].astype(np.int32)
        gy = gy.ravel()[None, :] + y0[:, None].astype(np.int32)
        inside = (gx >= 0) & (gx < width) & (gy >= 0) & (gy < height)
        X = (gx.astype(np.float32) - np.float32(cx)) * np.float32(1 / ppm)
        Y = (np.float32(cy) - gy.astype(np.float32)) * np.float32(1 / ppm)
        dx, dy = (bx - ax)[:, None], (by - ay)[:, None]
        ll = dx * dx + dy * dy
        t_raw = ((X - ax[:, None]) * dx + (Y - ay[:, None]) * dy) / np.maximum(ll, 1e-12)
        t = np.clip(t_raw, 0.0, 1.0)
        ox, oy = X - (ax[:, None] + t * dx), Y - (ay[:, None] + t * dy)
        d = np.sqrt(ox * ox + oy * oy)
        r = np.float32(p.ra) + np.float32(p.rb - p.ra) * t
        cov = np.clip((r - d) * np.float32(ppm) + np.float32(0.5), 0.0, 1.0)
        if not p.caps:
            cov *= np.clip((1.0 - t_raw) * np.sqrt(ll) * np.float32(ppm) + np.float32(0.5), 0.0, 1.0)
        fsel, psel = np.nonzero((cov > 0) & inside)
        if not len(fsel):
            continue
        flat = fsel * npx + gy[fsel, psel] * width + gx[fsel, psel]
        t, ox, oy, r, cov = t[fsel, psel], ox[fsel, psel], oy[fsel, psel], r[fsel, psel], cov[fsel, psel]
        inv_r = 1.0 / np.maximum(r, 1e-6)
        nx, ny = ox * inv_r, oy * inv_r
        nz = np.sqrt(np.clip(1.0 - nx * nx - ny * ny, 0.0, 1.0))
        z = az[fsel] + t * (bz - az)[fsel] + nz * r
        # Surface point and normal in person-local space (patterns, hair masks).
        n_loc = nx[:, None] * right + ny[:, None] * up + nz[:, None] * to_cam
        P = pa[fsel] + t[:, None] * (pb - pa)[fsel] + n_loc * r[:, None]
        col, keep = _material(person, p, P, n_loc, pix_m, head[fsel], head_r, chest_y[fsel])
        cov = cov * keep
        # Shading: soft key from the upper left front, sky ambient from above, a little
        # occlusion low on the body.
        diffuse = np.clip(nx * _LIGHT[0] + ny * _LIGHT[1] + nz * _LIGHT[2], 0.0, None)
        shade = (0.3 + 0.75 * diffuse + 0.12 * ny) * (0.78 + 0.22 * np.clip(P[:, 1] / H, 0.0, 1.0))
        col = col * shade[:, None].astype(np.float32)
        v, lw = _CLOTHING.get(p.material, (0.0, 0.0))
        zb, al, im, va, lo = zflat[flat], aflat[flat], cflat[flat], vflat[flat], lflat[flat]
        front = z > zb
        c1 = cov[:, None]
        cflat[flat] = np.where(front[:, None], col * c1 + im * (1 - c1), im + col * c1 * (1 - al[:, None]))
        vflat[flat] = np.where(front, v * cov + va * (1 - cov), va + v * cov * (1 - al))
        lflat[flat] = np.where(front, lw * cov + lo * (1 - cov), lo + lw * cov * (1 - al))
        aflat[flat] = np.where(front, cov + al * (1 - cov), al + cov * (1 - al))
        zflat[flat] = np.where(front & (cov >= 0.5), z, zb)
    vflat = np.minimum(vflat, aflat)
    out = np.concatenate([cflat, aflat[:, None], vflat[:, None], np.minimum(lflat, vflat)[:, None]], axis=-1)
    return out.reshape(n_frames, height, width, 6).astype(np.float32)


def render_view(person: Person, joints: dict[str, np.ndarray], view_deg: float, height_px: int) -> np.ndarray:
    """One frame of :func:`render_views`: (H, W, 6)."""
    return render_views(person, [joints], view_deg, height_px)[0]


def _material(person: Person, p: _Prim, P: np.ndarray, n: np.ndarray, pix_m: float,
              head: np.ndarray, head_r: float, chest_y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(colour (h, w, 3), coverage multiplier (h, w)) of a primitive's surface points."""
    H = person.height
    ones = np.ones(P.shape[:1], np.float32)
    m = p.material
    if m == "skin":
        col = np.broadcast_to(np.asarray(person.skin, np.float32), P.shape).copy()
        if p.mask == "face":
            rel = (P - head) / head_r
            front = np.clip((rel[:, 2] - 0.55) * 4, 0, 1)
            for ex in (-0.36, 0.36):
                e = np.exp(-(((rel[:, 0] - ex) / 0.13) ** 2 + ((rel[:, 1] - 0.08) / 0.09) ** 2))
                col *= (1 - 0.75 * e * front)[..., None]
            brow = np.exp(-(((np.abs(rel[:, 0]) - 0.36) / 0.2) ** 2 + ((rel[:, 1] - 0.27) / 0.06) ** 2)) * front
            col = col * (1 - brow[..., None]) + np.asarray(person.hair, np.float32) * brow[..., None]
            mouth = np.exp(-((rel[:, 0] / 0.22) ** 2 + ((rel[:, 1] + 0.42) / 0.06) ** 2)) * front
            col *= (1 - 0.35 * mouth)[..., None]
        return col, ones
    if m == "hair" or (m == "cap" and p.mask in ("cap", "beanie", "scarf")):
        base = np.asarray(person.hair if m == "hair" else person.cap, np.float32)
        col = np.broadcast_to(base, P.shape).copy()
        if p.mask:
            rel = (P - head) / head_r
            style = p.mask
            if style == "curly":
                bump = 0.5 + 0.5 * np.sin(rel[:, 0] * 11) * np.sin(rel[:, 1] * 13) * np.sin(rel[:, 2] * 9)
                keep = (rel[:, 1] > -0.05 + 0.25 * np.clip(rel[:, 2], 0, 1)) | (rel[:, 2] < -0.1)
                col *= (0.75 + 0.35 * bump)[..., None]
            elif style == "cap":
                keep = rel[:, 1] > 0.22
            elif style == "beanie":  # knitted: down to the ears, ribbed
                keep = rel[:, 1] > 0.05 - 0.35 * np.clip(-rel[:, 2], 0, 1)
                rib = np.sin(np.arctan2(rel[:, 0], rel[:, 2]) * 26.0)
                col *= (0.86 + 0.14 * rib * (rel[:, 1] < 0.35))[..., None]
            elif style == "scarf":
                face = (rel[:, 2] > 0.2) & (np.abs(rel[:, 0]) < 0.62) & (rel[:, 1] < 0.42) & (rel[:, 1] > -0.95)
                keep = ~face
            else:
                keep = (rel[:, 1] > 0.3 - 0.25 * np.clip(-rel[:, 2], 0, 1)) | (rel[:, 2] < -0.3)
                if style == "short":
                    keep &= rel[:, 1] > -0.45
                sheen = np.exp(-((rel[:, 1] - 0.7) / 0.15) ** 2) * np.clip(rel[:, 2] + 0.5, 0, 1)
                col *= (1 + 0.6 * sheen)[..., None]
            soft = keep.astype(np.float32)
            return col, soft
        return col, ones
    if m == "shoes":
        return np.broadcast_to(np.asarray(person.shoes, np.float32), P.shape).copy(), ones
    if m == "bag":
        return np.broadcast_to(np.asarray(person.bag, np.float32), P.shape).copy(), ones
    if m == "cap":
        return np.broadcast_to(np.asarray(person.cap, np.float32), P.shape).copy(), ones
    if m == "bottom":
        col = np.broadcast_to(np.asarray(person.bottom, np.float32), P.shape).copy()
        # A seam and a little wear down the legs reads as trousers rather than paint.
        return col * (0.92 + 0.08 * np.cos(P[:, 1] * 40.0))[..., None] ** 0.3, ones
    # Tops: pattern in person-local space.
    top, top2 = np.asarray(person.top, np.float32), np.asarray(person.top2, np.float32)
    kind = person.top_pattern
    w = pix_m * 1.2
    if kind == "stripes":
        mix = _smooth_stripe(P[:, 1], 0.055 * H, w)
    elif kind == "checks":
        a = _smooth_stripe(P[:, 1], 0.07 * H, w)
        b = _smooth_stripe(P[:, 0] + 0.5 * P[:, 2], 0.07 * H, w)
        mix = 0.55 * np.abs(a - b)
    elif kind == "jacket":
        panel = (n[:, 2] > 0.35) & (np.abs(P[:, 0]) < 0.05 * H) & (P[:, 1] < chest_y + 0.1 * H)
        mix = panel.astype(np.float32)
    elif kind == "blocks":
        mix = np.clip((P[:, 1] - (chest_y + 0.02 * H)) / w + 0.5, 0.0, 1.0)
    else:
        mix = np.zeros(P.shape[:1], np.float32)
    col = top * (1 - mix[..., None]) + top2 * mix[..., None]
    return col.astype(np.float32), ones
