"""Crowd placement and variation pieces, against analytic truths (small, fast)."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from genpost_houdini.crowd.poisson import pairs_within, poisson_fill
from genpost_houdini.crowd.variation import (FILMED_SHADE, WARDROBE_BOTTOMS, WARDROBE_TOPS, LookStats, apply_colourway,
                                             design_colourways, garment_matrix, separate_neighbours)


def _plane_stage(path: Path, *, density: list[float] | None = None, points: bool = False, size: tuple[float, float] = (10.0, 6.0)):
    """A Y-up stage with a camera and a region: a 2-face quad strip (optionally with a uniform
    density primvar) or a Points prim."""
    from pxr import Gf, Sdf, Usd, UsdGeom, Vt

    stage = Usd.Stage.CreateNew(str(path))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.y)
    stage.SetStartTimeCode(1)
    stage.SetEndTimeCode(2)
    cam = UsdGeom.Camera.Define(stage, "/cam")
    cam.CreateFocalLengthAttr(30.0)
    cam.CreateHorizontalApertureAttr(36.0)
    cam.CreateVerticalApertureAttr(20.25)
    cam.AddTranslateOp().Set(Gf.Vec3d(0, 1.6, 12))
    w, d = size
    if points:
        pts = UsdGeom.Points.Define(stage, "/region")
        grid = [Gf.Vec3f(x, 0, z) for x in np.arange(-w / 2, w / 2, 0.5) for z in np.arange(-d / 2, d / 2, 0.5)]
        pts.CreatePointsAttr(Vt.Vec3fArray(grid))
    else:
        mesh = UsdGeom.Mesh.Define(stage, "/region")
        mesh.CreatePointsAttr(Vt.Vec3fArray([Gf.Vec3f(-w / 2, 0, d / 2), Gf.Vec3f(0, 0, d / 2), Gf.Vec3f(w / 2, 0, d / 2),
                                             Gf.Vec3f(w / 2, 0, -d / 2), Gf.Vec3f(0, 0, -d / 2), Gf.Vec3f(-w / 2, 0, -d / 2)]))
        mesh.CreateFaceVertexCountsAttr([4, 4])
        mesh.CreateFaceVertexIndicesAttr([0, 1, 4, 5, 1, 2, 3, 4])
        if density is not None:
            pv = UsdGeom.PrimvarsAPI(mesh).CreatePrimvar("genpost:crowdDensity", Sdf.ValueTypeNames.FloatArray, UsdGeom.Tokens.uniform)
            pv.Set(Vt.FloatArray(density))
    stage.GetRootLayer().Save()
    return stage


def test_poisson_fill_is_spaced_and_nearly_maximal() -> None:
    rng = np.random.default_rng(1)
    xy = rng.random((30000, 2)) * [12.0, 8.0]
    pick = poisson_fill(xy, 0.6, rng)
    p = xy[pick]
    d = np.sqrt(((p[:, None] - p[None]) ** 2).sum(-1))
    np.fill_diagonal(d, np.inf)
    assert d.min() >= 0.6
    # Maximal: (almost) no candidate could still be added.
    free = ~np.any(np.sqrt(((xy[:, None] - p[None]) ** 2).sum(-1)) < 0.6, axis=1)
    assert free.mean() < 0.002
    # pairs_within agrees with brute force.
    i, j, dist = pairs_within(p, None, 1.0)
    assert len(i) == int((d < 1.0).sum() // 2)
    assert np.allclose(dist, d[i, j])


def test_colourway_only_inside_the_variation_matte() -> None:
    rng = np.random.default_rng(0)
    n = 600
    alpha = rng.uniform(0.2, 1.0, n).astype(np.float32)
    straight = rng.uniform(0.0, 0.8, (n, 3)).astype(np.float32)
    rgb = straight * alpha[:, None]
    kind = rng.integers(0, 3, n)  # 0 skin/hair, 1 top, 2 trousers
    variation = np.stack([np.where(kind > 0, alpha, 0.0), np.where(kind == 2, alpha, 0.0)], axis=1).astype(np.float32)
    m = np.stack([garment_matrix(np.array([0.3, 0.05, 0.05]), np.array([0.02, 0.1, 0.4])),
                  garment_matrix(np.array([0.1, 0.1, 0.12]), np.array([0.5, 0.45, 0.3]))]).astype(np.float32)
    out = apply_colourway(rgb, alpha, variation, m)
    skin = kind == 0
    assert np.array_equal(out[skin], rgb[skin]), "skin and hair untouched, bit for bit"
    for k, part in ((1, 0), (2, 1)):
        sel = kind == k
        want = np.maximum((straight[sel] @ m[part].T) * alpha[sel][:, None], 0.0)
        assert np.allclose(out[sel], want, atol=1e-5)


def _lin(c: tuple[float, float, float]) -> np.ndarray:
    return np.asarray(c, np.float64) ** 2.2


def test_garment_matrix_dresses_a_garment_in_the_target_colour() -> None:
    """The garment's mean colour goes exactly to the target (chromatic and grey garments), its
    pattern keeps its luminance ratios, and impossible recolours are refused."""
    Y = np.array([0.2722287168, 0.6740817658, 0.0536895174])
    for mean, target in (((0.36, 0.02, 0.02), (0.02, 0.06, 0.3)), ((0.2, 0.2, 0.2), (0.4, 0.1, 0.05)),
                         ((0.05, 0.1, 0.2), (0.3, 0.3, 0.28)), ((0.3, 0.25, 0.1), (0.008, 0.008, 0.01))):
        m = garment_matrix(np.array(mean), np.array(target))
        assert m is not None
        assert np.allclose(m @ np.array(mean), np.array(target), atol=1e-9)
        # Luminance is scaled alike for every colour of the garment (pattern contrast kept).
        other = np.array(mean) * 0.4
        assert float(Y @ (m @ other)) == pytest.approx(0.4 * float(Y @ np.array(target)), rel=1e-6)
    assert garment_matrix(np.array([0.01, 0.01, 0.01]), np.array([0.8, 0.8, 0.8])) is None, "x80: the gain is bounded"
    # A two-colour pattern (red and a light grey): a saturated blue target is desaturated until
    # no pixel of the pattern goes negative.
    samples = np.array([[0.4, 0.02, 0.02]] * 70 + [[0.5, 0.5, 0.5]] * 30)
    m = garment_matrix(samples.mean(axis=0), _lin((0.1, 0.3, 0.78)) * FILMED_SHADE, samples)
    assert m is not None and ((samples @ m.T).min(axis=1) >= -0.01).mean() >= 0.95
    assert garment_matrix(samples.mean(axis=0), _lin((0.92, 0.92, 0.9)) * 1.6, samples) is None, "brighter than white"


def test_designed_colourways_are_distinct_looks() -> None:
    # Two people: a red top over mid trousers, and grey clothes; 60 % of their pixels clothing
    # (upper half: mostly top; lower half: mostly trousers).
    def stats(top: np.ndarray, bottom: np.ndarray, skin: np.ndarray) -> LookStats:
        whole = (0.35 * top + 0.25 * bottom + 0.4 * skin, 0.35 * top, 0.25 * bottom)
        upper = (0.6 * top + 0.4 * skin, 0.6 * top, np.zeros(3))
        lower = (0.55 * bottom + 0.45 * skin, np.zeros(3), 0.55 * bottom)
        return LookStats({"whole": whole, "upper": upper, "lower": lower}, (top, bottom), (top[None], bottom[None]))

    people = [stats(np.array([0.3, 0.02, 0.02]), np.array([0.05, 0.08, 0.15]), np.array([0.4, 0.25, 0.18])),
              stats(np.array([0.15, 0.15, 0.15]), np.array([0.1, 0.1, 0.1]), np.array([0.15, 0.09, 0.06]))]
    mats = design_colourways(people, 6)
    ident = np.stack([np.eye(3), np.eye(3)]).astype(np.float32)
    assert all(np.array_equal(mats[(s, 0)], ident) for s in range(2))
    tops = np.array([_lin(c) for _, c, _ in WARDROBE_TOPS]) * FILMED_SHADE
    bottoms = np.array([_lin(c) for _, c, _ in WARDROBE_BOTTOMS]) * FILMED_SHADE
    kinds = {name: kind for name, _, kind in WARDROBE_TOPS}
    for (s, k), m in mats.items():
        if k == 0:
            continue
        top, bottom = people[s].garments
        # Every garment is dressed in a wardrobe colour (these plain garments: exactly).
        dt = np.abs(tops - m[0].astype(np.float64) @ top).max(axis=1)
        db = np.abs(bottoms - m[1].astype(np.float64) @ bottom).max(axis=1)
        assert dt.min() < 1e-5 and db.min() < 1e-5, (s, k)
        if k == 2:  # the second colourway: a neutral top and bottom
            assert kinds[WARDROBE_TOPS[int(np.argmin(dt))][0]] == "neutral"
    means = np.array([people[s].predict(mats[(s, k)][0].astype(np.float64), mats[(s, k)][1].astype(np.float64))
                      for s in range(2) for k in range(6)])
    enc = (np.clip(means, 0, None) / (1 + np.clip(means, 0, None))) ** (1 / 2.2)
    d = np.sqrt(((enc[:, None] - enc[None]) ** 2).sum(-1))
    np.fill_diagonal(d, np.inf)
    assert d.min() > 0.03, "every look's average colour differs"
    assert np.median(d.min(axis=1)) > 0.07, "and most by far"
    assert (means >= 0).all()


def test_neighbours_never_share_a_key() -> None:
    rng = np.random.default_rng(5)
    n = 400
    xy = rng.random((n, 2)) * 20
    i, j, _ = pairs_within(xy, None, 1.8)
    source = rng.integers(0, 3, n)
    colourway = rng.integers(0, 2, n)
    bucket = rng.integers(0, 4, n)
    cw, b, left = separate_neighbours(source, colourway, bucket, (i, j), colourways=2)
    assert left == 0
    assert not any((source[a], cw[a], b[a]) == (source[c], cw[c], b[c]) for a, c in zip(i, j))


def test_count_is_clamped_before_allocation(tmp_path: Path) -> None:
    from genpost_houdini.crowd.placement import MAX_INSTANCES, clamp_count
    from genpost_houdini.crowd.region import Region

    stage = _plane_stage(tmp_path / "s.usda")
    region = Region.read(stage, "/region", 1)
    assert math.isclose(region.area(), 60.0)
    count, capacity, msg = clamp_count(region, 100_000_000, 0.6)
    assert count == capacity <= 0.75 * 60 / 0.36 + 1 and msg and "/region" in msg and "100000000" in msg
    assert clamp_count(region, 10, 0.6)[2] is None
    big = _plane_stage(tmp_path / "b.usda", size=(400.0, 400.0))
    count, capacity, msg = clamp_count(Region.read(big, "/region", 1), 10**9, 0.6)
    assert count == MAX_INSTANCES < capacity and msg


def test_tiny_spacing_and_huge_count_are_bounded(tmp_path: Path) -> None:
    """`--min-spacing 0.0001 --count 100000000` on a 6 x 4 plaza: the spacing is raised to what
    people need (8 % of their height), the count to what the plaza then holds, and no two people
    (walkers included, at every frame) come closer."""
    from genpost_houdini.crowd.placement import MIN_SPACING_SHARE, place_crowd, spacing_floor
    from genpost_houdini.crowd.region import PACKING, Region
    from genpost_houdini.crowd.sources import Clip, ElementInfo

    walker = ElementInfo(anchor=(10.0, 39.5), person_px=40.0, height_m=1.75,
                         clips=[Clip("walk", 0, 0, 8, 24.0, speed=1.4), Clip("idle", 0, 8, 8, 24.0)])
    region = Region.read(_plane_stage(tmp_path / "s.usda", size=(6.0, 4.0)), "/region", 1)
    floor = MIN_SPACING_SHARE * 1.75
    assert spacing_floor(1e-4)[0] == pytest.approx(floor) and "--min-spacing 0.0001" in spacing_floor(1e-4)[1]
    assert spacing_floor(0.6) == (0.6, None)
    started = time.perf_counter()
    frames = list(range(1, 9))
    layout = place_crowd(region, [walker], count=100_000_000, seed=3, frames=frames, fps=24.0, spacing=1e-4)
    assert time.perf_counter() - started < 30
    capacity = int(PACKING * 24.0 / floor ** 2) + 1
    assert layout.spacing == pytest.approx(floor) and layout.capacity == capacity
    assert 0.5 * capacity <= len(layout.instances) <= capacity
    assert any("--min-spacing" in n for n in layout.notes) and any("100000000" in n for n in layout.notes)
    walking = [i for i in layout.instances if i.walking]
    assert walking, "some people walk"
    for f in frames:
        st = layout.state(f)
        xy = region.to_2d(st.position[st.present])
        d = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1))
        np.fill_diagonal(d, np.inf)
        assert d.min() >= floor - 1e-9, f


@pytest.mark.slow
def test_sigterm_while_placing_a_huge_crowd(tmp_path: Path) -> None:
    """SIGTERM while 5,000 people are placed (`--min-spacing 0.0001 --count 100000000` on the
    ground plane): exit 143 within seconds, no traceback, nothing half written."""
    import signal

    from genpost_houdini.samples.extras import build_extras
    from genpost_houdini.samples.ground import GroundScene, build_ground

    g = build_ground(tmp_path / "g", GroundScene(width=160, height=90))
    src = build_extras(tmp_path / "el", frames=4, height=64)
    out = tmp_path / "o"
    proc = subprocess.Popen([str(Path(sys.executable).with_name("genpost")), "crowd", "--stage", g["stage"], "--region",
                             g["region"], "--source", src, "--depth", g["depth"], "--frames", g["frames"], "--count",
                             "100000000", "--min-spacing", "0.0001", "--out", str(out), "--progress", "none"],
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "GENPOST_CACHE_DIR": ""})
    assert proc.stderr is not None
    for line in proc.stderr:  # the count is clamped before placement starts
        if "placing up to 5000" in line:
            break
    time.sleep(0.5)
    assert proc.poll() is None, "placement finished before it could be stopped"
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    rest = proc.communicate(timeout=60)[1]
    stopped = time.monotonic() - sent
    assert proc.returncode == 143, rest
    assert stopped < 5.0, f"took {stopped:.1f} s to stop"
    assert "Traceback" not in rest
    assert not [p for p in out.rglob("*") if "genpost-tmp" in p.name]


def test_huge_count_on_the_street_is_bounded(tmp_path: Path) -> None:
    """`--count 100000000`: a message, no traceback, bounded memory, well under a minute."""
    from genpost_houdini.samples.extras import build_extras
    from genpost_houdini.samples.street import build_street

    info = build_street(tmp_path / "shot", frames=2, width=160, height=90).to_json()
    src = build_extras(tmp_path / "el", frames=4, height=64)
    code = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))\n"
        "from genpost_houdini.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, "crowd", "--stage", info["stage"], "--region", info["crowd_region"],
                           "--source", src, "--depth", info["depth"], "--frames", "1001-1002", "--count", "100000000",
                           "--out", str(tmp_path / "o"), "--progress", "none", "--json"],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "GENPOST_CACHE_DIR": ""})
    assert time.perf_counter() - started < 60
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "--count 100000000" in proc.stderr and "/shot/crowd_region" in proc.stderr
    import json

    result = json.loads(proc.stdout)
    assert 50 <= result["instances"] <= result["region_capacity"] < 1000


def test_density_primvar_and_points_region(tmp_path: Path) -> None:
    from genpost_houdini.crowd.placement import place_crowd
    from genpost_houdini.crowd.region import Region
    from genpost_houdini.crowd.sources import Clip, ElementInfo

    plain = ElementInfo(anchor=(10.0, 39.5), person_px=40.0, height_m=None, clips=[Clip("loop", 0, 0, 8, 24.0)])
    stage = _plane_stage(tmp_path / "d.usda", density=[1.0, 0.2])  # left face dense, right face sparse
    region = Region.read(stage, "/region", 1)
    assert region.has_density
    layout = place_crowd(region, [plain], count=60, seed=1, frames=[1, 2], fps=24.0, spacing=0.6)
    x = np.array([i.position[0] for i in layout.instances])
    left, right = int((x < 0).sum()), int((x >= 0).sum())
    assert len(x) == 60 and 3.0 < left / max(right, 1) < 8.0, (left, right)
    pts_stage = _plane_stage(tmp_path / "p.usda", points=True)
    region = Region.read(pts_stage, "/region", 1)
    layout = place_crowd(region, [plain], count=30, seed=1, frames=[1, 2], fps=24.0, spacing=0.6)
    grid = {(round(p[0], 3), round(p[2], 3)) for p in region.points}
    assert len(layout.instances) == 30
    assert all((round(i.position[0], 3), round(i.position[2], 3)) in grid for i in layout.instances)


def test_facing_a_point_of_interest(tmp_path: Path) -> None:
    from genpost_houdini.crowd.placement import place_crowd
    from genpost_houdini.crowd.region import Region
    from genpost_houdini.crowd.sources import Clip, ElementInfo

    plain = ElementInfo(anchor=(10.0, 39.5), person_px=40.0, height_m=None, clips=[Clip("idle", 0, 0, 8, 6.0)])
    region = Region.read(_plane_stage(tmp_path / "f.usda"), "/region", 1)
    target = np.array([0.0, 0.0, -20.0])
    layout = place_crowd(region, [plain], count=40, seed=2, frames=[1, 2], fps=24.0, spacing=0.6, look_at=target)
    for inst in layout.instances:
        want = target - np.array(inst.position)
        want[1] = 0
        want /= np.linalg.norm(want)
        assert float(np.dot(want, inst.heading)) > math.cos(math.radians(15.5))
    layout = place_crowd(region, [plain], count=40, seed=2, frames=[1, 2], fps=24.0, spacing=0.6, facing=(1.0, 0.0, 0.0))
    assert all(inst.heading[0] > math.cos(math.radians(25.5)) for inst in layout.instances)


def test_haze_and_defocus_follow_depth() -> None:
    from genpost_houdini.crowd.look import Look

    look = Look(light=np.array([0.0, -1.0, 0.0]), light_source="parameter", haze_distance=100.0,
                lens=(2.8, 10.0, 50.0, 36.0), meters_per_unit=1.0)
    assert look.haze(0.0) == pytest.approx(1.0)
    assert look.haze(100.0) == pytest.approx(0.5)
    assert look.haze(200.0) == pytest.approx(0.25)
    # Thin lens: in focus at the focus distance, c = f^2 / (N (s - f)) |z - s| / z on the sensor.
    assert look.coc_px(10.0, 2048) == pytest.approx(0.0)
    f, n, s, z = 0.05, 2.8, 10.0, 40.0
    want = f * f / (n * (s - f)) * abs(z - s) / z * 1000.0 * 2048 / 36.0
    assert look.coc_px(z, 2048) == pytest.approx(want)
    assert look.coc_px(20.0, 2048) < look.coc_px(40.0, 2048)
    assert Look(light=np.array([0.0, -1.0, 0.0]), light_source="default").coc_px(40.0, 2048) == 0.0


def test_light_from_the_stage_distant_light(tmp_path: Path) -> None:
    from pxr import Gf, UsdLux

    from genpost_houdini.crowd.look import choose_light
    from genpost_houdini.crowd.region import Region

    stage = _plane_stage(tmp_path / "l.usda")
    light = UsdLux.DistantLight.Define(stage, "/sun")
    light.AddRotateXYZOp().Set(Gf.Vec3f(-60.0, 30.0, 0.0))
    region = Region.read(stage, "/region", 1)
    direction, source, _ = choose_light(None, stage, 1, region)
    # A DistantLight shines along its local -Z: rotate (0, 0, -1) by X then Y (XYZ order).
    ax, ay = math.radians(-60.0), math.radians(30.0)
    v = np.array([0.0, 0.0, -1.0])
    v = np.array([v[0], v[1] * math.cos(ax) - v[2] * math.sin(ax), v[1] * math.sin(ax) + v[2] * math.cos(ax)])
    v = np.array([v[0] * math.cos(ay) + v[2] * math.sin(ay), v[1], -v[0] * math.sin(ay) + v[2] * math.cos(ay)])
    assert source == "/sun"
    assert np.allclose(direction, v, atol=1e-6)
    assert direction[1] < 0, "shining downwards"
    given, source, _ = choose_light(np.array([1.0, -2.0, 0.0]), stage, 1, region)
    assert source == "parameter" and np.allclose(given, np.array([1.0, -2.0, 0.0]) / math.sqrt(5))


def test_plane_region_on_a_z_up_stage(tmp_path: Path) -> None:
    """A UsdGeom.Plane on a Z-up stage: people stand on it, upright along +Z, spaced."""
    from pxr import Gf, Usd, UsdGeom

    from genpost_houdini.crowd.placement import place_crowd
    from genpost_houdini.crowd.region import Region
    from genpost_houdini.crowd.sources import Clip, ElementInfo

    stage = Usd.Stage.CreateInMemory()
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    plane = UsdGeom.Plane.Define(stage, "/ground/plaza")
    plane.CreateWidthAttr(8.0)  # along x
    plane.CreateLengthAttr(4.0)  # along y
    plane.AddTranslateOp().Set(Gf.Vec3d(10.0, -3.0, 0.5))
    region = Region.read(stage, "/ground/plaza", 1)
    assert math.isclose(region.area(), 32.0) and np.allclose(region.up, [0, 0, 1])
    plain = ElementInfo(anchor=(10.0, 39.5), person_px=40.0, height_m=None, clips=[Clip("loop", 0, 0, 8, 24.0)])
    layout = place_crowd(region, [plain], count=30, seed=4, frames=[1, 2], fps=24.0, spacing=0.6)
    p = np.array([i.position for i in layout.instances])
    assert len(p) == 30
    assert np.allclose(p[:, 2], 0.5) and (np.abs(p[:, 0] - 10.0) <= 4.0).all() and (np.abs(p[:, 1] + 3.0) <= 2.0).all()
    d = np.sqrt(((p[:, None, :2] - p[None, :, :2]) ** 2).sum(-1))
    np.fill_diagonal(d, np.inf)
    assert d.min() >= 0.6
    # Any other boundable prim: the top of its bounding box.
    cube = UsdGeom.Cube.Define(stage, "/ground/block")
    cube.CreateSizeAttr(2.0)
    top = Region.read(stage, "/ground/block", 1)
    assert math.isclose(top.area(), 4.0) and np.allclose(top.triangles[..., 2], 1.0)


def test_shutter_from_the_camera(tmp_path: Path) -> None:
    from pxr import UsdGeom

    from genpost_houdini.crowd.look import camera_shutter
    from genpost_houdini.shot.shot import Shot

    stage = _plane_stage(tmp_path / "c.usda")
    (tmp_path / "d.0001.exr").touch()
    (tmp_path / "d.0002.exr").touch()
    shot = Shot.open(tmp_path / "c.usda", camera="/cam", depth=str(tmp_path / "d.####.exr"), frames=[1, 2])
    assert camera_shutter(shot, 1) == 0.5, "unauthored: a 180-degree shutter"
    cam = UsdGeom.Camera(stage.GetPrimAtPath("/cam"))
    cam.CreateShutterOpenAttr(-0.125)
    cam.CreateShutterCloseAttr(0.125)
    stage.GetRootLayer().Save()
    shot = Shot.open(tmp_path / "c.usda", camera="/cam", depth=str(tmp_path / "d.####.exr"), frames=[1, 2])
    assert camera_shutter(shot, 1) == pytest.approx(0.25)


def test_hidden_people_are_staggered_into_gaps() -> None:
    """Five people in a line straight out from an eye-height camera hide each other's heads;
    staggered, every head shows beside the nearer people's shoulders (pinhole projection),
    nobody is closer than the spacing, nobody moved farther than the radius."""
    from genpost_houdini.crowd.stagger import stagger

    up, basis = np.array([0.0, 1.0, 0.0]), np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    cam = np.array([0.0, 1.65, 0.0])
    pos = np.array([[0.0, 0.0, -4.0 - 1.2 * k] for k in range(5)])
    spare = np.array([[x, 0.0, z] for x in np.arange(-3.0, 3.01, 0.3) for z in np.arange(-3.0, -11.0, -0.3)])
    new, moved = stagger(pos, spare, np.full(5, 1.75), [cam], up, basis, radius=1.8, spacing=0.6)
    assert moved >= 3
    assert np.sqrt(((new - pos) ** 2).sum(-1)).max() <= 1.8 + 1e-9
    d = np.sqrt(((new[:, None, [0, 2]] - new[None, :, [0, 2]]) ** 2).sum(-1))
    np.fill_diagonal(d, np.inf)
    assert d.min() >= 0.6 - 1e-9
    # Screen x of a point (pinhole looking down -z): u = x / -z. A head centre is hidden when it
    # falls inside a nearer person's shoulders (half width 0.22 m).
    u = new[:, 0] / -new[:, 2]
    for i in range(5):
        nearer = -new[:, 2] < -new[i, 2] - 0.05
        assert not np.any(nearer & (np.abs(u - u[i]) < 0.22 / -new[:, 2])), i
    # Nobody hidden, nobody moves.
    spread = np.array([[2.0 * k - 4.0, 0.0, -6.0] for k in range(5)])
    same, moved = stagger(spread, spare, np.full(5, 1.75), [cam], up, basis, radius=1.8, spacing=0.6)
    assert moved == 0 and np.array_equal(same, spread)


def test_decoded_sources_are_kept_and_invalidated_by_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A source decoded once comes back from the user cache bit for bit (also from a copy in
    another folder); changing a frame's pixels decodes again."""
    import shutil

    from genpost_houdini.crowd.sources import load_source
    from genpost_houdini.imageio import exr
    from genpost_houdini.samples.extras import build_extras

    monkeypatch.setenv("GENPOST_CACHE_DIR", str(tmp_path / "cache"))
    pattern = build_extras(tmp_path / "el", frames=4, height=48)
    first = load_source(0, pattern)
    assert len(list((tmp_path / "cache" / "sources").iterdir())) == 1
    shutil.copytree(tmp_path / "el", tmp_path / "copy")
    again = load_source(0, str(tmp_path / "copy" / "extras.####.exr"))
    assert not again.sprites.flags.writeable, "from the cache (memory-mapped)"
    assert np.array_equal(np.asarray(again.sprites), first.sprites) and again.info["crop"] == first.info["crop"]
    img = exr.read_exr(tmp_path / "copy" / "extras.0002.exr")
    rgba = {c: img.channel(c) for c in "RGBA"}
    rgba["R"] = rgba["R"] * 0.5
    exr.write_exr(tmp_path / "copy" / "extras.0002.exr", rgba, kinds={c: "colour" for c in "RGBA"})
    changed = load_source(0, str(tmp_path / "copy" / "extras.####.exr"))
    assert changed.sprites.flags.writeable, "decoded again"
    want = np.asarray(first.sprites[1, ..., 0], np.float32) * 0.5
    assert np.allclose(np.asarray(changed.sprites[1, ..., 0], np.float32), want, atol=2e-3)
    assert len(list((tmp_path / "cache" / "sources").iterdir())) == 2
