"""Set extension with a diffusion backend (tiny random Wan VACE on CPU), in process and through
the farm session's worker."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("diffusers")

from genpost_houdini.cli import main  # noqa: E402
from genpost_houdini.imageio import exr  # noqa: E402
from genpost_houdini.jobs import set_extension  # noqa: E402
from genpost_houdini.samples.street import build_street  # noqa: E402


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("setext_models")
    info = build_street(root / "shot", frames=3, width=96, height=64).to_json()
    assert main(["-q", "models", "make-tiny", "wan-vace", str(root / "tiny")]) == 0
    info["model"] = str(root / "tiny")
    info["root"] = root
    return info


def _params(info: dict) -> dict:
    return {k: info[k] for k in ("stage", "camera", "plate", "depth", "extend")} | {
        "frames": "1001-1003", "generator": "wan-vace", "model": info["model"], "seed": 5, "prompt": "a city street",
    }


@pytest.fixture(scope="module")
def in_process(setup: dict) -> Path:
    out = setup["root"] / "inproc"
    rc = main(["setext", "--stage", setup["stage"], "--plate", setup["plate"], "--depth", setup["depth"],
               "--extend", setup["extend"], "--frames", "1001-1003", "--out", str(out), "--generator", "wan-vace",
               "--model", setup["model"], "--seed", "5", "--prompt", "a city street", "--progress", "none"])
    assert rc == 0
    return out


def test_wan_vace_gives_complete_aovs(setup: dict, in_process: Path) -> None:
    for f in (1001, 1002, 1003):
        img = exr.read_exr(in_process / f"setext.{f}.exr")
        assert {"R", "G", "B", "A", "source"} <= set(img.channels)
        rgb = img.get(["R", "G", "B"])
        assert np.isfinite(rgb).all()
        mask = exr.read_mask(Path(setup["extend"].replace("####", str(f)))) >= 0.5
        plate = exr.read_rgb(Path(setup["plate"].replace("####", str(f))))
        assert np.array_equal(rgb[~mask], plate[~mask])
        assert (img.channel("source")[mask] > 0).all()
    meta = exr.read_exr(in_process / "setext.1002.exr").metadata
    assert meta["generator"] == "wan-vace"
    assert meta["weights_hash"] and "Apache-2.0" in meta["licence"]


def test_farm_session_worker_gives_the_same_pixels(setup: dict, in_process: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GENPOST_WORKER_DIR", str(tmp_path / "w"))
    env = set_extension.session_enter(_params(setup))
    assert set(env) == {set_extension.WORKER_SOCKET_ENV}
    monkeypatch.setenv(set_extension.WORKER_SOCKET_ENV, env[set_extension.WORKER_SOCKET_ENV])
    try:
        out = tmp_path / "viaworker"
        set_extension.run_job(_params(setup), [1001, 1002, 1003], out_dir=out)
        from genpost_houdini.runtime.worker import WorkerClient

        status = WorkerClient(env[set_extension.WORKER_SOCKET_ENV], autostart=False).ping()
        assert status and status["pid"] != os.getpid()
        assert any(setup["model"] in " ".join(key) for key in status["loaded"]), "the worker holds the model"
    finally:
        set_extension.session_exit(_params(setup))
    for f in (1001, 1002, 1003):
        a = exr.read_exr(in_process / f"setext.{f}.exr").pixels
        b = exr.read_exr(out / f"setext.{f}.exr").pixels
        assert np.array_equal(a, b)


def test_classical_needs_no_session_worker(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GENPOST_WORKER_DIR", str(tmp_path))
    assert set_extension.session_enter({"generator": "classical"}) == {}
    assert not list(tmp_path.glob("*.sock")), "no worker was started"


def test_video_holes_use_whole_windows_and_any_chunking_matches(setup: dict, tmp_path: Path) -> None:
    """With one keyframe, a video generator fills what it did not see over whole windows aligned
    to the shot; rendering the frames one chunk at a time gives the same pixels."""
    params = _params(setup) | {"max_keyframes": 1}
    whole, chunks = tmp_path / "whole", tmp_path / "chunks"
    set_extension.run_job(params, [1001, 1002, 1003], out_dir=whole)
    for chunk in ([1003], [1001, 1002]):
        set_extension.run_job(params, chunk, out_dir=chunks)
    holes = sorted((whole / ".genpost" / "holes").glob("hole.*.exr"))
    assert len(holes) == 3, "one window covers the whole 3-frame shot"
    generated = 0
    for f in (1001, 1002, 1003):
        a = exr.read_exr(whole / f"setext.{f}.exr")
        assert np.array_equal(a.pixels, exr.read_exr(chunks / f"setext.{f}.exr").pixels)
        generated += int((a.channel("source") == 3).sum())
    assert generated > 0
