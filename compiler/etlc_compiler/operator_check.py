"""Analyse stage: `operator:` names an Airflow operator class (E316) that takes the given
`args` (E334).

The schema checks the form `package.module:Class` (E205). Here, always: a standard-library
module never holds an operator (`os:system`, `builtins:eval`, `subprocess:run`). And when
Airflow is installed where the compiler runs, each name is imported the way the DAG file
would import it and must be a class derived from `BaseOperator`, in the child process of
`import_child` (one per compiler run, with a time limit); verdicts are cached by name.
Without Airflow only the standard-library check applies.

The child also says which keyword arguments the class accepts: the parameters of each
``__init__`` along the MRO, down to the first that takes no ``**kwargs`` or to
``BaseOperator`` (whose ``**kwargs`` refuse any other name, so its own parameters close the
list). An `args` key or `expand` argument outside that list is E334 at the key, with the
names the class takes. A class whose ``__init__`` reads its ``**kwargs`` itself (more than
passing them on: ``kwargs.pop("x")``) takes names no signature lists; its args are not checked.

Starting Airflow in the child costs seconds, too much for a pre-commit hook run on every
commit, so names found good are also remembered on disk (``ETLC_CACHE_DIR``, else
``$XDG_CACHE_HOME/etlc``, else ``~/.cache/etlc``), each with a fingerprint of the files it
was judged from: the operator's module file and Airflow's own ``__init__``, found on
``sys.path`` without importing anything (path, size, mtime). A changed file, another
interpreter or another Airflow means a new verdict; a refused name is never cached.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
from pathlib import Path

from etlc_runtime.expr.grammar_cache import cache_folder

from .diagnostics import Diagnostic, did_you_mean
from .import_child import Worker as _Worker
from .import_child import params_form
from .loader import LoadedSpec
from .model import PipelineSpec

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*")
_STDLIB = frozenset(sys.stdlib_module_names) | {"__main__", "__future__"}

_VERDICTS: dict[str, str | None] = {}
_PARAMS: dict[str, dict[str, list[str]] | None] = {}   # a good name's accepted parameters
CACHE_FILE = "operator-check-2.json"   # 2: {name: [fingerprint, accepted parameters]}


def _cache_path() -> Path:
    return cache_folder() / CACHE_FILE


def _source_of(module: str) -> Path | None:
    """The file ``import module`` would run, found on sys.path without importing."""
    rel = Path(*module.split("."))
    for entry in sys.path:
        base = Path(entry or ".")
        for candidate in (base / rel.with_suffix(".py"), base / rel / "__init__.py"):
            if candidate.is_file():
                return candidate.resolve()
    return None


def fingerprint(name: str) -> str | None:
    """What a cached verdict for ``name`` was judged from; None when it cannot be told."""
    parts = [sys.executable]
    for module in (name.split(":", 1)[0], "airflow"):
        source = _source_of(module)
        if source is None:
            return None
        st = source.stat()
        parts.append(f"{source}:{st.st_size}:{st.st_mtime_ns}")
    return "|".join(parts)


def _load_cache() -> dict[str, str]:
    try:
        data = json.loads(_cache_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _save_cache(good: dict[str, list]) -> None:
    if not good:
        return
    path = _cache_path()
    try:
        data = {**_load_cache(), **good}
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(json.dumps(data, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # a cache that cannot be written only costs time


def check(loaded: LoadedSpec, spec: PipelineSpec) -> list[Diagnostic]:
    places = [(name, step.raw["operator"]) for name, step in spec.steps.items()
              if isinstance(step.raw.get("operator"), str)]
    verdicts = {op: static_verdict(op) for _, op in places}
    verdicts.update(import_verdicts([op for op, v in verdicts.items() if v is None]))
    diags = [loaded.diag("E316", verdicts[op], ("steps", name, "operator"),
                         help="name an Airflow operator class, e.g. airflow.providers.standard.operators.bash:BashOperator")
             for name, op in places if verdicts.get(op)]
    written = spec.raw.get("steps") or {}
    for name, op in places:
        raw = written.get(name) if isinstance(written.get(name), dict) else {}
        if verdicts.get(op) is None and isinstance(raw.get("operator"), str):  # not a python: step
            diags += _check_args(loaded, name, op, raw)
    return diags


def _check_args(loaded: LoadedSpec, step: str, op: str, raw: dict) -> list[Diagnostic]:
    """E334 for each `args` key and `expand` argument that the operator class does not take."""
    params = _PARAMS.get(op)
    if not params:
        return []
    known = params["own"] + params["base"]
    given = [(key, ("args", key)) for key in (raw.get("args") or {}) if isinstance(raw.get("args"), dict)]
    given += [(key, ("expand", key)) for key in (raw.get("expand") or {}) if isinstance(raw.get("expand"), dict)]
    cls = op.rsplit(":", 1)[-1]
    takes = ", ".join(params["own"]) or "nothing of its own"
    if params["base"]:
        takes += f"; and BaseOperator's: {', '.join(params['base'])}"
    return [loaded.diag("E334", f"{cls} takes no parameter '{key}'", ("steps", step, *sub), at="key",
                        help=f"{did_you_mean(key, known) or ''} {cls} takes {takes}".strip())
            for key, sub in given if key not in known]


def accepted_params(name: str) -> dict[str, list[str]] | None:
    """The keyword arguments a checked operator class takes ({"own", "base"}), or None if unknown."""
    return _PARAMS.get(name)


def static_verdict(name: str) -> str | None:
    """What is wrong with an operator name without importing anything, or None."""
    if not _NAME.fullmatch(name):
        return f"{name!r} is not 'package.module:Class'"
    module = name.split(":", 1)[0]
    if module.split(".", 1)[0] in _STDLIB:
        return f"module {module!r} is part of Python's standard library, which holds no Airflow operator"
    return None


def airflow_installed() -> bool:
    return importlib.util.find_spec("airflow") is not None


def import_verdicts(names: list[str]) -> dict[str, str | None]:
    """Each name's verdict from the child (cached); empty without Airflow."""
    todo = sorted({n for n in names if n not in _VERDICTS})
    if todo and airflow_installed() and not _Worker.unavailable:
        cached = _load_cache()
        prints = {n: fingerprint(n) for n in todo}
        for n in todo:
            entry = cached.get(n)
            if prints[n] is not None and isinstance(entry, list) and len(entry) == 2 and entry[0] == prints[n]:
                _VERDICTS[n] = None
                _PARAMS[n] = entry[1] if params_form(entry[1]) else None
        todo = [n for n in todo if n not in _VERDICTS]
        if todo:
            worker = _Worker.get()
            found = worker.ask(todo)
            _VERDICTS.update(found)
            _PARAMS.update({n: worker.params.get(n) for n in todo if found.get(n) is None})
            _save_cache({n: [prints[n], _PARAMS.get(n)] for n in todo
                         if n in found and found[n] is None and prints[n] is not None})
    return {n: _VERDICTS[n] for n in names if n in _VERDICTS}

