"""Analyse stage: functions a spec names (`package.module:function`) import and are callable (E332).

Callbacks (`on_failure_callback` and the others, on the DAG, `defaults:` or a step), python
steps (`python:`) and `python_callable` in operator args become imports in the DAG file; a
name that does not import fails only when Airflow parses the file, so each is imported here
first, in `import_child`'s child process for the project root (importing runs the module's
code; the root is first on `sys.path` as in Airflow's DAG folder), with a time limit. A standard-library module is
refused without importing (`os:system`, `subprocess:run` are no callbacks).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

from . import pyobjects
from .diagnostics import Diagnostic
from .import_child import Worker
from .loader import LoadedSpec
from .model import PipelineSpec
from .task_settings import CALLBACKS, DAG_CALLBACKS, callback_refs

_STDLIB = frozenset(sys.stdlib_module_names) | {"__main__", "__future__"}
_VERDICTS: dict[tuple[str, str], str | None] = {}


def references(spec: PipelineSpec) -> Iterator[tuple[tuple, str]]:
    """(json path, `module:function`) of every function the spec names."""
    raw = spec.raw
    for key in DAG_CALLBACKS:
        for sub, ref in callback_refs(raw.get(key)):
            yield (key, *sub), ref
    for key in ("macros", "filters"):  # user-defined macros and filters of operator templates
        if isinstance(raw.get(key), dict):
            for name, ref in raw[key].items():
                if isinstance(ref, str):
                    yield (key, name), ref
    defaults = raw.get("defaults") or {}
    for key in CALLBACKS:
        for sub, ref in callback_refs(defaults.get(key)):
            yield ("defaults", key, *sub), ref
    for name, step in spec.steps.items():
        base = ("steps", name)
        for key in CALLBACKS:
            for sub, ref in callback_refs(step.raw.get(key)):
                yield (*base, key, *sub), ref
        if isinstance(step.raw.get("python"), str):
            yield (*base, "python"), step.raw["python"]
        args = step.raw.get("args")
        given = ((spec.raw.get("steps") or {}).get(name) or {}).get("args")  # as written (python steps too)
        if step.kind == "operator" and isinstance(given, dict):
            for sub, ref in pyobjects.objects(given):  # typed objects: {__type__: datetime.timedelta, ...}
                yield (*base, "args", *sub), ref or "<no class>"
        if step.kind == "operator" and "python" not in step.raw and isinstance(args, dict) and isinstance(args.get("python_callable"), str):
            yield (*base, "args", "python_callable"), args["python_callable"]


def project_root(spec_path: str) -> Path:
    env = os.environ.get("ETLC_PROJECT_ROOT")
    if env:
        return Path(env)
    start = Path(spec_path).resolve().parent
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file():
            return folder
    return start


def verdicts(names: list[str], root: Path) -> dict[str, str | None]:
    """None for a name that imports as a callable, else why not."""
    out: dict[str, str | None] = {}
    todo = []
    for name in dict.fromkeys(names):
        module = name.partition(":")[0]
        if name in pyobjects.SAFE:
            out[name] = None
        elif ":" not in name:
            out[name] = f"{name!r} is not package.module:function (nor package.module.Class)"
        elif module.split(".")[0] in _STDLIB:
            out[name] = f"module {module!r} is in the standard library: name a function of your own"
        elif (str(root), name) in _VERDICTS:
            out[name] = _VERDICTS[(str(root), name)]
        else:
            todo.append(name)
    if todo:
        found = Worker.get(root).ask(todo, kind="callable")
        for name in todo:
            verdict = found.get(name, "import check failed: the child process died")
            _VERDICTS[(str(root), name)] = verdict
            out[name] = verdict
    return out


def check(loaded: LoadedSpec, spec: PipelineSpec) -> list[Diagnostic]:
    places = list(references(spec))
    if not places:
        return []
    found = verdicts([ref for _, ref in places], project_root(loaded.path))
    return [loaded.diag("E332", found[ref], path,
                        help="a function importable where Airflow parses the DAG (the project root is on the path)")
            for path, ref in places if found.get(ref)]
