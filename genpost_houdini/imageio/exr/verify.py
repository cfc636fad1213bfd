"""Decoding every pixel of an untrusted EXR in a child process (a decoder crash or hang there
becomes a clean :class:`DamagedFileError` here)."""

from __future__ import annotations

import os

from ...errors import DamagedFileError
from .header import shorten


_VERIFY_SCRIPT = """
import sys
from genpost_houdini.errors import GenpostError
from genpost_houdini.imageio.exr import exr_info
try:
    exr_info(sys.argv[1], verify=True)
except GenpostError as exc:
    print(exc, file=sys.stderr)
    sys.exit(3)
"""


def verify_pixels_isolated(path: str | os.PathLike[str], *, timeout: float = 120.0) -> None:
    """Decode every pixel of ``path`` in a child process; :class:`DamagedFileError` if it fails.

    For untrusted files: a decoder crash (segfault) or hang in the child becomes a clean
    error here instead of taking the caller down. Costs one interpreter start (~0.2 s).
    """
    import subprocess
    import sys

    where = str(path)
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _VERIFY_SCRIPT, os.fspath(path)],
            capture_output=True,
            text=True,
            timeout=timeout,
            errors="replace",
        )
    except subprocess.TimeoutExpired:
        raise DamagedFileError(f"{where}: decoding did not finish in {timeout:g} s (damaged or hostile file)") from None
    if proc.returncode == 0:
        return
    lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    if proc.returncode == 3 and lines:
        raise DamagedFileError(lines[-1])
    if proc.returncode < 0:
        raise DamagedFileError(f"{where}: the EXR decoder crashed (signal {-proc.returncode}); damaged or hostile file")
    raise DamagedFileError(f"{where}: cannot decode pixels: {shorten(lines[-1] if lines else 'unknown error')}")
