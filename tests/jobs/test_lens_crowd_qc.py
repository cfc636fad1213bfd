"""Lens distortion on the crowd and qc commands: outputs in plate space, aligned with the plate.

The bundled street is rendered undistorted (the CG frame); a radial lens (ST maps in Nuke's
convention, the plate 10 % smaller: overscan) says where each plate pixel looks. The crowd
rendered with the maps must be the undistorted crowd seen through the lens, checked against the
lens formula itself (not the maps).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from genpost_houdini.cli import main
from genpost_houdini.imageio import exr
from genpost_houdini.samples.extras import build_extras
from genpost_houdini.samples.street import build_street
from genpost_houdini.shot.lens import radial_stmaps, write_stmap

FRAMES = "1001-1003"
CG, PLATE, K1 = (192, 108), (174, 98), 0.05


@pytest.fixture(scope="module")
def shot(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("lens_shot")
    info = build_street(root / "shot", frames=3, width=CG[0], height=CG[1]).to_json()
    info["extras"] = build_extras(root / "extras", frames=8, height=64)
    from genpost_houdini.shot.camera import CameraTrack

    focal = float(CameraTrack.open(info["stage"]).view(1001, *CG).K[0, 0])
    und, red = radial_stmaps(CG, PLATE, focal, K1)
    write_stmap(root / "undistort.exr", und)
    write_stmap(root / "redistort.exr", red)
    info.update(undistort=str(root / "undistort.exr"), redistort=str(root / "redistort.exr"), focal=focal, root=str(root))
    return info


def _crowd(shot: dict, out: Path, *lens: str) -> None:
    rc = main(["crowd", "--stage", shot["stage"], "--region", shot["crowd_region"], "--source", shot["extras"],
               "--depth", shot["depth"], "--frames", FRAMES, "--count", "12", "--seed", "3", "--out", str(out),
               "--progress", "none", "--no-consent-record", *lens])
    assert rc == 0


def test_crowd_is_published_in_plate_space(shot: dict, tmp_path: Path) -> None:
    _crowd(shot, tmp_path / "cg")
    _crowd(shot, tmp_path / "plate", "--undistort", shot["undistort"], "--redistort", shot["redistort"])
    cg = exr.read_exr(tmp_path / "cg" / "crowd.1002.exr")
    lens = exr.read_exr(tmp_path / "plate" / "crowd.1002.exr")
    assert (lens.width, lens.height) == PLATE and (cg.width, cg.height) == CG
    # where each plate pixel looks, from the lens formula (not from the ST maps)
    f = shot["focal"]
    y, x = np.mgrid[0:PLATE[1], 0:PLATE[0]].astype(np.float64)
    dx, dy = (x - (PLATE[0] - 1) / 2) / f, (y - (PLATE[1] - 1) / 2) / f
    g = 1 + K1 * (dx * dx + dy * dy)
    xu = np.clip(np.rint((CG[0] - 1) / 2 + f * dx * g), 0, CG[0] - 1).astype(int)
    yu = np.clip(np.rint((CG[1] - 1) / 2 + f * dy * g), 0, CG[1] - 1).astype(int)
    ids_cg, ids = cg.channel("crowd_id"), lens.channel("crowd_id")
    people = ids > 0
    assert people.sum() > 50
    assert np.mean(ids[people] == ids_cg[yu, xu][people]) > 0.97  # the same person at each plate pixel
    alpha_cg = cg.channel("A")[yu, xu]
    assert np.abs(lens.channel("A") - alpha_cg).mean() < 0.02


def test_qc_measures_plate_space_images_through_the_lens(shot: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the plate itself, distorted: a steady image, so the warping error is the plate's own
    from genpost_houdini.shot.lens import read_stmap, warp_stmap

    red = read_stmap(shot["redistort"])
    for f in (1001, 1002, 1003):
        rgb = exr.read_rgb(Path(shot["plate"].replace("####", str(f))))
        img, _ = warp_stmap(rgb, red)
        exr.write_exr(tmp_path / f"plate.{f}.exr", {c: img[..., i] for i, c in enumerate("RGB")})
    capsys.readouterr()
    rc = main(["qc", "--stage", shot["stage"], "--depth", shot["depth"], "--images", str(tmp_path / "plate.####.exr"),
               "--frames", FRAMES, "--undistort", shot["undistort"], "--redistort", shot["redistort"], "--json"])
    assert rc == 0
    lensed = json.loads(capsys.readouterr().out)["warping_error"]
    rc = main(["qc", "--stage", shot["stage"], "--depth", shot["depth"], "--images", shot["plate"],
               "--frames", FRAMES, "--json"])
    assert rc == 0
    direct = json.loads(capsys.readouterr().out)["warping_error"]
    # measured undistorted, the distorted plate flickers like the plate itself (resampling aside);
    # measured without the maps it would not line up with the camera at all
    assert lensed is not None and lensed < 1.5 * direct
    rc = main(["qc", "--stage", shot["stage"], "--depth", str(Path(shot["depth"])), "--images",
               str(tmp_path / "plate.####.exr"), "--frames", FRAMES, "--json"])
    assert rc == 3  # 174x98 images against 192x108 depth without a lens: refused
