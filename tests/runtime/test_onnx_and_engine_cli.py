"""ONNX export parity, the swapped-in ONNX denoiser, and `genpost engine build|list|prune`."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from genpost_houdini.errors import DependencyError
from genpost_houdini.runtime.engine_cache import EngineCache

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

pytest.importorskip("onnxruntime")
pytest.importorskip("diffusers")


def _genpost(*args, cache):
    env = {**os.environ, "GENPOST_ENGINE_CACHE": str(cache), "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, "-m", "genpost_houdini.cli", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_two_concurrent_builds_make_exactly_one_valid_entry(concurrent_build):
    cache, results = concurrent_build
    for code, out, err in results:
        assert code == 0, err
    outputs = [json.loads(out) for _, out, _ in results]
    names = {rows[0]["name"] for rows in outputs}
    assert len(names) == 1
    entries = EngineCache(cache).entries()
    assert len(entries) == 1 and entries[0].valid
    # one process exported, the other waited for the lock and reused the entry
    logs = [err for _, _, err in results]
    assert sum("built" in e and "engine cache" in e for e in logs) == 1
    assert sum("reusing ONNX" in e for e in logs) == 1
    assert not [p for p in cache.iterdir() if p.name.startswith(".tmp-")]


def test_export_matches_pytorch_on_other_shapes(onnx_entry, tiny_transformer_from_dir):
    from genpost_houdini.runtime.onnx_export import ONNX_FILE, validate_onnx

    entry, seconds = onnx_entry
    assert entry.key["backend"] == "onnxruntime" and entry.key["opset"] == 18
    assert entry.meta["parity_max_abs_diff"] < 1e-4  # checked at build time
    # dynamic frames / height / width / text length, none equal to the export sample
    worst = validate_onnx(tiny_transformer_from_dir, entry.file(ONNX_FILE),
                          shapes=[(1, 2, 2, 3), (3, 4, 6, 11), (5, 8, 4, 16)])
    assert worst < 1e-4


def test_exported_graph_has_dynamic_dims(onnx_entry):
    import onnx

    from genpost_houdini.runtime.onnx_export import ONNX_FILE

    entry, _ = onnx_entry
    model = onnx.load(str(entry.file(ONNX_FILE)), load_external_data=False)
    dims = {i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in model.graph.input}
    assert all(isinstance(d, str) for d in dims["hidden_states"][2:])
    assert isinstance(dims["encoder_hidden_states"][1], str)
    assert model.opset_import[0].version == 18


def _run(pipe, seed=0):
    import PIL.Image
    import torch

    rng = np.random.default_rng(3)
    video = [PIL.Image.fromarray((rng.random((16, 32, 3)) * 255).astype(np.uint8)) for _ in range(5)]
    mask = [PIL.Image.fromarray(((rng.random((16, 32)) > 0.5) * 255).astype(np.uint8)) for _ in range(5)]
    return pipe(video=video, mask=mask, prompt="a stone wall", negative_prompt="blurry", height=16, width=32,
                num_frames=5, num_inference_steps=2, guidance_scale=4.0, max_sequence_length=16,
                generator=torch.Generator().manual_seed(seed), output_type="np").frames


def test_pipeline_with_onnx_denoiser_matches_pytorch(onnx_entry, load_tiny_pipeline):
    from genpost_houdini.runtime.denoiser import swap_denoiser

    entry, _ = onnx_entry
    reference = _run(load_tiny_pipeline())
    pipe = load_tiny_pipeline()
    original = pipe.transformer
    swapped = swap_denoiser(pipe, "onnxruntime", cache_dir=entry.path.parent)
    assert swapped is pipe and pipe.transformer is not original
    assert pipe.transformer.label == "onnxruntime-cpu"
    out = _run(pipe)
    assert out.shape == reference.shape
    assert float(np.abs(out - reference).max()) < 1e-4
    assert float(np.abs(out - _run(load_tiny_pipeline(), seed=1)).max()) > 1e-3  # the check can fail
    assert len(EngineCache(entry.path.parent).entries()) == 1  # the CLI-built entry was reused


def test_auto_on_cpu_keeps_pytorch_and_forced_tensorrt_fails_clearly(load_tiny_pipeline, tmp_path):
    from genpost_houdini.runtime.denoiser import swap_denoiser

    pipe = load_tiny_pipeline()
    original = pipe.transformer
    assert swap_denoiser(pipe, "auto", cache_dir=tmp_path).transformer is original
    assert swap_denoiser(pipe, "torch").transformer is original
    with pytest.raises(DependencyError) as err:
        swap_denoiser(pipe, "tensorrt", cache_dir=tmp_path)
    assert "tensorrt" in str(err.value) and "\n" not in str(err.value)
    assert not list(tmp_path.iterdir())  # nothing exported for a runtime that cannot run


def test_engine_list_json_and_prune(concurrent_build, onnx_entry, tmp_path):
    cache, _ = concurrent_build
    listed = _genpost("engine", "list", "--json", cache=cache)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert len(rows) == 1
    row = rows[0]
    assert row["valid"] and row["backend"] == "onnxruntime" and row["precision"] == "float32"
    assert row["size_bytes"] > 0 and row["created"] > 0
    # prune without options keeps valid entries
    kept = _genpost("engine", "prune", "--json", cache=cache)
    assert kept.returncode == 0 and json.loads(kept.stdout) == []
    # a copy of the cache with a corrupted entry: listed invalid, pruned
    import shutil

    copy = tmp_path / "cache"
    shutil.copytree(cache, copy)
    onnx_file = copy / row["name"] / "denoiser.onnx"
    data = bytearray(onnx_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    onnx_file.write_bytes(bytes(data))
    rows = json.loads(_genpost("engine", "list", "--json", cache=copy).stdout)
    assert rows[0]["valid"] is False and "checksum" in rows[0]["problem"]
    pruned = json.loads(_genpost("engine", "prune", "--json", cache=copy).stdout)
    assert [r["name"] for r in pruned] == [row["name"]]
    assert json.loads(_genpost("engine", "list", "--json", cache=copy).stdout) == []


def test_engine_build_tensorrt_without_tensorrt_is_a_clear_error(tiny_model_dir, tmp_path):
    import importlib.util

    if importlib.util.find_spec("tensorrt") is not None:
        pytest.skip("tensorrt is installed here")
    res = _genpost("engine", "build", "--model", str(tiny_model_dir), "--runtime", "tensorrt", cache=tmp_path)
    assert res.returncode == 3
    assert "tensorrt is not importable" in res.stderr
    assert "Traceback" not in res.stderr


def test_standin_handles_batches_and_dict_output(onnx_entry, tiny_transformer_from_dir):
    import torch

    from genpost_houdini.runtime.denoiser import _standin_class
    from genpost_houdini.runtime.onnx_export import ONNX_FILE, example_inputs
    from genpost_houdini.runtime.ort_backend import OrtRunner, make_session

    entry, _ = onnx_entry
    runner = OrtRunner(make_session(entry.file(ONNX_FILE)), cuda=False)
    standin = _standin_class()(tiny_transformer_from_dir.config, torch.float32, "cpu", runner, "onnxruntime-cpu")
    a = example_inputs(tiny_transformer_from_dir.config, frames=2, height=4, width=6, text_len=5, seed=1)
    b = example_inputs(tiny_transformer_from_dir.config, frames=2, height=4, width=6, text_len=5, seed=2)
    kwargs = dict(
        hidden_states=torch.cat([a["hidden_states"], b["hidden_states"]]),
        timestep=torch.tensor([500, 500]),  # int64, as some schedulers hand them over
        encoder_hidden_states=torch.cat([a["encoder_hidden_states"], b["encoder_hidden_states"]]),
        control_hidden_states=torch.cat([a["control_hidden_states"], b["control_hidden_states"]]),
        control_hidden_states_scale=a["control_hidden_states_scale"],
    )
    with torch.no_grad():
        ref = tiny_transformer_from_dir(**kwargs).sample
        got = standin(**kwargs).sample
        (tup,) = standin(**kwargs, return_dict=False)
    assert got.shape == ref.shape == (2, 16, 2, 4, 6)
    assert float((got - ref).abs().max()) < 1e-4 and torch.equal(tup, got)
    assert standin.dtype == torch.float32 and standin.device.type == "cpu"
    with standin.cache_context("cond"):
        pass
