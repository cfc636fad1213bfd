"""EXR header inspection and validation: every read checks the header before any pixel.

:class:`ExrReader` opens a file, checks the magic number, dimensions, channel count, window
coordinates and pixel-count caps (deep data refused) part by part, and only then reads pixels
(over the display window; data outside it is cropped, display pixels without data are 0), so a
damaged or hostile file raises :class:`DamagedFileError` naming the file, never a crash or a
huge allocation. Multi-part files are read part by part (all parts must share one display
window); tiled and mip-mapped files are read at their top level.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import OpenImageIO as oiio

from ...errors import BadInputError, DamagedFileError

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

#: Header attribute prefix for provenance and other genpost metadata.
META_PREFIX = "genpost/"
JSON_KEYS_ATTR = META_PREFIX + "_json"

_TYPE_NAMES = {"half": "half", "float": "float", "uint": "uint", "uint32": "uint"}


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


def decode_metadata(attrs: Mapping[str, Any]) -> dict[str, Any]:
    json_keys: set[str] | None = None
    raw = attrs.get(JSON_KEYS_ATTR)
    if isinstance(raw, str):
        try:
            json_keys = set(json.loads(raw))
        except (ValueError, TypeError):
            json_keys = None
    meta: dict[str, Any] = {}
    for name, value in attrs.items():
        if not name.startswith(META_PREFIX) or name == JSON_KEYS_ATTR:
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


class ExrReader:
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
            raise DamagedFileError(f"{where}: unreadable EXR header: {decode_error_text(exc)}") from None
        if inp is None:
            msg = oiio_error(oiio) or "corrupt or truncated header"
            if "format reader" in msg:  # OIIO's wording when no reader accepts the header
                msg = "corrupt or truncated header"
            raise DamagedFileError(f"{where}: unreadable EXR header: {shorten(msg)}")
        self._inp = inp
        self.parts: list[_Part] = []
        try:
            if inp.format_name() != "openexr":
                raise DamagedFileError(f"{where}: not an OpenEXR file (read as {inp.format_name()})")
            if inp.has_error:  # OpenEXR reported header damage but OIIO opened what it could
                raise DamagedFileError(f"{where}: damaged EXR header: {shorten(oiio_error(inp))}")
            try:
                nparts = int(inp.spec().get_int_attribute("oiio:subimages", 1))
                if not 1 <= nparts <= MAX_PARTS:
                    raise DamagedFileError(f"{where}: {nparts} parts (limit {MAX_PARTS})")
                for idx in range(nparts):
                    if idx and not inp.seek_subimage(idx, 0):
                        raise DamagedFileError(f"{where}: cannot read part {idx}: {shorten(oiio_error(inp))}")
                    self.parts.append(_part_from_spec(where, idx, inp.spec()))
            except UnicodeDecodeError as exc:
                raise DamagedFileError(f"{where}: malformed EXR header: {decode_error_text(exc)}") from None
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> "ExrReader":
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
            raise DamagedFileError(f"{self.path}: cannot seek to part {part.index}: {shorten(oiio_error(inp))}")
        px = inp.read_image(part.index, 0, chbegin, chend, oiio.FLOAT)
        if px is None or inp.has_error:
            msg = oiio_error(inp) or "pixel data missing or corrupt"
            raise DamagedFileError(f"{self.path}: cannot read pixels of part {part.index}: {shorten(msg)}")
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


def oiio_error(obj: Any) -> str:
    """OIIO's pending error message, never raising (hostile files put bytes that are not UTF-8 in it)."""
    try:
        return str(obj.geterror())
    except UnicodeDecodeError as exc:
        return decode_error_text(exc)


def decode_error_text(exc: UnicodeDecodeError) -> str:
    obj = exc.object
    text = obj.decode("utf-8", "replace") if isinstance(obj, (bytes, bytearray)) else str(obj)
    return shorten(text)


def shorten(msg: str, limit: int = 300) -> str:
    msg = " ".join(str(msg).split())
    return msg if len(msg) <= limit else msg[: limit - 3] + "..."
