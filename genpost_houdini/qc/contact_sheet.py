"""Contact sheets: before/after PNGs a supervisor can look at."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from ..atomic import atomic_path

#: Colours of the source codes (plate, other frame, keyframe, generated) in the source view.
SOURCE_COLOURS = np.array([[40, 40, 40], [60, 140, 255], [80, 220, 120], [255, 120, 60]], np.uint8)


def to_srgb8(rgb: np.ndarray) -> np.ndarray:
    """Scene-linear ACEScg -> 8-bit display through OCIO's display view (falls back to a
    simple curve only when OCIO cannot be loaded)."""
    try:
        from ..imageio.colour import to_display

        display = to_display(np.ascontiguousarray(rgb, dtype=np.float32))
    except ImportError:  # pragma: no cover - OCIO is a hard dependency
        display = np.clip(rgb, 0, None) ** (1 / 2.2)
    return (np.clip(display, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def source_view(source: np.ndarray) -> np.ndarray:
    codes = np.clip(np.rint(source).astype(np.int64), 0, len(SOURCE_COLOURS) - 1)
    return SOURCE_COLOURS[codes]


def crowd_detail(image: np.ndarray, alpha: np.ndarray, *, aspect: float | None = None, margin: float = 0.25) -> np.ndarray:
    """A crop of ``image`` (H, W, 3 uint8) around where ``alpha`` > 0.05, widened by ``margin``
    and to the image's aspect, upscaled back to the image's size (nearest pixels stay visible)."""
    from PIL import Image

    h, w = image.shape[:2]
    ys, xs = np.nonzero(alpha > 0.05)
    if not len(ys):
        return image
    aspect = aspect or w / h
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    ch, cw = (y1 - y0) * (1 + 2 * margin), (x1 - x0) * (1 + 2 * margin)
    ch, cw = max(ch, cw / aspect, 24.0), max(cw, ch * aspect, 24.0 * aspect)
    ch, cw = min(ch, h), min(cw, w)
    cy, cx = (y0 + y1) / 2, (x0 + x1) / 2
    top = int(np.clip(round(cy - ch / 2), 0, h - ch))
    left = int(np.clip(round(cx - cw / 2), 0, w - cw))
    crop = image[top:top + int(ch), left:left + int(cw)]
    return np.asarray(Image.fromarray(crop).resize((w, h), Image.Resampling.LANCZOS))


def write_contact_sheet(
    path: str | os.PathLike[str],
    rows: Sequence[tuple[str, Sequence[tuple[str, np.ndarray]]]],
    *,
    tile_width: int = 480,
    title: str = "",
) -> Path:
    """Write a PNG grid: one row per (label, [(column label, uint8 image (H,W,3)), ...])."""
    from PIL import Image, ImageDraw

    pad, text_h = 6, 16
    cols = max(len(r[1]) for r in rows)
    first = rows[0][1][0][1]
    tile_height = int(round(first.shape[0] * tile_width / first.shape[1]))
    top = text_h + pad if title else 0
    sheet = Image.new("RGB", (cols * (tile_width + pad) + pad, top + len(rows) * (tile_height + text_h + pad) + pad), (18, 18, 18))
    draw = ImageDraw.Draw(sheet)
    if title:
        draw.text((pad, pad // 2), title, fill=(230, 230, 230))
    for r, (row_label, tiles) in enumerate(rows):
        y = top + pad + r * (tile_height + text_h + pad)
        for c, (label, image) in enumerate(tiles):
            x = pad + c * (tile_width + pad)
            tile = Image.fromarray(image).resize((tile_width, tile_height), Image.Resampling.BILINEAR)
            sheet.paste(tile, (x, y + text_h))
            draw.text((x + 2, y + 2), f"{row_label}  {label}", fill=(230, 230, 230))
    final = Path(path)
    with atomic_path(final) as tmp:
        sheet.save(tmp, format="PNG")
    return final
