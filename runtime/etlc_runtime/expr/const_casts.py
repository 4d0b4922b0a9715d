"""Constants that no engine can cast (E422): `cast('abc' as int)` fails on every row.

Since d7a8ece a failing cast is an error only where a row evaluates it, so a spec holding
`cast('abc' as int)` passes on an empty day and fails on a full one. The compiler knows a
literal, so such a cast is refused at compile time, at the literal, by :func:`literal_error`
(called by the type checker). The verdict is :func:`failure`, which reads the cast table's
own text rules (``casts``: :data:`~casts.NUMBER_TEXT`, :data:`~casts.FLOAT_WORDS`, the bool
words, the precision of a decimal) as the pandas evaluator and the duckdb SQL apply them:

- text to int, float, decimal, bool: the table's rule exactly (the number rounded half away
  from zero, within 64 bits or the decimal's precision);
- int, float, decimal constants to int or decimal: NaN, infinity, or beyond 64 bits or the
  precision (a double rounds half to even to an int, the rest half away from zero);
- text to date, timestamp, timestamptz (the cast, `to_date(s)`, `to_timestamp(s)`): the one
  rule every engine reads such text by since d5d8f80 (docs/types.md, "Date and timestamp
  text"), checked with the engines' own :data:`~casts.ISO_TEXT`: '20200102', 'epoch',
  '2020-1-2', '2020-02-30' are refused (before, only what every engine refused then).

A `$param` is not a literal: its value is the run's. The executor judges it by the same
rule before any step runs, on every engine (:func:`param_error`: R041 at the `$name`), so a
run with `$start = 'x'` in `cast($start as date)` fails on an empty day too.
Pandas-free: the compiler imports it.
"""
from __future__ import annotations

import decimal
import math
import re
from collections.abc import Mapping
from typing import Any

from . import ast as A
from .casts import (
    BOOL_FALSE,
    BOOL_TRUE,
    FINE_FRACTION,
    FLOAT_WORDS,
    ISO_SPACE,
    ISO_TEXT,
    NUMBER_TEXT,
)
from .errors import EvalError, ExprError
from .zone_text import CONVERSIONS

__all__ = ["CODE", "failure", "literal_error", "param_error"]

CODE = "E422"
HELP = "fix the constant, or read the value from a column or a $param"
TEMPORAL = ("date", "timestamp", "timestamptz")
PRECISION = 18        # a decimal's digits unless given (sql.sql_type, DuckDB's default)
INT_LIMIT = 2 ** 63


def _days(year: int, month: int) -> int:
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[month - 1]


def _time_text(text: str, target: str) -> str | None:
    """Why no engine reads ``text`` as a ``target`` by the one rule of date and timestamp text
    (docs/types.md): :data:`~casts.ISO_TEXT` within :data:`~casts.ISO_SPACE`, no year 0000,
    nothing finer than the microsecond, a real calendar day; None when every engine reads it.
    A UTC offset other than zero for a date or timestamp is E419's (``zone_text``)."""
    bare = text.strip(ISO_SPACE)
    if (not re.fullmatch(ISO_TEXT, bare) or bare.startswith("0000")
            or re.search(FINE_FRACTION, bare)):
        return f"'{text}' is not {target} text (YYYY-MM-DD[ HH:MM[:SS[.ffffff]]][zone])"
    year, month, day = int(bare[:4]), int(bare[5:7]), int(bare[8:10])
    if not 1 <= month <= 12 or not 1 <= day <= _days(year, month):
        return f"'{text}' names no day of the calendar"
    return None


def _rounded(value: decimal.Decimal, scale: int) -> decimal.Decimal:
    return value.quantize(decimal.Decimal(1).scaleb(-scale), rounding=decimal.ROUND_HALF_UP)


def _number(value: object, kind: str, target: A.TypeSpec) -> str | None:
    """Why the number ``value`` (of literal ``kind``) does not fit ``target``."""
    if kind == "float" and not math.isfinite(value):  # type: ignore[arg-type]
        return f"{value!r} is no {target.name}"
    # a float as written (its shortest text), so that 9.95 rounds as the engines round it
    exact = decimal.Decimal(repr(value) if kind == "float" else value)  # type: ignore[arg-type]
    if exact and exact.adjusted() > 40:  # beyond any int and precision: no rounding needed
        return f"{value} is beyond 64 bits" if target.name == "int" else \
            f"{value} has more digits than decimal({target.precision or PRECISION}, " \
            f"{target.scale or 0}) holds"
    with decimal.localcontext() as ctx:
        ctx.prec = 1000
        if target.name == "int":
            if kind == "float":  # a double rounds half to even (DuckDB's CAST)
                r = exact.quantize(decimal.Decimal(1), rounding=decimal.ROUND_HALF_EVEN)
            else:
                r = _rounded(exact, 0)
            return None if -INT_LIMIT <= r < INT_LIMIT else f"{value} is beyond 64 bits"
        scale = target.scale or 0
        digits = (target.precision or PRECISION) - scale
        if abs(_rounded(exact, scale)) >= decimal.Decimal(10) ** digits:
            return (f"{value} has more than {digits} digits before the point of "
                    f"decimal({target.precision or PRECISION}, {scale})")
    return None


def _text(text: str, target: A.TypeSpec) -> str | None:
    """Why the text ``text`` never casts to ``target``; None when it does (or may)."""
    name = target.name
    if name == "bool":
        return None if text.lower() in BOOL_TRUE + BOOL_FALSE else f"'{text}' is not a bool"
    if name in ("int", "float", "decimal"):
        if name == "float" and re.fullmatch(FLOAT_WORDS, text, re.IGNORECASE):
            return None
        if not re.fullmatch(NUMBER_TEXT, text):
            return f"'{text}' is not a number"
        if name == "float":
            return None
        return _number(decimal.Decimal(text.strip()), "decimal", target)
    if name in TEMPORAL:
        return _time_text(text, name)
    return None


def failure(kind: str, value: object, target: A.TypeSpec) -> str | None:
    """Why a constant of literal ``kind`` and ``value`` never casts to ``target`` on any
    engine; None when it casts (or when only the run can tell)."""
    if kind == "string":
        return _text(value, target)  # type: ignore[arg-type]
    if kind in ("int", "float", "decimal") and target.name in ("int", "decimal"):
        return _number(value, kind, target)
    return None


def _read(e: A.Expr) -> tuple[A.Expr, A.TypeSpec] | None:
    """(operand, target) of a cast, `to_date(x)` or `to_timestamp(x)`."""
    if isinstance(e, A.Cast):
        return e.operand, e.target
    if isinstance(e, A.Call) and e.name in CONVERSIONS and len(e.args) == 1:
        return e.args[0], A.TypeSpec(CONVERSIONS[e.name])
    return None


def _kind(value: Any) -> str | None:
    """The literal kind a run-time ``$param`` value is judged as (None: not judged)."""
    if isinstance(value, bool):
        return None
    return {str: "string", int: "int", float: "float"}.get(type(value))


def param_error(expr: A.Expr, params: Mapping[str, Any], text: str) -> EvalError | None:
    """R041 at the first ``$param`` of ``expr`` (the tree of ``text``) whose run-time value
    :func:`failure` says no engine casts where ``expr`` casts it; None when there is none."""
    for node in A.walk(expr):
        read = _read(node)
        if read is None or not isinstance(read[0], A.Param) or read[0].name not in params:
            continue
        value = params[read[0].name]
        kind = _kind(value)
        why = failure(kind, value, read[1]) if kind else None
        if why is not None:
            err = EvalError(f"${read[0].name} never casts to {read[1].name}: {why}",
                            A.unparse(expr), value, start=read[0].start, end=read[0].end)
            err.source = text
            return err
    return None


def literal_error(e: A.Expr) -> ExprError | None:
    """E422 at the literal when ``e`` is a cast (`cast(c as T)`, `to_date(c)`,
    `to_timestamp(c)`) of a constant ``c`` that fails on every engine."""
    read = _read(e)
    if read is None or not isinstance(read[0], A.Literal):
        return None
    operand, target = read
    why = failure(operand.kind, operand.value, target)
    if why is None:
        return None
    return ExprError(CODE, f"this constant never casts to {target.name}: {why}",
                     operand.start, operand.end, HELP)
