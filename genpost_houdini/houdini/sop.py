"""Cook of genpost::generate::1.0 (SOP): a generator on an image held as 2D volumes."""

from __future__ import annotations

from typing import Any

from ..errors import GenpostError
from .imagegen import generate_image


def volumes_to_image(arrays: list[Any]) -> Any:
    """Stack 2D volume slices (row 0 = bottom, as volumes index y up) into an image (row 0 = top)."""
    import numpy as np

    return np.stack([np.asarray(a, dtype=np.float32)[::-1] for a in arrays], axis=-1)


def _find_volume(geo: Any, name: str, node: str) -> Any:
    for prim in geo.prims():
        if prim.type().name() == "Volume" and prim.attribValue("name") == name:
            return prim
    raise GenpostError(f"{node}: no volume named '{name}' on the input")


def _read(vol: Any) -> Any:
    import numpy as np

    rx, ry, rz = vol.resolution()
    if rz != 1:
        raise GenpostError(f"volume '{vol.attribValue('name')}' is {rx}x{ry}x{rz}: images must be one voxel deep")
    return np.asarray(vol.allVoxels(), dtype=np.float32).reshape(ry, rx)


def cook_generate(node: Any) -> None:
    """PythonCook: read colour/depth/mask volumes, generate, write the colour volumes back."""
    import hou  # noqa: PLC0415

    try:
        geo = node.geometry()
        names = node.parm("colour").eval().split()
        if len(names) != 3:
            raise GenpostError(f"{node.path()}: 'Colour Volumes' must name three volumes, got {names}")
        colour = [_find_volume(geo, n, node.path()) for n in names]
        depth = _read(_find_volume(geo, node.parm("depthvol").eval(), node.path()))[::-1]
        mask = _read(_find_volume(geo, node.parm("maskvol").eval(), node.path()))[::-1]
        rgb = volumes_to_image([_read(v) for v in colour])
        out = generate_image(
            rgb, depth, mask,
            frame=int(hou.frame()),
            generator=node.parm("generator").eval(),
            seed=node.parm("seed").eval(),
            prompt=node.parm("prompt").eval(),
            strength=node.parm("strength").eval(),
            model=node.parm("model").eval(),
            where=node.path(),
        )
        for c, vol in enumerate(colour):
            vol.setAllVoxels(out[::-1, :, c].ravel().tolist())
    except GenpostError as exc:
        raise hou.NodeError(str(exc)) from exc
