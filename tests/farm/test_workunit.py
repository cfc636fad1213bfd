"""jobs.workunit.Manifest: per-frame idempotency, concurrency, stale temporaries."""

from __future__ import annotations

import json
import multiprocessing as mp
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from genpost_houdini.atomic import write_bytes_atomic
from genpost_houdini.errors import BadInputError
from genpost_houdini.jobs.workunit import Manifest


def _out(folder: Path, frame: int, data: bytes = b"pixels") -> Path:
    return write_bytes_atomic(folder / f"beauty.{frame:04d}.exr", data + str(frame).encode())


def test_record_then_done_and_persisted(tmp_path: Path) -> None:
    m = Manifest(tmp_path)
    assert not m.is_done(1001, "h1")
    m.record(1001, "h1", [_out(tmp_path, 1001)])
    assert m.is_done(1001, "h1")
    assert not m.is_done(1001, "h2"), "a different inputs hash must redo the frame"
    assert not m.is_done(1002, "h1")
    data = json.loads((tmp_path / "manifest.json").read_text())
    assert data["frames"]["1001"]["outputs"][0]["path"] == "beauty.1001.exr"
    again = Manifest(tmp_path)
    assert again.frames() == [1001]
    assert again.is_done(1001, "h1")
    assert again.entry(1001)["inputs_hash"] == "h1"
    assert again.entry(5) is None


def test_changed_or_missing_output_is_not_done(tmp_path: Path) -> None:
    m = Manifest(tmp_path)
    p = _out(tmp_path, 1)
    m.record(1, "h", [p])
    original = p.read_bytes()
    p.write_bytes(original[:-1] + b"X")  # same size, different bytes
    assert not m.is_done(1, "h")
    p.write_bytes(original)
    assert m.is_done(1, "h")
    p.unlink()
    assert not m.is_done(1, "h")


def test_record_of_missing_output_names_it(tmp_path: Path) -> None:
    m = Manifest(tmp_path)
    with pytest.raises(BadInputError, match="nothing.0001.exr"):
        m.record(1, "h", [tmp_path / "nothing.0001.exr"])


def test_forget_and_moved_folder(tmp_path: Path) -> None:
    a = tmp_path / "a"
    m = Manifest(a)
    m.record(1, "h", [_out(a, 1)])
    m.record(2, "h", [_out(a, 2)])
    m.forget([1])
    assert m.frames() == [2]
    m.close()
    a.rename(tmp_path / "b")
    assert Manifest(tmp_path / "b").is_done(2, "h"), "relative paths keep a moved folder valid"


def _record_many(folder: str, frames: list[int]) -> None:
    m = Manifest(folder)
    for f in frames:
        m.record(f, f"h{f}", [_out(Path(folder), f)])


def test_concurrent_chunks_keep_every_entry(tmp_path: Path) -> None:
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_record_many, args=(str(tmp_path), list(range(s, s + 15)))) for s in (1, 16, 31)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    m = Manifest(tmp_path)
    assert m.frames() == list(range(1, 46))
    assert all(m.is_done(f, f"h{f}") for f in m.frames())


def test_stale_temporaries_removed_on_open(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    stale = [tmp_path / ".beauty.genpost-tmp-abc.exr", tmp_path / "sub" / ".x.genpost-tmp-1.usda"]
    for s in stale:
        s.write_bytes(b"half")
    keep = tmp_path / "beauty.0001.exr"
    keep.write_bytes(b"done")
    Manifest(tmp_path)
    assert not any(s.exists() for s in stale)
    assert keep.exists()


def test_live_writer_temporaries_survive_a_second_opener(tmp_path: Path) -> None:
    """A chunk opening the folder must not delete another live chunk's file in flight."""
    code = textwrap.dedent(
        f"""
        import sys, time
        from genpost_houdini.jobs.workunit import Manifest
        m = Manifest({str(tmp_path)!r})
        print("open", flush=True)
        sys.stdin.readline()
        """
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        inflight = tmp_path / ".beauty.genpost-tmp-live.exr"
        inflight.write_bytes(b"writing")
        Manifest(tmp_path)
        assert inflight.exists()
    finally:
        holder.communicate("\n", timeout=60)
    Manifest(tmp_path)  # the holder is gone: now the temporary is stale
    assert not inflight.exists()


def test_tampering_that_restores_size_and_mtime_is_caught(tmp_path: Path) -> None:
    """The stat shortcut must not trust a file rewritten after it was recorded."""
    import os
    import time

    p = _out(tmp_path, 7, b"x" * 5000)
    time.sleep(0.05)  # the record lands in a later filesystem tick: the shortcut is allowed
    m = Manifest(tmp_path)
    m.record(7, "h", [p])
    entry = m.entry(7)
    assert entry["stamp_ns"] > os.stat(p).st_mtime_ns and entry["outputs"][0]["stat"]
    assert m.is_done(7, "h")
    st = os.stat(p)
    data = bytearray(p.read_bytes())
    data[100] ^= 0xFF
    with open(p, "r+b") as fh:  # same inode, same size
        fh.write(bytes(data))
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))  # and the old mtime
    assert not m.is_done(7, "h")
    assert not Manifest(tmp_path, verify="full").is_done(7, "h")


def test_full_verify_hashes_everything(tmp_path: Path) -> None:
    m = Manifest(tmp_path, verify="full")
    m.record(1, "h", [_out(tmp_path, 1)])
    assert m.is_done(1, "h")
    with pytest.raises(ValueError):
        Manifest(tmp_path, verify="sometimes")
