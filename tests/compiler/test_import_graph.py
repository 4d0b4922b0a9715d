"""The compiler's modules import one another without a cycle, counting the imports inside
functions too (a lazy import only hides a cycle until the day its order changes)."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import etlc_compiler

PACKAGE = Path(etlc_compiler.__file__).parent


def import_graph() -> dict[str, set[str]]:
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.glob("*.py"):
        deps = set()
        for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level == 1 and node.module:
                    deps.add(node.module.split(".")[0])
                elif node.level == 1:
                    deps.update(a.name for a in node.names)
                elif node.level == 0 and (node.module or "").startswith("etlc_compiler."):
                    deps.add(node.module.split(".")[1])
                elif node.level == 0 and node.module == "etlc_compiler":
                    deps.update(a.name for a in node.names)
            elif isinstance(node, ast.Import):
                deps.update(a.name.split(".")[1] for a in node.names if a.name.startswith("etlc_compiler."))
        graph[path.stem] = {d for d in deps if d in modules and d != path.stem}
    return graph


def _runtime_nodes(tree: ast.AST):
    """Every node but those under `if TYPE_CHECKING:` (imports for type hints only)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and isinstance(child.test, ast.Name) and child.test.id == "TYPE_CHECKING":
                todo.extend(child.orelse)
                continue
            todo.append(child)


def test_the_graph_sees_imports_inside_functions():
    graph = import_graph()
    assert "run" in graph["cli"] and "compile" in graph["cli"]   # cli imports them lazily
    assert "loader" in graph["api"]


def test_compiler_imports_are_acyclic():
    try:
        order = list(TopologicalSorter(import_graph()).static_order())
    except CycleError as exc:
        raise AssertionError(f"import cycle: {' -> '.join(exc.args[1])}") from None
    assert "cli" in order
