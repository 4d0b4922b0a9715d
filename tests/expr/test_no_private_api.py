"""The expression evaluator and the dask engine reach library objects through public API only
(issue 11: the dask-cuda path hands them cuDF-backed frames, which have no pandas internals
such as a masked array's ``_data``/``_mask``).  The modules are AST-walked: any ``x._name``
outside ``self``/``cls``, etlc's own modules, or the few names allowed below fails, and so
does an import of a library's private module (a dotted name with a part that starts with
``_``, or ``pandas.core``)."""
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


def _is_library(module: str | None, level: int) -> bool:
    return level == 0 and module is not None and not module.startswith("etlc")


def private_uses(source: str) -> list[tuple[int, str]]:
    """(line, expression) of every private attribute read on something that is not
    ``self``/``cls`` or one of etlc's own modules, and of every import of a library's
    private module."""
    tree = ast.parse(source)
    own, found = set(), []
    for n in ast.walk(tree):
        if isinstance(n, ast.Import):
            for a in n.names:
                if not _is_library(a.name, 0):
                    own.add((a.asname or a.name).split(".")[0])
                elif any(p.startswith("_") for p in a.name.split(".")) \
                        or a.name.startswith("pandas.core"):
                    found.append((n.lineno, f"import {a.name}"))
        elif isinstance(n, ast.ImportFrom):
            if not _is_library(n.module, n.level):
                own.update(a.asname or a.name for a in n.names)
            elif n.module != "__future__" and (
                    any(p.startswith("_") for p in n.module.split("."))
                    or n.module.startswith("pandas.core")
                    or any(a.name.startswith("_") for a in n.names)):
                found.append((n.lineno, f"from {n.module} import ..."))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or not node.attr.startswith("_") \
                or node.attr.startswith("__") or node.attr in ALLOWED:
            continue
        base = node.value
        if isinstance(base, ast.Name) and (base.id in ("self", "cls") or base.id in own):
            continue
        found.append((node.lineno, ast.unparse(node)))
    return sorted(found)


def test_the_walk_finds_what_it_forbids():
    src = ("import pandas as pd\nfrom . import helpers\nfrom .. import _expr\n"
           "import pandas._libs.lib\nfrom pandas.core.arrays import masked\n"
           "from numpy import _core\nfrom etlc_runtime import _x\n"
           "def f(s):\n    a = s.array\n    return a._data, s.array._mask, pd._libs, "
           "helpers._x, _expr._y, s._meta\n")
    assert private_uses(src) == [(4, "import pandas._libs.lib"),
                                 (5, "from pandas.core.arrays import ..."),
                                 (6, "from numpy import ..."),
                                 (10, "a._data"), (10, "pd._libs"), (10, "s.array._mask")]


def test_modules_listed():
    names = {p.name for p in MODULES}
    assert {"pandas_nan.py", "pandas_numeric.py", "pandas_evaluator.py", "dask_eval.py",
            "transform.py", "dask_engine.py"} <= names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_private_attributes(path: Path):
    assert private_uses(path.read_text()) == []
