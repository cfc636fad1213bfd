"""OpenEXR read/write through OpenImageIO: named channels, display windows, provenance, safety.

Contracts (docs/internals.md, "imageio/"):

- Pixels come back as float32 ``(H, W, C)`` over the **display window**; pixels of the display
  window outside the data window are 0, data outside the display window is cropped.
- Every read validates the header first (magic number, dimensions, channel count, window
  coordinates, pixel-count caps, deep data refused) and only then allocates pixels, so a damaged
  or hostile file raises :class:`DamagedFileError` naming the file, never a crash or a huge
  allocation. Multi-part files are read part by part (all parts must share one display window);
  tiled and mip-mapped files are read at their top level.
- Writes are atomic (:func:`genpost_houdini.atomic.atomic_path`). Each channel has a *kind*:
  ``colour`` (half, ``zip`` unless a lossy compression such as ``dwaa`` is asked for),
  ``depth``/``mask``/``id``/``data`` (float32, always lossless). When a lossy compression is
  requested and the file also holds non-colour channels, those go to a second part compressed
  with ``zip``: lossy compression never touches depth, mattes or ids.
- Provenance: ``metadata`` is stored as ``genpost/<key>`` string attributes (non-string values
  as JSON) and read back into :attr:`ExrImage.metadata`. The colour space of the colour channels
  is recorded as ``oiio:ColorSpace`` and ``genpost/colourspace``.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import OpenImageIO as oiio

from ..atomic import atomic_path
from ..errors import BadInputError, DamagedFileError, InvalidDepthError, TransientError

__all__ = [
    "ExrImage",
    "read_exr",
    "read_depth",
    "read_rgb",
    "read_mask",
    "write_exr",
    "exr_info",
    "find_depth_channel",
    "find_mask_channel",
    "verify_pixels_isolated",
    "KINDS",
    "DEPTH_ALIASES",
    "MASK_ALIASES",
    "META_PREFIX",
    "MAX_PIXELS",
]

#: OpenEXR files start with these four bytes.
EXR_MAGIC = b"\x76\x2f\x31\x01"
#: Largest data or display window accepted, in pixels (2**28: 16k x 16k).
MAX_PIXELS = 1 << 28
#: Largest number of float32 samples one read may allocate (2 GiB).
MAX_SAMPLES = 1 << 29
#: Largest width or height accepted.
MAX_DIMENSION = 1 << 17
#: Largest absolute window coordinate accepted.
MAX_COORDINATE = 1 << 24
#: Most channels per part, and most parts per file.
MAX_CHANNELS = 1024
MAX_PARTS = 64

KINDS = ("colour", "depth", "mask", "id", "data")
#: Header attribute prefix for provenance and other genpost metadata.
META_PREFIX = "genpost/"
_JSON_KEYS_ATTR = META_PREFIX + "_json"
#: Depth channel names, in order of preference (matched case-insensitively).
DEPTH_ALIASES: tuple[str, ...] = (
    "Z", "depth.Z", "depth", "Pz", "Pz.Z", "cameraDepth", "cameraDepth.Z", "depth.V", "zdepth",
    "z_depth", "Z.Z",
)
#: Mask channel names when none is given: dedicated matte names first, then the single-channel
#: fallbacks (Y for a luminance matte, R for a one-channel red matte).
MASK_ALIASES: tuple[str, ...] = ("A", "mask", "matte", "alpha", "mask.A", "matte.A", "Y", "R")
#: Compressions that lose information (never used on depth, mask, id or data channels).
LOSSY_COMPRESSIONS = frozenset({"dwaa", "dwab", "b44", "b44a", "pxr24"})
LOSSLESS_COMPRESSIONS = frozenset({"none", "rle", "zip", "zips", "piz", "htj2k"})
#: Depth at or beyond this is "no hit" (Karma writes 1e17).
NO_HIT_DEPTH = 1e16
#: Integers stored in float32 are exact up to this magnitude.
_ID_EXACT_LIMIT = 1 << 24

_TYPE_NAMES = {"half": "half", "float": "float", "uint": "uint", "uint32": "uint"}


# --------------------------------------------------------------------------------------------
# Image container


@dataclass
class ExrImage:
    """Pixels of one EXR over its display window, with channel names and metadata.

    ``metadata`` holds the ``genpost/*`` attributes (prefix removed, JSON values decoded);
    ``attributes`` every header attribute as read; windows are ``(x, y, width, height)``.
    """

    pixels: np.ndarray
    channels: list[str]
    metadata: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)
    data_window: tuple[int, int, int, int] = (0, 0, 0, 0)
    display_window: tuple[int, int, int, int] = (0, 0, 0, 0)

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def colourspace(self) -> str | None:
        """The colour space named in the header (``genpost/colourspace``, else ``oiio:ColorSpace``)."""
        value = self.metadata.get("colourspace") or self.attributes.get("oiio:ColorSpace")
        return str(value) if value else None

    def index(self, name: str) -> int:
        """Index of channel ``name``; :class:`BadInputError` listing the channels if absent."""
        try:
            return self.channels.index(name)
        except ValueError:
            raise BadInputError(
                f"{self._where()}: no channel {name!r} (channels: {', '.join(self.channels)})"
            ) from None

    def channel(self, name: str) -> np.ndarray:
        """One channel as an ``(H, W)`` float32 view."""
        return self.pixels[:, :, self.index(name)]

    def get(self, names: Sequence[str]) -> np.ndarray:
        """Several channels as ``(H, W, k)`` float32 (a view when they are contiguous)."""
        idx = [self.index(n) for n in names]
        if idx and idx == list(range(idx[0], idx[0] + len(idx))):
            return self.pixels[:, :, idx[0] : idx[0] + len(idx)]
        return self.pixels[:, :, idx]

    def _where(self) -> str:
        return str(self.path) if self.path is not None else "<image>"


# --------------------------------------------------------------------------------------------
# Header inspection and validation


@dataclass(frozen=True)
class _Part:
    index: int
    channels: tuple[str, ...]
    types: tuple[str, ...]
    data_window: tuple[int, int, int, int]
    display_window: tuple[int, int, int, int]
    tiled: bool
    compression: str
    attributes: dict[str, Any]


def _type_name(t: Any) -> str:
    name = str(t)
    return _TYPE_NAMES.get(name, name)


def _json_safe(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        if isinstance(value, float) and not math.isfinite(value):
            return str(value)
        return value
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, np.ndarray):
        return _json_safe(value.tolist())
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return str(value)


def _spec_attributes(spec: Any) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    for a in spec.extra_attribs:
        try:
            attrs[str(a.name)] = _json_safe(a.value)
        except Exception:  # an attribute type the bindings cannot convert: keep its name
            attrs[str(a.name)] = f"<{a.type}>"
    return attrs


def _decode_metadata(attrs: Mapping[str, Any]) -> dict[str, Any]:
    json_keys: set[str] | None = None
    raw = attrs.get(_JSON_KEYS_ATTR)
    if isinstance(raw, str):
        try:
            json_keys = set(json.loads(raw))
        except (ValueError, TypeError):
            json_keys = None
    meta: dict[str, Any] = {}
    for name, value in attrs.items():
        if not name.startswith(META_PREFIX) or name == _JSON_KEYS_ATTR:
            continue
        key = name[len(META_PREFIX) :]
        if isinstance(value, str) and (
            (json_keys is not None and key in json_keys)
            or (json_keys is None and value[:1] in "{[")
        ):
            try:
                value = json.loads(value)
            except ValueError:
                pass
        meta[key] = value
    return meta


def _check_window(where: str, what: str, x: int, y: int, w: int, h: int) -> None:
    if w < 1 or h < 1:
        raise DamagedFileError(f"{where}: empty {what} ({w}x{h})")
    if w > MAX_DIMENSION or h > MAX_DIMENSION or w * h > MAX_PIXELS:
        raise DamagedFileError(
            f"{where}: {what} {w}x{h} is larger than the {MAX_PIXELS}-pixel limit (damaged or hostile file)"
        )
    for v in (x, y, x + w, y + h):
        if abs(v) > MAX_COORDINATE:
            raise DamagedFileError(f"{where}: {what} coordinate {v} out of range (damaged or hostile file)")


def _part_from_spec(where: str, index: int, spec: Any) -> _Part:
    if spec.deep:
        raise BadInputError(f"{where}: deep EXR (part {index}) is not supported; flatten it first")
    if spec.depth != 1 or spec.full_depth not in (0, 1):
        raise DamagedFileError(f"{where}: volume image (depth {spec.depth}) is not a 2-D EXR")
    n = int(spec.nchannels)
    if n < 1 or n > MAX_CHANNELS:
        raise DamagedFileError(f"{where}: {n} channels in part {index} (limit {MAX_CHANNELS})")
    names = tuple(str(c) for c in spec.channelnames)
    if len(names) != n or any(not c or not c.isprintable() for c in names):
        raise DamagedFileError(f"{where}: malformed channel names {names[:8]!r} (damaged file)")
    if len(set(names)) != len(names):
        raise DamagedFileError(f"{where}: duplicate channel names in part {index}")
    data = (int(spec.x), int(spec.y), int(spec.width), int(spec.height))
    display = (int(spec.full_x), int(spec.full_y), int(spec.full_width), int(spec.full_height))
    _check_window(where, "data window", *data)
    _check_window(where, "display window", *display)
    if data[2] * data[3] * n > MAX_SAMPLES:
        raise DamagedFileError(f"{where}: {data[2]}x{data[3]}x{n} samples exceed the read limit")
    tiled = int(spec.tile_width) > 0
    if tiled and not (0 < spec.tile_width <= MAX_DIMENSION and 0 < spec.tile_height <= MAX_DIMENSION):
        raise DamagedFileError(f"{where}: bad tile size {spec.tile_width}x{spec.tile_height}")
    formats = spec.channelformats or (spec.format,) * n
    types = tuple(_type_name(t) for t in formats)
    if any(t not in ("half", "float", "uint") for t in types):
        raise DamagedFileError(f"{where}: unsupported channel types {types[:8]!r}")
    attrs = _spec_attributes(spec)
    return _Part(
        index=index,
        channels=names,
        types=types,
        data_window=data,
        display_window=display,
        tiled=tiled,
        compression=str(attrs.get("compression", "")),
        attributes=attrs,
    )


class _Reader:
    """An opened, validated EXR: its parts' headers, pixels read on demand."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        where = str(self.path)
        if not self.path.is_file():
            raise BadInputError(f"{where}: no such file" if not self.path.exists() else f"{where}: not a file")
        try:
            with open(self.path, "rb") as fh:
                head = fh.read(8)
        except OSError as exc:
            raise BadInputError(f"{where}: cannot read: {exc.strerror or exc}") from exc
        if len(head) < 8 or head[:4] != EXR_MAGIC:
            raise DamagedFileError(f"{where}: not an OpenEXR file (bad magic number or truncated header)")
        try:
            inp = oiio.ImageInput.open(where)
        except UnicodeDecodeError as exc:  # a hostile name/attribute in the header
            raise DamagedFileError(f"{where}: unreadable EXR header: {_decode_error(exc)}") from None
        if inp is None:
            msg = _geterror(oiio) or "corrupt or truncated header"
            if "format reader" in msg:  # OIIO's wording when no reader accepts the header
                msg = "corrupt or truncated header"
            raise DamagedFileError(f"{where}: unreadable EXR header: {_short(msg)}")
        self._inp = inp
        self.parts: list[_Part] = []
        try:
            if inp.format_name() != "openexr":
                raise DamagedFileError(f"{where}: not an OpenEXR file (read as {inp.format_name()})")
            if inp.has_error:  # OpenEXR reported header damage but OIIO opened what it could
                raise DamagedFileError(f"{where}: damaged EXR header: {_short(_geterror(inp))}")
            try:
                nparts = int(inp.spec().get_int_attribute("oiio:subimages", 1))
                if not 1 <= nparts <= MAX_PARTS:
                    raise DamagedFileError(f"{where}: {nparts} parts (limit {MAX_PARTS})")
                for idx in range(nparts):
                    if idx and not inp.seek_subimage(idx, 0):
                        raise DamagedFileError(f"{where}: cannot read part {idx}: {_short(_geterror(inp))}")
                    self.parts.append(_part_from_spec(where, idx, inp.spec()))
            except UnicodeDecodeError as exc:
                raise DamagedFileError(f"{where}: malformed EXR header: {_decode_error(exc)}") from None
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> "_Reader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        inp = getattr(self, "_inp", None)
        if inp is not None:
            inp.close()
            self._inp = None

    @property
    def display_window(self) -> tuple[int, int, int, int]:
        return self.parts[0].display_window

    def locate(self, names: Iterable[str]) -> list[tuple[int, int]]:
        """(part, channel index) of each name; the first part holding a name wins."""
        where: dict[str, tuple[int, int]] = {}
        for part in self.parts:
            for ci, c in enumerate(part.channels):
                where.setdefault(c, (part.index, ci))
        out = []
        for n in names:
            if n not in where:
                raise BadInputError(f"{self.path}: no channel {n!r} (channels: {', '.join(self.all_channels())})")
            out.append(where[n])
        return out

    def all_channels(self) -> list[str]:
        seen: dict[str, None] = {}
        for part in self.parts:
            for c in part.channels:
                seen.setdefault(c, None)
        return list(seen)

    def read_part(self, part: _Part, chbegin: int, chend: int) -> np.ndarray:
        """Channels [chbegin, chend) of one part over its data window, float32 (h, w, k)."""
        inp = self._inp
        if not inp.seek_subimage(part.index, 0):
            raise DamagedFileError(f"{self.path}: cannot seek to part {part.index}: {_short(_geterror(inp))}")
        px = inp.read_image(part.index, 0, chbegin, chend, oiio.FLOAT)
        if px is None or inp.has_error:
            msg = _geterror(inp) or "pixel data missing or corrupt"
            raise DamagedFileError(f"{self.path}: cannot read pixels of part {part.index}: {_short(msg)}")
        px = np.asarray(px, dtype=np.float32)
        h, w = part.data_window[3], part.data_window[2]
        return px.reshape(h, w, chend - chbegin)

    def read(self, names: Sequence[str] | None) -> tuple[np.ndarray, list[str]]:
        """The named channels (all when None) over the display window."""
        dx, dy, dw, dh = self.display_window
        for part in self.parts[1:]:
            if part.display_window != self.display_window:
                raise BadInputError(
                    f"{self.path}: parts have different display windows "
                    f"({self.display_window} vs {part.display_window} in part {part.index})"
                )
        names = list(self.all_channels() if names is None else names)
        if len(set(names)) != len(names):
            raise BadInputError(f"{self.path}: channel requested twice in {names}")
        if dw * dh * len(names) > MAX_SAMPLES:
            raise DamagedFileError(
                f"{self.path}: display window {dw}x{dh} x {len(names)} channels exceeds the read limit"
            )
        locs = self.locate(names)
        if len(dict.fromkeys(p for p, _ in locs)) == 1:
            part = self.parts[locs[0][0]]
            idx = [c for _, c in locs]
            lo, hi = min(idx), max(idx) + 1
            data = self.read_part(part, lo, hi)
            if idx != list(range(lo, hi)):
                data = data[:, :, [i - lo for i in idx]]
            if part.data_window == self.display_window:
                return np.ascontiguousarray(data), names
            out = np.zeros((dh, dw, len(names)), np.float32)
            _paste(out, data, part.data_window, self.display_window)
            return out, names
        out = np.zeros((dh, dw, len(names)), np.float32)
        for pi in dict.fromkeys(p for p, _ in locs):
            part = self.parts[pi]
            wanted = [(k, c) for k, (p, c) in enumerate(locs) if p == pi]
            lo = min(c for _, c in wanted)
            hi = max(c for _, c in wanted) + 1
            data = self.read_part(part, lo, hi)
            for k, c in wanted:
                _paste(out[:, :, k : k + 1], data[:, :, c - lo : c - lo + 1], part.data_window, self.display_window)
        return out, names


def _paste(
    dst: np.ndarray, src: np.ndarray, data_win: tuple[int, int, int, int], disp_win: tuple[int, int, int, int]
) -> None:
    """Copy ``src`` (over data_win) into ``dst`` (over disp_win), cropping to the overlap."""
    x0 = max(data_win[0], disp_win[0])
    y0 = max(data_win[1], disp_win[1])
    x1 = min(data_win[0] + data_win[2], disp_win[0] + disp_win[2])
    y1 = min(data_win[1] + data_win[3], disp_win[1] + disp_win[3])
    if x1 <= x0 or y1 <= y0:
        return
    dst[y0 - disp_win[1] : y1 - disp_win[1], x0 - disp_win[0] : x1 - disp_win[0]] = src[
        y0 - data_win[1] : y1 - data_win[1], x0 - data_win[0] : x1 - data_win[0]
    ]


def _geterror(obj: Any) -> str:
    """OIIO's pending error message, never raising (hostile files put bytes that are not UTF-8 in it)."""
    try:
        return str(obj.geterror())
    except UnicodeDecodeError as exc:
        return _decode_error(exc)


def _decode_error(exc: UnicodeDecodeError) -> str:
    obj = exc.object
    text = obj.decode("utf-8", "replace") if isinstance(obj, (bytes, bytearray)) else str(obj)
    return _short(text)


def _short(msg: str, limit: int = 300) -> str:
    msg = " ".join(str(msg).split())
    return msg if len(msg) <= limit else msg[: limit - 3] + "..."


# --------------------------------------------------------------------------------------------
# Reading


def read_exr(path: str | os.PathLike[str], channels: Sequence[str] | None = None) -> ExrImage:
    """Read ``channels`` (all when None) of an EXR over its display window.

    Raises :class:`DamagedFileError` for damaged or hostile files (before any large
    allocation), :class:`BadInputError` for a missing file or channel, or a deep file.
    """
    with _Reader(path) as reader:
        pixels, names = reader.read(channels)
        first = reader.parts[0]
        attrs = dict(first.attributes)
        types: dict[str, str] = {}
        for part in reader.parts:
            for c, t in zip(part.channels, part.types):
                types.setdefault(c, t)
        return ExrImage(
            pixels=pixels,
            channels=names,
            metadata=_decode_metadata(attrs),
            path=Path(path),
            attributes=attrs,
            types={n: types[n] for n in names},
            data_window=first.data_window,
            display_window=first.display_window,
        )


def _match(available: Sequence[str], aliases: Sequence[str]) -> str | None:
    lower = {c.lower(): c for c in reversed(list(available))}
    for alias in aliases:
        if alias in available:
            return alias
        hit = lower.get(alias.lower())
        if hit is not None:
            return hit
    return None


def find_depth_channel(channels: Sequence[str]) -> str | None:
    """The depth channel among ``channels`` by :data:`DEPTH_ALIASES`, or None."""
    return _match(channels, DEPTH_ALIASES)


def find_mask_channel(channels: Sequence[str]) -> str | None:
    """The mask channel among ``channels`` by :data:`MASK_ALIASES`, or None."""
    return _match(channels, MASK_ALIASES)


def _resolve(reader: _Reader, channel: str | None, aliases: Sequence[str], what: str) -> str:
    available = reader.all_channels()
    if channel is None:
        found = _match(available, aliases)
        if found is None and len(available) == 1 and not (what == "depth" and available[0].upper() in "RGBAY"):
            return available[0]  # a one-channel file is unambiguous, whatever its name (not colour as depth)
        if found is None:
            raise BadInputError(
                f"{reader.path}: no {what} channel (looked for {', '.join(aliases)}; "
                f"channels: {', '.join(available)})"
            )
        return found
    if channel in available:
        return channel
    found = _match(available, [channel])  # an explicit name matches only itself (any case)
    if found is None:
        raise BadInputError(f"{reader.path}: no channel {channel!r} (channels: {', '.join(available)})")
    return found


def read_depth(path: str | os.PathLike[str], channel: str | None = None) -> np.ndarray:
    """Camera-space depth ``(H, W)`` float32; "no hit" (NaN, inf, >= 1e16, <= 0) becomes ``inf``.

    ``channel`` None picks the first of :data:`DEPTH_ALIASES` (any case). Raises
    :class:`InvalidDepthError` when no pixel is valid or a finite value is negative.
    """
    with _Reader(path) as reader:
        name = _resolve(reader, channel, DEPTH_ALIASES, "depth")
        pixels, _ = reader.read([name])
    depth = pixels[:, :, 0]
    with np.errstate(invalid="ignore"):
        negative = np.isfinite(depth) & (depth < 0)
        n_negative = int(np.count_nonzero(negative))
        if n_negative:
            raise InvalidDepthError(
                f"{path}: depth channel {name!r} has {n_negative} negative values (min "
                f"{float(depth[negative].min()):g}); expected positive camera-space Z"
            )
        no_hit = ~np.isfinite(depth) | (depth >= NO_HIT_DEPTH) | (depth <= 0)
    if no_hit.all():
        raise InvalidDepthError(f"{path}: depth channel {name!r} has no valid pixel (all no-hit, NaN or zero)")
    depth[no_hit] = np.inf
    return depth


def read_rgb(path: str | os.PathLike[str]) -> np.ndarray:
    """R, G, B as ``(H, W, 3)`` float32 (a one-channel Y image is repeated into three)."""
    with _Reader(path) as reader:
        available = reader.all_channels()
        rgb = [_match(available, [c]) for c in ("R", "G", "B")]
        if all(rgb):
            pixels, _ = reader.read([c for c in rgb if c])
            return pixels
        y = _match(available, ["Y"])
        if y is not None:
            pixels, _ = reader.read([y])
            return np.repeat(pixels, 3, axis=2)
    raise BadInputError(f"{path}: no R, G, B channels (channels: {', '.join(available)})")


def read_mask(path: str | os.PathLike[str], channel: str | None = None) -> np.ndarray:
    """A matte ``(H, W)`` float32 clipped to [0, 1] (NaN -> 0).

    ``channel`` None picks the first of :data:`MASK_ALIASES`: A, mask, matte, alpha, then Y or R.
    """
    with _Reader(path) as reader:
        name = _resolve(reader, channel, MASK_ALIASES, "mask")
        pixels, _ = reader.read([name])
    mask = pixels[:, :, 0]
    np.nan_to_num(mask, copy=False, nan=0.0, posinf=1.0, neginf=0.0)
    np.clip(mask, 0.0, 1.0, out=mask)
    return mask


def exr_info(path: str | os.PathLike[str], *, verify: bool = True) -> dict[str, Any]:
    """Header summary as JSON-ready data.

    Keys: ``path``, ``channels``, ``types`` (name -> half/float/uint), ``data_window`` and
    ``display_window`` (``{"x", "y", "width", "height", "xmin", "ymin", "xmax", "ymax"}``,
    max inclusive), ``compression``, ``tiled``, ``parts``, ``colourspace``, ``metadata``
    (``genpost/*`` decoded) and ``attributes`` (every header attribute). With ``verify`` every
    pixel is decoded once so a file with a sound header but corrupt data is refused too.
    """
    with _Reader(path) as reader:
        if verify:
            for part in reader.parts:
                reader.read_part(part, 0, len(part.channels))
        first = reader.parts[0]
        types: dict[str, str] = {}
        for part in reader.parts:
            for c, t in zip(part.channels, part.types):
                types.setdefault(c, t)
        attrs = first.attributes
        meta = _decode_metadata(attrs)
        return {
            "path": str(reader.path),
            "channels": reader.all_channels(),
            "types": types,
            "data_window": _window_json(first.data_window),
            "display_window": _window_json(first.display_window),
            "compression": first.compression,
            "tiled": first.tiled,
            "parts": [
                {
                    "channels": list(p.channels),
                    "compression": p.compression,
                    "data_window": _window_json(p.data_window),
                    "tiled": p.tiled,
                }
                for p in reader.parts
            ],
            "colourspace": meta.get("colourspace") or attrs.get("oiio:ColorSpace"),
            "metadata": meta,
            "attributes": attrs,
        }


def _window_json(win: tuple[int, int, int, int]) -> dict[str, int]:
    x, y, w, h = win
    return {"x": x, "y": y, "width": w, "height": h, "xmin": x, "ymin": y, "xmax": x + w - 1, "ymax": y + h - 1}


# --------------------------------------------------------------------------------------------
# Writing


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
        spec.attribute(_JSON_KEYS_ATTR, json.dumps(sorted(json_keys)))


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
        from .colour import resolve  # validates the name against the OCIO config (ColourError)

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
            raise TransientError(f"{where}: writing EXR failed: {_short(_geterror(out) or _geterror(oiio))}")
    return final


# --------------------------------------------------------------------------------------------
# Decoding in a child process


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
    raise DamagedFileError(f"{where}: cannot decode pixels: {_short(lines[-1] if lines else 'unknown error')}")
