"""Wedges: lists or ranges of parameter values expanded to work items, one output folder each.

``--param seed=1,2,3``, ``--param seed=1-4``, ``--param strength=0.5,0.7``,
``--param strength=0.2-0.8:0.2``, ``--param 'prompt=a street\\, at dusk,a street at night'``
(commas escaped) or ``--param 'prompt=["a street, at dusk", "a street at night"]'`` (JSON list).
Several parameters give their cross product, the last one varying fastest. Each item carries
the PDG wedge attributes: ``wedgeindex``/``wedgenum`` (0-based) and ``wedgecount``/``wedgetotal``
(the whole product is one wedge), plus the parameter values, and writes into
``OUT/wedge_NNNN_<name><value>...`` (deterministic, filesystem-safe).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from ..errors import JobFileError, UsageError
from ..limits import MAX_WEDGES
from ..jobs.registry import ParamSpec
from .jobfile import NOT_WEDGEABLE, coerce_value

_INT_RANGE = re.compile(r"^\s*(-?\d+)\s*-\s*(-?\d+)\s*(?:[:x]\s*(\d+))?\s*$")
_FLOAT_RANGE = re.compile(r"^\s*(-?\d+(?:\.\d*)?)\s*-\s*(-?\d+(?:\.\d*)?)\s*:\s*(\d+(?:\.\d*)?)\s*$")
_SLUG = re.compile(r"[^A-Za-z0-9.+-]+")


@dataclass(frozen=True)
class WedgeItem:
    """One wedge: its index, the values it sets, and its output folder name."""

    index: int
    count: int
    values: dict[str, Any]

    @property
    def name(self) -> str:
        return wedge_folder_name(self.index, self.values)

    def attributes(self) -> dict[str, Any]:
        """PDG-style attributes: wedgeindex, wedgecount, wedgenum, wedgetotal, then the values."""
        attrs: dict[str, Any] = {
            "wedgeindex": self.index,
            "wedgecount": self.count,
            "wedgenum": self.index,
            "wedgetotal": self.count,
        }
        attrs.update(self.values)
        return attrs

    def out_dir(self, out: str | Path) -> Path:
        return Path(out) / self.name

    def to_json(self, out: str | Path | None = None) -> dict[str, Any]:
        doc = {"name": self.name, "attributes": self.attributes()}
        if out is not None:
            doc["out"] = str(self.out_dir(out))
        return doc


def split_param(text: str) -> tuple[str, str]:
    """``"seed=1,2,3"`` -> ``("seed", "1,2,3")``; UsageError when there is no ``=``."""
    name, sep, values = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise UsageError(f"--param {text!r}: expected NAME=VALUES (e.g. seed=1,2,3)")
    return name, values


def parse_values(name: str, text: str, spec: ParamSpec) -> list[Any]:
    """The values of one ``--param NAME=TEXT`` typed by ``spec`` (UsageError naming the parameter)."""
    stripped = text.strip()
    raw: list[Any]
    if stripped.startswith("["):
        try:
            raw = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise UsageError(f"--param {name}: not a valid JSON list ({exc.msg})") from None
        if not isinstance(raw, list):
            raise UsageError(f"--param {name}: expected a JSON list")
    elif spec.type == "int" and _INT_RANGE.match(stripped):
        m = _INT_RANGE.match(stripped)
        assert m is not None
        a, b, step = int(m.group(1)), int(m.group(2)), int(m.group(3) or 1)
        if b < a or step < 1:
            raise UsageError(f"--param {name}={text}: range end before start or step < 1")
        _check_count(f"--param {name}={text}", len(range(a, b + 1, step)))
        raw = list(range(a, b + 1, step))
    elif spec.type == "float" and _FLOAT_RANGE.match(stripped):
        m = _FLOAT_RANGE.match(stripped)
        assert m is not None
        lo, hi, inc = float(m.group(1)), float(m.group(2)), float(m.group(3))
        if hi < lo or inc <= 0:
            raise UsageError(f"--param {name}={text}: range end before start or step <= 0")
        n = int(round((hi - lo) / inc)) + 1
        _check_count(f"--param {name}={text}", n)
        raw = [round(lo + i * inc, 10) for i in range(n) if lo + i * inc <= hi + inc * 1e-9]
    else:
        raw = [_unescape(p) for p in _split_commas(text)]
        if spec.type in ("int", "float", "bool"):
            raw = [_number(name, p, spec.type) for p in raw]
    if not raw:
        raise UsageError(f"--param {name}: no values")
    try:
        return [coerce_value(f"--param {name}", v, spec, None) for v in raw]
    except JobFileError as exc:
        raise UsageError(str(exc)) from None


def parse_one(name: str, text: str, spec: ParamSpec) -> Any:
    """One value of ``--wedge NAME=VALUE`` (no list splitting: a prompt may hold commas)."""
    value: Any = _number(name, text, spec.type) if spec.type in ("int", "float", "bool") else text
    try:
        return coerce_value(f"--wedge {name}", value, spec, None)
    except JobFileError as exc:
        raise UsageError(str(exc)) from None


def _split_commas(text: str) -> list[str]:
    parts, cur, i = [], [], 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            cur.append(text[i:i + 2])
            i += 2
            continue
        if c == ",":
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    parts.append("".join(cur))
    return parts


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _number(name: str, text: str, type_: str) -> Any:
    t = text.strip()
    try:
        if type_ == "int":
            return int(t)
        if type_ == "float":
            return float(t)
    except ValueError:
        raise UsageError(f"--param {name}: {text!r} is not {'an integer' if type_ == 'int' else 'a number'}") from None
    if t.lower() in ("1", "true", "yes", "on"):
        return True
    if t.lower() in ("0", "false", "no", "off"):
        return False
    raise UsageError(f"--param {name}: {text!r} is not true or false")


def parse_param_args(args: Iterable[str], specs: Mapping[str, ParamSpec]) -> dict[str, list[Any]]:
    """``["seed=1,2,3", "strength=0.5,0.7"]`` -> ``{"seed": [1, 2, 3], "strength": [0.5, 0.7]}``."""
    out: dict[str, list[Any]] = {}
    for text in args:
        name, values = split_param(text)
        if name not in specs:
            raise UsageError(f"--param {name}: unknown parameter (known: {', '.join(sorted(specs))})")
        if name in NOT_WEDGEABLE:
            raise UsageError(f"--param {name}: {name} cannot be wedged (each wedge has its own output folder)")
        out[name] = parse_values(name, values, specs[name])
    return out


def expand(wedges: Mapping[str, Sequence[Any]]) -> list[WedgeItem]:
    """The cross product of ``wedges`` as items (empty mapping -> no items)."""
    if not wedges:
        return []
    names = list(wedges)
    total = 1
    for n in names:
        total *= max(1, len(wedges[n]))
    _check_count("wedges " + " x ".join(f"{n} ({len(wedges[n])})" for n in names), total)
    combos = list(itertools.product(*(list(wedges[n]) for n in names)))
    return [WedgeItem(i, len(combos), dict(zip(names, combo))) for i, combo in enumerate(combos)]


def _check_count(what: str, count: int) -> None:
    """Refuse a wedge of more than :data:`~genpost_houdini.limits.MAX_WEDGES` work items
    before a list of that size is built."""
    if count > MAX_WEDGES:
        raise UsageError(f"{what}: {count} work items, at most {MAX_WEDGES} per wedge")


def select(items: Sequence[WedgeItem], *, index: int | None = None, values: Mapping[str, Any] | None = None) -> WedgeItem:
    """The item with ``index`` or with exactly ``values``; UsageError listing the wedges otherwise."""
    if index is not None:
        if 0 <= index < len(items):
            return items[index]
        raise UsageError(f"--wedge-index {index}: the job has {len(items)} wedges (0-{len(items) - 1})")
    wanted = dict(values or {})
    matches = [it for it in items if all(k in it.values and it.values[k] == v for k, v in wanted.items())]
    if len(matches) == 1 and set(wanted) == set(matches[0].values):
        return matches[0]
    listing = "; ".join(f"{it.index}: {_describe(it.values)}" for it in items[:20])
    raise UsageError(f"--wedge {_describe(wanted)} does not name exactly one wedge of this job ({listing})")


def _describe(values: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in values.items())


def wedge_folder_name(index: int, values: Mapping[str, Any]) -> str:
    """``wedge_0002_seed3_strength0.7``; long or odd values become a short slug plus a hash."""
    parts = [f"wedge_{index:04d}"]
    for name, value in values.items():
        text = json.dumps(value) if not isinstance(value, str) else value
        slug = _SLUG.sub("-", text).strip("-")
        if len(slug) > 24 or slug != text:
            digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
            slug = f"{slug[:16].strip('-')}-{digest}" if slug else digest
        parts.append(f"{_SLUG.sub('', name)}{slug}")
    return "_".join(parts)
