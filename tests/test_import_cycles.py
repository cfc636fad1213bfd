"""No import cycles between genpost_houdini's packages: imports at any level count (function-level
ones too), only ``if TYPE_CHECKING:`` blocks are left out.

A "package" is the first name under ``genpost_houdini`` (``jobs``, ``farm``, ``imageio`` ...;
top-level modules such as ``errors`` or ``seeds`` count as their own node). The graph is read from
the source with :mod:`ast`, so an import inside a function that a test never calls still counts.

Imports by name count too: ``importlib.import_module("genpost_houdini.x")`` (or ``__import__``)
with a literal name, or an f-string whose leading text resolves (``f"{__package__}.commands.{n}"``
imports ``genpost_houdini.commands``). A module that imports a *computed* name (``import_module
(kind.module)``) counts every genpost_houdini module named in full in its string literals (its
table of job modules) as imported: that is what it loads at run time.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "genpost_houdini"


def _module_name(path: Path) -> tuple[str, bool]:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    is_init = parts[-1] == "__init__"
    if is_init:
        parts = parts[:-1]
    return ".".join(parts), is_init


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else test.attr if isinstance(test, ast.Attribute) else ""
            if name == "TYPE_CHECKING":
                for child in node.body:
                    skip.update(id(n) for n in ast.walk(child))
    return skip


_IMPORT_FUNCS = ("import_module", "__import__")


def _is_import_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call) or not node.args:
        return False
    func = node.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    return name in _IMPORT_FUNCS


def _literal_target(arg: ast.AST, module: str, is_init: bool) -> str | None:
    """The module an import-by-name call's argument names: a literal, or the leading text of an
    f-string (``{__name__}`` and ``{__package__}`` resolved); None when it is computed."""
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    if not isinstance(arg, ast.JoinedStr):
        return None
    package = module if is_init else module.rpartition(".")[0]
    text = ""
    for part in arg.values:
        if isinstance(part, ast.Constant) and isinstance(part.value, str):
            text += part.value
        elif isinstance(part, ast.FormattedValue) and isinstance(part.value, ast.Name) and part.value.id in ("__name__", "__package__"):
            text += module if part.value.id == "__name__" else package
        else:
            break
    return text.rstrip(".") or None


def _names_a_module(text: str) -> bool:
    parts = text.split(".")
    if parts[0] != "genpost_houdini" or not all(p.isidentifier() for p in parts):
        return False
    rel = PACKAGE.parent.joinpath(*parts)
    return rel.with_suffix(".py").is_file() or (rel / "__init__.py").is_file()


def _imported(tree: ast.AST, module: str, is_init: bool) -> list[tuple[str, int]]:
    """Absolute names imported anywhere in ``tree`` (``from X import y`` gives X and X.y), by
    import statements and by name (see the module docstring)."""
    skip = _type_checking_nodes(tree)
    out: list[tuple[str, int]] = []
    computed = False
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if _is_import_call(node):
            target = _literal_target(node.args[0], module, is_init)  # type: ignore[attr-defined]
            if target is None:
                computed = True
            else:
                out.append((target, node.lineno))
        if isinstance(node, ast.Import):
            out += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_init else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out.append((target, node.lineno))
            out += [(f"{target}.{alias.name}", node.lineno) for alias in node.names]
    if computed:  # a module loading computed names loads the modules its literals name
        out += [(node.value, node.lineno) for node in ast.walk(tree)
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and _names_a_module(node.value)]
    return out


def _node(name: str) -> str | None:
    """The package node of an absolute module name, or None outside genpost_houdini."""
    parts = name.split(".")
    if parts[0] != "genpost_houdini" or len(parts) < 2:
        return None
    top = parts[1]
    if (PACKAGE / top).is_dir() or (PACKAGE / f"{top}.py").is_file():
        return top
    return None  # a name imported from the package root (``from genpost_houdini import __version__``)


def package_graph() -> dict[str, dict[str, list[str]]]:
    """node -> {imported node: ["file:line", ...]} over every module of genpost_houdini."""
    graph: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted(PACKAGE.rglob("*.py")):
        module, is_init = _module_name(path)
        src = _node(module)
        if src is None:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for name, line in _imported(tree, module, is_init):
            dst = _node(name)
            if dst is not None and dst != src:
                graph[src][dst].append(f"{path.relative_to(PACKAGE.parent)}:{line}")
    return graph


def find_cycles(graph: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles_between_packages() -> None:
    graph = package_graph()
    cycles = find_cycles(graph)
    detail = []
    for comp in cycles:
        for a in comp:
            for b in comp:
                if b in graph.get(a, {}):
                    detail.append(f"  {a} -> {b}: {', '.join(graph[a][b][:3])}")
    assert not cycles, "import cycles between packages:\n" + "\n".join(detail)


def test_the_checker_sees_function_level_imports_and_skips_type_checking(tmp_path: Path) -> None:
    code = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from ..farm import jobfile\n"
        "def f():\n    from ..farm.workunit import Manifest\n    import genpost_houdini.shot.frames\n"
    )
    names = {n for n, _ in _imported(ast.parse(code), "genpost_houdini.jobs.common", False)}
    assert "genpost_houdini.farm.workunit" in names and "genpost_houdini.shot.frames" in names
    assert "genpost_houdini.farm" not in names, "TYPE_CHECKING imports are left out"
    by_name = (
        "import importlib\n"
        "def g():\n    return importlib.import_module('genpost_houdini.farm.kinds')\n"
        "def h(n):\n    return importlib.import_module(f'{__package__}.commands.{n}')\n"
    )
    names = {n for n, _ in _imported(ast.parse(by_name), "genpost_houdini.jobs.common", False)}
    assert {"genpost_houdini.farm.kinds", "genpost_houdini.jobs.commands"} <= names
    table = (
        "import importlib\n"
        "KINDS = {'a': 'genpost_houdini.farm.runner', 'b': 'genpost_houdini.no_such_module', 'c': 'text'}\n"
        "def load(k):\n    return importlib.import_module(KINDS[k])\n"
    )
    names = {n for n, _ in _imported(ast.parse(table), "genpost_houdini.jobs.registry", False)}
    assert names - {"importlib"} == {"genpost_houdini.farm.runner"}, names
    plain = "CMD = ['python', '-m', 'genpost_houdini.cli']\n"  # a subprocess, not an import
    assert not _imported(ast.parse(plain), "genpost_houdini.runtime.worker.client", False)
    cyclic = {"a": {"b": ["x"]}, "b": {"c": ["y"]}, "c": {"a": ["z"]}, "d": {"a": ["w"]}}
    assert find_cycles(cyclic) == [["a", "b", "c"]]
