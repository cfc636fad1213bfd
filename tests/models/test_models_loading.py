"""Safe, offline loading of local model folders (runtime/loading.py) on real tiny folders."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from genpost_houdini.errors import ModelError
from genpost_houdini.runtime import loading


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_missing_folder_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(ModelError, match="nowhere"):
        loading.check_model_folder(missing)
    with pytest.raises(ModelError, match="nowhere"):
        loading.resolve_model_dir(missing, "wan-vace")


def test_folder_without_model_index_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "empty-model"
    folder.mkdir()
    (folder / "weights.safetensors").write_bytes(b"\0" * 16)
    with pytest.raises(ModelError, match=r"empty-model.*model_index\.json"):
        loading.check_model_folder(folder)


def test_models_env_resolves_names(tiny_wan: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENPOST_MODELS", str(tiny_wan.parent))
    assert loading.resolve_model_dir(None, tiny_wan.name) == tiny_wan.resolve()
    assert loading.resolve_model_dir(tiny_wan.name, "other") == tiny_wan.resolve()
    monkeypatch.delenv("GENPOST_MODELS")
    with pytest.raises(ModelError, match="GENPOST_MODELS"):
        loading.resolve_model_dir(None, "wan-vace")


def test_wrong_pipeline_class_is_refused(tiny_sd: Path) -> None:
    with pytest.raises(ModelError, match="StableDiffusionControlNetInpaintPipeline.*expected WanVACEPipeline"):
        loading.check_model_folder(tiny_sd, expect_class="WanVACEPipeline")


def test_pickle_refused_unless_allowed(tiny_wan: Path, tmp_path: Path, no_network: list[object]) -> None:
    folder = _copy(tiny_wan, tmp_path / "with-pickle")
    (folder / "vae" / "extra.ckpt").write_bytes(b"not really a checkpoint")
    with pytest.raises(ModelError) as err:
        loading.load_pipeline("WanVACEPipeline", folder)
    message = str(err.value)
    assert "vae/extra.ckpt" in message and "--allow-pickle" in message and str(folder) in message
    pipe = loading.load_pipeline("WanVACEPipeline", folder, allow_pickle=True)
    assert type(pipe).__name__ == "WanVACEPipeline"
    assert no_network == []


@pytest.mark.parametrize("suffix", [".bin", ".pt", ".pth", ".ckpt"])
def test_every_pickle_suffix_is_found(tmp_path: Path, suffix: str) -> None:
    folder = tmp_path / "m"
    (folder / "unet").mkdir(parents=True)
    (folder / "model_index.json").write_text('{"_class_name": "X"}')
    (folder / "unet" / f"w{suffix}").write_bytes(b"x")
    with pytest.raises(ModelError, match="pickle"):
        loading.check_model_folder(folder)
    assert loading.check_model_folder(folder, allow_pickle=True).pickles


def test_load_is_offline_and_local(tiny_wan: Path, no_network: list[object], monkeypatch: pytest.MonkeyPatch) -> None:
    for key in loading.OFFLINE_ENV:
        monkeypatch.delenv(key, raising=False)
    pipe = loading.load_pipeline("WanVACEPipeline", tiny_wan)
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert os.environ["TRANSFORMERS_OFFLINE"] == "1"
    assert os.environ["DIFFUSERS_OFFLINE"] == "1"
    import huggingface_hub.constants as hf_constants

    assert hf_constants.HF_HUB_OFFLINE
    assert no_network == []
    assert not any(m.training for m in pipe.components.values() if hasattr(m, "training"))


def test_licence_sources(tiny_wan: Path, tmp_path: Path) -> None:
    assert loading.read_licence(tiny_wan) == "Apache-2.0 (random weights, test only)"
    folder = _copy(tiny_wan, tmp_path / "card-only")
    (folder / "genpost.json").unlink()
    (folder / "README.md").write_text("---\nlicense: other\nlicense_name: studio-eula\nbase_model: acme/wan\n---\n# x\n")
    assert loading.read_licence(folder) == "other (studio-eula)"
    assert loading.read_model_id(folder) == "acme/wan"
    (folder / "README.md").write_text("# no front matter\n")
    assert loading.read_licence(folder) == "unknown"
    assert loading.read_model_id(folder) == "card-only"


def test_weights_hash_is_cached_and_tracks_content(tiny_wan: Path, tmp_path: Path) -> None:
    folder = _copy(tiny_wan, tmp_path / "hashed")
    first = loading.weights_hash(folder)
    assert first == loading.weights_hash(tiny_wan)  # same bytes, same hash, wherever the folder is
    cache = Path(os.environ["GENPOST_CACHE"]) / "weights-hashes.json"
    assert first in json.loads(cache.read_text()).values()
    weights = folder / "vae" / "diffusion_pytorch_model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    assert loading.weights_hash(folder) != first
    prov = loading.model_provenance(tiny_wan)
    assert prov["model_id"] == "genpost/tiny-wan-vace"
    assert prov["weights_hash"] == first and len(first) == 64
    assert prov["licence"].startswith("Apache-2.0")
