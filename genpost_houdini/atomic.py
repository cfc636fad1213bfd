"""Atomic publication of files: readers (PDG's cache check, a farm's rerun, a lighter's viewer)
never see a partially written file under its final name."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

from .errors import NotWritableError, filesystem_error

_TMP_MARK = ".genpost-tmp-"


@contextlib.contextmanager
def atomic_path(final: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path in ``final``'s folder; rename it onto ``final`` on success.

    Atomic: the rename is the publication. On any exception (an interrupt included) the
    temporary file is removed and ``final`` is left as it was. The temporary name keeps
    ``final``'s extension, so writers that choose a format by extension (OpenImageIO, USD)
    still work. An OSError (from the folder, the temporary, the writer in the body, the
    rename) becomes :func:`~genpost_houdini.errors.filesystem_error` naming ``final``: exit 75
    for no space or I/O errors, 3 for permission, not-a-folder or a read-only filesystem.
    """
    final = Path(final)
    try:
        ensure_folder(final.parent, "folder")
        fd, tmp = tempfile.mkstemp(prefix=f".{final.stem}{_TMP_MARK}", suffix=final.suffix, dir=final.parent)
        os.close(fd)
    except OSError as exc:
        raise filesystem_error(exc, final) from None
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if not tmp_path.exists() or tmp_path.stat().st_size == 0:
            raise OSError(f"writer produced no data for {final}")
        with open(tmp_path, "rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp_path, 0o644)
        os.replace(tmp_path, final)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        if isinstance(exc, OSError):
            raise filesystem_error(exc, final) from None
        raise


def ensure_folder(folder: str | os.PathLike[str], what: str = "output folder", *, probe: bool = False) -> Path:
    """Create ``folder`` (and its parents) unless it exists; return it.

    Refuses with a GenpostError naming the folder when a file stands where it (or a parent)
    should be, or it cannot be created (:func:`~genpost_houdini.errors.filesystem_error`:
    3 for permission / read-only, 75 for no space / I/O). With ``probe``, also proves the
    folder writable by creating and removing a temporary file, so a job that cannot publish
    anything fails before doing any work (root ignores permission bits; a probe does not).
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):  # a file stands there, or on the way there
        blocker = _blocking_file(folder)
        if blocker == folder:
            raise NotWritableError(f"{what} {folder} is a file, not a folder: choose another folder") from None
        raise NotWritableError(f"cannot create {what} {folder}: {blocker} is a file, not a folder") from None
    except OSError as exc:
        raise filesystem_error(exc, folder, f"create {what}") from None
    if probe:
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".probe{_TMP_MARK}", dir=folder)
            try:
                os.write(fd, b"genpost")
                os.fsync(fd)
            finally:
                os.close(fd)
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
        except OSError as exc:
            raise filesystem_error(exc, folder, f"write into {what}") from None
    return folder


def _blocking_file(folder: Path) -> Path:
    """The first existing non-folder on the way to ``folder`` (what stops its creation)."""
    for parent in reversed([folder, *folder.parents]):
        if parent.exists() and not parent.is_dir():
            return parent
        if parent.is_symlink() and not parent.exists():
            return parent
    return folder


def write_bytes_atomic(final: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``final`` atomically; return the final path."""
    with atomic_path(final) as tmp:
        tmp.write_bytes(data)
    return Path(final)


def write_text_atomic(final: str | os.PathLike[str], text: str) -> Path:
    return write_bytes_atomic(final, text.encode("utf-8"))


def write_json_atomic(final: str | os.PathLike[str], data: Any) -> Path:
    return write_text_atomic(final, json.dumps(data, indent=2, sort_keys=True) + "\n")


def is_temporary(path: str | os.PathLike[str]) -> bool:
    """True for a temporary name made by :func:`atomic_path` (left behind only by a killed process)."""
    return _TMP_MARK in Path(path).name


def remove_stale_temporaries(folder: str | os.PathLike[str]) -> int:
    """Delete temporaries a killed process left in ``folder``; return how many."""
    count = 0
    folder = Path(folder)
    if folder.is_dir():
        for entry in folder.iterdir():
            if entry.is_file() and is_temporary(entry):
                with contextlib.suppress(FileNotFoundError):
                    entry.unlink()
                    count += 1
    return count
