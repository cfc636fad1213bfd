"""The region a crowd stands on: a USD Mesh, Plane or Points prim, read once into world space
(any other boundable prim: the top face of its world bounding box).

Convention: world space of the stage (its up axis, Y or Z); spacing, capacity and walking are
measured in the horizontal plane (the plane normal to up), so people on stands or slopes keep
their distance as seen from above. The mesh is triangulated; each triangle carries the
relative crowd density from the optional primvar :data:`DENSITY_PRIMVAR`.

Density primvar: ``primvars:genpost:crowdDensity`` (float; constant, uniform, vertex, varying
or faceVarying interpolation) on the region prim. Values are relative (divided by their
maximum): 0 = nobody stands there, 1 = as dense as the spacing allows. Without it the density
is uniform.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import UnknownPrimError

#: The density primvar read from the region prim (see the module docstring).
DENSITY_PRIMVAR = "genpost:crowdDensity"
#: People per square unit at saturation, times spacing squared: random sequential packing of
#: discs reaches ~0.55 coverage, i.e. ~0.70 / spacing**2 centres per unit area.
PACKING = 0.70


def up_vector(stage: Any) -> np.ndarray:
    """The stage's up axis as a unit vector (Y unless the stage says Z)."""
    from pxr import UsdGeom

    return np.array([0.0, 0.0, 1.0]) if UsdGeom.GetStageUpAxis(stage) == UsdGeom.Tokens.z else np.array([0.0, 1.0, 0.0])


def horizontal_basis(up: np.ndarray) -> np.ndarray:
    """(2, 3): two orthonormal horizontal axes (e1, e2) with e1 x e2 = up."""
    if abs(up[2]) > 0.5:  # Z-up
        e1, e2 = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    else:  # Y-up: x and -z (so that e1 x e2 = +y)
        e1, e2 = np.array([1.0, 0.0, 0.0]), np.array([0.0, 0.0, -1.0])
    return np.stack([e1, e2])


@dataclass
class Region:
    """A region prim in world space: triangles (or points) with relative density."""

    prim_path: str
    up: np.ndarray
    basis: np.ndarray  # (2, 3) horizontal axes
    triangles: np.ndarray  # (T, 3, 3) world, empty for a Points region
    density: np.ndarray  # (T, 3) relative density at each corner, 0..1
    points: np.ndarray  # (P, 3) world candidate spots of a Points region, empty for meshes
    has_density: bool = False

    # -- reading ----------------------------------------------------------------------------
    @classmethod
    def read(cls, stage: Any, prim_path: str, frame: float) -> "Region":
        """Read ``prim_path`` (Mesh or Points) at ``frame``; UnknownPrimError names the prim."""
        from pxr import Usd, UsdGeom

        prim = stage.GetPrimAtPath(prim_path) if prim_path.startswith("/") else Usd.Prim()
        if not prim or not prim.IsValid():
            meshes = [str(p.GetPath()) for p in stage.Traverse() if p.IsA(UsdGeom.Mesh) or p.IsA(UsdGeom.Points)]
            raise UnknownPrimError(f"region prim {prim_path} not found in {stage.GetRootLayer().identifier}; meshes/points: {', '.join(meshes[:12]) or 'none'}")
        time = Usd.TimeCode(frame)
        up = up_vector(stage)
        basis = horizontal_basis(up)
        xf = np.array(UsdGeom.Xformable(prim).ComputeLocalToWorldTransform(time), dtype=np.float64)
        if prim.IsA(UsdGeom.Points):
            pts = np.array(UsdGeom.Points(prim).GetPointsAttr().Get(time) or [], dtype=np.float64).reshape(-1, 3)
            if not len(pts):
                raise UnknownPrimError(f"region prim {prim_path} has no points")
            world = pts @ xf[:3, :3] + xf[3, :3]
            dens_spec = _read_density(prim, time, len(pts), 0, np.zeros(0, np.int64))
            if dens_spec is not None:
                values, interp = dens_spec
                weight = np.full(len(pts), values[0]) if interp == "constant" else values
                world = world[weight > 0]
                if not len(world):
                    raise UnknownPrimError(f"region prim {prim_path}: primvars:{DENSITY_PRIMVAR} is 0 at every point")
            return cls(prim_path, up, basis, np.zeros((0, 3, 3)), np.zeros((0, 3)), world, dens_spec is not None)
        if prim.IsA(UsdGeom.Mesh):
            mesh = UsdGeom.Mesh(prim)
            pts = np.array(mesh.GetPointsAttr().Get(time) or [], dtype=np.float64).reshape(-1, 3)
            counts = np.array(mesh.GetFaceVertexCountsAttr().Get(time) or [], dtype=np.int64)
            indices = np.array(mesh.GetFaceVertexIndicesAttr().Get(time) or [], dtype=np.int64)
        else:
            pts, xf = _rectangle(prim, time, up, xf)
            counts, indices = np.array([4], np.int64), np.arange(4, dtype=np.int64)
        if not len(pts) or not len(counts) or counts.sum() != len(indices) or (indices >= len(pts)).any():
            raise UnknownPrimError(f"region prim {prim_path} has no faces (or broken face indices)")
        world = pts @ xf[:3, :3] + xf[3, :3]
        # Fan triangulation: (face, corner k) -> triangles (0, k, k+1); keep face-vertex slots.
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        tri_face, tri_slot = [], []
        for n in range(3, int(counts.max(initial=0)) + 1):
            faces = np.nonzero(counts >= n)[0]
            base = starts[faces]
            tri_face.append(faces)
            tri_slot.append(np.stack([base, base + n - 2, base + n - 1], axis=1))
        if not tri_face:
            raise UnknownPrimError(f"region prim {prim_path} has no faces with 3 or more corners")
        face = np.concatenate(tri_face)
        slots = np.concatenate(tri_slot)
        tris = world[indices[slots]]
        dens_spec = _read_density(prim, time, len(pts), len(counts), indices)
        if dens_spec is None:
            dens = np.ones((len(tris), 3))
        else:
            values, interp = dens_spec
            if interp == "constant":
                dens = np.full((len(tris), 3), float(values[0]))
            elif interp == "uniform":
                dens = np.repeat(values[face][:, None], 3, axis=1)
            elif interp == "faceVarying":
                dens = values[slots]
            else:  # vertex / varying
                dens = values[indices[slots]]
            peak = float(np.max(dens)) if dens.size else 0.0
            if peak <= 0:
                raise UnknownPrimError(f"region prim {prim_path}: primvars:{DENSITY_PRIMVAR} is 0 everywhere: nobody can stand there")
            dens = np.clip(dens / peak, 0.0, 1.0)
        area = _tri_areas(tris, basis)
        keep = area > 1e-12
        if not keep.any():
            raise UnknownPrimError(f"region prim {prim_path} has zero area seen from above")
        return cls(prim_path, up, basis, tris[keep], dens[keep], np.zeros((0, 3)), dens_spec is not None)

    # -- measures ---------------------------------------------------------------------------
    @property
    def is_points(self) -> bool:
        return len(self.points) > 0

    def to_2d(self, world: np.ndarray) -> np.ndarray:
        """World points (..., 3) -> horizontal coordinates (..., 2)."""
        return np.asarray(world) @ self.basis.T

    def areas(self) -> np.ndarray:
        return _tri_areas(self.triangles, self.basis)

    def area(self) -> float:
        """Horizontal area (square scene units)."""
        return float(self.areas().sum()) if not self.is_points else 0.0

    def weighted_area(self) -> float:
        """Area times mean relative density."""
        return float((self.areas() * self.density.mean(axis=1)).sum()) if not self.is_points else 0.0

    def capacity(self, spacing: float) -> int:
        """At most how many people fit ``spacing`` apart (what the count is clamped to)."""
        if self.is_points:
            return int(len(self.points))
        return int(math.floor(PACKING * self.weighted_area() / (spacing * spacing))) + 1

    def long_axis(self) -> np.ndarray:
        """Unit world vector along the region's longest horizontal extent (principal axis)."""
        pts = self.to_2d(self.triangles.reshape(-1, 3)) if not self.is_points else self.to_2d(self.points)
        if len(pts) < 2:
            return self.basis[0].copy()
        centred = pts - pts.mean(axis=0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        v = vt[0]
        world = v[0] * self.basis[0] + v[1] * self.basis[1]
        return world / np.linalg.norm(world)

    # -- sampling ---------------------------------------------------------------------------
    def sample(self, n: int, rng: np.random.Generator, *, weighted: bool = True) -> np.ndarray:
        """``n`` random world points on the region, area (times density) weighted: (n, 3)."""
        if self.is_points:
            return self.points[rng.integers(len(self.points), size=n)]
        w = self.areas() * (self.density.mean(axis=1) if weighted else 1.0)
        pick = rng.choice(len(self.triangles), size=n, p=w / w.sum())
        r1, r2 = rng.random(n), rng.random(n)
        s = np.sqrt(r1)
        bary = np.stack([1 - s, s * (1 - r2), s * r2], axis=1)
        return np.einsum("nk,nkd->nd", bary, self.triangles[pick])

    def density_at(self, world: np.ndarray) -> np.ndarray:
        """Relative density (0..1) at world points (0 outside the region)."""
        inside, _, dens = self.locate(self.to_2d(world))
        return np.where(inside, dens, 0.0)

    def locate(self, xy: np.ndarray, *, cell: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Horizontal points (N, 2) -> (inside (N,) bool, world points on the surface (N, 3),
        density (N,)). Points outside the region get NaN positions."""
        xy = np.asarray(xy, np.float64).reshape(-1, 2)
        n = len(xy)
        inside = np.zeros(n, bool)
        world = np.full((n, 3), np.nan)
        dens = np.zeros(n)
        if self.is_points or not n:
            return inside, world, dens
        tri2 = self.to_2d(self.triangles)  # (T, 3, 2)
        lo, hi = tri2.min(axis=1), tri2.max(axis=1)
        # Points outside the region's bounding rectangle are outside (most, for a plate's pixels).
        glo, ghi = lo.min(axis=0) - 1e-9, hi.max(axis=0) + 1e-9
        near = np.flatnonzero((xy[:, 0] >= glo[0]) & (xy[:, 0] <= ghi[0]) & (xy[:, 1] >= glo[1]) & (xy[:, 1] <= ghi[1]))
        if len(near) < n:
            if len(near):
                inside[near], world[near], dens[near] = self.locate(xy[near], cell=cell)
            return inside, world, dens
        # Chunk over triangles so memory stays bounded for big meshes.
        step = max(1, 2_000_000 // max(n, 1))
        for t0 in range(0, len(tri2), step):
            t1 = min(len(tri2), t0 + step)
            cand = (xy[:, None, 0] >= lo[None, t0:t1, 0] - 1e-9) & (xy[:, None, 0] <= hi[None, t0:t1, 0] + 1e-9) \
                & (xy[:, None, 1] >= lo[None, t0:t1, 1] - 1e-9) & (xy[:, None, 1] <= hi[None, t0:t1, 1] + 1e-9)
            qi, ti = np.nonzero(cand & ~inside[:, None])
            if not len(qi):
                continue
            ti = ti + t0
            a, b, c = tri2[ti, 0], tri2[ti, 1], tri2[ti, 2]
            v0, v1, v2 = b - a, c - a, xy[qi] - a
            den = v0[:, 0] * v1[:, 1] - v1[:, 0] * v0[:, 1]
            ok = np.abs(den) > 1e-15
            den = np.where(ok, den, 1.0)
            u = (v2[:, 0] * v1[:, 1] - v1[:, 0] * v2[:, 1]) / den
            v = (v0[:, 0] * v2[:, 1] - v2[:, 0] * v0[:, 1]) / den
            hit = ok & (u >= -1e-9) & (v >= -1e-9) & (u + v <= 1 + 1e-9)
            qi, ti, u, v = qi[hit], ti[hit], u[hit], v[hit]
            qi, first = np.unique(qi, return_index=True)
            ti, u, v = ti[first], u[first], v[first]
            w0 = 1 - u - v
            world[qi] = w0[:, None] * self.triangles[ti, 0] + u[:, None] * self.triangles[ti, 1] + v[:, None] * self.triangles[ti, 2]
            dens[qi] = w0 * self.density[ti, 0] + u * self.density[ti, 1] + v * self.density[ti, 2]
            inside[qi] = True
        return inside, world, dens


def _rectangle(prim: Any, time: Any, up: np.ndarray, xf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Corners (4, 3) and transform of a region given as a UsdGeom.Plane (its surface), or as any
    other boundable prim (the top face of its world bounding box, logged)."""
    from pxr import Usd, UsdGeom

    if prim.IsA(UsdGeom.Plane):
        plane = UsdGeom.Plane(prim)
        w = float(plane.GetWidthAttr().Get(time) or 2.0) / 2.0
        length = float(plane.GetLengthAttr().Get(time) or 2.0) / 2.0
        axis = str(plane.GetAxisAttr().Get(time) or "Z")
        # USD: width along x (z when the axis is X), length along y (z when the axis is Y).
        corners = {"Z": [(-w, -length, 0), (w, -length, 0), (w, length, 0), (-w, length, 0)],
                   "Y": [(-w, 0, -length), (w, 0, -length), (w, 0, length), (-w, 0, length)],
                   "X": [(0, -length, -w), (0, -length, w), (0, length, w), (0, length, -w)]}[axis]
        return np.array(corners, np.float64), xf
    if not prim.IsA(UsdGeom.Boundable):
        raise UnknownPrimError(f"region prim {prim.GetPath()} is a {prim.GetTypeName() or 'typeless prim'}: use a Mesh "
                               "(e.g. the stands), a Plane, or a Points prim (seats)")
    cache = UsdGeom.BBoxCache(time, [UsdGeom.Tokens.default_, UsdGeom.Tokens.render, UsdGeom.Tokens.proxy, UsdGeom.Tokens.guide])
    box = cache.ComputeWorldBound(prim).ComputeAlignedRange()
    if box.IsEmpty():
        raise UnknownPrimError(f"region prim {prim.GetPath()} ({prim.GetTypeName()}) has no extent")
    lo, hi = np.array(box.GetMin(), np.float64), np.array(box.GetMax(), np.float64)
    k = int(np.argmax(np.abs(up)))
    a, b = [i for i in range(3) if i != k]
    top = hi[k] if up[k] > 0 else lo[k]
    corners = np.zeros((4, 3))
    for n, (u, v) in enumerate(((lo[a], lo[b]), (hi[a], lo[b]), (hi[a], hi[b]), (lo[a], hi[b]))):
        corners[n, a], corners[n, b], corners[n, k] = u, v, top
    import logging

    logging.getLogger("genpost").info("crowd: region %s is a %s: people stand on the top of its bounding box",
                                      prim.GetPath(), prim.GetTypeName())
    del Usd
    return corners, np.eye(4)


def _tri_areas(tris: np.ndarray, basis: np.ndarray) -> np.ndarray:
    if not len(tris):
        return np.zeros(0)
    t2 = tris @ basis.T
    e1, e2 = t2[:, 1] - t2[:, 0], t2[:, 2] - t2[:, 0]
    return 0.5 * np.abs(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0])


def _read_density(prim: Any, time: Any, n_points: int, n_faces: int, indices: np.ndarray) -> tuple[np.ndarray, str] | None:
    """(values, interpolation) of the density primvar, or None when absent or unusable."""
    import logging

    from pxr import UsdGeom

    pv = UsdGeom.PrimvarsAPI(prim).GetPrimvar(DENSITY_PRIMVAR)
    if not pv or not pv.HasValue():
        return None
    raw = pv.ComputeFlattened(time)
    if raw is None:
        return None
    values = np.asarray(raw, dtype=np.float64).reshape(-1)
    interp = str(pv.GetInterpolation())
    expected = {"constant": 1, "uniform": n_faces, "vertex": n_points, "varying": n_points, "faceVarying": len(indices)}
    if n_faces == 0:  # Points: one value per point, or constant
        expected = {"constant": 1, "vertex": n_points, "varying": n_points}
    if interp not in expected or len(values) != expected[interp] or not np.isfinite(values).all():
        logging.getLogger("genpost").warning(
            "crowd: primvars:%s on %s has %d values for %s interpolation; ignored (uniform density)",
            DENSITY_PRIMVAR, prim.GetPath(), len(values), interp)
        return None
    return np.clip(values, 0.0, None), interp
