"""Moving content found by multi-view consistency on the real TartanAir office shot.

A blob painted into some frames (moving across the wall) must be found in those frames; the
real, static plate must give almost nothing; exposure drift must not count as movement.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from genpost_houdini.consistency.multiview import moving_masks, partner_frames
from genpost_houdini.imageio import exr
from genpost_houdini.shot.camera import CameraTrack

FRAMES = list(range(1001, 1013))
F = 4  # 160 x 120


def _box(a: np.ndarray) -> np.ndarray:
    h, w = a.shape[0] // F * F, a.shape[1] // F * F
    return a[:h, :w].reshape(h // F, F, w // F, F, *a.shape[2:]).mean(axis=(1, 3)).astype(np.float32)


@pytest.fixture(scope="module")
def office(tartanair: Path) -> dict:
    track = CameraTrack.open(tartanair / "shot.usda")
    s = np.array([[1 / F, 0, (1 / F - 1) / 2], [0, 1 / F, (1 / F - 1) / 2], [0, 0, 1]])
    data: dict = {"images": {}, "depths": {}, "views": {}}
    for f in FRAMES:
        data["images"][f] = _box(exr.read_rgb(tartanair / f"plate.{f}.exr"))
        data["depths"][f] = _box(exr.read_depth(tartanair / f"depth.{f}.exr"))
        v = track.view(f, 640, 480)
        data["views"][f] = dataclasses.replace(v, K=s @ v.K, width=160, height=120)
    return data


def test_partner_frames_near_and_far() -> None:
    assert partner_frames(FRAMES, 1001) == [1002, 1004, 1009]
    assert partner_frames(FRAMES, 1006) == [1003, 1005, 1007, 1009]
    assert partner_frames([1001], 1001) == []


def test_static_plate_with_exposure_drift_is_not_moving(office: dict) -> None:
    images = {f: img * (1.0 + 0.04 * np.sin(i)) for i, (f, img) in enumerate(office["images"].items())}
    trusted = {f: np.ones((120, 160), bool) for f in FRAMES}
    masks = moving_masks(FRAMES, images, trusted, office["depths"], office["views"])
    assert np.mean([v.moving.mean() for v in masks.values()]) < 0.01


def test_a_blob_crossing_the_wall_is_found(office: dict) -> None:
    images = {f: img.copy() for f, img in office["images"].items()}
    truth = {}
    for i, f in enumerate(FRAMES):
        blob = np.zeros((120, 160), bool)
        x0 = 10 + 12 * i
        blob[70:86, x0:x0 + 18] = True
        images[f][blob] = (0.55, 0.05, 0.04)
        truth[f] = blob
    trusted = {f: np.ones((120, 160), bool) for f in FRAMES}
    masks = {f: v.moving for f, v in moving_masks(FRAMES, images, trusted, office["depths"], office["views"]).items()}
    found = sum(int((masks[f] & truth[f]).sum()) for f in FRAMES) / sum(int(truth[f].sum()) for f in FRAMES)
    false = np.mean([(masks[f] & ~truth[f]).mean() for f in FRAMES])
    assert found > 0.9
    assert false < 0.03
