"""Where genpost keeps rebuildable things between runs (built sample libraries, decoded crowd
sources): ``$GENPOST_CACHE_DIR``, else ``$XDG_CACHE_HOME/genpost``, else ``~/.cache/genpost``.
``GENPOST_CACHE_DIR=""`` turns the cache off (every run rebuilds). Losing it only costs time."""

from __future__ import annotations

import os
from pathlib import Path


def user_cache_root() -> Path | None:
    """The cache folder (not created here), or None when the cache is off."""
    base = os.environ.get("GENPOST_CACHE_DIR")
    if base == "":
        return None
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = str(Path(xdg) / "genpost") if xdg else str(Path.home() / ".cache" / "genpost")
    return Path(base)


__all__ = ["user_cache_root"]
