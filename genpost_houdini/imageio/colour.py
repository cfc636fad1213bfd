"""Colour management with OpenColorIO: scene-linear plates to the model's display space and back.

- Config: ``$OCIO`` when set, else the built-in ``ocio://cg-config-latest`` (loaded offline,
  cached per process and per ``$OCIO`` value). OCIO itself disables colour management when
  ``$OCIO`` is unset, so the built-in config is loaded explicitly.
- Scene-linear working space: :data:`SCENE_LINEAR` (``ACEScg``). If a studio config has no
  colour space of that name, its ``scene_linear`` role is used instead.
- The model's display space is the display/view pair :data:`DISPLAY` / :data:`VIEW`:
  ``sRGB - Display`` with ``ACES 2.0 - SDR 100 nits (Rec.709)``. It is invertible: display
  values in [0, 1] go back to scene-linear and forward again to within 2.5e-4 (measured 2.4e-4
  max over 2.4 M random display values), and in-gamut scene values up to ~4 survive the round trip to
  ~1e-4 relative. Generated pixels therefore leave the display space through the *inverse* view
  (:func:`from_display`), so highlights are not clamped at 1.0 (display 1.0 -> scene ~46).
  (The ACES 1.3 view of older configs does not invert: round-trip error ~0.5.) When a config
  lacks that pair, its default display and default view are used.
- Processing splits rows over a few threads: OCIO's ``applyRGB`` releases the GIL.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from ..errors import ColourError

__all__ = [
    "SCENE_LINEAR",
    "BUILTIN_CONFIG",
    "DISPLAY",
    "VIEW",
    "load_config",
    "config_source",
    "resolve",
    "colour_spaces",
    "convert",
    "to_display",
    "from_display",
    "display_view",
    "describe",
]

SCENE_LINEAR = "ACEScg"
BUILTIN_CONFIG = "ocio://cg-config-latest"
DISPLAY = "sRGB - Display"
VIEW = "ACES 2.0 - SDR 100 nits (Rec.709)"
#: Below this many pixels one thread does the work.
_THREAD_MIN_PIXELS = 1 << 16

_lock = threading.Lock()
_configs: dict[str, Any] = {}
_processors: dict[tuple[Any, ...], Any] = {}


def config_source() -> str:
    """Where the config comes from: ``$OCIO`` when set (non-empty), else :data:`BUILTIN_CONFIG`."""
    return os.environ.get("OCIO", "").strip() or BUILTIN_CONFIG


def load_config() -> Any:
    """The OCIO config (``PyOpenColorIO.Config``) for :func:`config_source`, cached per process."""
    import PyOpenColorIO as ocio

    source = config_source()
    with _lock:
        config = _configs.get(source)
        if config is None:
            try:
                config = ocio.Config.CreateFromFile(source)
                config.validate()
            except Exception as exc:
                origin = "$OCIO" if source != BUILTIN_CONFIG else "built-in config"
                raise ColourError(f"cannot load OCIO config {source} ({origin}): {exc}") from exc
            _configs[source] = config
    return config


def colour_spaces(config: Any | None = None) -> list[str]:
    """Names of every colour space of the config."""
    config = config or load_config()
    return [cs.getName() for cs in config.getColorSpaces()]


def resolve(name: str, config: Any | None = None) -> str:
    """The config's canonical name for a colour space name, alias or role.

    Raises :class:`ColourError` listing a few valid names when it is unknown.
    """
    config = config or load_config()
    canonical = config.getCanonicalName(name) if name else ""
    if not canonical and name == SCENE_LINEAR:
        canonical = config.getCanonicalName("scene_linear")
    if not canonical:
        import PyOpenColorIO as ocio

        spaces = config.getColorSpaces(ocio.SEARCH_REFERENCE_SPACE_SCENE, ocio.COLORSPACE_ACTIVE)
        scene = [cs.getName() for cs in spaces]
        names = scene + [n for n in colour_spaces(config) if n not in scene]
        shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
        raise ColourError(f"unknown colour space {name!r} in OCIO config {config_source()} (valid: {shown})")
    return str(canonical)


def display_view(config: Any | None = None) -> tuple[str, str]:
    """The (display, view) of the model's display space for this config."""
    config = config or load_config()
    displays = list(config.getDisplays())
    if DISPLAY in displays and VIEW in list(config.getViews(DISPLAY)):
        return DISPLAY, VIEW
    display = config.getDefaultDisplay()
    if not display:
        raise ColourError(f"OCIO config {config_source()} defines no display")
    view = config.getDefaultView(display)
    if not view:
        raise ColourError(f"OCIO config {config_source()}: display {display!r} has no view")
    return str(display), str(view)


def _processor(key: tuple[Any, ...], make: Any) -> Any:
    with _lock:
        cpu = _processors.get(key)
    if cpu is None:
        try:
            cpu = make().getDefaultCPUProcessor()
        except Exception as exc:
            raise ColourError(f"OCIO cannot build the transform {key[1:]}: {exc}") from exc
        with _lock:
            _processors[key] = cpu
    return cpu


def _apply(cpu: Any, rgb: np.ndarray) -> np.ndarray:
    """Apply ``cpu`` to a copy of ``rgb`` (..., 3 or 4) float32; alpha is passed through."""
    arr = np.asarray(rgb)
    if arr.ndim < 1 or arr.shape[-1] not in (3, 4):
        raise ValueError(f"colour data must end in 3 (RGB) or 4 (RGBA) channels, got shape {arr.shape}")
    out = np.array(arr, dtype=np.float32, order="C", copy=True)
    flat = out.reshape(-1, out.shape[-1])
    apply = cpu.applyRGB if flat.shape[1] == 3 else cpu.applyRGBA
    n = flat.shape[0]
    workers = min(4, os.cpu_count() or 1)
    if n < _THREAD_MIN_PIXELS or workers < 2:
        if n:
            apply(flat)
        return out
    bounds = np.linspace(0, n, workers * 2 + 1, dtype=np.int64)
    chunks = [flat[a:b] for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(apply, chunks))
    return out


def convert(rgb: np.ndarray, src: str, dst: str) -> np.ndarray:
    """``rgb`` (..., 3) or (..., 4) from colour space ``src`` to ``dst`` (new float32 array)."""
    config = load_config()
    s, d = resolve(src, config), resolve(dst, config)
    if s == d:
        return np.array(rgb, dtype=np.float32, copy=True)
    key = (id(config), "convert", s, d)
    return _apply(_processor(key, lambda: config.getProcessor(s, d)), rgb)


def _view_processor(space: str, inverse: bool) -> Any:
    import PyOpenColorIO as ocio

    config = load_config()
    cs = resolve(space, config)
    display, view = display_view(config)
    key = (id(config), "view", cs, display, view, inverse)

    def make() -> Any:
        t = ocio.DisplayViewTransform(src=cs, display=display, view=view)
        direction = ocio.TRANSFORM_DIR_INVERSE if inverse else ocio.TRANSFORM_DIR_FORWARD
        return config.getProcessor(t, direction)

    return _processor(key, make)


def to_display(rgb: np.ndarray, src: str = SCENE_LINEAR) -> np.ndarray:
    """Scene-linear ``rgb`` in ``src`` to the model's display space (about [0, 1])."""
    return _apply(_view_processor(src, inverse=False), rgb)


def from_display(rgb: np.ndarray, dst: str = SCENE_LINEAR) -> np.ndarray:
    """Display-space ``rgb`` (model output) back to scene-linear ``dst`` through the inverse view.

    Input is clipped to [0, 1] (NaN -> 0) first: the inverse view is defined on that range.
    """
    arr = np.nan_to_num(np.asarray(rgb, dtype=np.float32), nan=0.0, posinf=1.0, neginf=0.0)
    arr = np.clip(arr, 0.0, 1.0)
    return _apply(_view_processor(dst, inverse=True), arr)


def describe(name: str = SCENE_LINEAR) -> dict[str, Any]:
    """What to record about a colour space in EXR headers and USD layers.

    Keys: ``name`` (canonical), ``family``, ``encoding``, ``is_data``, ``interop_id`` (may be
    empty), ``config`` (the config's name), ``config_source``, ``display``, ``view``.
    """
    config = load_config()
    canonical = resolve(name, config)
    cs = config.getColorSpace(canonical)
    interop = ""
    if hasattr(cs, "getInteropID"):
        interop = str(cs.getInteropID() or "")
    try:
        display, view = display_view(config)
    except ColourError:
        display, view = "", ""
    return {
        "name": canonical,
        "family": str(cs.getFamily() or ""),
        "encoding": str(cs.getEncoding() or ""),
        "is_data": bool(cs.isData()),
        "interop_id": interop,
        "config": str(config.getName() or ""),
        "config_source": config_source(),
        "display": display,
        "view": view,
    }
