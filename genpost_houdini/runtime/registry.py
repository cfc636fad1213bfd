"""One process-wide model registry: each model is loaded once per key and shared.

``get_registry().get(key, loader)`` returns the object the first caller's ``loader`` built for
``key`` (a tuple that names what makes a load distinct: folder, dtype, device). Concurrent callers
of the same key wait for that one load. Loaded objects count against a memory budget
(``GENPOST_MEMORY_BUDGET``: bytes, or ``8G`` / ``512M`` / ``1.5GiB``; unset = no limit); when a
new load goes over it, the least recently used entries are dropped. ``release()`` drops entries
explicitly and returns cached GPU memory to the driver when torch is loaded.

Dropping an entry only drops the registry's reference: a caller that still holds the object
keeps it alive until it lets go.
"""

from __future__ import annotations

import gc
import logging
import os
import re
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, TypeVar

from ..errors import UsageError

T = TypeVar("T")

log = logging.getLogger("genpost.runtime")

BUDGET_ENV = "GENPOST_MEMORY_BUDGET"

_UNITS = {"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_size(text: str) -> int:
    """Parse ``"8G"``, ``"512M"``, ``"1.5GiB"``, ``"1000000"`` into bytes (binary units)."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([KMGT]?)(?:I?B)?\s*", text.upper())
    if not m:
        raise UsageError(f"{BUDGET_ENV}: cannot read {text!r} as a size (e.g. 8G, 512M, 1000000)")
    return int(float(m.group(1)) * _UNITS[m.group(2)])


def estimate_size(obj: Any) -> int:
    """Bytes held by a torch module or a diffusers pipeline (parameters and buffers); 0 otherwise.

    Tensors shared between components are counted once.
    """
    if "torch" not in sys.modules:
        return 0
    modules: list[Any] = []
    if hasattr(obj, "parameters") and hasattr(obj, "buffers"):
        modules.append(obj)
    components = getattr(obj, "components", None)
    if isinstance(components, dict):
        modules.extend(m for m in components.values() if hasattr(m, "parameters") and hasattr(m, "buffers"))
    seen: set[tuple[str, int]] = set()
    total = 0
    for module in modules:
        try:
            tensors = list(module.parameters()) + list(module.buffers())
        except Exception:  # not a real module after all
            continue
        for t in tensors:
            ident = (str(t.device), t.data_ptr())
            if ident in seen:
                continue
            seen.add(ident)
            total += t.numel() * t.element_size()
    return total


@dataclass
class _Entry:
    value: Any
    size_bytes: int
    loaded_at: float = field(default_factory=time.time)
    last_used: float = field(default_factory=time.time)


@dataclass
class _Pending:
    event: threading.Event = field(default_factory=threading.Event)
    value: Any = None
    error: BaseException | None = None


@dataclass(frozen=True)
class LoadedModel:
    """What :meth:`ModelRegistry.stats` reports for one entry."""

    key: tuple
    size_bytes: int
    loaded_at: float
    last_used: float


class ModelRegistry:
    """Thread-safe load-once cache with a memory budget and LRU eviction."""

    def __init__(self, budget_bytes: int | None = None) -> None:
        self._explicit_budget = budget_bytes
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._pending: dict[Hashable, _Pending] = {}

    @property
    def budget_bytes(self) -> int | None:
        """The budget in bytes (explicit, else ``$GENPOST_MEMORY_BUDGET``, else None = no limit)."""
        if self._explicit_budget is not None:
            return self._explicit_budget
        text = os.environ.get(BUDGET_ENV, "").strip()
        return parse_size(text) if text else None

    def get(self, key: tuple, loader: Callable[[], T], *, size_bytes: int | None = None) -> T:
        """Return the object loaded for ``key``, calling ``loader()`` only if none is loaded.

        Concurrent callers of one key wait for the single load; if it raises, every waiter gets
        the same exception and the next call tries again.
        """
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                entry.last_used = time.time()
                self._entries.move_to_end(key)
                return entry.value  # type: ignore[no-any-return]
            pending = self._pending.get(key)
            owner = pending is None
            if owner:
                pending = self._pending[key] = _Pending()
        assert pending is not None
        if not owner:
            pending.event.wait()
            if pending.error is not None:
                raise pending.error
            return pending.value  # type: ignore[no-any-return]

        try:
            started = time.perf_counter()
            value = loader()
            size = int(size_bytes) if size_bytes is not None else estimate_size(value)
            log.info("loaded %s (%.1f MiB) in %.2f s", _describe(key), size / 2**20, time.perf_counter() - started)
        except BaseException as exc:
            with self._lock:
                pending.error = exc
                del self._pending[key]
            pending.event.set()
            raise
        with self._lock:
            self._entries[key] = _Entry(value, size)
            evicted = self._evict_locked(keep=key)
            pending.value = value
            del self._pending[key]
        pending.event.set()
        if evicted:
            _free_memory()
        return value

    def _evict_locked(self, keep: Hashable) -> list[Hashable]:
        budget = self.budget_bytes
        evicted: list[Hashable] = []
        if budget is None:
            return evicted
        total = sum(e.size_bytes for e in self._entries.values())
        for key in list(self._entries):
            if total <= budget:
                break
            if key == keep:
                continue
            total -= self._entries.pop(key).size_bytes
            evicted.append(key)
            log.info("memory budget %.1f MiB: dropped least recently used %s", budget / 2**20, _describe(key))
        if total > budget:
            log.warning(
                "%s alone (%.1f MiB) exceeds the memory budget (%.1f MiB); kept it loaded",
                _describe(keep), self._entries[keep].size_bytes / 2**20, budget / 2**20,
            )
        return evicted

    def release(self, key: tuple | None = None) -> int:
        """Drop ``key`` (or every entry when None); return how many were dropped.

        Frees the CUDA cache afterwards when torch is loaded.
        """
        with self._lock:
            if key is None:
                count = len(self._entries)
                self._entries.clear()
            else:
                count = 1 if self._entries.pop(key, None) is not None else 0
        _free_memory()
        return count

    def loaded(self) -> list:
        """Keys currently loaded, least recently used first."""
        with self._lock:
            return list(self._entries)

    def stats(self) -> list[LoadedModel]:
        """Size and times of every loaded entry, least recently used first."""
        with self._lock:
            return [LoadedModel(k, e.size_bytes, e.loaded_at, e.last_used) for k, e in self._entries.items()]

    def total_bytes(self) -> int:
        with self._lock:
            return sum(e.size_bytes for e in self._entries.values())


def _describe(key: Hashable) -> str:
    return "/".join(str(part) for part in key) if isinstance(key, tuple) else str(key)


def _free_memory() -> None:
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None:
        try:
            if torch.cuda.is_available() and torch.cuda.is_initialized():
                torch.cuda.empty_cache()
        except Exception:  # pragma: no cover - a broken CUDA runtime must not break release()
            log.debug("torch.cuda.empty_cache failed", exc_info=True)


_REGISTRY: ModelRegistry | None = None
_REGISTRY_LOCK = threading.Lock()


def get_registry() -> ModelRegistry:
    """The process-wide registry (created on first use)."""
    global _REGISTRY
    with _REGISTRY_LOCK:
        if _REGISTRY is None:
            _REGISTRY = ModelRegistry()
        return _REGISTRY
