"""Writing EXRs: named channels, each with a kind, atomically, with provenance.

Each channel has a *kind*: ``colour`` (half, ``zip`` unless a lossy compression such as
``dwaa`` is asked for), ``depth``/``mask``/``id``/``data`` (float32, always lossless). When a
lossy compression is requested and the file also holds non-colour channels, those go to a
second part compressed with ``zip``: lossy compression never touches depth, mattes or ids.
``metadata`` is stored as ``genpost/<key>`` string attributes (non-string values as JSON); the
colour space of the colour channels as ``oiio:ColorSpace`` and ``genpost/colourspace``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import OpenImageIO as oiio

from ...atomic import atomic_path
from ...errors import StorageError, TransientError
from ..policy import find_depth_channel
from .header import JSON_KEYS_ATTR, MAX_PIXELS, META_PREFIX, oiio_error, shorten

KINDS = ("colour", "depth", "mask", "id", "data")
#: Compressions that lose information (never used on depth, mask, id or data channels).
LOSSY_COMPRESSIONS = frozenset({"dwaa", "dwab", "b44", "b44a", "pxr24"})
LOSSLESS_COMPRESSIONS = frozenset({"none", "rle", "zip", "zips", "piz", "htj2k"})
#: Integers stored in float32 are exact up to this magnitude.
_ID_EXACT_LIMIT = 1 << 24


def default_kind(name: str, names: Sequence[str] = ()) -> str:
    """The kind a channel gets when ``kinds`` does not name it.

    R, G, B (and ``<layer>.R/G/B``) and the A of an RGBA set are colour; depth aliases are
    depth; A/mask/matte/alpha are mask; ``id``-like names are id; anything else is data.
    """
    base = name.rsplit(".", 1)[-1]
    low = name.lower()
    if base in ("R", "G", "B", "r", "g", "b"):
        return "colour"
    if base in ("A", "a") and {"R", "G", "B"} <= set(names):
        return "colour"
    if find_depth_channel([name]) is not None:
        return "depth"
    if base.lower() in ("a", "alpha", "mask", "matte") or low in ("mask", "matte", "alpha", "valid"):
        return "mask"
    if base.lower() in ("id", "objectid", "instanceid", "crowdid", "crowd_id", "object_id", "instance_id"):
        return "id"
    return "data"


def _compression_base(compression: str) -> str:
    return compression.split(":", 1)[0].strip().lower()


def _prepare_channels(
    where: str, channels: Mapping[str, Any], kinds: Mapping[str, str] | None, types: Mapping[str, str] | None
) -> tuple[list[str], list[np.ndarray], list[str], list[str], tuple[int, int]]:
    if not channels:
        raise ValueError(f"{where}: write_exr needs at least one channel")
    names = list(channels)
    kinds = dict(kinds or {})
    types = dict(types or {})
    for extra in set(kinds) - set(names):
        raise ValueError(f"{where}: kinds names channel {extra!r} that is not written")
    for extra in set(types) - set(names):
        raise ValueError(f"{where}: types names channel {extra!r} that is not written")
    arrays: list[np.ndarray] = []
    shape: tuple[int, int] | None = None
    for n in names:
        if not isinstance(n, str) or not n or not n.isprintable():
            raise ValueError(f"{where}: bad channel name {n!r}")
        a = np.asarray(channels[n])
        if a.ndim == 3 and a.shape[2] == 1:
            a = a[:, :, 0]
        if a.ndim != 2:
            raise ValueError(f"{where}: channel {n!r} must be (H, W), got shape {a.shape}")
        if shape is None:
            shape = (int(a.shape[0]), int(a.shape[1]))
        elif a.shape != shape:
            raise ValueError(f"{where}: channel {n!r} is {a.shape}, other channels are {shape}")
        arrays.append(a)
    assert shape is not None
    if shape[0] < 1 or shape[1] < 1 or shape[0] * shape[1] > MAX_PIXELS:
        raise ValueError(f"{where}: cannot write a {shape[1]}x{shape[0]} image")
    kind_list: list[str] = []
    type_list: list[str] = []
    for n, a in zip(names, arrays):
        kind = kinds.get(n) or default_kind(n, names)
        if kind not in KINDS:
            raise ValueError(f"{where}: channel {n!r} has unknown kind {kind!r} (kinds: {', '.join(KINDS)})")
        t = types.get(n) or ("half" if kind == "colour" else "float")
        if t not in ("half", "float"):
            raise ValueError(f"{where}: channel {n!r} type must be 'half' or 'float', not {t!r}")
        if kind == "id":
            if t != "float":
                raise ValueError(f"{where}: id channel {n!r} must be float (half loses integer ids)")
            if a.size and np.issubdtype(a.dtype, np.integer) and int(np.abs(a).max()) > _ID_EXACT_LIMIT:
                raise ValueError(f"{where}: id channel {n!r} holds ids above 2**24, not exact in float32")
        kind_list.append(kind)
        type_list.append(t)
    return names, arrays, kind_list, type_list, shape


#: Rows interleaved and handed to OpenImageIO at a time (16 ZIP chunks: cache-friendly, still
#: enough chunks for OpenEXR to compress in parallel).
_STRIP_ROWS = 256


def _interleaved_base(arrays: Sequence[np.ndarray], shape: tuple[int, int]) -> np.ndarray | None:
    """The (H, W, C) float32 array whose consecutive channels ``arrays`` are, or None."""
    base = arrays[0].base
    if not (
        isinstance(base, np.ndarray)
        and base.dtype == np.float32
        and base.shape == (shape[0], shape[1], len(arrays))
        and base.flags.c_contiguous
        and all(a.base is base and a.dtype == np.float32 for a in arrays)
    ):
        return None
    ptr0 = base.__array_interface__["data"][0]
    if all(
        a.__array_interface__["data"][0] == ptr0 + i * 4 and a.strides == base.strides[:2]
        for i, a in enumerate(arrays)
    ):
        return base
    return None


def _write_pixels(out: Any, arrays: Sequence[np.ndarray], shape: tuple[int, int]) -> bool:
    """Write the channels to the open part of ``out`` in strips of rows; True on success."""
    h, w = shape
    base = _interleaved_base(arrays, shape)
    strip = None if base is not None else np.empty((min(h, _STRIP_ROWS), w, len(arrays)), np.float32)
    for y0 in range(0, h, _STRIP_ROWS):
        y1 = min(h, y0 + _STRIP_ROWS)
        if base is not None:
            buf = base[y0:y1]
        else:
            assert strip is not None
            buf = strip[: y1 - y0]
            for i, a in enumerate(arrays):
                buf[:, :, i] = a[y0:y1]
        if not out.write_scanlines(y0, y1, 0, buf):
            return False
    return True


def _encode_metadata(spec: Any, metadata: Mapping[str, Any] | None) -> None:
    json_keys: list[str] = []
    for key, value in (metadata or {}).items():
        if not isinstance(key, str) or not key or not key.isprintable():
            raise ValueError(f"bad metadata key {key!r}")
        if isinstance(value, str):
            text = value
        else:
            try:
                text = json.dumps(value, sort_keys=True, default=str)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"metadata {key!r} is not JSON-serialisable: {exc}") from exc
            json_keys.append(key)
        spec.attribute(META_PREFIX + key, text)
    if json_keys:
        spec.attribute(JSON_KEYS_ATTR, json.dumps(sorted(json_keys)))


def _make_spec(
    shape: tuple[int, int],
    names: Sequence[str],
    type_list: Sequence[str],
    compression: str,
    metadata: Mapping[str, Any] | None,
    colourspace: str | None,
    part_name: str | None,
) -> Any:
    h, w = shape
    fmts = [oiio.TypeHalf if t == "half" else oiio.TypeFloat for t in type_list]
    spec = oiio.ImageSpec(w, h, len(names), oiio.TypeFloat if "float" in type_list else oiio.TypeHalf)
    spec.channelnames = tuple(names)
    spec.channelformats = tuple(fmts)
    spec.attribute("compression", compression)
    spec.attribute("oiio:ColorSpace", colourspace or "Raw")
    # OpenImageIO stamps the current time (capDate) unless DateTime is blank: same inputs must
    # give the same bytes (farm reruns, chunk invariance).
    spec.attribute("DateTime", "")
    if part_name:
        spec.attribute("name", part_name)
    meta = dict(metadata or {})
    meta["colourspace"] = colourspace or "Raw"
    _encode_metadata(spec, meta)
    return spec


def write_exr(
    path: str | os.PathLike[str],
    channels: Mapping[str, Any],
    *,
    kinds: Mapping[str, str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    colourspace: str | None = "ACEScg",
    types: Mapping[str, str] | None = None,
    compression: str = "zip",
) -> Path:
    """Write named ``(H, W)`` channels to ``path`` atomically; return the path.

    ``kinds[name]`` in :data:`KINDS` (default from the name, see :func:`default_kind`);
    ``types[name]`` "half"/"float" overrides the kind's type (colour: half, others: float32;
    id is always float32). ``compression`` applies to colour channels (``zip`` default;
    ``dwaa``/``dwaa:45`` etc. only when asked); other kinds are always stored losslessly, in a
    second part when the colour compression is lossy. ``colourspace`` names the colour
    channels' space; it must exist in the OCIO config (:class:`ColourError` otherwise) and its
    canonical name is recorded as ``oiio:ColorSpace`` and ``genpost/colourspace`` ("Raw" when
    the file holds no colour channel). ``metadata`` goes into ``genpost/<key>`` attributes.
    Channels that are the consecutive planes of one C-contiguous float32 ``(H, W, C)`` array
    (``{n: img[..., i]}``) are written without an interleaving copy.
    """
    final = Path(path)
    where = str(final)
    names, arrays, kind_list, type_list, shape = _prepare_channels(where, channels, kinds, types)
    comp_base = _compression_base(compression)
    if comp_base not in LOSSY_COMPRESSIONS | LOSSLESS_COMPRESSIONS:
        raise ValueError(f"{where}: unknown EXR compression {compression!r}")
    has_colour = "colour" in kind_list
    cs = "Raw"
    if has_colour and colourspace:
        from ..colour import resolve  # validates the name against the OCIO config (ColourError)

        cs = resolve(colourspace)
    lossy = comp_base in LOSSY_COMPRESSIONS
    other_comp = compression if not lossy else "zip"
    groups: list[tuple[list[int], str]]
    if lossy and has_colour and any(k != "colour" for k in kind_list):
        groups = [
            ([i for i, k in enumerate(kind_list) if k == "colour"], compression),
            ([i for i, k in enumerate(kind_list) if k != "colour"], other_comp),
        ]
    else:
        groups = [(list(range(len(names))), compression if has_colour else other_comp)]
    multipart = len(groups) > 1
    part_names = ("rgba", "data") if multipart else (None,)
    specs = [
        _make_spec(shape, [names[i] for i in idx], [type_list[i] for i in idx], comp, metadata, cs, pname)
        for (idx, comp), pname in zip(groups, part_names)
    ]
    with atomic_path(final) as tmp:
        out = oiio.ImageOutput.create("openexr")
        if out is None:  # pragma: no cover
            raise TransientError(f"{where}: cannot create an OpenEXR writer: {oiio.geterror()}")
        try:
            ok = out.open(str(tmp), specs) if multipart else out.open(str(tmp), specs[0])
            for i, (spec, (idx, _)) in enumerate(zip(specs, groups)):
                if ok and i > 0:
                    ok = out.open(str(tmp), spec, "AppendSubimage")
                ok = ok and _write_pixels(out, [arrays[k] for k in idx], shape)
            ok = out.close() and ok
        except BaseException:
            out.close()
            raise
        if not ok:
            raise StorageError(f"{where}: writing EXR failed{_storage_cause(tmp)}: {shorten(oiio_error(out) or oiio_error(oiio))}")
    return final


def _storage_cause(tmp: Path) -> str:
    """Words for why a write into ``tmp``'s filesystem failed, while the partial file is still
    there: " (no space left on device [ENOSPC])" when the filesystem is (nearly) full, else ""
    (OpenImageIO reports failures as text, without an errno)."""
    try:
        st = os.statvfs(tmp.parent)
    except (OSError, AttributeError):
        return ""
    free = st.f_bavail * st.f_frsize
    if free < (1 << 20):
        return f" (no space left on device: {free} bytes free [ENOSPC])"
    return ""
