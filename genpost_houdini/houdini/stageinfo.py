"""Pure stage queries for node menus and jobs (plain pxr objects; no hou).

These run on what ``hou.LopNode.stage()`` / ``editableStage()`` return: a ``pxr.Usd.Stage``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import BadInputError

if TYPE_CHECKING:  # pragma: no cover
    from pxr import Usd

#: Prim types a crowd can stand on.
REGION_TYPES = ("Mesh", "Points", "BasisCurves")


def list_cameras(stage: "Usd.Stage") -> list[str]:
    """Paths of every camera prim on ``stage`` (active, loaded), in traversal order."""
    from pxr import Usd, UsdGeom

    return [str(p.GetPath()) for p in stage.Traverse(Usd.TraverseInstanceProxies()) if p.IsA(UsdGeom.Camera)]


def list_region_prims(stage: "Usd.Stage") -> list[str]:
    """Paths of the prims a crowd region may be (meshes, points, curves), in traversal order."""
    return [str(p.GetPath()) for p in stage.Traverse() if p.GetTypeName() in REGION_TYPES]


def menu_items(paths: list[str], *, empty_label: str = "") -> list[str]:
    """A Houdini menu script's flat ``[token, label, ...]`` list (first entry: empty token)."""
    items: list[str] = []
    if empty_label:
        items += ["", empty_label]
    for path in paths:
        items += [path, path]
    return items


def stage_file_for_job(stage: "Usd.Stage", folder: str | os.PathLike[str], name: str = "houdini_input.usdc") -> Path:
    """A file a ``genpost`` subprocess can open that holds ``stage``'s composed scene.

    A stage whose root layer is a saved, unmodified file with no session edits is used as it is.
    Otherwise (Houdini's LOP stages are in memory) the stage is flattened into
    ``folder/name``; the file is replaced only when its bytes change, so its timestamp, and the
    jobs' input hashes that depend on it, stay put across re-cooks of an unchanged stage.
    """
    root = stage.GetRootLayer()
    session = stage.GetSessionLayer()
    session_empty = session is None or (not session.rootPrims and not session.subLayerPaths)
    if not root.anonymous and not root.dirty and session_empty and Path(root.realPath).is_file():
        return Path(root.realPath)
    target = Path(folder) / name
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.stem}.genpost-tmp-", suffix=target.suffix, dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        flat = stage.Flatten()
        # Flatten() documents the anonymous root layer's identifier, which changes every session.
        flat.documentation = "Composed input stage of a Houdini LOP, saved for genpost"
        if not flat.Export(str(tmp)):
            raise BadInputError(f"could not save the input stage to {target} for genpost")
        if target.is_file() and target.read_bytes() == tmp.read_bytes():
            tmp.unlink()
        else:
            os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target
