"""Reprojection of EXR frames on disk (what ``genpost reproject`` runs)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ResolutionMismatchError, UsageError
from .depth import valid_depth

#: Name of the visibility channel written beside the reprojected image channels.
VALID_CHANNEL = "valid"


@dataclass(frozen=True)
class ReprojectReport:
    """What :func:`reproject_frame_files` wrote."""

    out: Path
    channels: list[str]
    width: int
    height: int
    valid_fraction: float


def _output_path(out: str | os.PathLike[str], frame: int) -> Path:
    from ..shot.frames import FrameSeq

    try:
        return FrameSeq.parse(out).path(frame)
    except UsageError:  # no frame token: a plain file name
        return Path(out)


def reproject_frame_files(
    stage: str | os.PathLike[str],
    camera: str | None,
    depth: str,
    image: str,
    frame_from: int,
    frame_to: int,
    out: str | os.PathLike[str],
    *,
    rel_tolerance: float = 0.01,
    depth_channel: str | None = None,
    carry_depth_values: bool = False,
    depth_kind: str = "planar",
) -> ReprojectReport:
    """Write frame ``frame_from`` of ``image`` as seen from frame ``frame_to`` to ``out`` (EXR).

    ``depth`` and ``image`` are frame patterns (``####``, ``%04d``, ``$F4``, ``<F>``); ``out`` may
    hold a frame token (replaced by ``frame_to``). The output holds the image's channels plus
    ``valid`` (1 where the pixel is visible in both frames). Depth channels of the image (Z,
    depth, Pz, ...) come out as depth in the destination camera unless ``carry_depth_values``.
    ``depth_kind`` "ray": the depth sequence and the image's depth channels hold ray distance;
    they are converted to planar Z with each frame's K, and the output's depth channels back to
    ray distance in camera B.
    Raises MissingFrameError / ResolutionMismatchError naming the files, UnknownCameraError.
    """
    from ..imageio.exr import find_depth_channel, read_depth, read_exr, write_exr
    from ..shot.camera import CameraTrack
    from ..shot.frames import FrameSeq
    from ..shot.rays import DEPTH_KINDS, check_depth_kind, to_planar, to_ray
    from .reprojection import warp

    if rel_tolerance <= 0:
        raise UsageError(f"tolerance must be positive, got {rel_tolerance}")
    if depth_kind not in DEPTH_KINDS:
        raise UsageError(f"depth kind must be one of {', '.join(DEPTH_KINDS)}, got {depth_kind!r}")
    depth_seq = FrameSeq.parse(depth)
    image_seq = FrameSeq.parse(image)
    depth_seq.require(sorted({frame_from, frame_to}), "depth")
    image_seq.require([frame_from], "image")
    track = CameraTrack.open(stage, camera)

    src_depth_path, dst_depth_path = depth_seq.path(frame_from), depth_seq.path(frame_to)
    image_path = image_seq.path(frame_from)
    src_depth = read_depth(src_depth_path, depth_channel)
    dst_depth = src_depth if frame_to == frame_from else read_depth(dst_depth_path, depth_channel)
    img = read_exr(image_path)
    if img.pixels.shape[:2] != src_depth.shape:
        raise ResolutionMismatchError(
            f"image {image_path} is {img.width}x{img.height} but depth {src_depth_path} is "
            f"{src_depth.shape[1]}x{src_depth.shape[0]}"
        )
    if dst_depth.shape != src_depth.shape:
        raise ResolutionMismatchError(
            f"depth {dst_depth_path} is {dst_depth.shape[1]}x{dst_depth.shape[0]} but depth "
            f"{src_depth_path} is {src_depth.shape[1]}x{src_depth.shape[0]}"
        )
    height, width = src_depth.shape
    src_view = track.view(frame_from, width, height)
    dst_view = track.view(frame_to, width, height)
    check_depth_kind(src_depth, src_view.K, depth_kind, str(src_depth_path))
    src_depth = to_planar(src_depth, src_view.K, depth_kind)
    dst_depth = to_planar(dst_depth, dst_view.K, depth_kind)
    depth_idx = [] if carry_depth_values else [i for i, n in enumerate(img.channels) if find_depth_channel([n])]
    pixels = img.pixels
    if depth_idx:
        # Depth channels' own no-hit values (inf, 1e17) must not be sampled as numbers.
        pixels = pixels.copy()
        for i in depth_idx:
            ch = pixels[:, :, i]
            ch[~valid_depth(ch)] = 0.0
            if depth_kind == "ray":
                ch[:] = to_planar(ch, src_view.K, "ray")
    result = warp(
        pixels, src_depth, src_view, dst_depth, dst_view, rel_tolerance=rel_tolerance, depth_channels=depth_idx
    )
    assert result.image is not None
    if VALID_CHANNEL in img.channels:
        raise UsageError(f"image {image_path} already has a channel named {VALID_CHANNEL!r}")
    channels: dict[str, np.ndarray] = {n: result.image[:, :, i] for i, n in enumerate(img.channels)}
    if depth_kind == "ray":
        for i in depth_idx:
            channels[img.channels[i]] = to_ray(channels[img.channels[i]], dst_view.K)
    channels[VALID_CHANNEL] = result.valid.astype(np.float32)
    kinds = {img.channels[i]: "depth" for i in depth_idx}
    kinds[VALID_CHANNEL] = "mask"
    valid_fraction = float(result.valid.mean())
    metadata: dict[str, Any] = {
        "operation": "reproject",
        "stage": str(track.stage_path or stage),
        "camera": track.prim_path,
        "frame_from": int(frame_from),
        "frame_to": int(frame_to),
        "image": str(image_path),
        "depth": depth_seq.hash_pattern,
        "rel_tolerance": float(rel_tolerance),
        "valid_fraction": valid_fraction,
        "depth_channels": [img.channels[i] for i in depth_idx],
        "depth_kind": depth_kind,
    }
    target = _output_path(out, frame_to)
    write_exr(target, channels, kinds=kinds, metadata=metadata, colourspace=img.colourspace or "ACEScg")
    return ReprojectReport(target, list(channels), width, height, valid_fraction)
