"""A small stand-in for Houdini's ``hou`` module, covering only the calls genpost's glue makes.

``hou`` is SideFX's (not ours) and cannot be installed here. Stages are REAL pxr stages: a node's
``editableStage()`` is an in-memory ``Usd.Stage`` whose root layer sublayers the input stage's
root layer and whose edit target is that root layer, as in a Python LOP (an active layer over
the input).
"""

from __future__ import annotations

import types
from typing import Any


class NodeError(Exception):
    pass


class OperationFailed(Exception):
    pass


class OperationInterrupted(Exception):
    pass


class _Severity:
    Message = "Message"
    Warning = "Warning"
    Error = "Error"


severityType = _Severity


class _UI:
    def __init__(self) -> None:
        self.messages: list[tuple[str, Any]] = []
        #: The button index the artist presses in the next dialogs (hou returns the pressed index).
        self.answers: list[int] = []

    def displayMessage(self, text: str, severity: Any = None, **_: Any) -> int:  # noqa: N802 - hou's name
        self.messages.append((text, severity))
        return self.answers.pop(0) if self.answers else 0


class InterruptableOperation:
    """Raises OperationInterrupted from ``updateProgress`` once ``interrupt_after`` updates happened."""

    interrupt_after: int | None = None
    instances: list["InterruptableOperation"] = []

    def __init__(self, operation_name: str, long_operation_name: str | None = None, open_interrupt_dialog: bool = False):
        self.name = operation_name
        self.updates: list[tuple[float, str | None]] = []
        self.entered = self.exited = False
        InterruptableOperation.instances.append(self)

    def __enter__(self) -> "InterruptableOperation":
        self.entered = True
        return self

    def __exit__(self, *exc: Any) -> None:
        self.exited = True

    def _update(self, fraction: float, status: str | None) -> None:
        self.updates.append((fraction, status))
        if self.interrupt_after is not None and len(self.updates) > self.interrupt_after:
            raise OperationInterrupted("interrupted by the user")

    def updateProgress(self, percentage: float = -1.0) -> None:  # noqa: N802
        self._update(percentage, None)

    def updateLongProgress(self, percentage: float = -1.0, long_op_status: str | None = None) -> None:  # noqa: N802
        self._update(percentage, long_op_status)


class Parm:
    def __init__(self, value: Any) -> None:
        self.value = value
        self.presses = 0

    def eval(self) -> Any:
        return _expand(self.value) if isinstance(self.value, str) else self.value

    def evalAsFloats(self) -> tuple[float, ...]:  # noqa: N802 - a vector's components (hou.ParmTuple)
        return tuple(float(v) for v in self.value)

    def unexpandedString(self) -> str:  # noqa: N802
        return str(self.value)

    def set(self, value: Any) -> None:
        self.value = value

    def pressButton(self) -> None:  # noqa: N802
        self.presses += 1


class NodeType:
    def __init__(self, name: str) -> None:
        self._name = name

    def name(self) -> str:
        return self._name

    def nameComponents(self) -> tuple[str, ...]:  # noqa: N802
        """``("", "genpost", "set_extension", "1.0")`` for ``genpost::set_extension::1.0``."""
        parts = self._name.split("::")
        return ("", parts[0], parts[1], parts[2]) if len(parts) == 3 else ("", "", self._name, "")


def _expand(text: str) -> str:
    """Variable expansion like Houdini's: $F/$F4 become the current frame (1001 here)."""
    import os
    import re

    text = re.sub(r"\$\{?F(\d*)\}?", lambda m: str(1001).zfill(int(m.group(1) or 1)), text)
    return os.path.expandvars(text)


class LopNode:
    """A LOP node: parameters, inputs, and a real editable stage built over input 0's stage."""

    def __init__(self, path: str, parms: dict[str, Any], inputs: list["LopNode | None"] | None = None, stage: Any = None,
                 type_name: str = "", children: dict[str, "LopNode"] | None = None):
        self._path = path
        self._parms = {k: Parm(v) for k, v in parms.items()}
        self._inputs = inputs or []
        self._stage = stage
        self._editable = None
        self._type = NodeType(type_name)
        self._children = dict(children or {})

    def path(self) -> str:
        return self._path

    def name(self) -> str:
        return self._path.rsplit("/", 1)[-1]

    def type(self) -> NodeType:
        return self._type

    def node(self, name: str) -> "LopNode | None":
        return self._children.get(name)

    def createNode(self, type_name: str, name: str) -> "LopNode":  # noqa: N802
        parms = {"jobfile": ""} if type_name == "genpost::wedge::1.0" else {}
        child = LopNode(f"{self._path}/{name}", parms, type_name=type_name)
        self._children[name] = child
        return child

    def moveToGoodPosition(self) -> None:  # noqa: N802
        pass

    def parm(self, name: str) -> Parm | None:
        """Like hou: a vector parameter (a tuple value here) is no single parm, only a parmTuple."""
        parm = self._parms.get(name)
        return None if parm is None or isinstance(parm.value, tuple) else parm

    def parmTuple(self, name: str) -> Parm | None:  # noqa: N802 - hou's name
        parm = self._parms.get(name)
        return parm if parm is not None and isinstance(parm.value, tuple) else None

    def evalParm(self, name: str) -> Any:  # noqa: N802
        return self._parms[name].eval()

    def inputs(self) -> list["LopNode | None"]:
        return list(self._inputs)

    def stage(self) -> Any:
        return self._stage if self._stage is not None else self.editableStage()

    def editableStage(self) -> Any:  # noqa: N802
        if self._editable is None:
            from pxr import Sdf, Usd

            active = Sdf.Layer.CreateAnonymous("active.usda")
            if self._inputs and self._inputs[0] is not None:
                active.subLayerPaths.append(self._inputs[0].stage().GetRootLayer().identifier)
            self._editable = Usd.Stage.Open(active)
            self._editable.SetEditTarget(Usd.EditTarget(active))
        return self._editable


def make_module(ui_available: bool = True) -> types.ModuleType:
    """A fresh ``hou`` module object (install with ``monkeypatch.setitem(sys.modules, "hou", ...)``)."""
    mod = types.ModuleType("hou")
    mod.NodeError = NodeError
    mod.OperationFailed = OperationFailed
    mod.OperationInterrupted = OperationInterrupted
    mod.severityType = severityType
    mod.ui = _UI()
    mod.isUIAvailable = lambda: ui_available
    InterruptableOperation.interrupt_after = None
    InterruptableOperation.instances = []
    mod.InterruptableOperation = InterruptableOperation
    mod._current = None
    mod.pwd = lambda: mod._current
    mod.frame = lambda: 1001.0
    mod.text = types.SimpleNamespace(expandString=_expand)
    tasks = LopNode("/tasks", {})
    mod.node = lambda path: tasks if path == "/tasks" else None
    return mod
