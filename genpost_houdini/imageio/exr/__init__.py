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

Modules: :mod:`.header` (validation, the reader), :mod:`.read`, :mod:`.write`, :mod:`.verify`;
depth and mask policy (channel choice, no hit) in :mod:`genpost_houdini.imageio.policy`.
"""

from __future__ import annotations

from ..policy import DEPTH_ALIASES, MASK_ALIASES, NO_HIT_DEPTH, find_depth_channel, find_mask_channel
from .header import EXR_MAGIC, MAX_CHANNELS, MAX_COORDINATE, MAX_DIMENSION, MAX_PARTS, MAX_PIXELS, MAX_SAMPLES, META_PREFIX
from .read import ExrImage, exr_info, read_depth, read_exr, read_mask, read_rgb, require_rgb
from .verify import verify_pixels_isolated
from .write import KINDS, LOSSLESS_COMPRESSIONS, LOSSY_COMPRESSIONS, default_kind, write_exr

__all__ = [
    "ExrImage",
    "read_exr",
    "read_depth",
    "read_rgb",
    "require_rgb",
    "read_mask",
    "write_exr",
    "exr_info",
    "find_depth_channel",
    "find_mask_channel",
    "verify_pixels_isolated",
    "default_kind",
    "KINDS",
    "DEPTH_ALIASES",
    "MASK_ALIASES",
    "META_PREFIX",
    "MAX_PIXELS",
    "NO_HIT_DEPTH",
    "EXR_MAGIC",
    "MAX_CHANNELS",
    "MAX_COORDINATE",
    "MAX_DIMENSION",
    "MAX_PARTS",
    "MAX_SAMPLES",
    "LOSSLESS_COMPRESSIONS",
    "LOSSY_COMPRESSIONS",
]
