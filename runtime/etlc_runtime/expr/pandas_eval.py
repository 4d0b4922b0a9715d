"""Vectorised evaluation of expressions on pandas DataFrames, with SQL semantics.

Every operator and function maps to whole-column pandas/numpy operations; nothing
loops over rows.  (Functions whose pattern/offset arguments are columns rather than
constants loop over the *distinct* argument values, never over rows.)

Data representation (see docs/expressions.md, "Types at run time"):

=========  ==============================================================
int        ``Int64`` (nullable)
float      ``Float64`` (nullable; NaN in numpy ``float64`` input is null)
decimal    ``Float64`` holding values rounded to the column's scale
string     ``pd.StringDtype()`` (pyarrow storage, ``pd.NA`` for null)
bool       ``boolean`` (nullable, three-valued)
date       ``datetime64`` at midnight (the static type says "date")
timestamp  ``datetime64`` (naive)
=========  ==============================================================

Inputs in other dtypes (numpy ints/floats/bools, object strings, pandas 3 ``str``,
pyarrow-backed ``ArrowDtype`` columns) are converted on access.  Dates and timestamps of
any storage (Arrow ``date32``/``timestamp`` as CSV and Parquet reads give them, numpy
``datetime64`` of any unit, objects holding ``datetime.date``) become naive ``datetime64``
so that they compare with ``date``/``timestamp`` literals as in SQL; zoned values compare
as their UTC time.  ``evaluate``/``aggregate`` with ``dates_as_dates`` hand date results
back in the runtime's date storage (Arrow ``date32``), as the runtime's steps need.

This module is the pandas back end's API.  The parts: ``pandas_columns`` (types and dtypes of
columns), ``pandas_numeric`` (rounding, decimals), ``pandas_evaluator`` (the tree walk),
``pandas_cast``, the functions (``pandas_fn_numbers``, ``pandas_fn_dates``, ``pandas_fn_text``,
``pandas_tz``, ``pandas_json``, ``pandas_window``) and ``pandas_agg`` (group by).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from . import ast as A
from .errors import EvalError
from .pandas_agg import AggPlan, aggregate_plan
from .pandas_columns import frame_types, is_series, to_python
from .pandas_evaluator import Evaluator, as_expr
from .pandas_tz import stored
from .typecheck import infer
from .types import Type, param_type

__all__ = ["aggregate", "apply_filter", "evaluate", "filter_mask", "metric"]


def _prepare(expr, df, params, context, types, group_keys=()):
    expr = as_expr(expr)
    params = params or {}
    col_types = frame_types(df, types)
    p_types = {k: param_type(v) for k, v in params.items()}
    t, errors, node_types = infer(expr, col_types, p_types, context, group_keys)
    if errors:
        err = errors[0]
        raise EvalError(f"{err.code}: {err.message}" + (f" ({err.help})" if err.help else ""),
                        A.unparse(expr), start=err.start, end=err.end)
    return expr, t, node_types, col_types


def _finish(v, t: Type, index, ev: Evaluator) -> pd.Series:
    return stored(ev.series(v, t), t)


def evaluate(expr, df: pd.DataFrame, params: Mapping[str, Any] | None = None, *,
             types: Mapping[str, Type] | None = None, dates_as_dates: bool = False) -> pd.Series:
    """Evaluate a row expression: a Series aligned with ``df`` (constants broadcast).

    ``types`` (optional) gives declared column types where the dtype alone cannot tell
    (decimal scale, date vs timestamp).  A date result is a midnight ``datetime64`` (the
    evaluator's representation) unless ``dates_as_dates``: then it is the runtime's date
    column, Arrow ``date32`` (a derived ``d + 1`` stays a date when written)."""
    expr, t, node_types, col_types = _prepare(expr, df, params, "row", types)
    ev = Evaluator(df, params, node_types, col_types, A.unparse(expr))
    out = _finish(ev.ev(expr), t, df.index, ev)
    if dates_as_dates and t.name == "date":
        from ..dtypes import to_date
        out = to_date(out).rename(out.name)
    return out


def filter_mask(expr, df: pd.DataFrame, params=None, *, types=None,
                context: str = "filter") -> np.ndarray:
    """numpy bool array: True where the condition is true (null and false drop).
    ``context``: ``filter``, or ``qualify`` (window functions allowed)."""
    expr, _t, node_types, col_types = _prepare(expr, df, params, context, types)
    ev = Evaluator(df, params, node_types, col_types, A.unparse(expr))
    v = ev.ev(expr)
    if not is_series(v):
        return np.full(len(df), v is True)
    return ev._bool(v).to_numpy(dtype=bool, na_value=False)


def apply_filter(expr, df: pd.DataFrame, params: Mapping[str, Any] | None = None, *,
                 types: Mapping[str, Type] | None = None,
                 context: str = "filter") -> pd.DataFrame:
    """Rows of ``df`` where the condition is true (SQL WHERE: null counts as false; with
    ``context="qualify"``, SQL QUALIFY: the condition may hold window functions)."""
    mask = filter_mask(expr, df, params, types=types, context=context)
    if mask.all():
        return df
    return df[mask]


def aggregate(df: pd.DataFrame, group_by, aggs: Mapping[str, Any],
              params: Mapping[str, Any] | None = None, having=None, *,
              types: Mapping[str, Type] | None = None,
              dates_as_dates: bool = False) -> pd.DataFrame:
    """SQL GROUP BY: one row per distinct combination of ``group_by`` (nulls form a group;
    an empty ``group_by`` gives exactly one row), with a column per ``aggs`` expression,
    keeping the groups where ``having`` is true.  Group keys come first.  With
    ``dates_as_dates`` date columns come back as Arrow ``date32`` (see :func:`evaluate`)."""
    plan = AggPlan(df, group_by, aggs, params, having, types)
    out = aggregate_plan(plan, df)
    if dates_as_dates:
        from ..dtypes import to_date
        date_cols = [k for k in plan.group_by if plan.col_types[k].name == "date"] + \
            [name for name, _e, t, _nt in plan.outputs if t.name == "date" and name in out]
        for name in date_cols:
            out[name] = to_date(out[name])
    return out


def metric(expr, df: pd.DataFrame, params: Mapping[str, Any] | None = None, *,
           types: Mapping[str, Type] | None = None):
    """An aggregate expression over the whole frame, as a Python scalar (None for null;
    dates as datetime.date, timestamps as datetime.datetime)."""
    expr = as_expr(expr)
    col_types = frame_types(df, types)
    p_types = {k: param_type(v) for k, v in (params or {}).items()}
    t, errors, _ = infer(expr, col_types, p_types, "metric")
    if errors:
        err = errors[0]
        raise EvalError(f"{err.code}: {err.message}", A.unparse(expr))
    out = aggregate(df, [], {"value": expr}, params, types=types)
    return to_python(out["value"].iloc[0], t)

