"""Branches of ``case``, ``if`` and ``coalesce`` in the pandas evaluator, evaluated for the
rows that take them, as on DuckDB (docs/expressions.md, "Error codes"): the guard
``case when <text is a number> then cast(s as int) end`` fails on no row that the guard
keeps out. A branch is evaluated on every row first (one vectorised pass, the common
case), and only where that fails on the rows that take it alone; a branch under a window
or in an aggregate's context is not re-evaluated (its value depends on the other rows), so
its first error stands."""
from __future__ import annotations

from typing import Any

import numpy as np

from . import ast as A
from .errors import EvalError
from .pandas_columns import is_series

__all__ = ["branch_args", "ev_where", "nulls"]


def ev_where(ev, e: A.Expr, rows: np.ndarray) -> Any:
    """``ev.ev(e)`` where only ``rows`` (a bool per row) need its value; None (null) when
    evaluating it everywhere fails and no row takes it."""
    try:
        return ev.ev(e)
    except EvalError:
        from .typecheck import has_window
        if rows.all() or ev.agg_values or has_window(e):
            raise
    if not rows.any():
        return None
    sub = type(ev)(ev.df[rows], ev.params, ev.T, ev.col_types, ev.text)
    v = sub.ev(e)
    return v.reindex(ev.index) if is_series(v) else v


def nulls(ev, v: Any) -> np.ndarray:
    """Where a value (Series or scalar) is null, a bool per row."""
    return v.isna().to_numpy(dtype=bool) if is_series(v) else np.full(ev.n, v is None)


def branch_args(ev, e: A.Call) -> list:
    """The arguments of ``if(c, x, y)`` (x where c holds, y elsewhere) and ``coalesce(a1,
    a2, ...)`` (each where all before it are null), each evaluated by :func:`ev_where`."""
    first = ev.ev(e.args[0])
    if e.name == "if":
        take = ev._bool(first).to_numpy(dtype=bool, na_value=False) if is_series(first) \
            else np.full(ev.n, first is True)
        return [first, ev_where(ev, e.args[1], take), ev_where(ev, e.args[2], ~take)]
    out, pending = [first], nulls(ev, first)
    for a in e.args[1:]:
        out.append(ev_where(ev, a, pending))
        pending = pending & nulls(ev, out[-1])
    return out
