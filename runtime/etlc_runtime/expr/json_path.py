"""JSON paths as DuckDB reads them, checked at compile time, applied at run time.

A path is a constant: text starting with ``$`` is a JSONPath of the subset below, text
starting with ``/`` a JSON Pointer (RFC 6901), any other text one object key, and an int an
array index (negative counts from the end).  The JSONPath subset: ``$`` then any of
``.key``, ``."quoted key"`` (``\\"`` inside), ``[n]`` and ``[#-n]`` (n-th from the end).
Wildcards (``*``, ``..``), which give lists in DuckDB, are refused (E421).  A step that
does not apply (a key of a non-object, an index past the end) gives null, as DuckDB.
"""
from __future__ import annotations

import re

from .json_text import Obj

__all__ = ["Step", "apply", "path_error", "steps"]

# ("key", name) or ("index", n): n < 0 counts from the end
Step = tuple[str, object]

_KEY = re.compile(r'\.([^.\[\]"*\s]+)')
_QUOTED = re.compile(r'\."((?:[^"\\]|\\.)*)"')
_INDEX = re.compile(r"\[(0|[1-9][0-9]*)\]")
_FROM_END = re.compile(r"\[#-([1-9][0-9]*)\]")


def _jsonpath(p: str) -> list[Step]:
    out: list[Step] = []
    k = 1
    while k < len(p):
        if m := _KEY.match(p, k):
            out.append(("key", m.group(1)))
        elif m := _QUOTED.match(p, k):
            out.append(("key", re.sub(r"\\(.)", r"\1", m.group(1))))
        elif m := _INDEX.match(p, k):
            out.append(("index", int(m.group(1))))
        elif m := _FROM_END.match(p, k):
            out.append(("index", -int(m.group(1))))
        else:
            rest = p[k:]
            why = ("wildcards and recursive descent give lists and are not supported"
                   if rest.startswith(("*", ".*", "[*", "..")) else
                   "expected .key, .\"key\", [n] or [#-n]")
            raise ValueError(f"JSON path '{p}' is invalid at '{rest}': {why}")
        k = m.end()
    return out


def _pointer(p: str) -> list[Step]:
    return [("ptr", part.replace("~1", "/").replace("~0", "~")) for part in p[1:].split("/")]


def steps(path: str | int) -> list[Step]:
    """The steps of a path constant; ValueError (with the reason) when it is not one."""
    if isinstance(path, bool) or not isinstance(path, (str, int)):
        raise TypeError("a JSON path is a constant string or int")
    if isinstance(path, int):
        return [("index", path)]
    if path.startswith("$"):
        return _jsonpath(path)
    if path.startswith("/"):
        return _pointer(path)
    return [("key", path)] if path else []


def path_error(path) -> str | None:
    try:
        steps(path)
    except (ValueError, TypeError) as exc:
        return str(exc)
    return None


_MISSING = object()


def _step(v, step: Step):
    how, arg = step
    if how == "ptr":  # a pointer segment: a key of an object, an index of an array
        if isinstance(v, list):
            if not re.fullmatch(r"0|[1-9][0-9]*", arg):
                return _MISSING
            how, arg = "index", int(arg)
        else:
            how = "key"
    if how == "key":
        if not isinstance(v, Obj):
            return _MISSING
        for k, x in v:
            if k == arg:
                return x
        return _MISSING
    if not isinstance(v, list) or isinstance(v, Obj):
        return _MISSING
    i = arg if arg >= 0 else len(v) + arg
    return v[i] if 0 <= i < len(v) else _MISSING


def apply(value, path: list[Step]):
    """The value at the path, or ``_MISSING`` (``apply.missing``) where there is none."""
    for s in path:
        value = _step(value, s)
        if value is _MISSING:
            break
    return value


apply.missing = _MISSING  # type: ignore[attr-defined]
