"""Per-frame idempotency for every job: a frame is done when its recorded outputs still hash right.

``Manifest(out_dir)`` keeps ``out_dir/manifest.json``::

    {"schema": 1,
     "frames": {"1001": {"inputs_hash": "...",
                         "outputs": [{"path": "beauty.1001.exr", "size": 123, "sha256": "..."}]}}}

Output paths are stored relative to ``out_dir`` when inside it (so a finished folder can be
moved), absolute otherwise. ``record`` is a read-modify-write under a file lock, published with an
atomic rename, so chunks of one job writing into one folder at the same time never lose each
other's entries and a reader never sees a half-written manifest.

Checking is cheap without being trusting: ``is_done`` re-hashes an output unless its size,
mtime, ctime and inode are those recorded *and* the record was stamped in a later filesystem
tick than the file's last change (the "racily clean" rule git uses for its index). Any write to
the file after it was recorded -- even one that restores size and mtime -- moves its ctime, so
it is hashed again and caught. The stamp is the mtime of a file touched in ``out_dir`` at record
time, so it comes from the same filesystem clock (no client/server skew on network storage).
``Manifest(out_dir, verify="full")`` always hashes.

An output folder belongs to one job. ``Manifest(out_dir, job={"kind": ..., "parameters": {...}})``
records the job's identity (its kind, inputs and parameters -- never the frame range, so the
chunks of one job share the folder) as ``"job"`` in the manifest; a different job opening the
folder gets :class:`~genpost_houdini.errors.FolderOwnedError` naming both jobs' differing
parameters, unless ``take_over=True`` (``--force``), which hands the folder to the new job and
forgets the old job's frames. A run that finds its folder handed over stops at its next record.

Two runs of one job at once never compute a frame twice: :meth:`Manifest.claim` takes a
per-frame OS lock (``.genpost/locks/frame.<n>.lock``, removed on release); a frame another run
holds is left for later, and once its lock is free the manifest says whether it is done.

Opening a manifest removes temporaries (``*.genpost-tmp-*``) that a killed process left under
``out_dir`` -- but only when no other live process has the same folder open (each open manifest
holds an OS lock on its own marker file, which the kernel drops when the process dies), so a
concurrent chunk's file in flight is never deleted.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from pathlib import Path
from typing import Any, Iterable, Mapping

from filelock import FileLock, Timeout

from ..atomic import ensure_folder, is_temporary, write_json_atomic
from ..errors import BadInputError, FolderOwnedError, TransientError, filesystem_error
from ..interrupts import deferred
from ..provenance import file_digest, hash_data
from .manifestfile import MANIFEST_NAME, SCHEMA, read_manifest

try:  # POSIX advisory locks mark live writers; elsewhere, stale temporaries are left alone.
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

STATE_DIR = ".genpost"
LOCK_TIMEOUT_S = 120.0


class Manifest:
    """The done-frames record of one output folder (see module docstring)."""

    def __init__(
        self,
        out_dir: str | os.PathLike[str],
        *,
        clean_temporaries: bool = True,
        verify: str = "auto",
        job: Mapping[str, Any] | None = None,
        take_over: bool = False,
    ) -> None:
        self._marker_fd: int | None = None
        if verify not in ("auto", "full"):
            raise ValueError(f"verify must be 'auto' or 'full', got {verify!r}")
        self.verify = verify
        self.out_dir = Path(out_dir)
        self.path = self.out_dir / MANIFEST_NAME
        locks = self.out_dir / STATE_DIR / "locks"
        ensure_folder(locks, "state folder")
        self._locks = locks
        self._lock = FileLock(str(locks / "manifest.lock"), timeout=LOCK_TIMEOUT_S)
        self._stamp_path = locks / "stamp"
        self._marker_path: Path | None = None
        self._seen: tuple[int, int, int] | None = None
        self.job = job_record(job) if job is not None else None
        with self._locked():
            if clean_temporaries and not self._other_writers_alive(locks):
                self._remove_temporaries()
            self._register_writer(locks)
            owner, self._frames = self._read()
            if self.job is not None:
                self._claim_folder(owner, take_over)

    def _claim_folder(self, owner: dict[str, Any] | None, take_over: bool) -> None:
        """Record this job as the folder's owner (under the lock); refuse another job's folder."""
        assert self.job is not None
        if owner is not None and owner.get("identity") == self.job["identity"]:
            return
        if owner is not None and not take_over:
            raise FolderOwnedError(
                f"output folder {self.out_dir} belongs to another {owner.get('kind', '?')} job "
                f"({describe_difference(owner, self.job)}); use another output folder, or --force to "
                f"hand the folder over to this job (its frames are then redone)"
            )
        if owner is not None:
            self._frames = {}  # the previous owner's frames: not this job's work
        self._write(self._frames)

    # -- queries    # -- queries -----------------------------------------------------------------------------
    def frames(self) -> list[int]:
        """Frames with an entry (done or not), ascending."""
        return sorted(int(k) for k in self._frames)

    def entry(self, frame: int) -> dict[str, Any] | None:
        """The recorded entry of ``frame`` (a copy), or None."""
        e = self._frames.get(str(int(frame)))
        return json.loads(json.dumps(e)) if e is not None else None

    def is_done(self, frame: int, inputs_hash: str) -> bool:
        """True when ``frame`` was recorded with ``inputs_hash`` and every output is intact.

        Intact: the file exists, has the recorded size and its sha256 matches (hashed again
        unless the file provably did not change since it was recorded; see the module notes).
        """
        e = self._frames.get(str(int(frame)))
        if not e or e.get("inputs_hash") != inputs_hash or not e.get("outputs"):
            return False
        stamp = e.get("stamp_ns", 0) if self.verify == "auto" else 0
        for out in e["outputs"]:
            p = self._resolve(out["path"])
            try:
                st = p.stat()
                if st.st_size != out["size"]:
                    return False
                if stamp and _unchanged(st, out, stamp):
                    continue
                if file_digest(p) != out["sha256"]:
                    return False
            except OSError:
                return False
        return True

    def reload(self) -> None:
        """Re-read ``manifest.json`` (to see entries written since by other processes)."""
        owner, self._frames = self._read()
        self._check_owner(owner)

    def refresh(self) -> None:
        """:meth:`reload` when ``manifest.json`` changed since this process last read or wrote it
        (one ``stat``; other processes publish by rename, so any write of theirs shows)."""
        if self._stat() != self._seen:
            self.reload()

    def claim(self, frame: int, *, wait: bool = False) -> "FrameClaim | None":
        """This process's exclusive claim on computing ``frame`` (release it after recording),
        or None when another run holds it and ``wait`` is False."""
        return FrameClaim.acquire(self._locks / f"frame.{int(frame)}.lock", wait=wait)

    # -- updates -----------------------------------------------------------------------------
    def record(self, frame: int, inputs_hash: str, outputs: Iterable[str | os.PathLike[str]]) -> None:
        """Record ``frame`` as done with ``inputs_hash``; hash every output now.

        Raises BadInputError naming the output when one is missing (a job bug, never silent).
        """
        entries = []
        for out in outputs:
            p = Path(out)
            if not p.is_absolute():
                p = self.out_dir / p
            try:
                before = p.stat()
                digest = file_digest(p)
                after = p.stat()
            except OSError as exc:
                raise BadInputError(f"frame {frame}: output {p} to record does not exist") from exc
            item: dict[str, Any] = {"path": self._relative(p), "size": after.st_size, "sha256": digest}
            if _stat_key(before) == _stat_key(after) and self._inside(p):
                item["stat"] = list(_stat_key(after))
            entries.append(item)
        entry: dict[str, Any] = {"inputs_hash": str(inputs_hash), "outputs": entries}
        with deferred(), self._locked():  # an interrupt never cuts a record in half
            stamp = self._touch_stamp()
            if stamp:
                entry["stamp_ns"] = stamp
            owner, frames = self._read()
            self._check_owner(owner)
            frames[str(int(frame))] = entry
            self._write(frames, owner)
            self._frames = frames

    def forget(self, frames: Iterable[int]) -> None:
        """Drop the entries of ``frames`` (used by ``--force`` before redoing them)."""
        keys = {str(int(f)) for f in frames}
        with self._locked():
            owner, current = self._read()
            if keys & current.keys():
                for k in keys:
                    current.pop(k, None)
                self._write(current, owner)
            self._frames = current

    def close(self) -> None:
        """Release this process's live-writer marker (also done at exit by the OS)."""
        if getattr(self, "_marker_fd", None) is not None:
            with contextlib.suppress(OSError):
                os.close(self._marker_fd)
            if self._marker_path is not None:
                with contextlib.suppress(OSError):
                    self._marker_path.unlink()
            self._marker_fd = None

    def __enter__(self) -> "Manifest":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # pragma: no cover - best effort
        self.close()

    # -- internals ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self):  # type: ignore[no-untyped-def]
        try:
            with self._lock:
                yield
        except Timeout as exc:
            raise TransientError(f"manifest lock {self._lock.lock_file} held for over {LOCK_TIMEOUT_S:.0f} s") from exc

    def _read(self) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        """(the owning job's record or None, the frames) from ``manifest.json``."""
        st = self._stat()
        try:
            owner, frames = read_manifest(self.path)
        except OSError as exc:
            raise filesystem_error(exc, self.path, "read") from None
        self._seen = st
        return owner, frames

    def _write(self, frames: dict[str, Any], owner: dict[str, Any] | None = None) -> None:
        ordered = {k: frames[k] for k in sorted(frames, key=int)}
        doc: dict[str, Any] = {"schema": SCHEMA, "frames": ordered}
        job = self.job if self.job is not None else owner
        if job is not None:
            doc["job"] = job
        write_json_atomic(self.path, doc)
        self._seen = self._stat()

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def _check_owner(self, owner: dict[str, Any] | None) -> None:
        """Stop a run whose folder was handed over to another job (``--force``) meanwhile."""
        if self.job is not None and owner is not None and owner.get("identity") != self.job["identity"]:
            raise FolderOwnedError(
                f"output folder {self.out_dir} was handed over to another {owner.get('kind', '?')} job "
                f"while this one ran ({describe_difference(owner, self.job)}); this run stops"
            )

    def _touch_stamp(self) -> int:
        """Touch the stamp file; its mtime is 'now' on the outputs' filesystem clock (0: unknown)."""
        try:
            with open(self._stamp_path, "a"):
                pass
            os.utime(self._stamp_path, None)
            return self._stamp_path.stat().st_mtime_ns
        except OSError:
            return 0

    def _inside(self, p: Path) -> bool:
        try:
            p.resolve().relative_to(self.out_dir.resolve())
            return True
        except ValueError:
            return False

    def _relative(self, p: Path) -> str:
        try:
            return p.resolve().relative_to(self.out_dir.resolve()).as_posix()
        except ValueError:
            return str(p.resolve())

    def _resolve(self, stored: str) -> Path:
        p = Path(stored)
        return p if p.is_absolute() else self.out_dir / p

    def _register_writer(self, locks: Path) -> None:
        if fcntl is None:
            return
        path = locks / f"writer-{uuid.uuid4().hex}.lock"
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._marker_fd, self._marker_path = fd, path

    @staticmethod
    def _other_writers_alive(locks: Path) -> bool:
        """True when another live process holds a writer marker; dead markers are removed."""
        if fcntl is None:
            return True
        alive = False
        for marker in locks.glob("writer-*.lock"):
            try:
                fd = os.open(marker, os.O_RDWR)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                alive = True
            else:
                with contextlib.suppress(OSError):
                    marker.unlink()
            finally:
                os.close(fd)
        return alive

    def _remove_temporaries(self) -> int:
        count = 0
        for root, _dirs, files in os.walk(self.out_dir):
            for name in files:
                if is_temporary(name):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(os.path.join(root, name))
                        count += 1
        return count


def _stat_key(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def _unchanged(st: os.stat_result, out: dict[str, Any], stamp_ns: int) -> bool:
    """The file is the one recorded: same stat, and it last changed in a tick before the stamp."""
    key = out.get("stat")
    if not key or tuple(key) != _stat_key(st):
        return False
    return st.st_mtime_ns < stamp_ns and st.st_ctime_ns < stamp_ns


def job_record(job: Mapping[str, Any]) -> dict[str, Any]:
    """The manifest's ``"job"`` record: kind, parameters (JSON-safe) and their identity hash."""
    kind = str(job.get("kind", ""))
    params = json.loads(json.dumps(dict(job.get("parameters") or {}), sort_keys=True, default=str))
    return {"kind": kind, "identity": hash_data("genpost-job-identity-v1", kind, params), "parameters": params}


def describe_difference(folder_job: Mapping[str, Any], this_job: Mapping[str, Any], limit: int = 4) -> str:
    """Words for how two job records differ: ``seed 1 there, 2 here; prompt ...``."""
    if folder_job.get("kind") != this_job.get("kind"):
        return f"a {folder_job.get('kind')} job there, a {this_job.get('kind')} job here"
    a = dict(folder_job.get("parameters") or {})
    b = dict(this_job.get("parameters") or {})
    diffs = [k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    if not diffs:
        return "its identity differs"

    def show(v: Any) -> str:
        text = json.dumps(v) if not isinstance(v, str) else repr(v)
        return text if len(text) <= 240 else text[:80] + "..." + text[-150:]

    parts = [f"{k} {show(a.get(k))} there, {show(b.get(k))} here" for k in diffs[:limit]]
    if len(diffs) > limit:
        parts.append(f"{len(diffs) - limit} more parameter(s) differ")
    return "; ".join(parts)


class FrameClaim:
    """An exclusive OS lock on one frame's lock file (``flock``; released when the process dies).

    The file is removed on release; an acquirer re-checks that the file it locked is still the
    one at the path, so removal never lets two holders in.
    """

    def __init__(self, path: Path, fd: int | None) -> None:
        self.path = path
        self._fd = fd

    @classmethod
    def acquire(cls, path: Path, *, wait: bool = False, poll_s: float = 0.05) -> "FrameClaim | None":
        import time

        if fcntl is None:  # pragma: no cover - Windows: no claims (runs of one job may overlap)
            return cls(path, None)
        while True:
            try:
                fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
            except OSError as exc:
                raise filesystem_error(exc, path, "create the frame lock") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                if not wait:
                    return None
                time.sleep(poll_s)
                continue
            try:
                same = os.fstat(fd).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                return cls(path, fd)
            os.close(fd)  # the holder removed it as we locked it: take the new file

    def release(self) -> None:
        """Give the frame up (idempotent)."""
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        with contextlib.suppress(OSError):
            os.close(self._fd)
        self._fd = None

    def __enter__(self) -> "FrameClaim":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
