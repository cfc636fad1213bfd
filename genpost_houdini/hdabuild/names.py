"""Houdini's naming rules for operator types and for section files on disk."""

from __future__ import annotations

import re

#: Tables (network contexts) our assets may live in, with the network type a viewer shows.
TABLES: dict[str, str] = {"Lop": "LOP", "Sop": "SOP", "Cop": "COP", "Cop2": "COP2", "Top": "TOP"}

_TYPE_RE = re.compile(r"^(?P<ns>[a-z][a-z0-9_]*)::(?P<name>[a-z][a-z0-9_]*)::(?P<ver>\d+(\.\d+)*)$")


def encode_section_name(name: str) -> str:
    """Disk name of a section: ``_`` -> ``__``, ``:`` -> ``_8``, ``/`` -> ``_1`` (in that order)."""
    return name.replace("_", "__").replace(":", "_8").replace("/", "_1")


def decode_section_name(disk: str) -> str:
    """Inverse of :func:`encode_section_name`."""
    out: list[str] = []
    i = 0
    while i < len(disk):
        ch = disk[i]
        if ch == "_" and i + 1 < len(disk):
            nxt = disk[i + 1]
            out.append({"_": "_", "8": ":", "1": "/"}.get(nxt, "_" + nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def split_type_name(type_name: str) -> tuple[str, str, str]:
    """``"genpost::set_extension::1.0"`` -> ``("genpost", "set_extension", "1.0")``.

    Raises ValueError when the name is not ``namespace::name::version``.
    """
    m = _TYPE_RE.match(type_name)
    if not m:
        raise ValueError(f"operator type {type_name!r} is not 'namespace::name::version' (lower case)")
    return m["ns"], m["name"], m["ver"]


def table_qualified(type_name: str, table: str) -> str:
    """``genpost::Lop/set_extension::1.0``: the name Houdini uses inside a library."""
    ns, name, ver = split_type_name(type_name)
    return f"{ns}::{table}/{name}::{ver}"
