"""Time text with a UTC offset where a zone-less timestamp or date is meant (E419, R041).

A `timestamp` or `date` names a wall time, not an instant, so text such as
'2020-01-02 05:04:05+02' has no one meaning there: DuckDB drops the offset (05:04:05) and the
pandas evaluator converts it to UTC (03:04:05). Such text is refused wherever it is read as a
zone-less timestamp or date: beside a timestamp in a comparison, `in`, `between` or a `case`
(the type checker's `_comparable`), and as the operand of `cast(... as timestamp | date)`,
`to_timestamp(...)` and `to_date(...)` (:func:`read_as`). A constant is E419 at compile time,
at the string; a `$param`, whose value only the run knows, is R041 before any step runs, at
the `$name`, on every engine (:func:`param_error`, called by the executor). An offset of zero
(`Z`, `+00`, `-00:00`) names UTC, which both engines read alike: it is let through.

The same holds for text DATA read so at run time (a string column in those casts): a row
whose text names a zone (:data:`ZONED`, a UTC offset or a zone name such as `Europe/Berlin`)
other than zero (:data:`UTC_TAIL`) is R041 naming the row and value, on every engine (the
pandas evaluator in ``pandas_cast.parse_dates``, DuckDB by :func:`zoned_sql` in
``casts.text_temporal_sql`` and ``engines/duckdb/expr_errors`` for the row).  The patterns
are RE2 and Python alike.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from . import ast as A
from .errors import EvalError, ExprError

CODE = "E419"
HELP = ("drop the offset to mean the wall time as written, or use a timestamptz to mean the "
        "instant (declare the column with type: timestamptz, or cast(... as timestamptz))")
ZONELESS = ("timestamp", "date")
CONVERSIONS = {"to_timestamp": "timestamp", "to_date": "date"}

WALL = r"[0-9]:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]*)?)?"   # the end of a time of day
ZERO = r" *(?:[Zz]|[+-]00(?::?00){0,2}) *$"           # a zone of offset zero, at the end
ZONED = WALL + r" *(?:[A-Za-z][A-Za-z0-9_/+-]*|[+-][0-9]{2}(?::?[0-9]{2}){0,2}) *$"
UTC_TAIL = WALL + ZERO
ROW_HELP = ("drop the offset or zone from the text to mean the wall time as written, or cast "
            "to timestamptz to mean the instant")


def offset(text: Any) -> dt.timedelta | None:
    """The UTC offset that date and time text carries, when it is one other than zero."""
    if not isinstance(text, str):
        return None
    try:
        return dt.datetime.fromisoformat(text.strip()).utcoffset() or None
    except ValueError:
        return None


def read_as(e: A.Expr) -> tuple[A.Expr, str] | None:
    """(operand, target type) when ``e`` reads its operand's text as a zone-less timestamp or
    date: ``cast(x as timestamp | date)``, ``to_timestamp(x)``, ``to_date(x)`` (the forms with
    a format read an offset only through ``%z``, as an instant on both engines)."""
    if isinstance(e, A.Cast) and e.target.name in ZONELESS:
        return e.operand, e.target.name
    if isinstance(e, A.Call) and e.name in CONVERSIONS and len(e.args) == 1:
        return e.args[0], CONVERSIONS[e.name]
    return None


def literal_error(node: A.Expr, target: str) -> ExprError | None:
    """E419 at ``node`` when it is a string constant with an offset read as ``target``."""
    if not (isinstance(node, A.Literal) and node.kind == "string") or offset(node.value) is None:
        return None
    return ExprError(CODE, f"'{node.value}' has a UTC offset, but a {target} has no time zone: "
                           f"the engines would read it differently", node.start, node.end, HELP)


def param_error(expr: A.Expr, params: Mapping[str, Any], text: str) -> EvalError | None:
    """R041 at the first ``$param`` of ``expr`` (the tree of ``text``) whose run-time value is
    text with an offset read as a zone-less timestamp or date; None when there is none."""
    for node in A.walk(expr):
        read = read_as(node)
        if read is None or not isinstance(read[0], A.Param):
            continue
        value = params.get(read[0].name)
        if offset(value) is not None:
            err = EvalError(f"${read[0].name} is {value!r}, which has a UTC offset, but a "
                            f"{read[1]} has no time zone ({HELP})", A.unparse(expr), value,
                            start=read[0].start, end=read[0].end)
            err.source = text
            return err
    return None


def zoned(text: Any) -> bool:
    """Whether time text names a zone other than UTC (an offset not zero, a zone name)."""
    return isinstance(text, str) and re.search(ZONED, text) is not None \
        and re.search(UTC_TAIL, text) is None


def row_message(target: str) -> str:
    """R041's message for a row whose text :func:`zoned` says names a zone."""
    return f"time text with a time zone, but a {target} has no time zone ({ROW_HELP})"


def zoned_sql(x: str) -> str:
    """DuckDB SQL true where the text ``x`` is :func:`zoned`."""
    return f"(regexp_matches({x}, '{ZONED}') AND NOT regexp_matches({x}, '{UTC_TAIL}'))"
