"""Tiny model folders (`genpost models make-tiny`) and the `genpost models` commands."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from genpost_houdini.cli import main


def test_make_tiny_writes_a_safe_loadable_folder(tiny_wan: Path, tiny_sd: Path) -> None:
    for folder, kind, cls in ((tiny_wan, "wan-vace", "WanVACEPipeline"), (tiny_sd, "sd-inpaint-depth", "StableDiffusionControlNetInpaintPipeline")):
        meta = json.loads((folder / "genpost.json").read_text())
        assert meta["kind"] == kind and meta["model_id"] == f"genpost/tiny-{kind}"
        assert meta["licence"] == "Apache-2.0 (random weights, test only)"
        assert json.loads((folder / "model_index.json").read_text())["_class_name"] == cls
        files = [p.name for p in folder.rglob("*") if p.is_file()]
        assert any(n.endswith(".safetensors") for n in files)
        assert not any(n.endswith((".bin", ".pt", ".pth", ".ckpt")) for n in files)
        assert not any(".genpost-tmp-" in p.name for p in folder.parent.iterdir())


def test_save_load_round_trip_is_identical(tiny_wan: Path) -> None:
    """The in-memory tiny pipeline and the one loaded from its folder give identical frames."""
    import diffusers
    import torch

    from genpost_houdini.generators.tiny import build_tiny

    built = build_tiny("wan-vace", seed=0)
    loaded = diffusers.WanVACEPipeline.from_pretrained(str(tiny_wan), local_files_only=True, use_safetensors=True)
    rng = np.random.default_rng(0)
    video = rng.random((1, 5, 32, 32, 3)).astype(np.float32)
    mask = np.zeros_like(video)
    mask[..., 16:, :] = 1.0
    outs = []
    for pipe in (built, loaded):
        pipe.set_progress_bar_config(disable=True)
        outs.append(
            pipe(
                prompt="a city", video=video, mask=mask, height=32, width=32, num_frames=5, num_inference_steps=2,
                guidance_scale=1.0, generator=torch.Generator().manual_seed(0), output_type="np", max_sequence_length=16,
            ).frames
        )
    assert outs[0].shape == (1, 5, 32, 32, 3)
    assert np.array_equal(outs[0], outs[1])


def test_make_tiny_refuses_a_non_empty_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "busy"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    assert main(["models", "make-tiny", "wan-vace", str(target)]) == 2
    assert (target / "keep.txt").read_text() == "mine"
    assert "not empty" in capsys.readouterr().err
    assert main(["models", "make-tiny", "nonsense", str(tmp_path / "x")]) == 2


def test_list_and_info(tiny_wan: Path, tiny_sd: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    monkeypatch.setenv("GENPOST_MODELS", str(tiny_wan.parent))
    assert main(["models", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    (entry,) = [m for m in listed["models"] if m["name"] == "wan-vace"]
    assert entry["pipeline"] == "WanVACEPipeline" and entry["kind"] == "wan-vace"
    assert entry["licence"].startswith("Apache-2.0") and entry["pickle"] == []

    assert main(["models", "info", str(tiny_sd), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["loadable"] and len(info["weights_hash"]) == 64

    import shutil

    risky = tmp_path / "risky"
    shutil.copytree(tiny_sd, risky)
    (risky / "unet" / "diffusion_pytorch_model.bin").write_bytes(b"pickle")
    assert main(["models", "info", str(risky), "--json"]) == 3
    info = json.loads(capsys.readouterr().out)
    assert not info["loadable"] and "unet/diffusion_pytorch_model.bin" in info["refused"]
    assert main(["models", "info", str(risky), "--json", "--allow-pickle"]) == 0
    capsys.readouterr()


def test_make_tiny_cli_writes_the_folder(tmp_path: Path) -> None:
    target = tmp_path / "cli-wan"
    assert main(["models", "make-tiny", "wan-vace", str(target), "--seed", "1"]) == 0
    assert json.loads((target / "genpost.json").read_text())["seed"] == 1
    assert (target / "transformer" / "diffusion_pytorch_model.safetensors").is_file()
