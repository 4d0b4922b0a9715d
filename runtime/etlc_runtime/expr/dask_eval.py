"""Expression evaluation on Dask DataFrames.

Row expressions and filters run the pandas evaluator on each partition
(``map_partitions``), so both back ends share one implementation.  Aggregation computes
per-partition partial results (count, sum, min, max, first/last with the partition
number, and count/mean/M2 for std and var), gathers the partials, which hold one row per
group per partition, into one partition and combines them there; ``count_distinct``
gathers the distinct (keys, value) pairs of each partition.  ``first``/``last`` follow the
partition order.  Everything stays lazy until the caller computes.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from . import pandas_eval as P
from . import pandas_nan
from .errors import EvalError
from .pandas_agg import AggPlan, combine_spread, int_mean, reduce_whole
from .pandas_columns import coerce, frame_types, to_python
from .pandas_evaluator import as_expr
from .types import Type, param_type

__all__ = ["aggregate", "apply_filter", "derive", "evaluate", "metric"]


def evaluate(expr, ddf, params: Mapping[str, Any] | None = None, *,
             types: Mapping[str, Type] | None = None, dates_as_dates: bool = False):
    """A Dask Series: the row expression on every partition (``dates_as_dates`` as in
    ``pandas_eval.evaluate``)."""
    expr = as_expr(expr)
    _no_window(expr)
    fn = partial(_eval_part, expr=expr, params=params, types=types,
                 dates_as_dates=dates_as_dates)
    meta = fn(ddf._meta)
    return ddf.map_partitions(fn, meta=meta)


def _no_window(expr) -> None:
    """A window needs every row of its partition: per Dask partition it would be wrong."""
    from .typecheck import has_window
    if has_window(expr):
        from .ast import unparse
        raise EvalError("window functions are not available on the dask engine (they need "
                        "every row of a partition together): run the step on pandas or "
                        "duckdb", unparse(expr))


def _eval_part(pdf, expr, params, types, dates_as_dates=False):
    return P.evaluate(expr, pdf, params, types=types, dates_as_dates=dates_as_dates)


def derive(ddf, columns: Mapping[str, Any], params: Mapping[str, Any] | None = None, *,
           types: Mapping[str, Type] | None = None, dates_as_dates: bool = False):
    """A Dask DataFrame with the derived columns added (or replaced) in order, each
    expression seeing the columns derived before it; constants broadcast per partition."""
    exprs = {name: as_expr(e) for name, e in columns.items()}
    for e in exprs.values():
        _no_window(e)
    fn = partial(_derive_part, exprs=exprs, params=params, types=types,
                 dates_as_dates=dates_as_dates)
    return ddf.map_partitions(fn, meta=fn(ddf._meta), enforce_metadata=False)


def _derive_part(pdf, exprs, params, types, dates_as_dates=False):
    out = pdf.copy()
    for name, expr in exprs.items():
        known = {c: t for c, t in (types or {}).items() if c in out.columns} or None
        value = P.evaluate(expr, out, params, types=known, dates_as_dates=dates_as_dates)
        if isinstance(value, pd.Series):
            out[name] = value if value.index.equals(out.index) else \
                value.reset_index(drop=True).set_axis(out.index)
        else:
            out[name] = pd.Series([value] * len(out), index=out.index)
    return out


def apply_filter(expr, ddf, params: Mapping[str, Any] | None = None, *,
                 types: Mapping[str, Type] | None = None):
    """A Dask DataFrame with the rows where the condition is true."""
    expr = as_expr(expr)
    fn = partial(_filter_part, expr=expr, params=params, types=types)
    fn(ddf._meta)  # type errors surface now, not at compute time
    return ddf.map_partitions(fn, meta=ddf._meta)


def _filter_part(pdf, expr, params, types):
    return P.apply_filter(expr, pdf, params, types=types)


# -- aggregation -------------------------------------------------------------------------

def _partials(pdf: pd.DataFrame, plan: AggPlan, partition_info=None) -> pd.DataFrame:
    part = (partition_info or {}).get("number", 0)
    work = plan.temps(pdf)
    keys = plan.group_by
    if keys:
        g = work.groupby(keys, dropna=False, sort=False, observed=True)
        reduced = _reduce_grouped(g, plan, [work[k] for k in keys])
        cols = {}
        for col, call, kind, arg_t in plan.calls:
            for suffix, values in _partial_columns(reduced, plan.arg_col.get(col), kind):
                cols[col + suffix] = values
        for col in plan.int_sum_cols(("sum", "mean")):   # int sums wrap: see int_sums
            cols[col + "_f"] = (g[col + "__f"].sum() if col + "__f" in work.columns else
                                reduced[plan.arg_col[col], "sum"]).astype("Float64")
        if not cols:
            out = g.size().rename("__n").reset_index()
        else:
            out = pd.DataFrame(cols, copy=False).reset_index()
    else:
        cols = {}
        for col, call, kind, arg_t in plan.calls:
            s = work[col] if kind != "count_star" else None
            for suffix, v in _partial_whole(s, kind, len(work)):
                cols[col + suffix] = _box(v, s)
        for col in plan.int_sum_cols(("sum", "mean")):
            f = work[col + "__f"] if col + "__f" in work.columns else work[col]
            cols[col + "_f"] = pd.Series([float(f.sum())])
        out = pd.DataFrame(cols, index=pd.RangeIndex(1))
    out["__part"] = part
    return out


# the per-group reductions each kind's partial columns are made of
_REDUCTIONS = {"count_star": ("size",), "count": ("count",), "sum": ("sum",),
               "mean": ("sum", "count"), "min": ("min",), "max": ("max",),
               "first": ("first",), "last": ("last",), "std": ("count", "sum", "var"),
               "var": ("count", "sum", "var"), "count_distinct": ()}


def _reduce_grouped(g, plan: AggPlan, by: list) -> dict[tuple[str | None, str], pd.Series]:
    """Every reduction the calls need, keyed by (argument column, reduction): one grouped
    call per reduction over all the argument columns that need it, and a column shared by
    several calls (``sum(x)``, ``mean(x)``) reduced once."""
    wanted: dict[str, list[str]] = {}
    for col, call, kind, arg_t in plan.calls:
        for how in _REDUCTIONS[kind]:
            if how != "size":
                names = wanted.setdefault(how, [])
                if plan.arg_col[col] not in names:
                    names.append(plan.arg_col[col])
    out: dict[tuple[str | None, str], pd.Series] = {(None, "size"): g.size()}
    for how, names in wanted.items():
        sg = g[names]
        if how == "sum":
            frame = sg.sum(min_count=1)
        elif how == "var":
            frame = sg.var(ddof=0)
        else:
            frame = getattr(sg, how)()
        out.update(((name, how), _nan_grouped(g.obj[name], by, how, frame[name]))
                   for name in names)
    return out


def _nan_grouped(s: pd.Series, by: list, how: str, plain_result: pd.Series) -> pd.Series:
    """``plain_result`` (pandas' grouped ``how`` of ``s``) with NaN's meaning (pandas_nan)."""
    if how not in ("sum", "min", "max"):
        return plain_result
    r = pandas_nan.reduce_grouped(
        s, by, how, (lambda x: x.sum(min_count=1)) if how == "sum" else
        (lambda x: getattr(x, how)()))
    return plain_result if r is None else r.reindex(plain_result.index)


def _nan_spread(var: pd.Series, partial_sums: pd.Series, tmp: pd.DataFrame, keys, index,
                n: pd.Series) -> pd.Series:
    """``var`` NaN where a partial sum is NaN or +-inf (its group held a NaN or an inf) and
    the group has two values or more (pandas_nan: pandas' masked arithmetic above made those
    null)."""
    flags = pandas_nan.spread_flags(partial_sums)
    if flags is None:
        return var
    flag = pd.Series(flags, index=partial_sums.index)
    has = flag.groupby([tmp[k] for k in keys], dropna=False, sort=False,
                       observed=True).any().reindex(index) if keys else pd.Series([flag.any()])
    put = has.to_numpy(bool) & (n.fillna(0).to_numpy() > 1)
    return pandas_nan.put_nan(var, put)


def _partial_columns(reduced, arg, kind):
    if kind == "count_star":
        return [("_n", reduced[None, "size"])]
    if kind == "count":
        return [("_n", reduced[arg, "count"])]
    if kind == "sum":
        return [("_s", reduced[arg, "sum"])]
    if kind == "mean":
        return [("_s", reduced[arg, "sum"]), ("_n", reduced[arg, "count"])]
    if kind in ("min", "max", "first", "last"):
        return [("_v", reduced[arg, kind])]
    if kind in ("std", "var"):
        n = reduced[arg, "count"]
        m2 = reduced[arg, "var"].astype("Float64") * n
        return [("_n", n), ("_s", reduced[arg, "sum"].astype("Float64")), ("_m2", m2)]
    if kind == "count_distinct":
        return []  # handled with the distinct pairs
    raise AssertionError(kind)


def _box(v, like: pd.Series | None) -> pd.Series:
    if pandas_nan.nan_flags(v):   # a NaN partial or result stays NaN, never null
        return pd.Series(pd.arrays.FloatingArray(np.array([np.nan]), np.array([False])))
    v = to_python(v)
    if like is not None and v is None:
        return pd.Series(pd.array([None], dtype=like.dtype)) \
            if not isinstance(like.dtype, np.dtype) or like.dtype.kind != "O" else \
            pd.Series([None], dtype=object)
    if like is not None:
        try:
            return pd.Series(pd.array([v], dtype=like.dtype))
        except (TypeError, ValueError):
            return pd.Series([v])
    return pd.Series([v])


def _partial_whole(s, kind, n):
    if kind == "count_star":
        return [("_n", n)]
    if kind == "count":
        return [("_n", int(s.count()))]
    if kind == "sum":
        return [("_s", reduce_whole(s, "sum", n))]
    if kind == "mean":
        return [("_s", reduce_whole(s, "sum", n)), ("_n", int(s.count()))]
    if kind in ("min", "max", "first", "last"):
        return [("_v", reduce_whole(s, kind, n))]
    if kind in ("std", "var"):
        c = int(s.count())
        m2 = math.nan if pandas_nan.spread_flags(s) is not None else \
            float(s.var(ddof=0)) * c if c else None
        return [("_n", c), ("_s", reduce_whole(s, "sum", n)), ("_m2", m2)]
    if kind == "count_distinct":
        return []
    raise AssertionError(kind)


def _distinct_pairs(pdf: pd.DataFrame, plan: AggPlan, col: str) -> pd.DataFrame:
    work = plan.temps(pdf)
    pairs = work[[*plan.group_by, col]]
    pairs = pairs[pairs[col].notna()]
    return pairs.drop_duplicates()


def _combine(partials: pd.DataFrame, *distinct: pd.DataFrame, plan: AggPlan,
             distinct_cols: tuple[str, ...]) -> pd.DataFrame:
    keys = plan.group_by
    partials = partials.sort_values("__part", kind="stable")
    values: dict[str, pd.Series] = {}
    if keys:
        g = partials.groupby(keys, dropna=False, sort=False, observed=True)
        index = g.size().index
        key_frame = index.to_frame(index=False)
    else:
        g = None
        index = None
        key_frame = pd.DataFrame(index=pd.RangeIndex(1))

    def red(name, how):
        if g is not None:
            sg = g[name]
            plain = sg.sum(min_count=1) if how == "sum" else getattr(sg, how)()
            return _nan_grouped(partials[name], [partials[k] for k in keys], how,
                                plain).reindex(index)
        s = partials[name]
        if how in ("sum", "first", "last", "min", "max"):
            v = reduce_whole(s, how, len(s))
        else:
            v = getattr(s, how)() if s.count() else None
        return _box(v, s)

    float_sums = {c: red(c + "_f", "sum").astype("Float64")
                  for c in plan.int_sum_cols(("sum", "mean"))}
    for col, call, kind, arg_t in plan.calls:
        if kind in ("count_star", "count"):
            values[col] = red(col + "_n", "sum").fillna(0)
        elif kind == "sum":
            values[col] = red(col + "_s", "sum")
        elif kind == "mean":
            s = red(col + "_s", "sum")
            n = red(col + "_n", "sum")
            if col in float_sums:   # the true sum where the int64 partial sums wrapped
                values[col] = int_mean(s, float_sums[col], n)
            else:
                s, n = s.astype("Float64"), n.astype("Float64")
                values[col] = pandas_nan.divide(s, n.mask(n == 0))
        elif kind in ("min", "max", "first", "last"):
            values[col] = red(col + "_v", kind)
        elif kind in ("std", "var"):
            p = partials
            s_i = p[col + "_s"].astype("Float64")
            tmp = p[keys].copy() if keys else pd.DataFrame(index=p.index)
            tg = tmp.groupby(keys, dropna=False, sort=False, observed=True) if keys else None
            groups = tg.size().index if keys else pd.RangeIndex(1)
            n, var = combine_spread(
                *(p[c].astype("Float64").to_numpy(np.float64, na_value=0.0)
                  for c in (col + "_n", col + "_s", col + "_m2")),
                tg.ngroup().to_numpy() if keys else np.zeros(len(p), np.int64), groups)
            if keys:
                n, var = n.reindex(index), var.reindex(index)
            var = _nan_spread(var, s_i, tmp, keys, index, n)
            values[col] = pandas_nan.sqrt(var) if kind == "std" else var
        elif kind == "count_distinct":
            pairs = pd.concat([d for c, d in zip(distinct_cols, distinct) if c == col])
            pairs = pairs.drop_duplicates()
            if keys:
                cnt = pairs.groupby(keys, dropna=False, sort=False, observed=True).size()
                values[col] = cnt.reindex(index).fillna(0)
            else:
                values[col] = pd.Series([len(pairs)])
    if keys:
        key_frame = pd.DataFrame({k: coerce(key_frame[k], plan.col_types[k]) for k in keys})
        values = {c: v.reset_index(drop=True) for c, v in values.items()}
        float_sums = {c: v.reset_index(drop=True) for c, v in float_sums.items()}
    plan.check_int_sums(key_frame, values,
                        {c: v for c, v in float_sums.items() if c in plan.int_sum_cols()})
    return plan.finish(key_frame, values)


def aggregate(ddf, group_by, aggs: Mapping[str, Any], params: Mapping[str, Any] | None = None,
              having=None, *, types: Mapping[str, Type] | None = None,
              dates_as_dates: bool = False):
    """The Dask counterpart of ``pandas_eval.aggregate``: a one-partition Dask DataFrame
    (lazy) with one row per group (``dates_as_dates``: date results as Arrow date32)."""
    plan = AggPlan(ddf._meta, group_by, aggs, params, having, types)
    meta = P.aggregate(ddf._meta, group_by, aggs, params, having, types=types,
                       dates_as_dates=dates_as_dates)
    partials = ddf.map_partitions(_partials, plan, meta=_partials(ddf._meta, plan),
                                  align_dataframes=False).repartition(npartitions=1)
    distinct_cols = []
    distinct = []
    for col, call, kind, arg_t in plan.calls:
        if kind == "count_distinct":
            d = ddf.map_partitions(_distinct_pairs, plan, col,
                                   meta=_distinct_pairs(ddf._meta, plan, col))
            distinct.append(d.repartition(npartitions=1))
            distinct_cols.append(col)
    date_cols = ()
    if dates_as_dates:
        date_cols = tuple([k for k in plan.group_by if plan.col_types[k].name == "date"] +
                          [name for name, _e, t, _nt in plan.outputs if t.name == "date"])
    fn = partial(_combine_checked, plan=plan, distinct_cols=tuple(distinct_cols), meta=meta,
                 date_cols=date_cols)
    import dask.dataframe as dd
    return dd.map_partitions(fn, partials, *distinct, meta=meta, align_dataframes=False)


def _combine_checked(partials, *distinct, plan, distinct_cols, meta, date_cols=()):
    out = _combine(partials, *distinct, plan=plan, distinct_cols=distinct_cols)
    if date_cols:
        from ..dtypes import to_date
        for name in date_cols:
            if name in out:
                out[name] = to_date(out[name])
    return out.astype(meta.dtypes.to_dict()) if len(out.columns) == len(meta.columns) else out


def metric(expr, ddf, params: Mapping[str, Any] | None = None, *,
           types: Mapping[str, Type] | None = None):
    """An aggregate expression over the whole Dask DataFrame, computed, as a Python
    scalar."""
    expr = as_expr(expr)
    from .typecheck import infer
    col_types = frame_types(ddf._meta, types)
    t, errors, _ = infer(expr, col_types, {k: param_type(v) for k, v in
                                           (params or {}).items()}, "metric")
    if errors:
        raise EvalError(f"{errors[0].code}: {errors[0].message}")
    out = aggregate(ddf, [], {"value": expr}, params, types=types).compute()
    return to_python(out["value"].iloc[0], t)


def metrics_plan(exprs: Mapping[str, Any], ddf, params: Mapping[str, Any] | None = None, *,
                 types: Mapping[str, Type] | None = None):
    """Several aggregate expressions over the whole Dask DataFrame in one pass (one
    aggregate with a column per metric): ``(lazy aggregate, finish)``, ``finish(computed
    aggregate)`` the Python scalars like :func:`metric` (``(None, None)``: no metric); the
    caller computes the aggregate with the other collections of its computation."""
    from .typecheck import infer
    col_types = frame_types(ddf._meta, types)
    p_types = {k: param_type(v) for k, v in (params or {}).items()}
    parsed, out_types = {}, {}
    for name, expr in exprs.items():
        parsed[name] = as_expr(expr)
        t, errors, _ = infer(parsed[name], col_types, p_types, "metric")
        if errors:
            raise EvalError(f"{errors[0].code}: {errors[0].message}")
        out_types[name] = t
    if not parsed:
        return None, None
    cols = {f"m{i}": e for i, e in enumerate(parsed.values())}
    lazy = aggregate(ddf, [], cols, params, types=types)

    def finish(out) -> dict[str, Any]:
        return {name: to_python(out[f"m{i}"].iloc[0], out_types[name])
                for i, name in enumerate(parsed)}
    return lazy, finish


def derived_types(exprs: Mapping[str, Any], meta: pd.DataFrame,
                  params: Mapping[str, Any] | None = None, *,
                  types: Mapping[str, Type] | None = None) -> dict[str, Type]:
    """The etlc types of derived columns, each expression seeing those before it.  An empty
    partition cannot tell a decimal or date column from text by its dtype (object), so the
    engine carries these types to later steps instead of reading them off the meta."""
    from .typecheck import infer
    col_types = frame_types(meta, types)
    p_types = {k: param_type(v) for k, v in (params or {}).items()}
    out: dict[str, Type] = {}
    for name, expr in exprs.items():
        t, errors, _ = infer(as_expr(expr), {**col_types, **out}, p_types, "row")
        if not errors and t.name not in ("null", "unknown"):
            out[name] = t
    return out
