"""The process-wide model registry and device choice."""

from __future__ import annotations

import threading
import time

import pytest

from genpost_houdini.errors import DependencyError, UsageError
from genpost_houdini.runtime.registry import ModelRegistry, estimate_size, get_registry, parse_size


def test_get_loads_once_per_key_and_shares():
    reg = ModelRegistry()
    calls = []
    a = reg.get(("folder", "float32", "cpu"), lambda: calls.append(1) or object(), size_bytes=1)
    b = reg.get(("folder", "float32", "cpu"), lambda: calls.append(1) or object(), size_bytes=1)
    c = reg.get(("folder", "float16", "cpu"), lambda: calls.append(1) or object(), size_bytes=1)
    assert a is b and a is not c and len(calls) == 2
    assert reg.loaded() == [("folder", "float32", "cpu"), ("folder", "float16", "cpu")]


def test_concurrent_callers_wait_for_one_load():
    reg = ModelRegistry()
    calls = []
    gate = threading.Event()

    def slow_loader():
        calls.append(threading.get_ident())
        gate.wait(5)
        return object()

    results = []
    threads = [threading.Thread(target=lambda: results.append(reg.get(("k",), slow_loader, size_bytes=1))) for _ in range(6)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    gate.set()
    for t in threads:
        t.join(10)
    assert len(calls) == 1
    assert len(results) == 6 and all(r is results[0] for r in results)


def test_failed_load_reaches_every_waiter_and_next_call_retries():
    reg = ModelRegistry()

    def broken():
        raise RuntimeError("weights missing")

    with pytest.raises(RuntimeError, match="weights missing"):
        reg.get(("x",), broken)
    assert reg.loaded() == []
    assert reg.get(("x",), lambda: "ok", size_bytes=1) == "ok"


def test_budget_evicts_least_recently_used(monkeypatch):
    monkeypatch.setenv("GENPOST_MEMORY_BUDGET", "250")
    reg = ModelRegistry()
    reg.get(("a",), lambda: "A", size_bytes=100)
    reg.get(("b",), lambda: "B", size_bytes=100)
    reg.get(("a",), lambda: "A2", size_bytes=100)  # touch a: b is now least recently used
    reg.get(("c",), lambda: "C", size_bytes=100)  # 300 > 250: drop b
    assert reg.loaded() == [("a",), ("c",)]
    assert reg.total_bytes() == 200
    # a single model over the budget stays loaded (and everything else goes)
    reg.get(("huge",), lambda: "H", size_bytes=1000)
    assert reg.loaded() == [("huge",)]


def test_release_one_and_all():
    reg = ModelRegistry()
    for k in "abc":
        reg.get((k,), lambda k=k: k, size_bytes=1)
    assert reg.release(("b",)) == 1
    assert reg.release(("b",)) == 0
    assert reg.loaded() == [("a",), ("c",)]
    assert reg.release() == 2 and reg.loaded() == []


def test_size_estimated_from_torch_parameters():
    torch = pytest.importorskip("torch")
    module = torch.nn.Linear(10, 20)  # 200 weights + 20 bias, float32
    assert estimate_size(module) == 220 * 4
    reg = ModelRegistry(budget_bytes=10_000)
    reg.get(("lin",), lambda: module)
    assert reg.stats()[0].size_bytes == 880


def test_parse_size_and_global_registry():
    assert parse_size("8G") == 8 << 30
    assert parse_size("512M") == 512 << 20
    assert parse_size("1.5GiB") == int(1.5 * (1 << 30))
    assert parse_size("1000") == 1000
    with pytest.raises(UsageError):
        parse_size("lots")
    assert get_registry() is get_registry()


def test_choose_device_on_cpu(caplog):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    from genpost_houdini.runtime.device import choose_device

    with caplog.at_level("INFO", logger="genpost.runtime"):
        choice = choose_device()
    assert (choice.device, choice.dtype) == ("cpu", "float32")
    assert "no CUDA" in choice.reason and "cpu float32" in caplog.text
    assert choose_device("cpu").reason == "cpu requested"
    with pytest.raises(DependencyError, match="no CUDA GPU"):
        choose_device("cuda")
    with pytest.raises(UsageError):
        choose_device("cpu", dtype="float16")
    with pytest.raises(UsageError):
        choose_device("tpu")


def test_runtime_imports_stay_light():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import genpost_houdini.runtime.registry, genpost_houdini.runtime.device, genpost_houdini.runtime.denoiser\n"
        "import genpost_houdini.runtime.engine_cache, genpost_houdini.runtime.onnx_export, genpost_houdini.runtime.worker\n"
        "import genpost_houdini.runtime.tensorrt_backend, genpost_houdini.commands.engine, genpost_houdini.commands.worker\n"
        "print([m for m in ('torch', 'diffusers', 'onnx', 'onnxruntime', 'tensorrt', 'hou', 'pdg') if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
