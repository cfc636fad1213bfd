"""Generator backends as plugins.

Backends come from two places: the entry-point group ``genpost_houdini.generators`` (this
package declares ``classical``, ``wan-vace`` and ``sd-inpaint-depth``; other packages can add
theirs) and :func:`register_generator` for in-process registration (which wins over an entry
point of the same name). Loading is tolerant: a plugin whose import fails, or whose
availability check raises, is logged and listed as unavailable with the reason; it never stops
the others from loading.

A backend is a class (or any callable) called as ``factory(**options)``. It may expose:

* ``availability(options) -> (bool, reason)`` (classmethod): whether it can run here, e.g.
  ``(False, "diffusers not installed")`` or ``(False, "no weights: pass --model or set
  GENPOST_MODELS")``; called with the options that :func:`get_generator` would pass.
* ``temporal`` (bool) and ``description`` (str) class attributes, shown by ``genpost generators``.
"""

from __future__ import annotations

import functools
import inspect
import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

from ..errors import DependencyError, GenpostError, UsageError
from .base import Generator, GeneratorInfo

log = logging.getLogger("genpost.generators")

ENTRY_POINT_GROUP = "genpost_houdini.generators"
DEFAULT_GENERATOR = "classical"

Factory = Callable[..., Generator]

_lock = threading.Lock()
_registered: dict[str, Factory] = {}


@dataclass
class _Loaded:
    name: str
    origin: str
    factory: Optional[Factory]
    error: str = ""


def register_generator(name: str, factory: Factory, *, replace: bool = False) -> None:
    """Register ``factory`` under ``name`` for this process (overrides an entry point).

    Registering a name twice needs ``replace=True`` (a UsageError otherwise).
    """
    if not isinstance(name, str) or not name.strip():
        raise UsageError(f"generator name must be a non-empty string, got {name!r}")
    if not callable(factory):
        raise UsageError(f"generator {name!r}: factory {factory!r} is not callable")
    with _lock:
        if name in _registered and not replace and _registered[name] is not factory:
            raise UsageError(f"generator {name!r} is already registered (pass replace=True to override)")
        _registered[name] = factory


def unregister_generator(name: str) -> None:
    """Remove an in-process registration (entry points are untouched); unknown names are ignored."""
    with _lock:
        _registered.pop(name, None)


def _entry_points() -> list[Any]:
    """The group's entry points; scanned once per ``sys.path`` (a scan reads every installed
    distribution's metadata, tens of milliseconds that every job's up-front check would pay)."""
    import sys

    return list(_scan_entry_points(tuple(sys.path)))


@functools.lru_cache(maxsize=4)
def _scan_entry_points(path: tuple[str, ...]) -> tuple[Any, ...]:
    from importlib import metadata

    try:
        eps = metadata.entry_points(group=ENTRY_POINT_GROUP)
    except Exception as exc:  # a damaged dist-info somewhere on sys.path
        log.warning("cannot read entry points %s: %s", ENTRY_POINT_GROUP, exc)
        return ()
    seen: set[str] = set()
    out = []
    for ep in eps:
        if ep.name in seen:  # the same distribution found twice on sys.path: first wins
            continue
        seen.add(ep.name)
        out.append(ep)
    return tuple(out)


def _describe_exc(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _load_all(only: Optional[str] = None) -> dict[str, _Loaded]:
    """Known generators in listing order (entry points sorted, then in-process ones).

    With ``only``, just that name is imported (the others are named but not loaded, so a broken
    unrelated plugin does not even log).
    """
    found: dict[str, _Loaded] = {}
    with _lock:
        registered = dict(_registered)
    for ep in sorted(_entry_points(), key=lambda e: e.name):
        origin = f"entry point {ep.value}"
        if ep.name in registered:
            log.debug("generator %r: in-process registration overrides %s", ep.name, origin)
            continue
        if only is not None and ep.name != only:
            found[ep.name] = _Loaded(ep.name, origin, None, "not loaded")
            continue
        try:
            factory = ep.load()
        except (Exception, SystemExit) as exc:  # a broken plugin must never be fatal
            reason = f"plugin failed to import ({_describe_exc(exc)})"
            log.warning("generator %r (%s): %s", ep.name, ep.value, reason)
            log.debug("generator %r import traceback", ep.name, exc_info=True)
            found[ep.name] = _Loaded(ep.name, origin, None, reason)
            continue
        if not callable(factory):
            reason = f"entry point {ep.value} is not callable"
            log.warning("generator %r: %s", ep.name, reason)
            found[ep.name] = _Loaded(ep.name, origin, None, reason)
            continue
        found[ep.name] = _Loaded(ep.name, origin, factory)
    for name, factory in registered.items():
        found[name] = _Loaded(name, "registered in process", factory)
    return found


def _availability(loaded: _Loaded, options: Mapping[str, Any]) -> tuple[bool, str]:
    if loaded.factory is None:
        return False, loaded.error
    check = getattr(loaded.factory, "availability", None)
    if check is None:
        return True, ""
    try:
        result = check(dict(options))
        ok, reason = result if isinstance(result, tuple) else (bool(result), "")
    except Exception as exc:
        reason = f"availability check failed ({_describe_exc(exc)})"
        log.warning("generator %r: %s", loaded.name, reason)
        log.debug("generator %r availability traceback", loaded.name, exc_info=True)
        return False, reason
    return bool(ok), str(reason or "")


def _description(factory: Optional[Factory]) -> str:
    if factory is None:
        return ""
    text = getattr(factory, "description", None)
    if isinstance(text, str) and text:
        return text
    doc = inspect.getdoc(factory) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def _info(loaded: _Loaded, options: Mapping[str, Any]) -> GeneratorInfo:
    ok, reason = _availability(loaded, options)
    temporal = getattr(loaded.factory, "temporal", False) if loaded.factory is not None else False
    return GeneratorInfo(
        name=loaded.name,
        available=ok,
        reason=reason,
        temporal=bool(temporal) if isinstance(temporal, (bool, int)) else False,
        description=_description(loaded.factory),
        origin=loaded.origin,
        assumptions=tuple(str(a) for a in (getattr(loaded.factory, "assumptions", ()) or ())),
    )


def available_generators(options: Optional[Mapping[str, Any]] = None) -> dict[str, GeneratorInfo]:
    """Every generator known to this process, available or not, keyed by name.

    ``options`` (e.g. ``{"model": PATH}``) are passed to each backend's availability check.
    Never raises because of a plugin: broken ones are listed with ``available=False`` and a
    reason, and logged.
    """
    opts = dict(options or {})
    return {name: _info(loaded, opts) for name, loaded in _load_all().items()}


def _checked(name: str, options: Mapping[str, Any]) -> _Loaded:
    """The loaded plugin ``name`` once its name, options and availability (model folder
    included) are checked; see :func:`get_generator` for the errors."""
    found = _load_all(only=name)
    if name not in found:
        known = ", ".join(sorted(found)) or "none"
        raise UsageError(f"unknown generator {name!r}; known generators: {known}")
    loaded = found[name]
    if loaded.factory is not None:
        try:
            inspect.signature(loaded.factory).bind(**options)
        except TypeError as exc:
            raise UsageError(f"generator {name!r} does not accept options {sorted(options)}: {exc}") from None
        except ValueError:  # no signature available (builtins): let the call decide
            pass
    if options.get("model") and loaded.factory is not None and getattr(loaded.factory, "takes_model", True) is False:
        raise UsageError(
            f"generator {name!r} takes no model, but a model was given ({options['model']}): choose a "
            f"generator that loads one (--generator NAME, see `genpost generators`) or leave --model out"
        )
    ok, reason = _availability(loaded, options)
    if not ok or loaded.factory is None:
        raise DependencyError(f"generator {name!r} is not available: {reason or 'unknown reason'}")
    return loaded


def check_generator(name: Optional[str] = None, **options: Any) -> GeneratorInfo:
    """Refuse, as :func:`get_generator` would, a generator that cannot run with ``options``
    (unknown name, options it does not take, missing package, unusable model folder) without
    constructing it or loading weights; return its info. Jobs call it before any planning."""
    name = name or DEFAULT_GENERATOR
    return _info(_checked(name, options), options)


def get_generator(name: Optional[str] = None, **options: Any) -> Generator:
    """Construct the generator ``name`` (default: ``classical``) with ``options``.

    Unknown name: :class:`UsageError` listing the known ones. Known but not usable here
    (import failed, availability check says no): :class:`DependencyError` with the reason.
    Errors the backend raises itself (``GenpostError``) pass through; any other exception from
    a plugin's constructor becomes a DependencyError naming the plugin.
    """
    name = name or DEFAULT_GENERATOR
    loaded = _checked(name, options)
    assert loaded.factory is not None
    try:
        generator = loaded.factory(**options)
    except GenpostError:
        raise
    except Exception as exc:
        log.debug("generator %r constructor traceback", name, exc_info=True)
        raise DependencyError(f"generator {name!r} failed to start: {_describe_exc(exc)}") from exc
    for attr in ("generate", "provenance"):
        if not callable(getattr(generator, attr, None)):
            raise DependencyError(f"generator {name!r} ({loaded.origin}) has no {attr}() method")
    if not getattr(generator, "name", None):
        try:
            generator.name = name  # type: ignore[misc]
        except AttributeError:
            pass
    return generator
