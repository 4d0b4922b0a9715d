"""The child process that imports what a spec names, for the checks that must import it:
operator classes (`operator_check`, E316/E334) and functions (`callables`, E332).

Importing runs the module's code, so it happens in a child: one per compiler run (and per
project root, which the child puts first on `sys.path` and runs in, as Airflow's DAG folder),
started at the first name that needs it and fed batches of names of a kind (`operator`,
`callable`) as specs need them, each batch with a time limit. Airflow is imported only when an
operator is asked for. A child that dies or runs past the limit fails its batch.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import ClassVar

TIMEOUT_S = 60.0  # for one batch of names, Airflow's own import included

# The child: argv[1] is a folder to put first on sys.path ("" for none). Each line of JSON
# {"kind", "names"} gets one line of JSON verdicts on its own copy of stdout (a string says what
# is wrong; otherwise None, or for an operator the parameters it accepts, {"own", "base"}), or
# {"unavailable": why} when an operator is asked for and Airflow does not import; whatever
# imported modules print goes to stderr.
_CHILD = r"""
import importlib, json, os, sys
if sys.argv[1]:
    sys.path.insert(0, sys.argv[1])
channel = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)
sys.stdout = sys.stderr
BaseOperator = None

def base_operator():
    global BaseOperator
    if BaseOperator is None:
        try:
            from airflow.sdk import BaseOperator
        except Exception:
            from airflow.models.baseoperator import BaseOperator
    return BaseOperator

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

def target(name):
    module, _, attr = name.partition(":")
    try:
        obj = importlib.import_module(module)
    except BaseException as exc:
        return None, f"cannot import module {module!r}: {type(exc).__name__}: {exc}"
    if not hasattr(obj, attr):
        return None, f"module {module!r} has no attribute {attr!r}"
    return getattr(obj, attr), None

def callable_verdict(name):
    obj, wrong = target(name)
    if wrong or callable(obj):
        return wrong
    return f"{name!r} is a {type(obj).__name__}, not a function"

def operator_verdict(name):
    obj, wrong = target(name)
    if wrong:
        return wrong
    if not isinstance(obj, type):
        return f"{name!r} is a {type(obj).__name__}, not a class"
    if not issubclass(obj, BaseOperator):
        return f"class {name!r} is not an Airflow operator (no BaseOperator subclass)"
    return accepted(obj)

KINDS = {"operator": operator_verdict, "callable": callable_verdict}
channel.write("ready\n")
channel.flush()
for line in sys.stdin:
    request = json.loads(line)
    try:
        if request["kind"] == "operator":
            base_operator()
        answer = {n: KINDS[request["kind"]](n) for n in request["names"]}
    except Exception as exc:
        answer = {"unavailable": f"{type(exc).__name__}: {exc}"}
    channel.write(json.dumps(answer) + "\n")
    channel.flush()
"""


def params_form(value) -> bool:
    """An operator's accepted parameters as the child sends them: {"own": [...], "base": [...]}."""
    return (isinstance(value, dict) and set(value) == {"own", "base"}
            and all(isinstance(v, list) and all(isinstance(n, str) for n in v) for v in value.values()))


class Worker:
    """A child process that imports names for this compiler run: one without a project folder
    (operators), one per project root (callables)."""

    _current: Worker | None = None     # the one without a project folder
    _rooted: ClassVar[dict[str, Worker]] = {}
    unavailable = False  # Airflow is there but does not import: no operator to check against

    @classmethod
    def get(cls, root: Path | None = None) -> Worker:
        if root is None:
            if cls._current is None or cls._current.proc.poll() is not None:
                cls._current = cls()
            return cls._current
        key = str(root)
        if key not in cls._rooted or cls._rooted[key].proc.poll() is not None:
            cls._rooted[key] = cls(root)
        return cls._rooted[key]

    def __init__(self, root: Path | None = None) -> None:
        env = dict(os.environ)
        self.home = None
        if "AIRFLOW_HOME" not in env and not (Path.home() / "airflow").exists():
            # importing Airflow creates its home; leave none behind where there was none
            self.home = tempfile.TemporaryDirectory(prefix="etlc-operator-check-")
            env["AIRFLOW_HOME"] = self.home.name
        self.proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(root or "")], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
                                     cwd=str(root) if root else None)
        self.buffer = b""
        self.ready = False
        self.params: dict[str, dict[str, list[str]] | None] = {}  # a good name's accepted parameters
        atexit.register(self.close)

    def ask(self, names: list[str], kind: str = "operator") -> dict[str, str | None]:
        """Verdicts for names; a child that dies or runs past the limit fails them all."""
        failed = {n: f"importing {n!r} did not finish (the checking process stopped, or ran past "
                     f"{TIMEOUT_S:.0f} s)" for n in names}
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write((json.dumps({"kind": kind, "names": names}) + "\n").encode())
            self.proc.stdin.flush()
            deadline = time.monotonic() + TIMEOUT_S
            if not self.ready:
                if self._line(deadline) != b"ready":
                    return self._lost(failed)
                self.ready = True
            answer = json.loads(self._line(deadline) or b"null")
        except (OSError, ValueError):
            answer = None
        if not isinstance(answer, dict):
            return self._lost(failed)
        if isinstance(answer.get("unavailable"), str) and "unavailable" not in names:
            Worker.unavailable = True
            return {}
        self.params.update({n: answer[n] for n in names if params_form(answer.get(n))})
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
        if Worker._current is self:
            Worker._current = None
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
