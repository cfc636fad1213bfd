"""--depth-kind planar|ray against truth: TartanAir's planar Z, converted to ray distance by its
geometric definition (|camera-space point|), read back with --depth-kind ray, gives planar Z
again; ray distance read as planar is flagged by the radial-pattern heuristic (shot.rays)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from genpost_houdini.cli import main
from genpost_houdini.geometry import backproject
from genpost_houdini.imageio.exr import read_depth, read_exr, write_exr
from genpost_houdini.shot.camera import CameraTrack
from genpost_houdini.shot.rays import depth_kind_evidence, to_planar, to_ray
from genpost_houdini.shot.shot import Shot

FRAMES = (1001, 1002, 1010)


def _ray_distance_by_definition(depth: np.ndarray, view) -> np.ndarray:  # noqa: ANN001
    """Ray distance = |camera-space point|, from back-projection (not from shot.rays)."""
    world = backproject(depth, view, dtype=np.float64)
    cam = world @ view.world_to_camera[:3, :3].T + view.world_to_camera[:3, 3]
    return np.where(np.isfinite(depth), np.linalg.norm(cam, axis=-1), np.inf).astype(np.float32)


@pytest.fixture(scope="module")
def ray_shot(tartanair: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """TartanAir's depth written as ray distance (channel Z), frames 1001, 1002, 1010."""
    out = tmp_path_factory.mktemp("ray")
    track = CameraTrack.open(tartanair / "shot.usda")
    for f in FRAMES:
        planar = read_depth(tartanair / f"depth.{f}.exr")
        ray = _ray_distance_by_definition(planar, track.view(f, planar.shape[1], planar.shape[0]))
        write_exr(out / f"depth.{f}.exr", {"Z": ray}, kinds={"Z": "depth"})
    return out


def test_conversion_matches_the_definition_and_round_trips(tartanair: Path) -> None:
    track = CameraTrack.open(tartanair / "shot.usda")
    planar = read_depth(tartanair / "depth.1001.exr")
    view = track.view(1001, 640, 480)
    ray = to_ray(planar, view.K)
    truth = _ray_distance_by_definition(planar, view)
    ok = np.isfinite(planar)
    np.testing.assert_allclose(ray[ok], truth[ok], rtol=2e-6)
    assert (ray[ok] >= planar[ok]).all() and ray[240, 320] == pytest.approx(planar[240, 320], rel=1e-5)
    np.testing.assert_allclose(to_planar(ray, view.K, "ray")[ok], planar[ok], rtol=2e-6)
    assert to_planar(planar, view.K, "planar") is planar


def test_heuristic_tells_planar_from_ray_on_real_depth(tartanair: Path) -> None:
    track = CameraTrack.open(tartanair / "shot.usda")
    for f in FRAMES:
        planar = read_depth(tartanair / f"depth.{f}.exr")
        K = track.intrinsics(f, 640, 480)
        assert depth_kind_evidence(planar, K).looks_like == "planar"
        assert depth_kind_evidence(to_ray(planar, K), K).looks_like == "ray"
    # A narrow lens makes rays nearly parallel: no verdict rather than a wrong one.
    narrow = np.array([[20000.0, 0, 319.5], [0, 20000.0, 239.5], [0, 0, 1]])
    planar = read_depth(tartanair / "depth.1001.exr")
    assert depth_kind_evidence(planar, narrow).looks_like is None
    assert depth_kind_evidence(to_ray(planar, narrow), narrow).looks_like is None


def test_shot_reads_ray_depth_as_planar(tartanair: Path, ray_shot: Path) -> None:
    shot = Shot.open(tartanair / "shot.usda", camera=None, depth=str(ray_shot / "depth.####.exr"),
                     frames=list(FRAMES), depth_kind="ray")
    for f in FRAMES:
        truth = read_depth(tartanair / f"depth.{f}.exr")
        got = shot.read("depth", f)
        ok = np.isfinite(truth)
        np.testing.assert_allclose(got[ok], truth[ok], rtol=3e-6)


def test_reproject_with_ray_depth_matches_planar(tartanair: Path, ray_shot: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    def run(depth: str, kind: str, out: Path) -> str:
        assert main(["reproject", "--stage", str(tartanair / "shot.usda"), "--depth", depth,
                     "--image", str(tartanair / "plate.####.exr"), "--from", "1001", "--to", "1002",
                     "--out", str(out), "--depth-kind", kind]) == 0
        return capsys.readouterr().err

    err_planar = run(str(tartanair / "depth.####.exr"), "planar", tmp_path / "planar.exr")
    err_ray = run(str(ray_shot / "depth.####.exr"), "ray", tmp_path / "ray.exr")
    assert "looks like" not in err_planar + err_ray
    a, b = read_exr(tmp_path / "planar.exr"), read_exr(tmp_path / "ray.exr")
    va, vb = a.channel("valid") > 0.5, b.channel("valid") > 0.5
    assert (va != vb).mean() < 1e-3  # z-test decisions at a few grazing pixels may flip
    both = va & vb
    np.testing.assert_allclose(a.get(["R", "G", "B"])[both], b.get(["R", "G", "B"])[both], atol=2e-3)
    # Ray distance read as planar: the warning names the file and the flag.
    err_wrong = run(str(ray_shot / "depth.####.exr"), "planar", tmp_path / "wrong.exr")
    assert "looks like ray distance" in err_wrong and "--depth-kind ray" in err_wrong
    assert str(ray_shot / "depth.1001.exr") in err_wrong


def test_depth_kind_reaches_job_files_and_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from genpost_houdini.samples.street import build_street

    shot = build_street(tmp_path / "shot", frames=2, width=64, height=36).to_json()
    job = tmp_path / "job.json"
    assert main(["setext", "--stage", shot["stage"], "--plate", shot["plate"], "--depth", shot["depth"],
                 "--extend", shot["extend"], "--frames", "1001-1002", "--out", str(tmp_path / "out"),
                 "--depth-kind", "ray", "--save-job", str(job)]) == 0
    assert json.loads(job.read_text())["parameters"]["depth_kind"] == "ray"
    capsys.readouterr()
    # The street's depth is planar: run it with the job's "ray" overridden back to planar.
    assert main(["run", str(job), "--depth-kind", "planar", "--progress", "none"]) == 0
    assert "looks like" not in capsys.readouterr().err
    assert main(["run", str(job), "--depth-kind", "bogus"]) == 2
