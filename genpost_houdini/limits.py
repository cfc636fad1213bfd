"""Bounds on every count that sizes memory or work, checked before anything is allocated.

A typo (``--frames 1-100000000``, ``--param seed=1-1000000000``, ``--resolution 100000 100000``)
must be refused at once with a message naming the value and its limit, never discovered when
the machine runs out of memory. The limits are far above any real shot; each is one constant.
The crowd's ``--count`` is bounded by the region's capacity where the crowd is placed.
"""

from __future__ import annotations

from .errors import UsageError

#: Frames one job, range or sample may name (about 70 minutes at 24 fps).
MAX_FRAMES = 100_000
#: Width or height of an image genpost makes (samples, demo) or a camera is evaluated for.
MAX_IMAGE_SIDE = 16_384
#: Pixels of one such image (16K x 16K).
MAX_IMAGE_PIXELS = 1 << 28
#: Work items one wedge expands to (the cross product of every wedged parameter).
MAX_WEDGES = 10_000
#: Generated variants per crowd source (each is a whole generated element sequence).
MAX_VARIANTS = 64
#: Keyframes a set extension may plan (each completed keyframe is held in memory while frames
#: render: 64 at 2K is about 2.4 GB) and clean-plate source frames per frame (work per frame).
MAX_KEYFRAMES = 64
MAX_SOURCES = 64
#: Threads a command may be asked to start.
MAX_WORKERS = 256


def bounded(what: str, value: int, low: int, high: int, *, why: str = "") -> int:
    """``value`` when ``low <= value <= high``; UsageError naming ``what`` and the bounds otherwise."""
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            as_int = int(value)
        except (TypeError, ValueError, OverflowError):
            raise UsageError(f"{what} must be a whole number, got {value!r}") from None
        if as_int != value:
            raise UsageError(f"{what} must be a whole number, got {value!r}")
        value = as_int
    if not low <= value <= high:
        hint = f" ({why})" if why else ""
        raise UsageError(f"{what} {value} is out of range: {low}..{high}{hint}")
    return value


def image_size(what: str, width: int, height: int) -> tuple[int, int]:
    """(width, height) within :data:`MAX_IMAGE_SIDE` and :data:`MAX_IMAGE_PIXELS`."""
    width = bounded(f"{what} width", width, 1, MAX_IMAGE_SIDE)
    height = bounded(f"{what} height", height, 1, MAX_IMAGE_SIDE)
    if width * height > MAX_IMAGE_PIXELS:
        raise UsageError(f"{what} {width}x{height} has more than {MAX_IMAGE_PIXELS} pixels")
    return width, height
