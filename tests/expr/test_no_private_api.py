"""The expression evaluator and the dask engine reach library objects through public API only
(issue 11: the dask-cuda path hands them cuDF-backed frames, which have no pandas internals
such as a masked array's ``_data``/``_mask``).  The modules are AST-walked: any ``x._name``
outside ``self``/``cls``, an imported module, or the few names allowed below fails."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

RUNTIME = Path(__file__).resolve().parents[2] / "runtime" / "etlc_runtime"
MODULES = sorted([*(RUNTIME / "expr").glob("*.py"), *(RUNTIME / "engines" / "dask").glob("*.py"),
                  RUNTIME / "engines" / "dask_engine.py"])

# Allowed, with the reason: Dask's collection attributes (the same on dask_cudf's frames):
# ``_meta`` the empty frame of the partitions' types, ``_name`` the graph key; and the
# evaluator's own ``_bool`` (etlc's class, called by its sibling modules).
ALLOWED = {"_meta", "_name", "_bool"}


def private_uses(source: str) -> list[tuple[int, str]]:
    """(line, expression) of every private attribute read on something that is not
    ``self``/``cls`` or a module this source imports."""
    tree = ast.parse(source)
    modules = {(a.asname or a.name).split(".")[0] for n in ast.walk(tree)
               if isinstance(n, ast.Import | ast.ImportFrom) for a in n.names}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or not node.attr.startswith("_") \
                or node.attr.startswith("__") or node.attr in ALLOWED:
            continue
        base = node.value
        if isinstance(base, ast.Name) and (base.id in ("self", "cls") or base.id in modules):
            continue
        found.append((node.lineno, ast.unparse(node)))
    return sorted(found)


def test_the_walk_finds_what_it_forbids():
    src = ("import pandas as pd\nfrom . import helpers\n"
           "def f(s):\n    a = s.array\n    return a._data, s.array._mask, pd._libs, "
           "helpers._x, s._meta\n")
    assert private_uses(src) == [(5, "a._data"), (5, "s.array._mask")]


def test_modules_listed():
    names = {p.name for p in MODULES}
    assert {"pandas_nan.py", "pandas_numeric.py", "pandas_evaluator.py", "dask_eval.py",
            "transform.py", "dask_engine.py"} <= names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_private_attributes(path: Path):
    assert private_uses(path.read_text()) == []
