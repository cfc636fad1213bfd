"""Atomic publication of files: readers (PDG's cache check, a farm's rerun, a lighter's viewer)
never see a partially written file under its final name."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

_TMP_MARK = ".genpost-tmp-"


@contextlib.contextmanager
def atomic_path(final: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path in ``final``'s folder; rename it onto ``final`` on success.

    Atomic: the rename is the publication. On any exception the temporary file is removed and
    ``final`` is left as it was. The temporary name keeps ``final``'s extension, so writers that
    choose a format by extension (OpenImageIO, USD) still work.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.stem}{_TMP_MARK}", suffix=final.suffix, dir=final.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if not tmp_path.exists() or tmp_path.stat().st_size == 0:
            raise OSError(f"writer produced no data for {final}")
        with open(tmp_path, "rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp_path, 0o644)
        os.replace(tmp_path, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


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
