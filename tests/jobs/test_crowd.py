"""Crowd replication on the bundled street shot (tiny), checked in 3D with the shot camera."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from genpost_houdini.cli import main
from genpost_houdini.imageio import exr
from genpost_houdini.samples.extras import build_extras
from genpost_houdini.samples.street import build_street
from genpost_houdini.shot.camera import CameraTrack

FRAMES = "1001-1006"


@pytest.fixture(scope="module")
def street(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("crowd")
    info = build_street(root / "shot", frames=6, width=320, height=180).to_json()
    info["extras"] = build_extras(root / "extras", frames=8, height=96)
    info["root"] = str(root)
    return info


def _crowd(street: dict, out: Path, *extra: str) -> int:
    return main([
        "crowd", "--stage", street["stage"], "--region", street["crowd_region"],
        "--source", street["extras"], "--depth", street["depth"], "--frames", FRAMES,
        "--count", "40", "--seed", "7", "--out", str(out), "--progress", "none", *extra,
    ])


@pytest.fixture(scope="module")
def crowd_out(street: dict) -> Path:
    out = Path(street["root"]) / "out"
    assert _crowd(street, out) == 0
    return out


def test_outputs_and_layer(crowd_out: Path) -> None:
    from pxr import Usd, UsdGeom

    img = exr.read_exr(crowd_out / "crowd.1003.exr")
    for name in ("R", "G", "B", "A", "Z", "crowd_id"):
        assert name in img.channels
    ids = img.channel("crowd_id")
    assert np.array_equal(ids, np.rint(ids)), "ids are float-exact integers"
    stage = Usd.Stage.Open(str(crowd_out / "crowd.usda"))
    inst = UsdGeom.PointInstancer(stage.GetPrimAtPath("/genpost_crowd/instancer"))
    usd_ids = list(inst.GetIdsAttr().Get())
    assert len(usd_ids) == len(set(usd_ids)) == 40
    assert len(inst.GetPositionsAttr().Get()) == 40
    assert len(inst.GetOrientationsAttr().Get(1003)) == 40
    visible = {int(v) for v in np.unique(ids) if v > 0}
    assert visible and visible <= set(usd_ids)
    assert img.metadata["job"] == "crowd"
    assert "GENPOST-SYNTHETIC-0001" in json.dumps(img.metadata["sources"])
    sprite = crowd_out / "sprites" / "source_0.0001.exr"
    assert sprite.is_file()


def test_instances_stand_on_the_region_in_3d(street: dict, crowd_out: Path) -> None:
    """Feet positions (from the layer) lie on the region; where a person's feet are seen, the
    crowd's depth there back-projects onto the region's surface."""
    from pxr import Usd, UsdGeom

    track = CameraTrack.open(street["stage"], street["camera"])
    stage = Usd.Stage.Open(street["stage"])
    pts = np.array(UsdGeom.Mesh(stage.GetPrimAtPath(street["crowd_region"])).GetPointsAttr().Get(), dtype=np.float64)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    layer = Usd.Stage.Open(str(crowd_out / "crowd.usda"))
    inst = UsdGeom.PointInstancer(layer.GetPrimAtPath("/genpost_crowd/instancer"))
    ids = list(inst.GetIdsAttr().Get())
    seen = 0
    for frame in (1001, 1006):
        pos = np.array(inst.GetPositionsAttr().Get(frame), np.float64)
        hidden = set(inst.GetInvisibleIdsAttr().Get(frame) or [])
        on = np.array([i not in hidden for i in ids])
        p = pos[on]
        assert (np.abs(p[:, 1] - lo[1]) < 1e-3).all(), "feet on the region's surface"
        assert (p[:, 0] >= lo[0] - 1e-3).all() and (p[:, 0] <= hi[0] + 1e-3).all()
        assert (p[:, 2] >= lo[2] - 1e-3).all() and (p[:, 2] <= hi[2] + 1e-3).all()
        img = exr.read_exr(crowd_out / f"crowd.{frame}.exr")
        view = track.view(frame, img.width, img.height)
        cam = p @ view.world_to_camera[:3, :3].T + view.world_to_camera[:3, 3]
        uv = cam @ view.K.T
        uv = uv[:, :2] / uv[:, 2:3]
        c2w = np.linalg.inv(view.world_to_camera)
        idc, z = img.channel("crowd_id"), img.channel("Z")
        for (x, y), iid in zip(uv, np.array(ids)[on]):
            xi, yi = int(round(x)), int(round(y - 1))  # the pixel just above the sole
            if not (0 <= xi < img.width and 0 <= yi < img.height) or idc[yi, xi] != iid:
                continue  # feet hidden by someone nearer, or by the set
            ray = np.linalg.inv(view.K) @ np.array([xi, yi, 1.0])
            world = c2w[:3, :3] @ (ray * z[yi, xi]) + c2w[:3, 3]
            assert abs(world[1] - lo[1]) < 0.3
            seen += 1
    assert seen >= 5


def test_occluded_by_the_set(street: dict, crowd_out: Path) -> None:
    for frame in (1002, 1005):
        img = exr.read_exr(crowd_out / f"crowd.{frame}.exr")
        set_depth = exr.read_depth(Path(street["depth"].replace("####", str(frame))))
        cover = img.channel("A") > 0.5
        assert cover.any()
        assert (img.channel("Z")[cover] <= set_depth[cover] * 1.021).all()


def test_ids_stable_and_rerun_identical(street: dict, crowd_out: Path) -> None:
    a = exr.read_exr(crowd_out / "crowd.1002.exr").channel("crowd_id")
    b = exr.read_exr(crowd_out / "crowd.1003.exr").channel("crowd_id")
    ids_a, ids_b = {int(v) for v in np.unique(a) if v > 0}, {int(v) for v in np.unique(b) if v > 0}
    assert len(ids_a & ids_b) >= 0.8 * max(len(ids_a), len(ids_b))
    again = Path(street["root"]) / "again"
    assert _crowd(street, again) == 0
    for f in (1001, 1004):
        x = exr.read_exr(crowd_out / f"crowd.{f}.exr").pixels
        y = exr.read_exr(again / f"crowd.{f}.exr").pixels
        assert np.array_equal(x, y)
    other = Path(street["root"]) / "seed8"
    assert main(["crowd", "--stage", street["stage"], "--region", street["crowd_region"], "--source", street["extras"],
                 "--depth", street["depth"], "--frames", "1001-1001", "--count", "40", "--seed", "8", "--out", str(other),
                 "--progress", "none"]) == 0
    assert not np.array_equal(exr.read_exr(other / "crowd.1001.exr").pixels, exr.read_exr(crowd_out / "crowd.1001.exr").pixels)


def test_consent_required(street: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = Path(street["extras"]).parent
    copy = tmp_path / "noconsent"
    shutil.copytree(src, copy)
    for f in copy.glob("*.json"):
        f.unlink()
    pattern = str(copy / "extras.####.exr")
    args = ["crowd", "--stage", street["stage"], "--region", street["crowd_region"], "--source", pattern,
            "--depth", street["depth"], "--frames", "1001-1001", "--count", "5", "--out", str(tmp_path / "o"), "--progress", "none"]
    assert main(args) == 3
    assert "consent" in capsys.readouterr().err
    assert main(args + ["--no-consent-record"]) == 0
    meta = exr.read_exr(tmp_path / "o" / "crowd.1001.exr").metadata
    assert str(meta.get("no_consent_record")).lower() in ("true", "1")


def test_unknown_region_prim(street: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["crowd", "--stage", street["stage"], "--region", "/nope", "--source", street["extras"],
               "--depth", street["depth"], "--frames", "1001-1001", "--out", str(tmp_path), "--progress", "none"])
    assert rc == 3
    assert "/nope" in capsys.readouterr().err


def test_job_file_run_matches_direct_run(street: dict, crowd_out: Path, tmp_path: Path) -> None:
    job = tmp_path / "crowd.json"
    out = tmp_path / "viajob"
    assert _crowd(street, out, "--save-job", str(job)) == 0
    assert not out.exists(), "--save-job runs nothing"
    assert main(["run", str(job), "--frames", "1002-1003", "--progress", "none"]) == 0
    for f in (1002, 1003):
        assert np.array_equal(exr.read_exr(out / f"crowd.{f}.exr").pixels, exr.read_exr(crowd_out / f"crowd.{f}.exr").pixels)


def test_generated_variants_with_a_video_model(street: dict, tmp_path: Path) -> None:
    pytest.importorskip("diffusers")
    tiny = tmp_path / "tiny"
    assert main(["-q", "models", "make-tiny", "wan-vace", str(tiny)]) == 0
    out = tmp_path / "variants"
    rc = main(["crowd", "--stage", street["stage"], "--region", street["crowd_region"], "--source", street["extras"],
               "--depth", street["depth"], "--frames", "1001-1002", "--count", "12", "--seed", "2", "--out", str(out),
               "--generator", "wan-vace", "--model", str(tiny), "--variants", "2", "--progress", "none"])
    assert rc == 0
    from pxr import Usd, UsdGeom

    stage = Usd.Stage.Open(str(out / "crowd.usda"))
    inst = UsdGeom.PointInstancer(stage.GetPrimAtPath("/genpost_crowd/instancer"))
    assert len(inst.GetPrototypesRel().GetTargets()) == 3, "the source and its two generated variants"
    meta = exr.read_exr(out / "crowd.1001.exr").metadata
    assert meta["generator"] == "wan-vace" and "Apache-2.0" in meta["licence"]
    sources = meta["sources"] if isinstance(meta["sources"], list) else json.loads(meta["sources"])
    variants = [s for s in sources if s.get("variant_of") == 0]
    assert len(variants) == 2 and all(s["consent_reference"] == "GENPOST-SYNTHETIC-0001" for s in variants)
    a = exr.read_exr(out / "sprites" / "source_1.0001.exr").get(["R", "G", "B", "A"])
    b = exr.read_exr(out / "sprites" / "source_0.0001.exr").get(["R", "G", "B", "A"])
    assert np.array_equal(a[..., 3], b[..., 3]), "same alpha (same motion)"
    assert not np.allclose(a[..., :3], b[..., :3]), "a different person"


def test_variants_need_a_generative_backend(street: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _crowd(street, tmp_path / "o", "--variants", "2") == 2
    assert "--variants needs a generative backend" in capsys.readouterr().err
