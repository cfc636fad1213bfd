"""Placing crowd instances on a region prim in 3D.

The region is a USD prim of the stage: a Mesh (instances are sampled on its faces, area
weighted) or a Points prim (its points are candidate spots, e.g. seats). Placement honours a
minimum spacing; per-instance variation (source, time offset, flip, colour, height) comes from
(seed, instance id) alone, so a rerun is identical and a wedge over seeds gives another crowd.
Neighbours never share the same (source, offset, flip): the repetition an audience spots first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..errors import UnknownPrimError, UsageError


@dataclass(frozen=True)
class Instance:
    """One crowd member: a camera-facing card standing at ``position`` (world, the feet)."""

    id: int
    position: tuple[float, float, float]
    source: int
    offset: int
    flip: bool
    gain: tuple[float, float, float]
    height: float

    def variation_key(self) -> tuple[int, int, bool]:
        return (self.source, self.offset, self.flip)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "position": [round(float(v), 6) for v in self.position],
            "source": self.source,
            "offset": self.offset,
            "flip": self.flip,
            "gain": [round(float(v), 6) for v in self.gain],
            "height": round(float(self.height), 6),
        }


def up_vector(stage: Any) -> np.ndarray:
    from pxr import UsdGeom

    return np.array([0.0, 0.0, 1.0]) if UsdGeom.GetStageUpAxis(stage) == UsdGeom.Tokens.z else np.array([0.0, 1.0, 0.0])


def region_candidates(stage: Any, prim_path: str, frame: float, rng: np.random.Generator, count: int) -> np.ndarray:
    """World-space candidate spots on the region prim: (N, 3)."""
    from pxr import Usd, UsdGeom

    prim = stage.GetPrimAtPath(prim_path) if prim_path.startswith("/") else Usd.Prim()
    if not prim or not prim.IsValid():
        meshes = [str(p.GetPath()) for p in stage.Traverse() if p.IsA(UsdGeom.Mesh) or p.IsA(UsdGeom.Points)]
        raise UnknownPrimError(f"region prim {prim_path} not found in {stage.GetRootLayer().identifier}; meshes/points: {', '.join(meshes[:12]) or 'none'}")
    time = Usd.TimeCode(frame)
    xf = np.array(UsdGeom.Xformable(prim).ComputeLocalToWorldTransform(time), dtype=np.float64)
    if prim.IsA(UsdGeom.Points):
        pts = np.array(UsdGeom.Points(prim).GetPointsAttr().Get(time) or [], dtype=np.float64).reshape(-1, 3)
        if not len(pts):
            raise UnknownPrimError(f"region prim {prim_path} has no points")
        world = pts @ xf[:3, :3] + xf[3, :3]
        return world[rng.permutation(len(world))]
    if not prim.IsA(UsdGeom.Mesh):
        raise UnknownPrimError(f"region prim {prim_path} is a {prim.GetTypeName()}: use a Mesh (e.g. the stands) or a Points prim (seats)")
    mesh = UsdGeom.Mesh(prim)
    pts = np.array(mesh.GetPointsAttr().Get(time) or [], dtype=np.float64).reshape(-1, 3)
    counts = np.array(mesh.GetFaceVertexCountsAttr().Get(time) or [], dtype=np.int64)
    indices = np.array(mesh.GetFaceVertexIndicesAttr().Get(time) or [], dtype=np.int64)
    if not len(pts) or not len(counts):
        raise UnknownPrimError(f"region prim {prim_path} has no faces")
    world = pts @ xf[:3, :3] + xf[3, :3]
    tris = []
    start = 0
    for n in counts:
        face = indices[start:start + n]
        for k in range(1, n - 1):
            tris.append((face[0], face[k], face[k + 1]))
        start += n
    tri = world[np.array(tris)]  # (T, 3, 3)
    areas = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    if areas.sum() <= 0:
        raise UnknownPrimError(f"region prim {prim_path} has zero area")
    pick = rng.choice(len(tri), size=count, p=areas / areas.sum())
    r1, r2 = rng.random(count), rng.random(count)
    s = np.sqrt(r1)
    a, b, c = tri[pick, 0], tri[pick, 1], tri[pick, 2]
    return (1 - s)[:, None] * a + (s * (1 - r2))[:, None] * b + (s * r2)[:, None] * c



def _spaced(candidates: np.ndarray, count: int, min_spacing: float) -> np.ndarray:
    """Greedy dart throwing over candidates with a hash grid: at most ``count`` spots."""
    if min_spacing <= 0:
        return candidates[:count]
    cell = min_spacing
    grid: dict[tuple[int, int, int], list[int]] = {}
    chosen: list[int] = []
    for i, p in enumerate(candidates):
        key = tuple(np.floor(p / cell).astype(int))
        ok = True
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for dz in (-1, 0, 1):
                    for j in grid.get((key[0] + dx, key[1] + dy, key[2] + dz), ()):
                        if np.sum((candidates[j] - p) ** 2) < min_spacing * min_spacing:
                            ok = False
                            break
                    if not ok:
                        break
                if not ok:
                    break
            if not ok:
                break
        if ok:
            grid.setdefault(key, []).append(i)
            chosen.append(i)
            if len(chosen) >= count:
                break
    return candidates[chosen]


def place_instances(
    stage: Any,
    region: str,
    *,
    count: int,
    seed: int,
    source_lengths: Sequence[int],
    frame: float,
    min_spacing: float = 0.6,
    person_height: float = 1.75,
    height_jitter: float = 0.06,
    colour_jitter: float = 0.08,
    brightness_jitter: float = 0.15,
) -> list[Instance]:
    """``count`` instances on the region, ids 1..N, deterministic from ``seed``."""
    if count < 1:
        raise UsageError("--count must be at least 1")
    if not source_lengths:
        raise UsageError("no crowd source given")
    rng = np.random.default_rng([int(seed), 0x5EED])
    candidates = region_candidates(stage, region, frame, rng, max(count * 30, 256))
    spots = _spaced(candidates, count, min_spacing)
    if len(spots) < count:
        import logging

        logging.getLogger("genpost").warning(
            "crowd: region %s fits only %d instances %.2f apart (asked %d)", region, len(spots), min_spacing, count
        )
    instances: list[Instance] = []
    for n, p in enumerate(spots):
        iid = n + 1
        r = np.random.default_rng([int(seed), iid])
        source = int(r.integers(len(source_lengths)))
        brightness = 1.0 + brightness_jitter * (2 * r.random() - 1)
        gain = tuple(float(brightness * (1.0 + colour_jitter * (2 * r.random() - 1))) for _ in range(3))
        instances.append(
            Instance(
                id=iid,
                position=tuple(float(v) for v in p),
                source=source,
                offset=int(r.integers(source_lengths[source])),
                flip=bool(r.random() < 0.5),
                gain=gain,  # type: ignore[arg-type]
                height=float(person_height * (1.0 + height_jitter * (2 * r.random() - 1))),
            )
        )
    return _break_repetition(instances, seed, source_lengths, radius=max(3.0 * min_spacing, 1.5))


def _break_repetition(instances: list[Instance], seed: int, source_lengths: Sequence[int], radius: float) -> list[Instance]:
    """Re-draw the time offset of an instance whose neighbour has the same variation key."""
    import dataclasses

    pos = np.array([i.position for i in instances]) if instances else np.zeros((0, 3))
    out = list(instances)
    for idx, inst in enumerate(out):
        near = np.nonzero(np.sum((pos[:idx] - pos[idx]) ** 2, axis=1) < radius * radius)[0]
        taken = {out[j].variation_key() for j in near}
        attempt = 0
        while inst.variation_key() in taken and attempt < 64:
            attempt += 1
            r = np.random.default_rng([int(seed), inst.id, attempt])
            inst = dataclasses.replace(inst, offset=int(r.integers(source_lengths[inst.source])), flip=bool(r.random() < 0.5))
        out[idx] = inst
    return out


def repetition_pairs(instances: Sequence[Instance], visible_ids: set[int], radius: float) -> list[tuple[int, int]]:
    """Pairs of visible neighbours (within ``radius``) sharing source, offset and flip."""
    vis = [i for i in instances if i.id in visible_ids]
    pairs = []
    for a in range(len(vis)):
        for b in range(a + 1, len(vis)):
            if vis[a].variation_key() == vis[b].variation_key():
                d = math.dist(vis[a].position, vis[b].position)
                if d < radius:
                    pairs.append((vis[a].id, vis[b].id))
    return pairs
