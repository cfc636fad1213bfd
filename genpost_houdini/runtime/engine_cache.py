"""On-disk cache of exported ONNX denoisers and TensorRT engines.

Root: ``$GENPOST_ENGINE_CACHE`` or ``~/.cache/genpost/engines``. One folder per entry, named
``<backend>-<key hash>``, holding the artifact files and ``meta.json`` (the full key, each file's
size and sha256, creation time, build seconds).

- **Keys** name everything that makes an artifact valid. ONNX entries (backend
  ``onnxruntime``, they serve onnxruntime sessions on CPU and CUDA and are TensorRT's input):
  source weights fingerprint, precision, opset, torch version. TensorRT entries: ONNX sha256,
  shape profile (min/opt/max), precision, TensorRT version, GPU compute capability, device name.
- **Atomic publish**: an entry is built in a temporary folder beside the others and renamed into
  place after ``meta.json`` is written; a reader never sees a half-written entry.
- **Locking**: builders hold a per-entry file lock (``.locks/<name>.lock``), so two processes never
  build one entry twice: the second waits, then finds the first's entry and reuses it.
- **Validation**: a missing/unreadable meta, a key that differs from the one asked for, a missing
  or truncated file, or a checksum mismatch makes an entry invalid; ``get_or_build`` moves it
  aside and rebuilds it. Full checksums are computed once per process per file state.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from ..errors import TransientError

log = logging.getLogger("genpost.runtime")

CACHE_ENV = "GENPOST_ENGINE_CACHE"
META = "meta.json"
FORMAT = 1
_LOCKS = ".locks"
_TMP_PREFIX = ".tmp-"
_TRASH_PREFIX = ".trash-"

_verified: dict[tuple[str, int, int], str] = {}
_verified_lock = threading.Lock()


def default_root() -> Path:
    """``$GENPOST_ENGINE_CACHE`` or ``~/.cache/genpost/engines``."""
    env = os.environ.get(CACHE_ENV, "").strip()
    return Path(env).expanduser() if env else Path.home() / ".cache" / "genpost" / "engines"


def key_hash(key: Mapping[str, Any]) -> str:
    """sha256 (hex) of the key's canonical JSON."""
    text = json.dumps(dict(key), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sha256_file(path: Path) -> str:
    """sha256 of a file, memoised per (path, size, mtime) for this process."""
    st = path.stat()
    ident = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    with _verified_lock:
        hit = _verified.get(ident)
    if hit:
        return hit
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            h.update(chunk)
    digest = h.hexdigest()
    with _verified_lock:
        _verified[ident] = digest
    return digest


@dataclass
class CacheEntry:
    """One published entry (or a broken folder, with ``problem`` saying why)."""

    path: Path
    meta: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def valid(self) -> bool:
        return self.problem is None

    @property
    def key(self) -> dict[str, Any]:
        return dict(self.meta.get("key", {}))

    @property
    def files(self) -> dict[str, dict[str, Any]]:
        return dict(self.meta.get("files", {}))

    def file(self, name: str) -> Path:
        return self.path / name

    @property
    def size_bytes(self) -> int:
        return sum(int(f.get("size", 0)) for f in self.files.values())

    @property
    def created(self) -> float:
        return float(self.meta.get("created", 0.0))

    @property
    def last_used(self) -> float:
        try:
            return max(self.created, (self.path / META).stat().st_atime, self.path.stat().st_mtime)
        except OSError:
            return self.created

    def content_hash(self) -> str:
        """sha256 over the entry's files' sha256 values (the "ONNX hash" of an ONNX entry)."""
        h = hashlib.sha256()
        for name in sorted(self.files):
            h.update(name.encode("utf-8") + b"\0" + str(self.files[name]["sha256"]).encode("ascii"))
        return h.hexdigest()

    def summary(self) -> dict[str, Any]:
        """What ``genpost engine list --json`` prints for this entry."""
        key = self.key
        return {
            "name": self.name,
            "path": str(self.path),
            "backend": key.get("backend"),
            "precision": key.get("precision"),
            "profile": key.get("profile"),
            "onnx_sha256": key.get("onnx_sha256") or self.meta.get("onnx_sha256"),
            "tensorrt_version": key.get("tensorrt_version"),
            "compute_capability": key.get("compute_capability"),
            "device_name": key.get("device_name"),
            "source": key.get("source"),
            "key": key,
            "size_bytes": self.size_bytes,
            "created": self.created,
            "created_iso": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.created)) if self.created else None,
            "build_seconds": self.meta.get("build_seconds"),
            "parity": self.meta.get("parity") if key.get("backend") == "tensorrt" else self.meta.get("parity_max_abs_diff"),
            "valid": self.valid,
            "problem": self.problem,
        }


class EngineCache:
    """The cache under ``root`` (default :func:`default_root`)."""

    def __init__(self, root: str | os.PathLike[str] | None = None, *, lock_timeout: float = 6 * 3600) -> None:
        self.root = Path(root).expanduser() if root is not None else default_root()
        self.lock_timeout = lock_timeout

    # -- naming and locking -------------------------------------------------------------
    def entry_name(self, key: Mapping[str, Any]) -> str:
        backend = str(key.get("backend", "entry"))
        return f"{backend}-{key_hash(key)[:20]}"

    def entry_path(self, key: Mapping[str, Any]) -> Path:
        return self.root / self.entry_name(key)

    @contextlib.contextmanager
    def lock(self, name: str, timeout: float | None = None) -> Iterator[None]:
        """Hold the file lock of entry ``name`` (TransientError when it stays busy past ``timeout``)."""
        import filelock

        (self.root / _LOCKS).mkdir(parents=True, exist_ok=True)
        path = self.root / _LOCKS / f"{name}.lock"
        lock = filelock.FileLock(str(path), timeout=self.lock_timeout if timeout is None else timeout)
        try:
            lock.acquire()
        except filelock.Timeout:
            raise TransientError(f"engine cache entry {path.parent.parent / name} is locked by another process") from None
        try:
            yield
        finally:
            lock.release()

    # -- reading ------------------------------------------------------------------------
    def inspect(self, path: Path, key: Mapping[str, Any] | None = None, *, checksums: bool = True) -> CacheEntry:
        """Read and validate the entry folder ``path`` (against ``key`` when given)."""
        entry = CacheEntry(path)
        meta_path = path / META
        try:
            entry.meta = json.loads(meta_path.read_text("utf-8"))
            if not isinstance(entry.meta, dict):
                raise ValueError("not a JSON object")
        except FileNotFoundError:
            entry.problem = f"{meta_path} is missing"
            return entry
        except (OSError, ValueError) as exc:
            entry.problem = f"{meta_path} is unreadable: {exc}"
            entry.meta = {}
            return entry
        if entry.meta.get("format") != FORMAT:
            entry.problem = f"{meta_path}: format {entry.meta.get('format')!r}, expected {FORMAT}"
            return entry
        if key is not None and json.loads(json.dumps(dict(key), default=str)) != entry.key:
            entry.problem = f"{meta_path}: key does not match the requested one"
            return entry
        if key_hash(entry.key)[:20] != path.name.rsplit("-", 1)[-1]:
            entry.problem = f"{meta_path}: key does not match the folder name"
            return entry
        files = entry.files
        if not files:
            entry.problem = f"{meta_path} lists no files"
            return entry
        for name, info in files.items():
            fp = path / name
            try:
                size = fp.stat().st_size
            except OSError:
                entry.problem = f"{fp} is missing"
                return entry
            if size != int(info.get("size", -1)):
                entry.problem = f"{fp} is {size} bytes, meta.json says {info.get('size')} (truncated or replaced)"
                return entry
            if checksums and sha256_file(fp) != info.get("sha256"):
                entry.problem = f"{fp}: checksum mismatch (corrupt)"
                return entry
        return entry

    def lookup(self, key: Mapping[str, Any]) -> CacheEntry | None:
        """The valid entry for ``key``, or None (missing or invalid)."""
        path = self.entry_path(key)
        if not path.is_dir():
            return None
        entry = self.inspect(path, key)
        if not entry.valid:
            log.warning("engine cache: %s is invalid (%s)", path, entry.problem)
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # last use, for prune --older-than
        return entry

    def entries(self, *, checksums: bool = True) -> list[CacheEntry]:
        """Every published entry folder, valid or not, oldest first."""
        if not self.root.is_dir():
            return []
        found = [
            self.inspect(p, checksums=checksums)
            for p in sorted(self.root.iterdir())
            if p.is_dir() and not p.name.startswith(".")
        ]
        return sorted(found, key=lambda e: (e.created, e.name))

    def find(self, predicate: Callable[[CacheEntry], bool]) -> list[CacheEntry]:
        """Valid entries for which ``predicate(entry)`` is true (only those are checksummed)."""
        candidates = [e for e in self.entries(checksums=False) if e.valid and predicate(e)]
        checked = [self.inspect(e.path) for e in candidates]
        return [e for e in checked if e.valid]

    # -- building -----------------------------------------------------------------------
    def get_or_build(
        self,
        key: Mapping[str, Any],
        build: Callable[[Path], Mapping[str, Any] | None],
        *,
        extra_meta: Mapping[str, Any] | None = None,
    ) -> tuple[CacheEntry, bool]:
        """Return ``(entry, built)``: the valid entry for ``key``, building it if needed.

        ``build(folder)`` writes the artifact files into an empty temporary folder and may
        return extra metadata. Under the entry's lock a valid entry is re-checked first (another
        process may have just built it); an invalid one is moved aside and rebuilt.
        """
        key = json.loads(json.dumps(dict(key), default=str))
        entry = self.lookup(key)
        if entry is not None:
            return entry, False
        name = self.entry_name(key)
        final = self.root / name
        with self.lock(name):
            entry = self.lookup(key)
            if entry is not None:
                return entry, False
            if final.exists():
                self._discard(final)
            tmp = self.root / f"{_TMP_PREFIX}{name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
            tmp.mkdir(parents=True)
            try:
                started = time.perf_counter()
                more = build(tmp) or {}
                seconds = time.perf_counter() - started
                files = {
                    p.name: {"size": p.stat().st_size, "sha256": sha256_file(p)}
                    for p in sorted(tmp.iterdir())
                    if p.is_file() and p.name != META
                }
                if not files:
                    raise RuntimeError(f"engine build for {name} wrote no files")
                meta = {
                    "format": FORMAT,
                    "key": key,
                    "files": files,
                    "created": time.time(),
                    "build_seconds": round(seconds, 3),
                    "host_pid": os.getpid(),
                    **dict(extra_meta or {}),
                    **dict(more),
                }
                meta_tmp = tmp / (META + ".part")
                meta_tmp.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", "utf-8")
                for p in tmp.iterdir():
                    with open(p, "rb") as fh:
                        os.fsync(fh.fileno())
                os.replace(meta_tmp, tmp / META)
                os.rename(tmp, final)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            log.info("engine cache: built %s in %.1f s", final, seconds)
            entry = self.inspect(final, key)
            if not entry.valid:  # pragma: no cover - would mean the disk changed under us
                raise TransientError(f"engine cache entry {final} failed its check right after publishing: {entry.problem}")
            return entry, True

    def _discard(self, path: Path) -> None:
        """Move ``path`` aside (atomic) and delete it."""
        trash = self.root / f"{_TRASH_PREFIX}{path.name}-{uuid.uuid4().hex[:8]}"
        try:
            os.rename(path, trash)
        except FileNotFoundError:
            return
        log.warning("engine cache: removed invalid entry %s", path)
        shutil.rmtree(trash, ignore_errors=True)

    # -- pruning ------------------------------------------------------------------------
    def prune(self, *, older_than_days: float | None = None, remove_all: bool = False) -> list[dict[str, Any]]:
        """Remove invalid entries, entries unused for ``older_than_days``, or all of them.

        Entries being built (lock held) are skipped. Also removes temporaries left by killed
        builders. Returns the summaries of what was removed.
        """
        removed: list[dict[str, Any]] = []
        now = time.time()
        for entry in self.entries():
            reason = None
            if remove_all:
                reason = "all"
            elif not entry.valid:
                reason = f"invalid: {entry.problem}"
            elif older_than_days is not None and now - entry.last_used > older_than_days * 86400:
                reason = f"unused for more than {older_than_days:g} days"
            if reason is None:
                continue
            try:
                with self.lock(entry.name, timeout=0.1):
                    self._discard(entry.path)
            except TransientError:
                log.warning("engine cache: %s is in use, not removed", entry.path)
                continue
            info = entry.summary()
            info["reason"] = reason
            removed.append(info)
        self._remove_stale_temporaries()
        return removed

    def _remove_stale_temporaries(self) -> None:
        if not self.root.is_dir():
            return
        for p in self.root.iterdir():
            if p.name.startswith(_TRASH_PREFIX):
                shutil.rmtree(p, ignore_errors=True)
            elif p.name.startswith(_TMP_PREFIX):
                try:
                    pid = int(p.name.rsplit("-", 2)[-2])
                except ValueError:
                    continue
                if not _pid_alive(pid):
                    shutil.rmtree(p, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
