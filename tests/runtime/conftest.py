"""Fixtures for the runtime tests: a tiny random WanVACE pipeline folder (`genpost models
make-tiny`), two concurrent `genpost engine build` runs on it, and the one ONNX export they make."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A tiny random WanVACE pipeline folder (``genpost models make-tiny wan-vace``)."""
    pytest.importorskip("diffusers")
    from genpost_houdini.generators.tiny import make_tiny

    return make_tiny("wan-vace", tmp_path_factory.mktemp("models") / "tiny-wan-vace")


@pytest.fixture(scope="session")
def concurrent_build(tiny_model_dir, tmp_path_factory):
    """Two `genpost engine build` processes started together on one empty cache."""
    pytest.importorskip("onnxscript")
    cache = tmp_path_factory.mktemp("engine-cache")
    env = {**os.environ, "GENPOST_ENGINE_CACHE": str(cache), "PYTHONWARNINGS": "ignore"}
    cmd = [sys.executable, "-m", "genpost_houdini.cli", "-v", "engine", "build", "--model", str(tiny_model_dir),
           "--runtime", "onnxruntime", "--json"]
    procs = [subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        results.append((p.returncode, out, err))
    return cache, results


@pytest.fixture(scope="session")
def tiny_transformer_from_dir(tiny_model_dir):
    from genpost_houdini.runtime.engines import load_transformer

    return load_transformer(tiny_model_dir)


@pytest.fixture(scope="session")
def onnx_entry(concurrent_build, tiny_transformer_from_dir):
    """The cached ONNX export (built by the concurrent CLI builds, reused here)."""
    from genpost_houdini.runtime.engine_cache import EngineCache
    from genpost_houdini.runtime.onnx_export import ensure_onnx

    cache, _ = concurrent_build
    started = time.perf_counter()
    entry = ensure_onnx(tiny_transformer_from_dir, cache=EngineCache(cache), precision="float32")
    return entry, time.perf_counter() - started


@pytest.fixture
def load_tiny_pipeline(tiny_model_dir):
    """``load_tiny_pipeline()`` -> a freshly loaded tiny WanVACEPipeline (safe, offline loader)."""
    from genpost_houdini.runtime.loading import load_pipeline

    return lambda: load_pipeline("WanVACEPipeline", tiny_model_dir)
