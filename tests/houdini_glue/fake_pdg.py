"""A small stand-in for the parts of SideFX's ``pdg`` the wedge TOP's glue touches: work items,
an item holder, a Python Processor's parameters and ``cookError``, and ``pdg.result``.
(``pdg`` is SideFX's and cannot be installed here.)"""

from __future__ import annotations

import types
from typing import Any


class WorkItem:
    """A work item; a child item starts with its parent's attributes, as in PDG."""

    def __init__(self, index: int, parent: Any = None) -> None:
        self.index, self.parent = index, parent
        self.attribs: dict[str, Any] = dict(parent.attribs) if isinstance(parent, WorkItem) else {}
        self.command = ""
        self.expected: list[tuple[str, str]] = []
        self.outputs: list[tuple[str, str]] = []

    def stringAttribValue(self, name: str) -> str:  # noqa: N802
        return str(self.attribs[name])

    def addOutputFile(self, path: str, tag: str = "", hash_code: int = 0, own: bool = False) -> None:  # noqa: N802
        self.outputs.append((path, tag))

    def setIntAttrib(self, name: str, value: int) -> None:  # noqa: N802 - PDG's names
        self.attribs[name] = int(value)

    def setFloatAttrib(self, name: str, value: float) -> None:  # noqa: N802
        self.attribs[name] = float(value)

    def setStringAttrib(self, name: str, value: str) -> None:  # noqa: N802
        self.attribs[name] = str(value)

    def setCommand(self, command: str) -> None:  # noqa: N802
        self.command = command

    def addExpectedOutputFile(self, path: str, tag: str, own: bool = True) -> None:  # noqa: N802
        self.expected.append((path, tag))


class ItemHolder:
    def __init__(self) -> None:
        self.items: list[WorkItem] = []

    def addWorkItem(self, index: int = 0, parent: Any = None, **_: Any) -> WorkItem:  # noqa: N802
        self.items.append(WorkItem(index, parent))
        return self.items[-1]


class _Parm:
    def __init__(self, value: Any) -> None:
        self.value = value

    def evaluateString(self) -> str:  # noqa: N802
        if not isinstance(self.value, str):
            raise TypeError("not a string parameter")
        return self.value

    def evaluateInt(self) -> int:  # noqa: N802
        if isinstance(self.value, str):
            raise TypeError("not an integer parameter")
        return int(self.value)


class Processor:
    """A pdg.Node as an onGenerate callback sees it: parameters by name, and ``cookError``."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values
        self.errors: list[str] = []

    def __getitem__(self, name: str) -> _Parm:
        return _Parm(self.values[name])

    def cookError(self, text: str) -> None:  # noqa: N802
        self.errors.append(text)


def make_module() -> types.ModuleType:
    """A ``pdg`` module with the two result values the callbacks return (install with
    ``monkeypatch.setitem(sys.modules, "pdg", ...)``)."""
    module = types.ModuleType("pdg")
    module.result = types.SimpleNamespace(Success="Success", Failure="Failure")
    return module
