"""The bundled street's images: depth, extend mask, plate, truth, and their geometric consistency."""

from __future__ import annotations

import numpy as np
from pxr import Usd, UsdGeom

from genpost_houdini.imageio.exr import exr_info, read_depth, read_mask, read_rgb
from genpost_houdini.samples import SampleShot


def _usd_view(stage: Usd.Stage, camera: str, frame: int, w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    """K and camera-to-world (OpenCV axes) straight from the USD attributes (independent of our code)."""
    cam = UsdGeom.Camera(stage.GetPrimAtPath(camera))
    t = Usd.TimeCode(frame)
    f = cam.GetFocalLengthAttr().Get(t)
    hap, vap = cam.GetHorizontalApertureAttr().Get(t), cam.GetVerticalApertureAttr().Get(t)
    K = np.array([[w * f / hap, 0, w / 2 - 0.5], [0, h * f / vap, h / 2 - 0.5], [0, 0, 1]])
    c2w = np.array(cam.GetCamera(t).transform).T @ np.diag([1.0, -1.0, -1.0, 1.0])
    return K, c2w


def _backproject(depth: np.ndarray, K: np.ndarray, c2w: np.ndarray) -> np.ndarray:
    h, w = depth.shape
    v, u = np.mgrid[0:h, 0:w].astype(np.float64)
    cam = np.stack([(u - K[0, 2]) / K[0, 0] * depth, (v - K[1, 2]) / K[1, 1] * depth, depth], -1)
    return cam @ c2w[:3, :3].T + c2w[:3, 3]


def _project(points: np.ndarray, K: np.ndarray, c2w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    w2c = np.linalg.inv(c2w)
    cam = points @ w2c[:3, :3].T + w2c[:3, 3]
    z = cam[..., 2]
    return K[0, 0] * cam[..., 0] / z + K[0, 2], K[1, 1] * cam[..., 1] / z + K[1, 2], z


def test_files_and_channels(tiny_street: SampleShot) -> None:
    f = tiny_street.first_frame
    plate = exr_info(tiny_street.frame_path("plate", f))
    assert plate["channels"] == ["R", "G", "B"] and set(plate["types"].values()) == {"half"}
    assert plate["colourspace"] == "ACEScg"
    depth = exr_info(tiny_street.frame_path("depth", f))
    assert depth["channels"] == ["Z"] and depth["types"]["Z"] == "float"
    assert exr_info(tiny_street.frame_path("extend", f))["channels"] == ["mask"]
    assert exr_info(tiny_street.frame_path("holdout", f))["channels"] == ["mask"]
    for kind in ("plate", "depth", "extend", "truth", "holdout"):
        assert [fr for fr in tiny_street.frames if not tiny_street.frame_path(kind, fr).is_file()] == []


def test_depth_finite_and_positive_everywhere(tiny_street: SampleShot) -> None:
    for f in tiny_street.frames:
        z = read_depth(tiny_street.frame_path("depth", f))
        assert z.shape == (90, 160)
        assert np.isfinite(z).all() and (z > 0).all(), f


def test_extend_mask_is_the_blue_screen_and_the_rig_roto(tiny_street: SampleShot) -> None:
    """The plate is the truth (the clean set) except under the blue screen, under the rig (inside
    the extend mask, its roto) and where the car drives (the holdout, in the kept plate)."""
    from genpost_houdini.samples.raycast import BLUE_SCREEN

    blue = BLUE_SCREEN.astype(np.float16).astype(np.float32)
    roto_frames, car_centres = 0, []
    for f in tiny_street.frames:
        mask = read_mask(tiny_street.frame_path("extend", f))
        plate = read_rgb(tiny_street.frame_path("plate", f))
        truth = read_rgb(tiny_street.frame_path("truth", f))
        car = read_mask(tiny_street.frame_path("holdout", f)) > 0.5
        assert set(np.unique(mask)) == {0.0, 1.0}
        ext = mask > 0.5
        assert 0.1 < ext.mean() < 0.9, f
        is_blue = np.all(plate == blue, axis=-1)
        assert not (is_blue & ~ext).any(), f  # the screen is always extended
        rig = ext & ~is_blue  # the rig's roto: the rig and a few pixels of set around it
        if rig.sum() >= 4:
            roto_frames += 1
            assert (np.abs(plate[rig] - truth[rig]).max(axis=-1) > 0.02).any(), f  # the rig is there
        # Kept pixels are the full set's pixels but for the car; the car is in the kept plate.
        assert car.any() and not (car & ext).any(), f
        assert np.array_equal(plate[~ext & ~car], truth[~ext & ~car]), f
        assert (np.abs(plate[car] - truth[car]).max(axis=-1) > 0.02).mean() > 0.5, f
        car_centres.append(np.argwhere(car).mean(axis=0))
        assert not np.any(np.all(truth[ext] == blue, axis=-1))
        assert truth[ext].std(axis=0).min() > 0.02
    assert roto_frames >= len(tiny_street.frames) // 2
    # The car drives: its image moves by more than its own size over the shot.
    moved = np.linalg.norm(car_centres[-1] - car_centres[0])
    assert moved > 5.0, car_centres


def test_extend_is_above_the_cut_or_beyond_the_set(tiny_street: SampleShot) -> None:
    stage = Usd.Stage.Open(str(tiny_street.stage))
    f = tiny_street.first_frame
    K, c2w = _usd_view(stage, tiny_street.camera, f, 160, 90)
    pts = _backproject(read_depth(tiny_street.frame_path("depth", f)), K, c2w)
    ext = read_mask(tiny_street.frame_path("extend", f)) > 0.5
    # Filmed pixels are below the cut and inside the filmed street; most extension pixels are above it.
    assert pts[~ext][:, 1].max() < tiny_street.cut_height + 0.05
    assert pts[~ext][:, 2].min() > -70.0
    assert (pts[ext][:, 1] > tiny_street.cut_height - 0.05).mean() > 0.8


def test_reprojected_depth_matches_other_frames(tiny_street: SampleShot) -> None:
    """Back-project frame A's depth with the authored camera, project into B: B's depth agrees."""
    stage = Usd.Stage.Open(str(tiny_street.stage))
    frames = tiny_street.frames
    for a, b in ((frames[0], frames[-1]), (frames[-1], frames[0]), (frames[2], frames[5])):
        Ka, ca = _usd_view(stage, tiny_street.camera, a, 160, 90)
        Kb, cb = _usd_view(stage, tiny_street.camera, b, 160, 90)
        za = read_depth(tiny_street.frame_path("depth", a))
        zb = read_depth(tiny_street.frame_path("depth", b))
        u, v, z = _project(_backproject(za, Ka, ca), Kb, cb)
        ui, vi = np.rint(u).astype(int), np.rint(v).astype(int)
        inside = (z > 0) & (ui >= 0) & (ui < 160) & (vi >= 0) & (vi < 90) & (za < 300)
        assert inside.mean() > 0.3
        rel = np.abs(zb[vi[inside], ui[inside]] - z[inside]) / z[inside]
        assert np.median(rel) < 0.01, (a, b, np.median(rel))
        assert (rel < 0.02).mean() > 0.6


def test_filmed_pixels_lie_on_the_authored_set(tiny_street: SampleShot) -> None:
    """Every filmed pixel's 3D point is on the surface of a mesh under /shot/set (renderer == stage)."""
    stage = Usd.Stage.Open(str(tiny_street.stage))
    boxes = []
    for prim in Usd.PrimRange(stage.GetPrimAtPath(tiny_street.set_scope)):
        if prim.IsA(UsdGeom.Mesh):
            p = np.array(UsdGeom.Mesh(prim).GetPointsAttr().Get(), dtype=np.float64)
            boxes.append((p.min(0), p.max(0)))
    lo = np.array([b[0] for b in boxes])
    hi = np.array([b[1] for b in boxes])
    f = tiny_street.frames[3]
    K, c2w = _usd_view(stage, tiny_street.camera, f, 160, 90)
    depth = read_depth(tiny_street.frame_path("depth", f))
    keep = read_mask(tiny_street.frame_path("extend", f)) < 0.5
    pts = _backproject(depth, K, c2w)[keep]
    tol = 1e-3 * depth[keep][:, None] + 1e-3
    # Distance from each point to each box (0 inside or on it).
    d = np.linalg.norm(np.maximum(np.maximum(lo[None] - pts[:, None], pts[:, None] - hi[None]), 0), axis=-1)
    assert (d.min(axis=1) < tol[:, 0]).all()


def test_crowd_region_visible_over_the_whole_shot(tiny_street: SampleShot) -> None:
    stage = Usd.Stage.Open(str(tiny_street.stage))
    mesh = UsdGeom.Mesh(stage.GetPrimAtPath(tiny_street.crowd_region))
    pts = np.array(mesh.GetPointsAttr().Get(), dtype=np.float64)
    idx = np.array(mesh.GetFaceVertexIndicesAttr().Get()).reshape(-1, 4)
    centres = pts[idx].mean(axis=1)
    for f in tiny_street.frames:
        K, c2w = _usd_view(stage, tiny_street.camera, f, 160, 90)
        depth = read_depth(tiny_street.frame_path("depth", f))
        u, v, z = _project(centres, K, c2w)
        ui, vi = np.rint(u).astype(int), np.rint(v).astype(int)
        inside = (z > 0) & (ui >= 0) & (ui < 160) & (vi >= 0) & (vi < 90)
        assert inside.mean() > 0.8, f
        # The pixel of each cell centre sees the pavement top there (not a post, wall or the road).
        seen_pts = _backproject(depth, K, c2w)[vi[inside], ui[inside]]
        on_region = (np.abs(seen_pts[:, 1] - 0.15) < 0.03) & (np.abs(seen_pts[:, 0] - centres[inside, 0]) < 2.0)
        assert on_region.mean() > 0.8, (f, on_region.mean())


def test_extension_pixels_lie_on_the_authored_proxy(tiny_street: SampleShot) -> None:
    """Every pixel of the blue screen is, in 3D, on a mesh under /shot/extension or on the sky
    dome (the rig's roto, the rest of the extend mask, is over the filmed set)."""
    from genpost_houdini.samples.raycast import BLUE_SCREEN

    stage = Usd.Stage.Open(str(tiny_street.stage))
    lo, hi, spheres = [], [], []
    for prim in Usd.PrimRange(stage.GetPrimAtPath(tiny_street.extension_scope)):
        if prim.IsA(UsdGeom.Mesh):
            p = np.array(UsdGeom.Mesh(prim).GetPointsAttr().Get(), dtype=np.float64)
            idx = np.array(UsdGeom.Mesh(prim).GetFaceVertexIndicesAttr().Get()).reshape(-1, 4)
            for face in p[idx]:  # per face: the far ground is several quads
                lo.append(face.min(0))
                hi.append(face.max(0))
        elif prim.IsA(UsdGeom.Sphere):
            centre = np.array(UsdGeom.Xformable(prim).ComputeLocalToWorldTransform(Usd.TimeCode.Default()))[3, :3]
            spheres.append((centre, UsdGeom.Sphere(prim).GetRadiusAttr().Get()))
    lo_a, hi_a = np.array(lo), np.array(hi)
    f = tiny_street.frames[-1]
    K, c2w = _usd_view(stage, tiny_street.camera, f, 160, 90)
    depth = read_depth(tiny_street.frame_path("depth", f))
    blue = BLUE_SCREEN.astype(np.float16).astype(np.float32)
    ext = np.all(read_rgb(tiny_street.frame_path("plate", f)) == blue, axis=-1)
    pts = _backproject(depth, K, c2w)[ext]
    tol = 1e-3 * depth[ext] + 1e-3
    d = np.linalg.norm(np.maximum(np.maximum(lo_a[None] - pts[:, None], pts[:, None] - hi_a[None]), 0), axis=-1)
    on_mesh = d.min(axis=1) < tol
    (centre, radius), = spheres
    on_dome = np.abs(np.linalg.norm(pts - centre, axis=-1) - radius) < tol
    assert (on_mesh | on_dome).all()
    assert on_mesh.any() and on_dome.any()
