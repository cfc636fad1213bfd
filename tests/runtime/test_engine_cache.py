"""The engine cache: keys, atomic publish, corruption detection, locking."""

from __future__ import annotations

import json
import threading
import time

import pytest

from genpost_houdini.errors import TransientError, UsageError
from genpost_houdini.runtime.engine_cache import EngineCache, default_root
from genpost_houdini.runtime.profile import ShapeProfile

KEY = {"backend": "tensorrt", "onnx_sha256": "ab" * 32, "profile": ShapeProfile.parse(preset="480p").to_dict(),
       "precision": "bfloat16", "tensorrt_version": "10.7.0", "compute_capability": "9.0", "device_name": "NVIDIA H100"}


def _builder(calls, payload=b"engine-bytes" * 100, delay=0.0):
    def build(folder):
        calls.append(folder)
        time.sleep(delay)
        (folder / "denoiser.plan").write_bytes(payload)
        return {"note": "test"}

    return build


def test_root_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("GENPOST_ENGINE_CACHE", str(tmp_path / "c"))
    assert default_root() == tmp_path / "c"
    assert EngineCache().root == tmp_path / "c"


def test_build_once_then_reuse(tmp_path):
    cache = EngineCache(tmp_path)
    calls = []
    entry, built = cache.get_or_build(KEY, _builder(calls))
    again, built_again = cache.get_or_build(KEY, _builder(calls))
    assert built and not built_again and len(calls) == 1
    assert entry.path == again.path and entry.valid
    meta = json.loads((entry.path / "meta.json").read_text())
    assert meta["key"] == json.loads(json.dumps(KEY))
    assert meta["files"]["denoiser.plan"]["size"] == 1200 and len(meta["files"]["denoiser.plan"]["sha256"]) == 64
    assert meta["note"] == "test"
    # nothing temporary left; the build folder was renamed into place
    assert sorted(p.name for p in tmp_path.iterdir()) == [".locks", entry.name]
    assert not calls[0].exists()


@pytest.mark.parametrize("field,value", [
    ("tensorrt_version", "10.8.0"), ("compute_capability", "8.9"), ("device_name", "NVIDIA L40S"),
    ("precision", "float16"), ("onnx_sha256", "cd" * 32),
    ("profile", ShapeProfile.parse(preset="720p").to_dict()),
])
def test_every_key_field_makes_a_distinct_entry(tmp_path, field, value):
    cache = EngineCache(tmp_path)
    a, _ = cache.get_or_build(KEY, _builder([]))
    b, built = cache.get_or_build({**KEY, field: value}, _builder([]))
    assert built and a.path != b.path
    assert len(cache.entries()) == 2


def _corrupt_flip(entry):
    p = entry.path / "denoiser.plan"
    data = bytearray(p.read_bytes())
    data[10] ^= 0x01
    p.write_bytes(bytes(data))


def _corrupt_truncate(entry):
    p = entry.path / "denoiser.plan"
    p.write_bytes(p.read_bytes()[:100])


def _corrupt_meta_key(entry):
    meta = json.loads((entry.path / "meta.json").read_text())
    meta["key"]["tensorrt_version"] = "9.0"
    (entry.path / "meta.json").write_text(json.dumps(meta))


def _corrupt_meta_garbage(entry):
    (entry.path / "meta.json").write_text("{not json")


def _corrupt_missing_file(entry):
    (entry.path / "denoiser.plan").unlink()


@pytest.mark.parametrize("corrupt,problem", [
    (_corrupt_flip, "checksum"), (_corrupt_truncate, "truncated"), (_corrupt_meta_key, "key does not match"),
    (_corrupt_meta_garbage, "unreadable"), (_corrupt_missing_file, "missing"),
])
def test_corrupt_entries_are_detected_and_rebuilt(tmp_path, corrupt, problem):
    cache = EngineCache(tmp_path)
    calls = []
    entry, _ = cache.get_or_build(KEY, _builder(calls))
    time.sleep(0.01)  # a new mtime, so the memoised checksum is recomputed
    corrupt(entry)
    listed = cache.entries()
    assert len(listed) == 1 and not listed[0].valid and problem in listed[0].problem
    assert cache.lookup(KEY) is None
    rebuilt, built = cache.get_or_build(KEY, _builder(calls))
    assert built and len(calls) == 2 and rebuilt.valid
    assert (rebuilt.path / "denoiser.plan").read_bytes() == b"engine-bytes" * 100


def test_failed_build_leaves_nothing(tmp_path):
    cache = EngineCache(tmp_path)

    def broken(folder):
        (folder / "denoiser.plan").write_bytes(b"half")
        raise RuntimeError("builder crashed")

    with pytest.raises(RuntimeError):
        cache.get_or_build(KEY, broken)
    assert cache.entries() == [] and [p.name for p in tmp_path.iterdir()] == [".locks"]


def test_concurrent_builders_wait_for_the_lock_and_reuse(tmp_path):
    calls = []
    results = []

    def worker():
        results.append(EngineCache(tmp_path).get_or_build(KEY, _builder(calls, delay=0.5)))

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert len(calls) == 1
    assert sorted(built for _, built in results) == [False, False, True]
    assert len({e.path for e, _ in results}) == 1


def test_lock_timeout_is_transient(tmp_path):
    cache = EngineCache(tmp_path, lock_timeout=0.2)
    name = cache.entry_name(KEY)
    with cache.lock(name):
        holder_done = []

        def other():
            try:
                EngineCache(tmp_path, lock_timeout=0.2).get_or_build(KEY, _builder([]))
            except TransientError as exc:
                holder_done.append(str(exc))

        t = threading.Thread(target=other)
        t.start()
        t.join(10)
    assert holder_done and "locked by another process" in holder_done[0]


def test_prune(tmp_path):
    cache = EngineCache(tmp_path)
    good, _ = cache.get_or_build(KEY, _builder([]))
    bad, _ = cache.get_or_build({**KEY, "precision": "float16"}, _builder([]))
    _corrupt_truncate(bad)
    (tmp_path / ".tmp-tensorrt-x-999999999-abcd").mkdir()  # left by a killed builder (no such pid)
    removed = cache.prune()
    assert [r["name"] for r in removed] == [bad.name] and "invalid" in removed[0]["reason"]
    assert not (tmp_path / ".tmp-tensorrt-x-999999999-abcd").exists()
    assert cache.prune(older_than_days=1) == []
    import os

    old = time.time() - 3 * 86400
    os.utime(good.path / "meta.json", (old, old))
    os.utime(good.path, (old, old))
    meta = json.loads((good.path / "meta.json").read_text())
    assert meta["created"] > old
    assert cache.prune(older_than_days=1) == []  # created recently
    cache.get_or_build({**KEY, "precision": "float32"}, _builder([]))
    assert len(cache.prune(remove_all=True)) == 2 and cache.entries() == []


def test_profile_parsing():
    p = ShapeProfile.parse(frames="9:17:33", height=480, width="448:832:1280")
    assert p.frames == (9, 17, 33) and p.height == (480, 480, 480) and p.text_len == (512, 512, 512)
    assert p.covers(ShapeProfile.static(17, 480, 832))
    assert not p.covers(ShapeProfile.static(37, 480, 832))
    shapes = p.tensor_shapes({"in_channels": 16, "vace_in_channels": 96, "text_dim": 4096, "vace_layers": [0, 5, 10]})
    assert shapes["hidden_states"] == ((1, 16, 3, 60, 56), (1, 16, 5, 60, 104), (1, 16, 9, 60, 160))
    assert shapes["control_hidden_states_scale"] == ((3,),) * 3
    assert ShapeProfile.from_dict(p.to_dict()) == p
    for bad in ({"frames": "10", "height": 480, "width": 832}, {"frames": 9, "height": 470, "width": 832},
                {"frames": "17:9:33", "height": 480, "width": 832}, {"preset": "4k"}, {"height": 480}):
        with pytest.raises(UsageError):
            ShapeProfile.parse(**bad)


def test_find_returns_only_valid_matches(tmp_path):
    cache = EngineCache(tmp_path)
    a, _ = cache.get_or_build(KEY, _builder([]))
    b, _ = cache.get_or_build({**KEY, "precision": "float16"}, _builder([]))
    cache.get_or_build({**KEY, "precision": "float32"}, _builder([]))
    time.sleep(0.01)
    _corrupt_flip(b)
    found = cache.find(lambda e: e.key["precision"] in ("bfloat16", "float16"))
    assert [e.path for e in found] == [a.path]
