"""--runtime auto picks TensorRT only for an engine whose build-time parity check against PyTorch
passed and is recorded in its cache entry (the TensorRT paths themselves need a GPU: not run here)."""

from __future__ import annotations

from pathlib import Path

from genpost_houdini.runtime.denoiser import NO_VERIFIED_ENGINE, choose_auto, resolve_runtime
from genpost_houdini.runtime.engine_cache import EngineCache
from genpost_houdini.runtime.tensorrt_backend import PLAN_FILE, parity_passed, verified_engines

GPU = {"tensorrt_version": "10.3.0", "compute_capability": "8.9", "device_name": "NVIDIA L4"}


def _engine(cache: EngineCache, parity: dict | None, **key: str) -> None:
    def build(folder: Path) -> dict:
        (folder / PLAN_FILE).write_bytes(b"plan" + repr(sorted(key.items())).encode())
        return {} if parity is None else {"parity": parity}

    cache.get_or_build({"backend": "tensorrt", "onnx_sha256": "abc", "precision": "float16",
                        "profile": {"frames": [9, 9, 9]}, **GPU, **key}, build)


def test_only_engines_with_a_passed_parity_check_are_verified(tmp_path: Path) -> None:
    cache = EngineCache(tmp_path)
    _engine(cache, {"checked": True, "passed": True, "max_abs_diff": 0.004, "atol": 0.03}, name="good")
    _engine(cache, {"checked": True, "passed": False, "max_abs_diff": 0.9, "atol": 0.03}, name="bad")
    _engine(cache, {"checked": False, "passed": False, "reason": "built without a PyTorch reference"}, name="unchecked")
    _engine(cache, None, name="old-entry-without-record")
    _engine(cache, {"checked": True, "passed": True, "max_abs_diff": 0.004, "atol": 0.03}, name="other-gpu",
            device_name="NVIDIA A10")
    found = verified_engines(cache, "abc", "float16", GPU)
    assert [e.key["name"] for e in found] == ["good"]
    assert verified_engines(cache, "abc", "bfloat16", GPU) == []
    by_name = {e.key["name"]: e for e in cache.entries()}
    assert [n for n, e in sorted(by_name.items()) if parity_passed(e)] == ["good", "other-gpu"]
    assert by_name["bad"].summary()["parity"]["passed"] is False


def test_auto_needs_a_verified_engine_for_tensorrt() -> None:
    trt, ort = (True, "tensorrt 10.3.0"), (True, "onnxruntime-gpu 1.20 (CUDA)")
    assert choose_auto(True, trt, (True, "engine x passed"), ort)[0] == "tensorrt"
    runtime, why = choose_auto(True, trt, (False, NO_VERIFIED_ENGINE), ort)
    assert runtime == "onnxruntime" and "parity check" in why
    runtime, why = choose_auto(True, trt, (False, NO_VERIFIED_ENGINE), (False, "no onnxruntime-gpu"))
    assert runtime == "torch" and "parity check" in why and "no onnxruntime-gpu" in why
    assert choose_auto(True, (False, "tensorrt is not importable"), (True, "x"), (False, "no ort"))[0] == "torch"
    assert choose_auto(False, trt, (True, "x"), ort)[0] == "torch"
    assert resolve_runtime("auto", device="cpu")[0] == "torch"
