"""The JSON functions and casts of the pandas evaluator (and so of Dask, per partition).

A json column is a ``string`` column of JSON text.  Each function parses each distinct text
once (``json_text``), walks the path (``json_path``) and gives what DuckDB gives: canonical
JSON text, a string, a type name, a length; null where nothing is at the path.  Text that is
not JSON is a run-time error naming its first row and the value, as DuckDB's.
"""
from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from . import json_path
from .json_text import JsonError, Num, Obj, canonical, kind, parse, scalar_text, valid
from .pandas_columns import STRING_DTYPE, is_series

__all__ = ["FUNCS", "json_cast"]

_MISSING = json_path.apply.missing


def _per_text(ev, s: pd.Series, fn, dtype) -> pd.Series:
    """fn(parsed value) for each distinct text of s (None where s is null)."""
    codes, uniques = pd.factorize(s)
    vals = []
    for k, u in enumerate(uniques.tolist()):
        try:
            vals.append(fn(parse(u)))
        except JsonError as exc:  # uniques come in order of appearance: its first row
            raise ev.fail(str(exc), u, s.index[int(np.argmax(codes == k))]) from None
    out = [None if c < 0 else vals[c] for c in codes.tolist()]
    return pd.Series(pd.array(out, dtype=dtype), index=s.index)


def _subject(ev, a, t) -> pd.Series:
    return a[0] if is_series(a[0]) else ev.series(a[0], t[0])


def _path_fn(result, dtype, default_path: str | None = None):
    def impl(ev, a, t, tr):
        raw = a[1] if len(a) > 1 else default_path
        steps = json_path.steps(raw.item() if isinstance(raw, np.generic) else raw)

        def at(v):
            x = json_path.apply(v, steps)
            return None if x is _MISSING else result(x)
        return _per_text(ev, _subject(ev, a, t), at, dtype)
    return impl


def _array_length(v) -> int:
    return len(v) if isinstance(v, list) and not isinstance(v, Obj) else 0


def _f_json_valid(ev, a, t, tr):
    s = _subject(ev, a, t)
    codes, uniques = pd.factorize(s)
    vals = [valid(u) for u in uniques.tolist()]
    return pd.Series(pd.array([None if c < 0 else vals[c] for c in codes.tolist()],
                              dtype="boolean"), index=s.index)


FUNCS = {
    "json_extract": _path_fn(canonical, STRING_DTYPE),
    "json_extract_string": _path_fn(scalar_text, STRING_DTYPE),
    "json_array_length": _path_fn(_array_length, "Int64", "$"),
    "json_type": _path_fn(kind, STRING_DTYPE, "$"),
    "json_valid": _f_json_valid,
}


# -- casts (casts.CASTS, the json rows) ----------------------------------------------------

_INT_TEXT = re.compile(r"\s*-?[0-9]+\s*")
_FLOAT_TEXT = re.compile(r"\s*-?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*|nan|inf|-inf")
_BOOL_TEXT = {"true": True, "t": True, "false": False, "f": False}


def _to_int(v):
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, Num):
        x = v.value
        if isinstance(x, float):
            if not math.isfinite(x):
                raise ValueError
            x = round(x)  # half to even, as DuckDB
        if -2**63 <= x < 2**63:
            return x
        raise ValueError
    if isinstance(v, str) and _INT_TEXT.fullmatch(v):
        return _to_int(Num(v, "BIGINT", int(v)))
    raise ValueError


def _to_float(v):
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, Num):
        return float(v.value)
    if isinstance(v, str) and _FLOAT_TEXT.fullmatch(v):
        return float(v)
    raise ValueError


def _to_bool(v):
    if isinstance(v, bool):
        return v
    if isinstance(v, Num) and math.isfinite(v.value):
        return v.value != 0
    if isinstance(v, str) and v.lower() in _BOOL_TEXT:
        return _BOOL_TEXT[v.lower()]
    raise ValueError


_TO = {"int": (_to_int, "Int64"), "float": (_to_float, "Float64"), "bool": (_to_bool, "boolean")}


def json_cast(ev, s: pd.Series, src: str, dst: str) -> pd.Series:
    """``cast(s as dst)`` where src or dst is json (only the pairs casts.CASTS lists)."""
    if dst == "json":  # from string: the text in canonical form when it is one JSON value
        return _per_text(ev, s, canonical, STRING_DTYPE)
    if dst == "string":
        return s.astype(STRING_DTYPE)
    fn, dtype = _TO[dst]

    def conv(v):
        if v is None:
            return None
        try:
            return fn(v)
        except (ValueError, OverflowError):
            raise JsonError(f"cannot cast json {canonical(v)} to {dst}") from None
    return _per_text(ev, s, conv, dtype)
