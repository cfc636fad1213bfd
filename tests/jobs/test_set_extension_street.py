"""Set extension end to end on a tiny bundled street shot: contracts, chunking, layer, errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from genpost_houdini.cli import main
from genpost_houdini.imageio import exr
from genpost_houdini.samples.street import build_street


@pytest.fixture(scope="module")
def street(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("street")
    info = build_street(root / "shot", frames=8, width=192, height=108).to_json()
    info["root"] = str(root)
    return info


def _setext(street: dict, out: Path, frames: str, *extra: str) -> int:
    return main([
        "setext", "--stage", street["stage"], "--camera", street["camera"], "--plate", street["plate"],
        "--depth", street["depth"], "--extend", street["extend"], "--frames", frames, "--out", str(out),
        "--progress", "none", *extra,
    ])


@pytest.fixture(scope="module")
def full_run(street: dict) -> Path:
    out = Path(street["root"]) / "full"
    assert _setext(street, out, "1001-1008") == 0
    return out


def test_sources_and_kept_plate(street: dict, full_run: Path) -> None:
    for f in (1001, 1005, 1008):
        plate = exr.read_rgb(Path(street["plate"].replace("####", str(f))))
        mask = exr.read_mask(Path(street["extend"].replace("####", str(f)))) >= 0.5
        img = exr.read_exr(full_run / f"setext.{f}.exr")
        src = img.channel("source")
        assert np.array_equal(img.get(["R", "G", "B"])[~mask], plate[~mask])
        assert (src[~mask] == 0).all() and (src[mask] > 0).all()
        assert set(np.unique(src)) <= {0.0, 1.0, 2.0, 3.0}
        channels = img.get(["R", "G", "B", "A", "source", "matte", "confidence"])
        assert np.isfinite(channels).all()
        # Z is the shot's depth (the street's is finite everywhere), carried exactly.
        depth = exr.read_depth(Path(street["depth"].replace("####", str(f))))
        assert np.isfinite(depth).all() and np.array_equal(img.channel("Z"), depth)
        assert img.metadata["generator"] == "classical"
        assert img.metadata["inputs_hash"]
        assert img.metadata.get("colourspace") == "ACEScg" or img.colourspace == "ACEScg"


def _rig_roto(street: dict, f: int) -> np.ndarray:
    """The rig's roto in frame ``f``: the extend mask where the plate is not the blue screen."""
    from genpost_houdini.samples.raycast import BLUE_SCREEN

    plate = exr.read_rgb(Path(street["plate"].replace("####", str(f))))
    mask = exr.read_mask(Path(street["extend"].replace("####", str(f)))) >= 0.5
    return mask & ~np.all(plate == BLUE_SCREEN.astype(np.float16).astype(np.float32), axis=-1)


def test_masked_pixels_against_the_truth_frames(street: dict, full_run: Path) -> None:
    """The sample renders what the blue screen and the rig hide (``truth``): the whole extension
    is far closer to the truth than the plate's mean colour (measured 0.18 vs 0.30), the rig's
    roto is filled partly from other frames' plates (``source`` 1), and the car driving through
    the kept plate (no --holdout) never shows up in the extension."""
    from genpost_houdini.qc.truth_score import object_coloured
    from genpost_houdini.samples.props import CAR_PAINT
    from genpost_houdini.samples.raycast import REC709_TO_ACESCG

    paint = REC709_TO_ACESCG @ np.asarray(CAR_PAINT, np.float32)
    ours, baseline, carried, car = [], [], 0, 0
    for f in range(1001, 1009):
        img = exr.read_exr(full_run / f"setext.{f}.exr")
        rgb = img.get(["R", "G", "B"])
        truth = exr.read_rgb(Path(street["truth"].replace("####", str(f))))
        plate = exr.read_rgb(Path(street["plate"].replace("####", str(f))))
        mask = exr.read_mask(Path(street["extend"].replace("####", str(f)))) >= 0.5
        ours.append(np.abs(rgb - truth).mean(axis=-1)[mask])
        baseline.append(np.abs(plate[~mask].mean(axis=0) - truth[mask]).mean(axis=-1))
        carried += int((_rig_roto(street, f) & (img.channel("source") == 1)).sum())
        car += int((mask & object_coloured(rgb, paint) & ~object_coloured(truth, paint)).sum())
    assert np.concatenate(ours).mean() < 0.75 * np.concatenate(baseline).mean()
    assert carried > 0
    assert car <= 0.001 * sum(a.size for a in ours)


@pytest.mark.xfail(strict=True, reason=(
    "known defect (issue 11, demo engineer's report): the blend fades a patch's own structure "
    "in over 3 % of the image from the kept plate and gain-matches it on a ring, so a rig roto "
    "filled from other frames' plates comes out smoothed: median error ~0.12 against the truth "
    "while the raw reprojection is ~0.01 (test_carried_plate_is_the_surface_seen)"))
def test_pixels_carried_from_other_frames_match_the_truth(street: dict, full_run: Path) -> None:
    """Pixels of the rig's roto carried from another frame's plate (``source`` 1) are that
    surface: median error against the truth below 0.03."""
    carried = []
    for f in range(1001, 1009):
        img = exr.read_exr(full_run / f"setext.{f}.exr")
        truth = exr.read_rgb(Path(street["truth"].replace("####", str(f))))
        sel = _rig_roto(street, f) & (img.channel("source") == 1)
        carried.append(np.abs(img.get(["R", "G", "B"]) - truth).mean(axis=-1)[sel])
    carried_all = np.concatenate(carried)
    assert carried_all.size >= 50 and np.median(carried_all) < 0.03


def test_carried_plate_is_the_surface_seen(street: dict) -> None:
    """The sample is exact: another frame's kept plate, reprojected with depth and camera into
    the rig's roto, is the truth there (what set extension should carry)."""
    from genpost_houdini.geometry import reproject
    from genpost_houdini.shot.camera import CameraTrack

    track = CameraTrack.open(Path(street["stage"]), street["camera"])
    w, h = street["resolution"]
    read = lambda kind, f: Path(street[kind].replace("####", str(f)))  # noqa: E731
    t, errors = 1008, []
    depth_t, view_t = exr.read_depth(read("depth", t)), track.view(t, w, h)
    truth = exr.read_rgb(read("truth", t))
    roto = _rig_roto(street, t)
    for s in (1001, 1003, 1005):
        kept = (exr.read_mask(read("extend", s)) < 0.5) & (exr.read_mask(read("holdout", s)) < 0.5)
        planes = np.concatenate([exr.read_rgb(read("plate", s)), kept.astype(np.float32)[..., None]], axis=-1)
        sampled, valid = reproject(planes, exr.read_depth(read("depth", s)), track.view(s, w, h), depth_t, view_t)
        ok = roto & valid & (sampled[..., 3] > 0.99)
        errors.append(np.abs(sampled[..., :3] - truth).mean(axis=-1)[ok])
    err = np.concatenate(errors)
    assert err.size >= 20 and np.median(err) < 0.03


def test_plan_prefers_projection(full_run: Path) -> None:
    plan = json.loads(next((full_run / ".genpost").glob("plan.*.json")).read_text())
    assert plan["keyframes"], "the region above the filmed set is seen by no plate: keyframes are needed"
    assert set(plan["keyframes"]) <= set(range(1001, 1009))
    assert plan["missing_after_keyframes"] < 0.1 * plan["missing_after_plates"]


def test_any_chunking_gives_identical_pixels(street: dict, full_run: Path) -> None:
    chunked = Path(street["root"]) / "chunked"
    assert _setext(street, chunked, "1005-1008", "--shot-frames", "1001-1008") == 0
    assert _setext(street, chunked, "1001-1004", "--shot-frames", "1001-1008") == 0
    for f in range(1001, 1009):
        a = exr.read_exr(full_run / f"setext.{f}.exr")
        b = exr.read_exr(chunked / f"setext.{f}.exr")
        assert np.array_equal(a.pixels, b.pixels), f"frame {f} differs between chunkings"


def test_rerun_skips_done_frames(street: dict, full_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert _setext(street, full_run, "1001-1008", "--json") == 0
    result = json.loads(capsys.readouterr().out)
    assert result["written"] == "" and result["skipped"] == "1001-1008"


def test_layer_sublayers_onto_the_shot(street: dict, full_run: Path) -> None:
    from pxr import Sdf, Usd, UsdGeom, UsdShade

    stage = Usd.Stage.Open(street["stage"])
    stage.GetRootLayer().subLayerPaths.insert(0, str(full_run / "setext.usda"))
    card = stage.GetPrimAtPath(street["camera"] + "/genpost_setext")
    assert card and card.IsA(UsdGeom.Mesh)
    tex = UsdShade.Shader(stage.GetPrimAtPath(street["camera"] + "/genpost_setext/material/texture"))
    file_attr = tex.GetInput("file").GetAttr()
    assert file_attr.GetTimeSamples() == list(range(1001, 1009))
    assert file_attr.Get(1004).path == "./setext.1004.exr"
    assert file_attr.GetColorSpace() == "ACEScg"
    layer = Sdf.Layer.FindOrOpen(str(full_run / "setext.usda"))
    assert layer.customLayerData["genpost"]["generator"] == "classical"
    # The card sits inside the frustum, in front of the camera, within the clipping range.
    pts = np.array(UsdGeom.Mesh(card).GetPointsAttr().Get())
    assert (pts[:, 2] < 0).all()


def test_bad_inputs_exit_3_naming_the_file(street: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shot = Path(street["plate"]).parent
    broken = tmp_path / "shot"
    shutil.copytree(shot, broken)
    (broken / "plate.1003.exr").unlink()
    args = ["setext", "--stage", str(broken / Path(street["stage"]).name), "--plate", str(broken / "plate.####.exr"),
            "--depth", str(broken / "depth.####.exr"), "--extend", str(broken / "extend.####.exr"),
            "--frames", "1001-1004", "--out", str(tmp_path / "o"), "--progress", "none"]
    assert main(args) == 3
    assert "plate.1003.exr" in capsys.readouterr().err
    assert not (tmp_path / "o" / "setext.1001.exr").exists()

    assert main(args[:-6] + ["--camera", "/no/such/camera"] + args[-6:]) == 3
    assert "/no/such/camera" in capsys.readouterr().err

    small = exr.read_exr(broken / "depth.1002.exr")
    exr.write_exr(broken / "depth.1002.exr", {"Z": small.channel("Z")[::2, ::2]}, kinds={"Z": "depth"})
    shutil.copy(shot / "plate.1003.exr", broken / "plate.1003.exr")
    assert main(args) == 3
    assert "depth.1002.exr" in capsys.readouterr().err


def test_no_hit_depth_in_the_mask_is_generated_not_propagated(street: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shot = Path(street["plate"]).parent
    copy = tmp_path / "shot"
    shutil.copytree(shot, copy)
    for f in (1001, 1002, 1003):
        depth = exr.read_exr(copy / f"depth.{f}.exr").channel("Z")
        mask = exr.read_mask(copy / f"extend.{f}.exr") >= 0.5
        depth[:8][mask[:8]] = 1e17  # Karma's "no hit" at the top of the frame
        exr.write_exr(copy / f"depth.{f}.exr", {"Z": depth}, kinds={"Z": "depth"})
    out = tmp_path / "out"
    capsys.readouterr()
    rc = main(["setext", "--stage", street["stage"], "--plate", str(copy / "plate.####.exr"), "--depth", str(copy / "depth.####.exr"),
               "--extend", str(copy / "extend.####.exr"), "--frames", "1001-1003", "--out", str(out), "--progress", "none"])
    assert rc == 0
    assert "no depth" in capsys.readouterr().err
    img = exr.read_exr(out / "setext.1002.exr")
    assert np.isfinite(img.get(["R", "G", "B"])).all()
