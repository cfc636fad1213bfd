"""Crowd QC: does it read as a crowd, and is it locked to the shot?

- **Looks** (what gives a clone army away first): every person visible on the middle frame
  (at least :data:`MIN_PIXELS` pixels of alpha >= 0.5 under their ``crowd_id``) is described by
  the mean colour of the upper and of the lower half of their pixels, display-encoded
  (x / (1 + x)) ** (1 / 2.2); people whose descriptors lie within :data:`LOOK_TOLERANCE` of a
  cluster's first member share a *look* (leader clustering, in id order). Reported: the number
  of looks, the biggest look's share of the visible people, and the planned looks (distinct
  source and colourway) among them.
- **Closest pair**: the smallest horizontal distance between two people present at the same
  frame, over every frame of the shot (from the placed positions).
- **Foot sliding**: for walkers whose element says where its feet are, how far a planted foot
  moves in the world between consecutive frames (0 when stride and cycle speed match).
- **Shadow**: the share of visible people with ``shadow`` under their feet.
- **Stability**: warping frame t+1 into t with the crowd's own depth should score like the plate.
- **Repetition**: visible neighbours sharing source, colourway and offset bucket.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from .warping import display_encode, warping_error

if TYPE_CHECKING:  # pragma: no cover
    from ..jobs.crowd_replication import CrowdReplication

#: A person counts as visible with at least this many pixels of alpha >= 0.5.
MIN_PIXELS = 12
#: Two people share a look when their descriptors are closer than this (display-encoded units).
LOOK_TOLERANCE = 0.08


def person_descriptors(rgb: np.ndarray, alpha: np.ndarray, ids: np.ndarray, min_pixels: int = MIN_PIXELS) -> dict[int, np.ndarray]:
    """id -> 6-vector: display-encoded mean straight colour of the upper and lower half of the
    person's pixels (alpha >= 0.5)."""
    out: dict[int, np.ndarray] = {}
    solid = (alpha >= 0.5) & (ids > 0)
    if not solid.any():
        return out
    ys, xs = np.nonzero(solid)
    pid = ids[ys, xs].astype(np.int64)
    straight = rgb[ys, xs] / np.maximum(alpha[ys, xs], 1e-4)[:, None]
    enc = display_encode(straight)
    order = np.argsort(pid, kind="stable")
    pid, ys, enc = pid[order], ys[order], enc[order]
    bounds = np.flatnonzero(np.diff(pid)) + 1
    for lo, hi in zip(np.concatenate([[0], bounds]), np.concatenate([bounds, [len(pid)]])):
        if hi - lo < min_pixels:
            continue
        rows = ys[lo:hi]
        mid = np.median(rows)
        top, bottom = enc[lo:hi][rows <= mid], enc[lo:hi][rows > mid]
        if not len(bottom):
            bottom = top
        out[int(pid[lo])] = np.concatenate([top.mean(axis=0), bottom.mean(axis=0)])
    return out


def cluster_looks(descriptors: dict[int, np.ndarray], tolerance: float = LOOK_TOLERANCE) -> list[list[int]]:
    """Leader clustering in id order: each person joins the first look whose leader is within
    ``tolerance`` (Euclidean), else starts a new look. Returns the looks' member ids."""
    leaders: list[np.ndarray] = []
    looks: list[list[int]] = []
    for pid in sorted(descriptors):
        d = descriptors[pid]
        for k, lead in enumerate(leaders):
            if float(np.linalg.norm(d - lead)) < tolerance:
                looks[k].append(pid)
                break
        else:
            leaders.append(d)
            looks.append([pid])
    return looks


def closest_pair(job: "CrowdReplication", frames: Sequence[int]) -> dict[str, Any]:
    """The smallest horizontal distance between two people present at the same frame."""
    from ..crowd.poisson import pairs_within

    layout = job.layout
    best: dict[str, Any] = {"distance": None, "ids": None, "frame": None}
    radius = max(4.0 * layout.spacing, 2.0)
    for f in frames:
        st = layout.state(f)
        idx = np.nonzero(st.present)[0]
        if len(idx) < 2:
            continue
        xy = layout.region.to_2d(st.position[idx])
        i, j, d = pairs_within(xy, None, radius)
        if len(d):
            k = int(np.argmin(d))
            if best["distance"] is None or d[k] < best["distance"]:
                a, b = layout.instances[idx[i[k]]].id, layout.instances[idx[j[k]]].id
                best = {"distance": round(float(d[k]), 4), "ids": [int(a), int(b)], "frame": int(f)}
    return best


def foot_sliding(job: "CrowdReplication", frames: Sequence[int]) -> dict[str, Any]:
    """Planted-foot motion in the world between consecutive frames, over walkers whose element
    describes its feet: max and mean (scene units per frame)."""
    layout = job.layout
    frames = sorted(frames)
    walkers = [k for k, i in enumerate(layout.instances) if i.walking]
    slides: list[float] = []
    checked = 0
    prev: dict[tuple[int, str], np.ndarray] = {}
    for f in frames:
        st = layout.state(f)
        now: dict[tuple[int, str], np.ndarray] = {}
        for k in walkers:
            inst = layout.instances[k]
            if not st.present[k]:
                continue
            el = job.sources[inst.source].element
            assert el is not None
            clip = next(iter(el.views("walk").values()))
            if not clip.feet:
                continue
            row = clip.feet[int(st.counter[k]) % clip.length]
            scale = inst.height / (el.height_m or inst.height)
            heading = st.heading[k]
            left = np.cross(layout.region.up, heading)
            for side, (x, z, planted) in (("l", row[0:3]), ("r", row[3:6])):
                if planted < 0.5:
                    continue
                foot = st.position[k] + scale * (heading * z + left * x)
                key = (k, side)
                if key in prev:
                    slides.append(float(np.linalg.norm(layout.region.to_2d(foot - prev[key]))))
                now[key] = foot
            checked += 1
        prev = now
    if not slides:
        return {"walkers": len(walkers), "max": None, "mean": None, "samples": 0}
    arr = np.array(slides)
    return {"walkers": len(walkers), "max": round(float(arr.max()), 6), "mean": round(float(arr.mean()), 6),
            "samples": int(len(arr))}


def _shadow_under(job: "CrowdReplication", frame: int, shadow: np.ndarray, ids: set[int]) -> int:
    """How many of ``ids`` have shadow (> 0.05) within two pixels of their feet."""
    from ..geometry import project

    st = job.layout.state(frame)
    view = job.shot.view(frame)
    h, w = shadow.shape
    count = 0
    for k, inst in enumerate(job.layout.instances):
        if inst.id not in ids or not st.present[k]:
            continue
        uv, z = project(st.position[k], view)
        if z <= 0:
            continue
        x, y = int(round(float(uv[0]))), int(round(float(uv[1])))
        if float(shadow[max(y - 2, 0):min(y + 3, h), max(x - 2, 0):min(x + 3, w)].max(initial=0.0)) > 0.05:
            count += 1
    return count


def crowd_qc(job: "CrowdReplication", frames: Sequence[int] | None = None, *, plate: str | None = None) -> dict[str, Any]:
    from ..crowd.placement import repetition_pairs
    from ..imageio import exr
    from ..shot.frames import FrameSeq

    frames = sorted(frames or job.shot.frames)
    images = job.output
    cache: dict[int, Any] = {}

    def element(f: int) -> Any:
        if f not in cache:
            if len(cache) > 4:
                cache.clear()
            cache[f] = exr.read_exr(images.path(f), ["R", "G", "B", "A", "Z", "crowd_id", "shadow"])
        return cache[f]

    plate_seq = FrameSeq.parse(plate) if plate else None

    def composite(f: int) -> np.ndarray:
        img = element(f)
        rgb, a = img.get(["R", "G", "B"]), img.channel("A")[..., None]
        under = exr.read_rgb(plate_seq.path(f)) if plate_seq else np.zeros_like(rgb)
        under = under * (1.0 - img.channel("shadow")[..., None])
        return rgb + under * (1.0 - a)

    def depth(f: int) -> np.ndarray:
        img = element(f)
        return np.where(img.channel("A") > 0.5, img.channel("Z"), job.shot.read("depth", f)).astype(np.float32)

    report = warping_error(job.shot, composite, frames, depth=depth, region=lambda f: element(f).channel("A") > 0.5)
    mid = frames[len(frames) // 2]
    img = element(mid)
    ids, alpha = img.channel("crowd_id"), img.channel("A")
    desc = person_descriptors(img.get(["R", "G", "B"]), alpha, ids)
    looks = cluster_looks(desc)
    visible = set(desc)
    by_id = {i.id: i for i in job.instances}
    planned = {by_id[i].look() for i in visible if i in by_id}
    under = _shadow_under(job, mid, img.channel("shadow"), visible)
    radius = max(3.0 * job.params.min_spacing, 1.5)
    pairs = repetition_pairs(job.instances, visible, radius)
    warp = report.to_json()
    biggest = max((len(lk) for lk in looks), default=0)
    return {
        "frames": [frames[0], frames[-1]],
        "warping_error": warp["region"]["warping_error"],
        "plate_warping_error": warp["plate"]["warping_error"],
        "ratio": warp["ratio"],
        "instances": len(job.instances),
        "walkers": sum(1 for i in job.instances if i.walking),
        "visible_instances_mid_frame": len(visible),
        "looks": len(looks),
        "biggest_look_share": round(biggest / len(visible), 4) if visible else None,
        "look_tolerance": LOOK_TOLERANCE,
        "planned_looks_visible": len(planned),
        "closest_pair": closest_pair(job, job.shot.frames),
        "min_spacing": job.params.min_spacing,
        "foot_sliding": foot_sliding(job, job.shot.frames),
        "shadow_under_people": round(under / len(visible), 4) if visible else None,
        "repetition_radius": radius,
        "repeated_neighbour_pairs": [list(p) for p in pairs],
        "repetition_ok": not pairs,
    }
