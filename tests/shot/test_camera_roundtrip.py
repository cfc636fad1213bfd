"""K and world_to_camera -> an authored USD camera -> read back: the same K and pose, and USD's own
Gf.Frustum projects world points where K @ world_to_camera says (replaces comparing the street
sample's camera with itself)."""

from __future__ import annotations

import numpy as np
import pytest
from pxr import Usd
from test_shot_camera import _gf_project  # Gf.Frustum's projection (pytest puts this folder on sys.path)

from genpost_houdini.shot.camera import CameraTrack, CameraView
from genpost_houdini.usd_out.camera import author_camera


def _rotation(rng: np.random.Generator) -> np.ndarray:
    q = rng.normal(size=4)
    w, x, y, z = q / np.linalg.norm(q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def _views(rng: np.random.Generator, width: int, height: int, *, square: bool) -> dict[int, CameraView]:
    views = {}
    for frame in range(1, 6):
        fx = rng.uniform(0.5, 3.0) * width
        fy = fx if square else fx * rng.uniform(0.8, 1.25)
        K = np.array([[fx, 0.0, width / 2 - 0.5 + rng.uniform(-40, 40)],
                      [0.0, fy, height / 2 - 0.5 + rng.uniform(-30, 30)], [0.0, 0.0, 1.0]])
        w2c = np.eye(4)
        w2c[:3, :3] = _rotation(rng)
        w2c[:3, 3] = rng.uniform(-20, 20, 3)
        views[frame] = CameraView(K=K, world_to_camera=w2c, width=width, height=height, near=0.1, far=1e4)
    return views


@pytest.mark.parametrize("square", [True, False])
def test_authored_camera_reads_back(square: bool) -> None:
    rng = np.random.default_rng(7 if square else 8)
    width, height = 1920, 1080
    views = _views(rng, width, height, square=square)
    stage = Usd.Stage.CreateInMemory()
    stage.SetStartTimeCode(1)
    stage.SetEndTimeCode(5)
    author_camera(stage, "/shot/cam", views)
    policy = None if square else "adjustPixelAspectRatio"
    track = CameraTrack.open(stage, "/shot/cam", conform_policy=policy)
    for frame, want in views.items():
        got = track.view(frame, width, height)
        # USD lens attributes are 32-bit floats: K comes back to ~1e-7 relative (< 0.001 px)
        np.testing.assert_allclose(got.K, want.K, rtol=3e-7, atol=1e-3)
        np.testing.assert_allclose(got.world_to_camera, want.world_to_camera, rtol=1e-9, atol=1e-9)
        if square:  # USD's own frustum agrees with K @ world_to_camera (pixel centres at integers)
            cam = np.c_[rng.uniform(-1, 1, (8, 2)), rng.uniform(2, 50, 8)]
            cam[:, :2] *= cam[:, 2:3] * 0.3
            world = (np.linalg.inv(want.world_to_camera) @ np.c_[cam, np.ones(8)].T)[:3].T
            pix = (want.K @ cam.T).T
            np.testing.assert_allclose(_gf_project(track, frame, width, height, world),
                                       pix[:, :2] / pix[:, 2:], atol=1e-4)
