"""Checks and metrics on a Dask DataFrame: small results computed on the cluster.

The checks of a step are computed together, in one pass over the relation: per ``not_null``
column and per ``expect`` condition, the number of failing rows and up to five of them (each
partition keeps its failing rows, the counts are summed); ``unique`` counts the groups of the
key columns (nulls equal) and keeps those seen more than once; ``row_count`` the rows.  Then
they are judged in the pandas engine's order (not_null, unique, expect, row_count) and the
first that fails raises :class:`CheckFailed` with the same check name and failing count.

Metrics are one aggregate with a column per metric (expr/dask_eval.metrics_plan).

Both are planned first (:func:`plan_checks`, :func:`plan_metrics`: a :class:`Planned`, the
lazy collections and what judges their values), so that the engine computes them in the same
computation as the write or the staging hand-off that follows (engines/dask/waiting.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..._expr import parse
from ...checks import EXAMPLES, example_rows
from ...errors import CheckFailed, need_check_columns, row_count_violation
from ...expr import dask_eval


@dataclass(frozen=True)
class Planned:
    """Lazy collections, and ``finish(their computed values)``: what they mean (raises
    CheckFailed for a failed check)."""

    lazy: tuple
    finish: Callable[[Sequence[Any]], Any]


def _null_rows(part, col):
    return part[part[col].isna()]


def _expect_rows(part, text, params, types):
    import pandas as pd

    from ... import _expr

    value = _expr.evaluate(text, part, params, types)
    if not isinstance(value, pd.Series):
        value = pd.Series([value] * len(part), index=part.index)
    ok = value.astype("boolean").fillna(False).astype(bool)
    return part[~ok.to_numpy()]


def _failing(ddf, fn, *args):
    rows = ddf.map_partitions(fn, *args, meta=ddf._meta, enforce_metadata=False)
    return rows.shape[0], rows.head(EXAMPLES, npartitions=-1, compute=False)


def _dup_groups(ddf, cols):
    sizes = ddf.groupby(list(cols), dropna=False).size()
    return sizes[sizes > 1]


def _dup_rows(part, cols, dup_keys):
    import pandas as pd

    keys = pd.MultiIndex.from_frame(part[list(cols)])
    return part[keys.isin(dup_keys)][list(cols)]


def run_checks(cluster, ddf, checks: Mapping[str, Any] | None, params, step=None,
               types: Mapping[str, Any] | None = None) -> list[str]:
    """Run the checks (one computation); return the names that passed, raise on the first
    that fails (the pandas engine's order and fields)."""
    if not checks:
        return []
    planned = plan_checks(cluster, ddf, checks, params, step, types)
    return planned.finish(cluster.compute(*planned.lazy))


def plan_checks(cluster, ddf, checks: Mapping[str, Any], params, step=None,
                types: Mapping[str, Any] | None = None) -> Planned:
    """The checks as lazy collections of one pass (a misnamed column or an expression's
    syntax error raised now); ``finish`` judges them as :func:`run_checks` (``cluster``:
    where the examples of a failed ``unique`` are computed, a second pass)."""
    columns = list(ddf.columns)
    types = {c: t for c, t in (types or {}).items() if c in columns} or None
    not_null = list(checks.get("not_null") or [])
    unique = list(checks.get("unique") or [])
    for what, cols in (("not_null", not_null), ("unique", unique)):
        need_check_columns(step, what, cols, columns)
    expects = checks.get("expect") or []
    if isinstance(expects, Mapping):
        expects = list(expects.values())
    for text in expects:
        parse(text)  # a syntax error surfaces before any work
    bounds = checks.get("row_count") or {}
    lazy: dict[str, Any] = {}
    for col in not_null:
        lazy[f"nn:{col}"] = _failing(ddf, _null_rows, col)
    if unique:
        lazy["unique"] = _dup_groups(ddf, unique)
    for i, text in enumerate(expects):
        lazy[f"ex:{i}"] = _failing(ddf, _expect_rows, text, params, types)
    if bounds:
        lazy["rows"] = ddf.shape[0]
    if bounds.get("max") is not None:   # the examples of too many rows, in the same pass
        lazy["first"] = ddf.head(EXAMPLES, npartitions=-1, compute=False)
    keys = list(lazy)

    def finish(computed: Sequence[Any]) -> list[str]:
        return _judge(cluster, ddf, dict(zip(keys, computed)), step, not_null, unique,
                      expects, bounds)
    return Planned(tuple(lazy[k] for k in keys), finish)


def _judge(cluster, ddf, values: Mapping[str, Any], step, not_null: list, unique: list,
           expects: list, bounds: Mapping[str, Any]) -> list[str]:
    passed = []
    for col in not_null:
        _fail_on(step, f"not_null({col})", *values[f"nn:{col}"], f"have a null {col}")
    if not_null:
        passed.append("not_null")
    if unique:
        dups = values["unique"]
        if len(dups):
            failing, groups = int(dups.sum()), len(dups)
            import pandas as pd

            dup_keys = pd.MultiIndex.from_frame(dups.index.to_frame(index=False))
            rows = ddf.map_partitions(_dup_rows, unique, dup_keys,
                                      meta=ddf._meta[unique], enforce_metadata=False)
            (example,) = cluster.compute(rows.head(EXAMPLES, npartitions=-1, compute=False))
            raise CheckFailed(step, f"unique({', '.join(unique)})", failing,
                              example_rows(example, None, unique),
                              detail=f"{failing} row(s) share a value of ({', '.join(unique)}) "
                                     f"with another row ({groups} duplicated value(s))")
        passed.append("unique")
    for i, text in enumerate(expects):
        _fail_on(step, f"expect({text})", *values[f"ex:{i}"], f"do not satisfy `{text}`")
    if expects:
        passed.append("expect")
    if bounds:
        n = int(values["rows"])
        failure = row_count_violation(step, n, bounds,
                                      lambda: example_rows(values["first"], None))
        if failure is not None:
            raise failure
        passed.append("row_count")
    return passed


def _fail_on(step, check: str, failing, rows, what: str) -> None:
    """CheckFailed when rows fail (``rows``: up to five of them, as a pandas frame)."""
    if failing:
        raise CheckFailed(step, check, int(failing), example_rows(rows, None),
                          detail=f"{int(failing)} row(s) {what}")


def metrics(cluster, ddf, metrics: Mapping[str, str], params,
            types: Mapping[str, Any] | None = None) -> dict[str, Any]:
    planned = plan_metrics(ddf, metrics, params, types)
    return planned.finish(cluster.compute(*planned.lazy))


def plan_metrics(ddf, metrics: Mapping[str, str], params,
                 types: Mapping[str, Any] | None = None) -> Planned:
    """The metrics as one lazy aggregate; ``finish`` gives {name: value}."""
    types = {c: t for c, t in (types or {}).items() if c in ddf.columns} or None
    parsed = {name: parse(text) for name, text in metrics.items()}
    lazy, finish = dask_eval.metrics_plan(parsed, ddf, params, types=types)
    if lazy is None:
        return Planned((), lambda computed: {})
    return Planned((lazy,), lambda computed: finish(computed[0]))
