"""Data-quality checks on a step's output (``checks:`` of a step).

- ``not_null: [cols]`` -- no null in any of these columns;
- ``unique: [cols]`` -- the combined values of these columns are unique across rows
  (rows where one of them is null are compared like SQL's DISTINCT, nulls equal);
- ``expect: [expressions]`` -- each row condition holds on every row (a row whose condition
  is false *or null* fails);
- ``row_count: {min, max}`` -- bounds on the number of rows.

A violation raises :class:`CheckFailed` naming the step, the check, the number of failing
rows and up to five example rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from . import _expr
from .errors import CheckFailed, need_check_columns, row_count_violation

EXAMPLES = 5


def example_rows(df: pd.DataFrame, mask, columns=None) -> list[dict]:
    """The first :data:`EXAMPLES` rows where ``mask`` holds (all rows when None), as plain
    values; only ``columns`` when given (the dask engine reports its failures with it too)."""
    rows = df[mask] if mask is not None else df
    if columns:
        rows = rows[[c for c in columns if c in rows.columns]]
    out = []
    for rec in rows.head(EXAMPLES).to_dict(orient="records"):
        out.append({k: (None if _isna(v) else (v.isoformat() if hasattr(v, "isoformat") else v))
                    for k, v in rec.items()})
    return out


def _isna(v) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def run_checks(df: pd.DataFrame, checks: Mapping[str, Any] | None, params,
               step: str | None = None, types: Mapping[str, Any] | None = None) -> list[str]:
    """Run the checks; return the names of the checks that passed, raise on the first that
    fails.  ``types``: the step's declared column types for ``expect`` expressions
    (``_expr.types_of``)."""
    if not checks:
        return []
    passed = []
    cols = checks.get("not_null") or []
    if cols:
        need_check_columns(step, "not_null", cols, df.columns)
        for col in cols:
            mask = df[col].isna()
            failing = int(mask.sum())
            if failing:
                raise CheckFailed(step, f"not_null({col})", failing, example_rows(df, mask),
                                  detail=f"{failing} row(s) have a null {col}")
        passed.append("not_null")
    cols = checks.get("unique") or []
    if cols:
        need_check_columns(step, "unique", cols, df.columns)
        mask = df.duplicated(subset=list(cols), keep=False)
        failing = int(mask.sum())
        if failing:
            groups = int(df[mask].drop_duplicates(subset=list(cols)).shape[0])
            raise CheckFailed(step, f"unique({', '.join(cols)})", failing,
                              example_rows(df, mask, cols),
                              detail=f"{failing} row(s) share a value of ({', '.join(cols)}) "
                                     f"with another row ({groups} duplicated value(s))")
        passed.append("unique")
    expects = checks.get("expect") or []
    if isinstance(expects, Mapping):
        expects = list(expects.values())
    for text in expects:
        value = _expr.evaluate(text, df, params, types)
        if not isinstance(value, pd.Series):
            value = pd.Series([value] * len(df), index=df.index)
        ok = value.astype("boolean").fillna(False).astype(bool)
        mask = ~ok.to_numpy()
        failing = int(mask.sum())
        if failing:
            raise CheckFailed(step, f"expect({text})", failing, example_rows(df, mask),
                              detail=f"{failing} row(s) do not satisfy `{text}`")
    if expects:
        passed.append("expect")
    bounds = checks.get("row_count") or {}
    if bounds:
        failure = row_count_violation(step, len(df), bounds, lambda: example_rows(df, None))
        if failure is not None:
            raise failure
        passed.append("row_count")
    return passed
