"""Publishing USD layers atomically, with filesystem failures named like every other write.

A ``.usda`` layer is rendered to text by USD (``ExportToString``) and written by
:func:`genpost_houdini.atomic.write_text_atomic`, so a full disk or a read-only folder is an
OSError with an errno (exit 75 / 3, the path named) instead of pages of USD diagnostics. Other
formats (``.usd``, ``.usdc``) are exported by USD to a temporary name in the same folder, with
the same extension, then renamed; a failed export is diagnosed by writing a probe beside it.
Asset paths are authored as strings relative to the layer's final folder, so the temporary
name never leaks into the layer; nothing here registers the layer under its final identifier.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..atomic import atomic_path, ensure_folder, write_text_atomic
from ..errors import StorageError


def save_layer(layer: Any, final: str | os.PathLike[str]) -> Path:
    """Publish ``layer`` (an ``Sdf.Layer``) at ``final`` atomically; return ``final``."""
    final = Path(final)
    if final.suffix.lower() == ".usda":
        return write_text_atomic(final, layer.ExportToString())
    with atomic_path(final) as tmp:
        try:
            ok = layer.Export(str(tmp))
            reason = "" if ok else "USD reported a failed export"
        except Exception as exc:  # pxr raises Tf.ErrorException
            ok, reason = False, str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        if not ok:
            ensure_folder(final.parent, "folder", probe=True)  # names the cause when it is the disk
            raise StorageError(f"cannot write USD layer {final}: {reason}")
    return final
