"""Analyse stage: `operator:` names an Airflow operator class (E316) that takes the given
`args` (E334).

The schema checks the form `package.module:Class` (E205). Here, always: a standard-library
module never holds an operator (`os:system`, `builtins:eval`, `subprocess:run`). And when
Airflow is installed where the compiler runs, each name is imported the way the DAG file
would import it and must be a class derived from `BaseOperator`. Importing runs the
module's code, so it happens in a child process: one per compiler run, started at the first
spec that needs it and fed names as specs need them, with a time limit; verdicts are cached
by name. Without Airflow only the standard-library check applies.

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

import atexit
import importlib.util
import json
import os
import re
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from etlc_runtime.expr.grammar_cache import cache_folder

from .diagnostics import Diagnostic, did_you_mean
from .loader import LoadedSpec
from .model import PipelineSpec

TIMEOUT_S = 60.0  # for one batch of names, Airflow's own import included
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*")
_STDLIB = frozenset(sys.stdlib_module_names) | {"__main__", "__future__"}

# The child: answers each line of JSON names with one line of JSON verdicts (a string says
# what is wrong; otherwise the accepted parameters, {"own": [...], "base": [...]}, or None) on
# its own copy of stdout; whatever imported modules print goes to stderr.
_CHILD = r"""
import importlib, json, os, sys
channel = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)
sys.stdout = sys.stderr
try:
    from airflow.sdk import BaseOperator
except Exception:
    from airflow.models.baseoperator import BaseOperator

def reads_kwargs(init, name):
    import dis, inspect
    code = getattr(inspect.unwrap(init), "__code__", None)
    if code is None or name in code.co_cellvars:
        return True
    return sum(i.argval == name and i.opname.startswith("LOAD") for i in dis.get_instructions(code)) > 1

def accepted(cls):
    import inspect
    own, base = [], []
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        try:
            params = list(inspect.signature(init).parameters.values())[1:]
        except (TypeError, ValueError):
            return None
        names = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        (base if klass is BaseOperator else own).extend(n for n in names if n not in own + base)
        rest = [p.name for p in params if p.kind is p.VAR_KEYWORD]
        if klass is BaseOperator or not rest:
            return {"own": own, "base": base}
        if reads_kwargs(init, rest[0]):  # takes names out of **kwargs itself: they cannot be listed
            return None
    return None

def verdict(name):
    module, _, attr = name.partition(":")
    try:
        obj = importlib.import_module(module)
    except BaseException as exc:
        return f"cannot import module {module!r}: {type(exc).__name__}: {exc}"
    if not hasattr(obj, attr):
        return f"module {module!r} has no attribute {attr!r}"
    obj = getattr(obj, attr)
    if not isinstance(obj, type):
        return f"{name!r} is a {type(obj).__name__}, not a class"
    if not issubclass(obj, BaseOperator):
        return f"class {name!r} is not an Airflow operator (no BaseOperator subclass)"
    return accepted(obj)

channel.write("ready\n")
channel.flush()
for line in sys.stdin:
    channel.write(json.dumps({n: verdict(n) for n in json.loads(line)}) + "\n")
    channel.flush()
"""

_VERDICTS: dict[str, str | None] = {}
_PARAMS: dict[str, dict[str, list[str]] | None] = {}   # a good name's accepted parameters
CACHE_FILE = "operator-check-2.json"   # 2: {name: [fingerprint, accepted parameters]}


def _params_form(value) -> bool:
    return (isinstance(value, dict) and set(value) == {"own", "base"}
            and all(isinstance(v, list) and all(isinstance(n, str) for n in v) for v in value.values()))


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
                _PARAMS[n] = entry[1] if _params_form(entry[1]) else None
        todo = [n for n in todo if n not in _VERDICTS]
        if todo:
            worker = _Worker.get()
            found = worker.ask(todo)
            _VERDICTS.update(found)
            _PARAMS.update({n: worker.params.get(n) for n in todo if found.get(n) is None})
            _save_cache({n: [prints[n], _PARAMS.get(n)] for n in todo
                         if n in found and found[n] is None and prints[n] is not None})
    return {n: _VERDICTS[n] for n in names if n in _VERDICTS}


class _Worker:
    """The child process that imports operator classes for this compiler run."""

    _current: _Worker | None = None
    unavailable = False  # Airflow is there but does not import: nothing to check against

    @classmethod
    def get(cls) -> _Worker:
        if cls._current is None or cls._current.proc.poll() is not None:
            cls._current = cls()
        return cls._current

    def __init__(self) -> None:
        env = dict(os.environ)
        self.home = None
        if "AIRFLOW_HOME" not in env and not (Path.home() / "airflow").exists():
            # importing Airflow creates its home; leave none behind where there was none
            self.home = tempfile.TemporaryDirectory(prefix="etlc-operator-check-")
            env["AIRFLOW_HOME"] = self.home.name
        self.proc = subprocess.Popen([sys.executable, "-c", _CHILD], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        self.buffer = b""
        self.ready = False
        self.params: dict[str, dict[str, list[str]] | None] = {}  # a good name's accepted parameters
        atexit.register(self.close)

    def ask(self, names: list[str]) -> dict[str, str | None]:
        """Verdicts for names; a child that dies or runs past the limit fails them all."""
        failed = {n: f"importing {n!r} did not finish (the checking process stopped, or ran past "
                     f"{TIMEOUT_S:.0f} s)" for n in names}
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write((json.dumps(names) + "\n").encode())
            self.proc.stdin.flush()
            deadline = time.monotonic() + TIMEOUT_S
            if not self.ready:
                if self._line(deadline) != b"ready":
                    _Worker.unavailable = True
                    return self._lost({})
                self.ready = True
            answer = json.loads(self._line(deadline) or b"null")
        except (OSError, ValueError):
            answer = None
        if not isinstance(answer, dict):
            return self._lost(failed)
        self.params.update({n: answer[n] for n in names if _params_form(answer.get(n))})
        return {n: answer.get(n) if isinstance(answer.get(n), str) else None for n in names}

    def _line(self, deadline: float) -> bytes | None:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line

    def _lost(self, verdicts: dict[str, str | None]) -> dict[str, str | None]:
        self.proc.kill()
        self.proc.wait()
        self.close()
        if _Worker._current is self:
            _Worker._current = None
        return verdicts

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.close()
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None and not pipe.closed:
                try:
                    pipe.close()
                except OSError:
                    pass
        if self.home is not None:
            self.home.cleanup()
            self.home = None
