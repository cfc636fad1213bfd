"""Reading EXRs: whole images (:func:`read_exr`), depth, colour and mattes, and header summaries.

Pixels come back as float32 ``(H, W, C)`` over the **display window** (row 0 = top); pixels of
the display window outside the data window are 0, data outside it is cropped. Every read
validates the header first (:mod:`.header`). Which channel is depth or a matte, and what
counts as "no hit", is :mod:`genpost_houdini.imageio.policy`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ...errors import BadInputError
from ..policy import DEPTH_ALIASES, MASK_ALIASES, depth_from_raw, mask_from_raw, match_channel
from .header import ExrReader, decode_metadata


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


def read_exr(path: str | os.PathLike[str], channels: Sequence[str] | None = None) -> ExrImage:
    """Read ``channels`` (all when None) of an EXR over its display window.

    Raises :class:`DamagedFileError` for damaged or hostile files (before any large
    allocation), :class:`BadInputError` for a missing file or channel, or a deep file.
    """
    with ExrReader(path) as reader:
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
            metadata=decode_metadata(attrs),
            path=Path(path),
            attributes=attrs,
            types={n: types[n] for n in names},
            data_window=first.data_window,
            display_window=first.display_window,
        )


def _resolve(reader: ExrReader, channel: str | None, aliases: Sequence[str], what: str) -> str:
    available = reader.all_channels()
    if channel is None:
        found = match_channel(available, aliases)
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
    found = match_channel(available, [channel])  # an explicit name matches only itself (any case)
    if found is None:
        raise BadInputError(f"{reader.path}: no channel {channel!r} (channels: {', '.join(available)})")
    return found


def read_depth(path: str | os.PathLike[str], channel: str | None = None) -> np.ndarray:
    """Camera-space depth ``(H, W)`` float32; "no hit" (NaN, inf, >= 1e16, <= 0) becomes ``inf``.

    ``channel`` None picks the first of :data:`DEPTH_ALIASES` (any case). Raises
    :class:`InvalidDepthError` when no pixel is valid or a finite value is negative.
    """
    with ExrReader(path) as reader:
        name = _resolve(reader, channel, DEPTH_ALIASES, "depth")
        pixels, _ = reader.read([name])
    return depth_from_raw(pixels[:, :, 0], str(path), name)


def read_rgb(path: str | os.PathLike[str]) -> np.ndarray:
    """R, G, B as ``(H, W, 3)`` float32.

    All three must be there (matched case-insensitively): an image without them (a luminance
    ``Y`` image, ``X, Y, W`` data) is refused with BadInputError naming the file and its
    channels, never turned into grey -- a plate is copied as it is, not invented.
    """
    with ExrReader(path) as reader:
        pixels, _ = reader.read(_rgb_channels(reader, path))
    return pixels


def require_rgb(path: str | os.PathLike[str]) -> None:
    """Refuse, from the header alone (no pixels read), a file :func:`read_rgb` would refuse:
    jobs check every plate up front, before anything is written."""
    with ExrReader(path) as reader:
        _rgb_channels(reader, path)


def _rgb_channels(reader: ExrReader, path: str | os.PathLike[str]) -> list[str]:
    available = reader.all_channels()
    rgb = [match_channel(available, [c]) for c in ("R", "G", "B")]
    if all(rgb):
        return [c for c in rgb if c]
    missing = [c for c, m in zip("RGB", rgb) if m is None]
    raise BadInputError(
        f"{path}: no {', '.join(missing)} channel{'s' if len(missing) > 1 else ''} (channels: "
        f"{', '.join(available) or 'none'}); a colour image (plate) must have R, G and B"
    )


def read_mask(path: str | os.PathLike[str], channel: str | None = None) -> np.ndarray:
    """A matte ``(H, W)`` float32 clipped to [0, 1] (NaN -> 0).

    ``channel`` None picks the first of :data:`MASK_ALIASES`: A, mask, matte, alpha, then Y or R.
    """
    with ExrReader(path) as reader:
        name = _resolve(reader, channel, MASK_ALIASES, "mask")
        pixels, _ = reader.read([name])
    return mask_from_raw(pixels[:, :, 0])


def exr_info(path: str | os.PathLike[str], *, verify: bool = True) -> dict[str, Any]:
    """Header summary as JSON-ready data.

    Keys: ``path``, ``channels``, ``types`` (name -> half/float/uint), ``data_window`` and
    ``display_window`` (``{"x", "y", "width", "height", "xmin", "ymin", "xmax", "ymax"}``,
    max inclusive), ``compression``, ``tiled``, ``parts``, ``colourspace``, ``metadata``
    (``genpost/*`` decoded) and ``attributes`` (every header attribute). With ``verify`` every
    pixel is decoded once so a file with a sound header but corrupt data is refused too.
    """
    with ExrReader(path) as reader:
        if verify:
            for part in reader.parts:
                reader.read_part(part, 0, len(part.channels))
        first = reader.parts[0]
        types: dict[str, str] = {}
        for part in reader.parts:
            for c, t in zip(part.channels, part.types):
                types.setdefault(c, t)
        attrs = first.attributes
        meta = decode_metadata(attrs)
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
