"""Crowd QC: temporal stability of the crowd over the shot, and a repetition check.

Instances are attached to world positions, so warping the crowd's frame t+1 into t with the
crowd's own depth (nearest instance, else the set) should score like the plate. The repetition
check lists visible neighbours that share source, time offset and flip: the clones a viewer
spots first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from .warping import warping_error

if TYPE_CHECKING:  # pragma: no cover
    from ..jobs.crowd_replication import CrowdReplication


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
            cache[f] = exr.read_exr(images.path(f), ["R", "G", "B", "A", "Z", "crowd_id"])
        return cache[f]

    plate_seq = FrameSeq.parse(plate) if plate else None

    def composite(f: int) -> np.ndarray:
        img = element(f)
        rgb, a = img.get(["R", "G", "B"]), img.channel("A")[..., None]
        under = exr.read_rgb(plate_seq.path(f)) if plate_seq else np.zeros_like(rgb)
        return rgb + under * (1.0 - a)

    def depth(f: int) -> np.ndarray:
        img = element(f)
        return np.where(img.channel("A") > 0.5, img.channel("Z"), job.shot.read("depth", f)).astype(np.float32)

    report = warping_error(job.shot, composite, frames, depth=depth, region=lambda f: element(f).channel("A") > 0.5)
    mid = frames[len(frames) // 2]
    visible = {int(v) for v in np.unique(element(mid).channel("crowd_id")) if v > 0}
    radius = max(3.0 * job.params.min_spacing, 1.5)
    pairs = repetition_pairs(job.instances, visible, radius)
    warp = report.to_json()
    return {
        "frames": [frames[0], frames[-1]],
        "warping_error": warp["region"]["warping_error"],
        "plate_warping_error": warp["plate"]["warping_error"],
        "ratio": warp["ratio"],
        "instances": len(job.instances),
        "visible_instances_mid_frame": len(visible),
        "repetition_radius": radius,
        "repeated_neighbour_pairs": [list(p) for p in pairs],
        "repetition_ok": not pairs,
    }
