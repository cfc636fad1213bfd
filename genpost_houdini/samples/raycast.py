"""A small exact ray caster for the bundled street (numpy, vectorised).

Rays are cast through pixel centres with the same K and camera-to-world matrix that the USD
stage holds; ray directions are scaled so the ray parameter equals camera-space depth (Z along
the view axis), so depth is exact, not rasterised. Primitives: the ground plane (y = 0), the
scene's axis-aligned boxes, and the sky dome (a sphere that every ray hits).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from . import scene as sc
from . import textures as tx

GROUND_ID = -1
DOME_ID = -2
_NEAR = 1e-3

#: Linear Rec.709 -> ACEScg (AP1), Bradford D65 -> D60.
REC709_TO_ACESCG = np.array([
    [0.6130974, 0.3395231, 0.0473795],
    [0.0701937, 0.9163539, 0.0134524],
    [0.0206156, 0.1095698, 0.8698147],
], dtype=np.float32)
#: The blue screen in the plate (ACEScg; a saturated, evenly lit blue).
BLUE_SCREEN = (REC709_TO_ACESCG @ np.array([0.03, 0.09, 0.55], dtype=np.float32)).astype(np.float32)


@dataclass
class Frame:
    """One rendered frame: ``truth``/``plate`` (H, W, 3) ACEScg, ``depth`` (H, W), ``extend`` (H, W)
    (1 = extension: generate, 0 = filmed: keep the plate); ``truth``, ``depth`` and ``extend``
    are of the set alone, ``plate`` also shows the props (``props``) in front of it."""

    truth: np.ndarray
    plate: np.ndarray
    depth: np.ndarray
    extend: np.ndarray
    props: np.ndarray | None = None  # (H, W) int32: index of the plate-only prop seen, -1 none


class _BoxTable:
    """Box parameters as arrays, indexed by box id."""

    def __init__(self, boxes: list[sc.Box]) -> None:
        self.lo = np.array([b.lo for b in boxes], dtype=np.float64).reshape(-1, 3)
        self.hi = np.array([b.hi for b in boxes], dtype=np.float64).reshape(-1, 3)
        self.lo32, self.hi32 = self.lo.astype(np.float32), self.hi.astype(np.float32)
        self.corners = np.array([
            [[self.hi[k, a] if (i >> a) & 1 else self.lo[k, a] for a in range(3)] for i in range(8)]
            for k in range(len(boxes))
        ], dtype=np.float64).reshape(-1, 8, 3)
        self.film_y = np.array([b.film_y for b in boxes], dtype=np.float32)
        self.film_z = np.array([b.film_z for b in boxes], dtype=np.float32)
        self.kind = np.array([b.kind for b in boxes], dtype=np.int32)
        self.building = np.array([b.building for b in boxes], dtype=bool)
        self.colour = np.array([b.colour for b in boxes], dtype=np.float32).reshape(-1, 3)
        self.trim = np.array([b.trim for b in boxes], dtype=np.float32).reshape(-1, 3)
        self.sign = np.array([b.sign for b in boxes], dtype=np.float32).reshape(-1, 3)
        self.bay = np.array([b.bay for b in boxes], dtype=np.float32)
        self.window_w = np.array([b.window_w for b in boxes], dtype=np.float32)
        self.window_h = np.array([b.window_h for b in boxes], dtype=np.float32)
        self.storey = np.array([b.storey for b in boxes], dtype=np.float32)
        self.ground_floor = np.array([b.ground_floor for b in boxes], dtype=np.float32)
        self.seed = np.array([b.seed for b in boxes], dtype=np.uint32)


class StreetRenderer:
    """Renders frames of a :class:`~.scene.StreetScene` from given camera matrices."""

    def __init__(self, scene: sc.StreetScene, width: int, height: int) -> None:
        self.scene = scene
        self.width, self.height = int(width), int(height)
        self.boxes = _BoxTable(scene.boxes)
        vs, us = np.mgrid[0:height, 0:width].astype(np.float64)
        self._pix = (us, vs)

    # -- tracing -------------------------------------------------------------------------------
    def _rays(self, K: np.ndarray, c2w_cv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        us, vs = self._pix
        d_cv = np.stack([(us - K[0, 2]) / K[0, 0], (vs - K[1, 2]) / K[1, 1], np.ones_like(us)], -1)
        dirs = d_cv @ c2w_cv[:3, :3].T  # world direction whose camera z is 1: t == depth
        return c2w_cv[:3, 3].copy(), dirs

    def _box_rect(self, table: _BoxTable, k: int, K: np.ndarray, w2c_cv: np.ndarray) -> tuple[int, int, int, int] | None:
        """Pixel rectangle that can see box ``k`` of ``table`` (None: not in view)."""
        pts = table.corners[k] @ w2c_cv[:3, :3].T + w2c_cv[:3, 3]
        z = pts[:, 2]
        if np.all(z <= 0):
            return None
        if np.any(z <= 0.05):
            return 0, self.height, 0, self.width
        u = K[0, 0] * pts[:, 0] / z + K[0, 2]
        v = K[1, 1] * pts[:, 1] / z + K[1, 2]
        x0, x1 = max(int(np.floor(u.min())), 0), min(int(np.ceil(u.max())) + 1, self.width)
        y0, y1 = max(int(np.floor(v.min())), 0), min(int(np.ceil(v.max())) + 1, self.height)
        if x0 >= x1 or y0 >= y1:
            return None
        return y0, y1, x0, x1

    def trace(self, K: np.ndarray, c2w_cv: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Nearest hit per pixel: (t = depth (H, W) float32, prim id, origin, directions float32)."""
        origin, dirs = self._rays(K, c2w_cv)
        w2c = np.linalg.inv(c2w_cv)
        # Dome: from inside a sphere the far root always exists.
        oc = origin - np.asarray(sc.DOME_CENTER)
        a = np.einsum("hwc,hwc->hw", dirs, dirs)
        b = dirs @ oc
        c = float(oc @ oc) - sc.DOME_RADIUS ** 2
        t_best = (-b + np.sqrt(b * b - a * c)) / a
        ids = np.full(t_best.shape, DOME_ID, dtype=np.int32)
        # Ground plane y = 0 (rays going down only).
        dy = dirs[..., 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            tg = np.where(dy < -1e-12, -origin[1] / dy, np.inf)
        hit = (tg > _NEAR) & (tg < t_best)
        t_best = np.where(hit, tg, t_best).astype(np.float32)
        ids[hit] = GROUND_ID
        d32 = dirs.astype(np.float32)
        self.trace_boxes(self.boxes, K, w2c, origin, d32, t_best, ids)
        return t_best, ids, origin, d32

    def trace_boxes(self, table: _BoxTable, K: np.ndarray, w2c: np.ndarray, origin: np.ndarray,
                    d32: np.ndarray, t_best: np.ndarray, ids: np.ndarray) -> None:
        """Slab-test the boxes of ``table`` inside each box's screen rectangle (float32): where a
        box is nearer than ``t_best``, ``t_best`` and ``ids`` (the box's index) are updated in place."""
        inv = 1.0 / np.where(d32 == 0, np.float32(1e-30), d32)
        lo = (table.lo - origin).astype(np.float32)
        hi = (table.hi - origin).astype(np.float32)
        for k in range(len(table.lo)):
            rect = self._box_rect(table, k, K, w2c)
            if rect is None:
                continue
            y0, y1, x0, x1 = rect
            tnear = tfar = None
            for axis in range(3):
                iv = inv[y0:y1, x0:x1, axis]
                ta, tb_ = lo[k, axis] * iv, hi[k, axis] * iv
                near, far = np.minimum(ta, tb_), np.maximum(ta, tb_)
                if tnear is None or tfar is None:
                    tnear, tfar = near, far
                else:
                    np.maximum(tnear, near, out=tnear)
                    np.minimum(tfar, far, out=tfar)
            assert tnear is not None and tfar is not None
            tb = t_best[y0:y1, x0:x1]
            h = (tnear <= tfar) & (tnear > _NEAR) & (tnear < tb)
            tb[h] = tnear[h]
            ids[y0:y1, x0:x1][h] = k

    # -- shadows -------------------------------------------------------------------------------
    def _sun_shadow(self, points: np.ndarray) -> np.ndarray:
        """1 where ``points`` (N, 3) see the sun, 0 where a box blocks it."""
        sun = self.scene.sun_dir
        lit = np.ones(len(points), dtype=np.float32)
        if len(points) == 0:
            return lit
        points = points.astype(np.float64)
        e1 = np.cross(sun, [0.0, 0.0, 1.0])
        e1 /= np.linalg.norm(e1)
        e2 = np.cross(sun, e1)
        p1, p2, ps = points @ e1, points @ e2, points @ sun
        # Sort along the projected axis closest to the street (boxes are short along it).
        if abs(e2[2]) < abs(e1[2]):
            e1, e2, p1, p2 = e2, e1, p2, p1
        order = np.argsort(p2, kind="stable")
        p2s = p2[order]
        inv = 1.0 / np.where(np.abs(sun) < 1e-12, 1e-12, sun)
        for k in range(len(self.scene.boxes)):
            if self.boxes.kind[k] == sc.KIND_PAVEMENT:
                continue  # kerb-high slabs: their shadow is a few centimetres wide
            cs = self.boxes.corners[k]
            c1, c2, cz = cs @ e1, cs @ e2, cs @ sun
            i0, i1 = np.searchsorted(p2s, [c2.min(), c2.max()])
            if i1 <= i0:
                continue
            sel = order[i0:i1]
            idx = sel[(p1[sel] >= c1.min()) & (p1[sel] <= c1.max()) & (ps[sel] < cz.max())]
            if idx.size == 0:
                continue
            o = points[idx]
            t0 = (self.boxes.lo[k] - o) * inv
            t1 = (self.boxes.hi[k] - o) * inv
            tnear = np.minimum(t0, t1).max(axis=-1)
            tfar = np.maximum(t0, t1).min(axis=-1)
            lit[idx[(tnear <= tfar) & (tfar > 1e-3)]] = 0.0
        return lit

    # -- frame ---------------------------------------------------------------------------------
    def _shade(self, K: np.ndarray, table: _BoxTable, ids: np.ndarray, t: np.ndarray, origin: np.ndarray,
               dirs: np.ndarray) -> np.ndarray:
        """Linear Rec.709 radiance of hits ``ids`` of ``table`` (boxes; ground and dome ids too) at
        depth ``t``: albedo under sun (shadowed by the set's boxes) and sky ambient; dome: sky."""
        pts = (origin.astype(np.float32) + dirs * t[..., None]).astype(np.float32)
        is_box = ids >= 0
        y = pts[..., 1]
        # Normals of box hits: the face the hit point lies on.
        normal = np.zeros_like(pts)
        normal[..., 1] = 1.0
        if np.any(is_box):
            p = pts[is_box]
            k = ids[is_box]
            dist = np.concatenate([np.abs(p - table.lo32[k]), np.abs(p - table.hi32[k])], axis=-1)
            face = np.argmin(dist, axis=-1)
            n = np.zeros_like(p)
            n[np.arange(len(p)), face % 3] = np.where(face < 3, -1.0, 1.0)
            normal[is_box] = n
        # Pixel footprint (m) for texture filtering: ray length / fx, stretched at grazing angles.
        dlen = np.sqrt(np.einsum("...c,...c->...", dirs, dirs))
        dn = dirs / dlen[..., None]
        cos = np.abs(np.einsum("...c,...c->...", dn, normal))
        footprint = (t * dlen / np.float32(K[0, 0]) / np.maximum(cos, 0.2)).astype(np.float32)
        albedo, emission = tx.shade_albedo(pts, normal, ids, table, footprint)
        # Lighting: sun (with shadows) + sky ambient, darker towards the ground.
        sun = self.scene.sun_dir.astype(np.float32)
        ndl = np.clip(normal @ sun, 0.0, None)
        lit_mask = (ndl > 0) & (ids != DOME_ID)
        shadow = np.zeros(t.shape, dtype=np.float32)
        shadow[lit_mask] = self._sun_shadow(pts[lit_mask] + normal[lit_mask] * 1e-3)
        sun_rgb = np.array([3.2, 2.95, 2.6], dtype=np.float32)
        sky_rgb = np.array([0.42, 0.50, 0.62], dtype=np.float32)
        occl = np.where(ids == GROUND_ID, 1.0, 0.55 + 0.45 * np.clip(y, 0.0, 3.0) / 3.0).astype(np.float32)
        ambient = sky_rgb * ((0.75 + 0.25 * normal[..., 1]) * occl)[..., None]
        light = ambient + sun_rgb * (ndl * shadow)[..., None]
        rgb709 = albedo * light + emission
        dome = ids == DOME_ID
        rgb709[dome] = tx.sky(dn[dome])
        return rgb709

    def render(self, K: np.ndarray, world_to_camera: np.ndarray, props: Sequence[sc.Box] = ()) -> Frame:
        """Render one frame from OpenCV-axes ``K`` and ``world_to_camera`` (4x4). ``props`` are
        boxes in the plate only (a car, a rig; :mod:`.props`): not in truth, depth or extend;
        ``Frame.props`` says which one each pixel shows."""
        c2w_cv = np.linalg.inv(world_to_camera)
        t, ids, origin, dirs = self.trace(K, c2w_cv)
        pts = (origin.astype(np.float32) + dirs * t[..., None]).astype(np.float32)
        H, W = t.shape
        bt = self.boxes
        is_box = ids >= 0
        safe = np.where(is_box, ids, 0)
        # Filmed or extension.
        x, y, z = pts[..., 0], pts[..., 1], pts[..., 2]
        filmed_box = is_box & (y < bt.film_y[safe]) & (z >= bt.film_z[safe])
        filmed_ground = (ids == GROUND_ID) & (z >= sc.SET_END_Z) & (z <= sc.SET_GROUND_NEAR_Z) & (
            np.abs(x) <= sc.SET_GROUND_HALF_X)
        extend = ~(filmed_box | filmed_ground)
        rgb709 = self._shade(K, bt, ids, t, origin, dirs)
        truth = (rgb709.reshape(-1, 3) @ REC709_TO_ACESCG.T).reshape(H, W, 3).astype(np.float32)
        plate = np.where(extend[..., None], BLUE_SCREEN, truth).astype(np.float32)
        prop_ids = np.full((H, W), -1, dtype=np.int32)
        if props:
            table = _BoxTable(list(props))
            t_prop = t.copy()
            self.trace_boxes(table, K, world_to_camera, origin, dirs, t_prop, prop_ids)
            hit = prop_ids >= 0
            if np.any(hit):
                rgb = self._shade(K, table, prop_ids[hit], t_prop[hit], origin, dirs[hit])
                plate[hit] = rgb @ REC709_TO_ACESCG.T
        return Frame(truth=truth, plate=plate, depth=t, extend=extend.astype(np.float32), props=prop_ids)
