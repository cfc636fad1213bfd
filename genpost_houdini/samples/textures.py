"""Procedural textures of the bundled street: facades, road, pavement, sky.

Everything is a function of world position (and the box's parameters), so the extension's
upper storeys continue exactly the style of the filmed storeys below the cut. Repeating
patterns (mortar, windows, joints, road markings) are box-filtered analytically over the pixel
footprint, so they do not shimmer as the camera moves.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_F = np.float32


def hash01(*keys: np.ndarray) -> np.ndarray:
    """Deterministic hash of integer(-valued) arrays to floats in [0, 1)."""
    h = np.full(np.broadcast(*keys).shape, 0x811C9DC5, dtype=np.uint32)
    for k in keys:
        k = np.asarray(k)
        if k.dtype != np.uint32:
            k = k.astype(np.int64).astype(np.uint32)
        h ^= k
        h *= np.uint32(0x2C1B3C6D)
        h ^= h >> np.uint32(15)
    h *= np.uint32(0x297A2D39)
    h ^= h >> np.uint32(13)
    return (h >> np.uint32(8)).astype(_F) * _F(1.0 / (1 << 24))


_LATTICE = np.random.default_rng(20240611).random((256, 256), dtype=np.float32)


def value_noise(x: np.ndarray, y: np.ndarray, seed: int = 0) -> np.ndarray:
    """Smooth 2D value noise in [0, 1] with unit lattice spacing (a fixed random lattice)."""
    xf, yf = np.floor(x), np.floor(y)
    fx, fy = (x - xf).astype(_F), (y - yf).astype(_F)
    xi = (xf.astype(np.int64) + 59 * seed) & 255
    yi = (yf.astype(np.int64) + 101 * seed) & 255
    x1, y1 = (xi + 1) & 255, (yi + 1) & 255
    sx, sy = fx * fx * (3 - 2 * fx), fy * fy * (3 - 2 * fy)
    n00, n10, n01, n11 = _LATTICE[yi, xi], _LATTICE[yi, x1], _LATTICE[y1, xi], _LATTICE[y1, x1]
    a = n00 + (n10 - n00) * sx
    return a + ((n01 + (n11 - n01) * sx) - a) * sy


def fbm(x: np.ndarray, y: np.ndarray, seed: int, octaves: int = 3) -> np.ndarray:
    total, amp, norm = np.zeros(np.shape(x), _F), 1.0, 0.0
    for o in range(octaves):
        total += _F(amp) * value_noise(x * (2 ** o), y * (2 ** o), seed + 17 * o)
        norm += amp
        amp *= 0.5
    return total / _F(norm)


def pulses(x: np.ndarray, period: Any, width: Any, fw: np.ndarray, offset: Any = 0.0) -> np.ndarray:
    """Coverage in [0, 1] of pulses ``[k*period + offset, k*period + offset + width)``, box-filtered
    over ``fw`` (the pixel footprint): anti-aliased lines, bricks and windows."""
    period = np.asarray(period, _F)
    width = np.asarray(width, _F)
    fw = np.maximum(fw, _F(1e-4))

    def integral(v: np.ndarray) -> np.ndarray:
        q = v / period
        k = np.floor(q)
        return k * width + np.minimum((q - k) * period, width)

    xs = x - offset
    return np.clip((integral(xs + fw / 2) - integral(xs - fw / 2)) / fw, 0.0, 1.0).astype(_F)


def _mix(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    return a + (b - a) * t[..., None]


def facade(u: np.ndarray, v: np.ndarray, u_len: np.ndarray, top: np.ndarray, fw: np.ndarray,
           p: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Albedo and emission (N, 3) of building facades at facade coordinates ``u`` (metres along
    the face from its start), ``v`` (height); ``p`` holds per-point box parameters."""
    n = u.shape[0]
    kind, base, trim, sign = p["kind"], p["colour"], p["trim"], p["sign"]
    seed = p["seed"].astype(np.int64)
    bay, ww, wh, storey, gf = p["bay"], p["window_w"], p["window_h"], p["storey"], p["ground_floor"]
    # Wall material.
    grime = fbm(u * 0.35, v * 0.5, 7, octaves=2) * 0.25 + value_noise(u * 3.0, v * 3.0, 11) * 0.12
    wall = base * (0.82 + grime)[:, None]
    brick = kind == 0
    if np.any(brick):
        bu, bv, bfw = u[brick], v[brick], fw[brick]
        course = np.floor(bv / _F(0.075))
        shift = (course % 2) * _F(0.115)
        mortar_v = pulses(bv, 0.075, 0.011, bfw)
        mortar_u = pulses(bu + shift, 0.23, 0.011, bfw)
        mortar = 1 - (1 - mortar_v) * (1 - mortar_u)
        detail = np.clip(1.0 - bfw / _F(0.08), 0.0, 1.0)  # fade per-brick variation when sub-pixel
        var = (hash01(np.floor((bu + shift) / _F(0.23)), course, seed[brick]) - 0.5) * _F(0.35) * detail
        bw = wall[brick] * (1 + var)[:, None]
        mortar_col = np.array([0.42, 0.40, 0.36], _F)
        wall[brick] = _mix(bw, np.broadcast_to(mortar_col, bw.shape), mortar * _F(0.9))
    concrete = kind == 1
    if np.any(concrete):
        cu, cv, cfw = u[concrete], v[concrete], fw[concrete]
        joints = 1 - (1 - pulses(cu, 1.5, 0.02, cfw)) * (1 - pulses(cv - gf[concrete], storey[concrete], 0.02, cfw))
        band = pulses(cv - gf[concrete] + 0.25, storey[concrete], 0.25, cfw)  # floor-slab bands
        panel = (hash01(np.floor(cu / _F(1.5)), np.floor(cv / storey[concrete]), seed[concrete]) - 0.5) * _F(0.12)
        cw = wall[concrete] * (1 + panel)[:, None]
        cw = cw * (1 - 0.45 * joints)[:, None]
        wall[concrete] = _mix(cw, trim[concrete] * 0.8, band * _F(0.6))
    stucco = kind == 2
    if np.any(stucco):
        sv, sfw = v[stucco], fw[stucco]
        cornice = pulses(sv - gf[stucco] + 0.15, storey[stucco], 0.12, sfw)
        wall[stucco] = _mix(wall[stucco], trim[stucco], cornice * _F(0.7))

    # Windows on the upper storeys: a grid of bays, centred on the face.
    nb = np.maximum(np.floor((u_len - 1.0) / bay), 1)
    margin = (u_len - nb * bay) / 2
    ub = u - margin
    bay_i = np.floor(ub / bay)
    storey_i = np.floor((v - gf) / storey)
    upper = (v >= gf) & (v < top - 1.2) & (bay_i >= 0) & (bay_i < nb)
    sill = _F(0.9)
    frame_w = _F(0.07)
    wx0 = (bay - ww) / 2
    outer = pulses(ub, bay, ww, fw, wx0) * pulses(v - gf, storey, wh, fw, sill)
    inner_v = pulses(v - gf, storey, wh - 2 * frame_w, fw, sill + frame_w)
    inner = pulses(ub, bay, ww - 2 * frame_w, fw, wx0 + frame_w) * inner_v
    # The reveal's shadow on the top of the glass.
    reveal = pulses(v - gf, storey, 0.18, fw, sill + wh - frame_w - 0.18) * inner
    mullion = pulses(ub, bay, frame_w, fw, bay / 2 - frame_w / 2) * inner * (ww > 1.2)
    sill_band = pulses(ub, bay, ww + 0.16, fw, wx0 - 0.08) * pulses(v - gf, storey, 0.09, fw, sill - 0.09)
    win_rand = hash01(bay_i, storey_i, seed)
    win_rand2 = hash01(bay_i, storey_i, seed + 991)
    # Glass: dark, reflecting a bit of sky; some windows with blinds or curtains.
    glass = np.empty((n, 3), _F)
    sky_ref = np.clip((v - gf - storey_i * storey - sill) / np.maximum(wh, 0.1), 0, 1)
    glass[:] = np.array([0.035, 0.045, 0.06], _F)
    glass += (np.array([0.10, 0.13, 0.17], _F) * (0.3 + 0.7 * sky_ref)[:, None]) * (0.5 + win_rand)[:, None]
    blind = (win_rand2 > 0.6) & (sky_ref > 1 - (win_rand2 - 0.6) * 2.0)
    glass[blind] = np.array([0.50, 0.45, 0.36], _F) * (0.7 + 0.3 * win_rand[blind])[:, None]
    glass *= (1 - 0.55 * reveal)[:, None]
    win_albedo = _mix(trim, glass, inner - mullion)
    cover = np.where(upper, outer, 0).astype(_F)
    sill_cov = np.where(upper, sill_band * (1 - outer), 0).astype(_F)
    albedo = _mix(wall, win_albedo, cover)
    albedo = _mix(albedo, trim * _F(0.9), sill_cov)

    # Ground floor: shop fronts with a sign band.
    gnd = (v < gf) & (bay_i >= 0) & (bay_i < nb)
    shop = pulses(ub, bay, bay - 0.35, fw, 0.175) * pulses(v, 1000.0, gf - 1.6, fw, 0.45)
    door = (hash01(bay_i, seed + 5) < 0.3)
    shop_glass = np.array([0.05, 0.055, 0.06], _F) + np.array([0.18, 0.16, 0.12], _F) * \
        np.clip(1.0 - np.abs(v - 1.5)[:, None] / 2.0, 0, 1) * (0.3 + 0.7 * win_rand2)[:, None]
    shop_glass[door] *= _F(0.45)
    sign_band = pulses(v, 1000.0, 0.7, fw, gf - 1.05)
    gcov = np.where(gnd, shop, 0).astype(_F)
    albedo = _mix(albedo, shop_glass, gcov)
    albedo = _mix(albedo, sign, np.where(gnd | (v < gf), sign_band, 0).astype(_F))
    # Parapet / cornice at the top.
    albedo = _mix(albedo, trim * _F(0.85), (v > top - 0.8).astype(_F) * _F(0.8))
    emission = np.zeros_like(albedo)
    emission += np.array([0.10, 0.08, 0.05], _F) * (gcov * (~door) * win_rand2)[:, None]
    return albedo.astype(_F), emission.astype(_F)


def ground(x: np.ndarray, z: np.ndarray, fw: np.ndarray) -> np.ndarray:
    """Albedo (N, 3) of the ground plane: asphalt road with markings, paving beyond."""
    n = x.shape[0]
    road = np.abs(x) < 6.0
    asphalt = np.array([0.075, 0.075, 0.08], _F)
    noise = fbm(x * 0.4, z * 0.4, 3, octaves=2) * 0.5 + value_noise(x * 4.0, z * 4.0, 5) * 0.5
    alb = asphalt * (0.7 + 0.6 * noise)[:, None]
    paint = np.array([0.62, 0.62, 0.58], _F)
    centre = pulses(x, 1000.0, 0.15, fw, -0.075) * pulses(z, 9.0, 3.0, fw)
    edges = pulses(np.abs(x), 1000.0, 0.12, fw, 5.6)
    crossing = pulses(x, 1.0, 0.5, fw, 0.25) * pulses(z, 1000.0, 4.0, fw, -34.0) * (np.abs(x) < 5.5)
    marks = np.clip(centre + edges + crossing, 0, 1) * (0.85 + 0.15 * noise)
    alb = _mix(alb, np.broadcast_to(paint, alb.shape), marks.astype(_F))
    off = ~road
    pav = np.array([0.30, 0.29, 0.27], _F) * (0.8 + 0.4 * noise[off])[:, None]
    alb[off] = pav
    return alb.reshape(n, 3).astype(_F)


def pavement(x: np.ndarray, z: np.ndarray, vertical: np.ndarray, y: np.ndarray, fw: np.ndarray) -> np.ndarray:
    """Albedo of the pavement boxes: slabs on top, a concrete kerb face."""
    base = np.array([0.40, 0.39, 0.37], _F)
    noise = fbm(x * 0.7, z * 0.7, 13, octaves=2)
    slab = (hash01(np.floor(x / 1.2), np.floor(z / 1.2), 77) - 0.5) * 0.12
    joints = 1 - (1 - pulses(x, 1.2, 0.02, fw)) * (1 - pulses(z, 1.2, 0.02, fw))
    kerb = pulses(np.abs(x), 1000.0, 0.3, fw, 6.0)
    alb = base * (0.85 + 0.3 * noise + slab)[:, None] * (1 - 0.5 * joints)[:, None]
    alb = _mix(alb, np.broadcast_to(np.array([0.5, 0.5, 0.48], _F), alb.shape), kerb * (~vertical))
    alb[vertical] = np.array([0.45, 0.44, 0.42], _F) * (0.8 + 0.3 * noise[vertical])[:, None]
    return alb.astype(_F)


def sky(d: np.ndarray) -> np.ndarray:
    """Sky radiance (..., 3) for unit directions ``d`` (..., 3) (linear Rec.709)."""
    up = np.clip(d[..., 1], 0.0, 1.0)
    horizon = np.array([1.25, 1.30, 1.35], _F)
    zenith = np.array([0.32, 0.50, 0.95], _F)
    t = np.sqrt(up)[..., None]
    col = horizon + (zenith - horizon) * t
    # Soft clouds on a plane above.
    k = 1.0 / np.maximum(up, 0.03)
    cx, cz = d[..., 0] * k * 0.6, d[..., 2] * k * 0.6
    c = fbm(cx, cz, 31, octaves=3)
    cloud = np.clip((c - 0.5) * 3.0, 0.0, 1.0) * np.clip(up * 8.0, 0.0, 1.0)
    return (col + (np.array([1.6, 1.6, 1.6], _F) - col) * cloud[..., None] * 0.8).astype(_F)


def shade_albedo(pts: np.ndarray, normal: np.ndarray, ids: np.ndarray, bt: Any,
                 footprint: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Albedo and emission (``ids.shape`` + (3,)) for every hit (dome pixels are left black)."""
    from .raycast import GROUND_ID  # local: avoid an import cycle
    from .scene import KIND_METAL, KIND_PAVEMENT

    albedo = np.zeros(ids.shape + (3,), _F)
    emission = np.zeros(ids.shape + (3,), _F)
    g = ids == GROUND_ID
    if np.any(g):
        albedo[g] = ground(pts[g][:, 0], pts[g][:, 2], footprint[g])
    is_box = ids >= 0
    kinds = np.where(is_box, bt.kind[np.where(is_box, ids, 0)], -1)
    pv = kinds == KIND_PAVEMENT
    if np.any(pv):
        p = pts[pv]
        albedo[pv] = pavement(p[:, 0], p[:, 2], np.abs(normal[pv][:, 1]) < 0.5, p[:, 1], footprint[pv])
    mt = kinds == KIND_METAL
    if np.any(mt):
        albedo[mt] = bt.colour[ids[mt]]
    bl = is_box & (kinds <= 2)
    if np.any(bl):
        k = ids[bl]
        p = pts[bl]
        nrm = normal[bl]
        lo, hi = bt.lo[k].astype(_F), bt.hi[k].astype(_F)
        along_z = np.abs(nrm[:, 0]) > 0.5  # faces looking along +-x run along z
        u = np.where(along_z, p[:, 2] - lo[:, 2], p[:, 0] - lo[:, 0])
        u_len = np.where(along_z, hi[:, 2] - lo[:, 2], hi[:, 0] - lo[:, 0])
        params = {name: getattr(bt, name)[k] for name in
                  ("kind", "colour", "trim", "sign", "bay", "window_w", "window_h", "storey",
                   "ground_floor", "seed")}
        a, e = facade(u, p[:, 1], u_len, hi[:, 1], footprint[bl], params)
        roof = nrm[:, 1] > 0.5
        a[roof] = np.array([0.12, 0.12, 0.13], _F)
        e[roof] = 0
        albedo[bl] = a
        emission[bl] = e
    return albedo, emission
