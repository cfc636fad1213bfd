"""Sublayering a job's AOV layer onto a stage (what the LOP cook does to ``editableStage()``).

Plain pxr: the target is the stage's current edit target layer (in a Python LOP, the node's
active layer, which Houdini presets and which must not be changed), or a layer given
explicitly. Sublayers of that layer are stronger than everything below it and weaker than the
layer's own opinions.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import BadInputError

if TYPE_CHECKING:  # pragma: no cover
    from pxr import Sdf, Usd


def open_layer_fresh(path: str | os.PathLike[str]) -> "Sdf.Layer":
    """Open the layer at ``path``, reloading it when USD already holds it (a re-run rewrote it
    on disk since). Raises BadInputError naming the file when it is missing or unreadable."""
    from pxr import Sdf, Tf

    path = Path(path)
    if not path.is_file():
        raise BadInputError(f"{path}: the job's USD layer is missing")
    layer = Sdf.Layer.Find(str(path))
    try:
        if layer is not None:
            layer.Reload(force=True)
        else:
            layer = Sdf.Layer.FindOrOpen(str(path))
    except Tf.ErrorException as exc:
        raise BadInputError(f"{path}: cannot open the job's USD layer: {exc}") from exc
    if layer is None:
        raise BadInputError(f"{path}: cannot open the job's USD layer")
    return layer


def sublayer_onto(
    stage: "Usd.Stage",
    layer_path: str | os.PathLike[str],
    *,
    target: "Sdf.Layer | None" = None,
) -> str:
    """Add ``layer_path`` as the strongest sublayer of ``target`` (default: the stage's edit
    target layer); return the asset path written.

    Idempotent: a path already present is moved to the front, never added twice. The path is
    absolute, since the target layer is usually anonymous. The layer is (re)loaded first, so
    the stage shows what the latest run wrote.
    """
    layer = open_layer_fresh(layer_path)
    target = target if target is not None else stage.GetEditTarget().GetLayer()
    asset = str(Path(layer.realPath or layer_path).resolve())
    paths = list(target.subLayerPaths)
    if asset in paths:
        if paths[0] == asset:
            return asset
        paths.remove(asset)
    target.subLayerPaths = [asset, *paths]
    return asset


def remove_sublayer(stage: "Usd.Stage", layer_path: str | os.PathLike[str], *, target: "Sdf.Layer | None" = None) -> bool:
    """Remove ``layer_path`` from ``target``'s sublayers; True when it was there."""
    target = target if target is not None else stage.GetEditTarget().GetLayer()
    asset = str(Path(layer_path).resolve())
    paths = list(target.subLayerPaths)
    if asset not in paths:
        return False
    paths.remove(asset)
    target.subLayerPaths = paths
    return True
