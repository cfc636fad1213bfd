"""No import cycles between genpost_houdini's packages: imports at any level count (function-level
ones too), only ``if TYPE_CHECKING:`` blocks are left out.

A "package" is the first name under ``genpost_houdini`` (``jobs``, ``farm``, ``imageio`` ...;
top-level modules such as ``errors`` or ``seeds`` count as their own node). The graph is read from
the source with :mod:`ast`, so an import inside a function that a test never calls still counts.
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


def _imported(tree: ast.AST, module: str, is_init: bool) -> list[tuple[str, int]]:
    """Absolute names imported anywhere in ``tree`` (``from X import y`` gives X and X.y)."""
    skip = _type_checking_nodes(tree)
    out: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
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
    cyclic = {"a": {"b": ["x"]}, "b": {"c": ["y"]}, "c": {"a": ["z"]}, "d": {"a": ["w"]}}
    assert find_cycles(cyclic) == [["a", "b", "c"]]
