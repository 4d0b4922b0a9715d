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

from collections.abc import Mapping
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from . import pandas_eval as P
from .types import Type

__all__ = ["aggregate", "apply_filter", "evaluate", "metric"]


def evaluate(expr, ddf, params: Mapping[str, Any] | None = None, *,
             types: Mapping[str, Type] | None = None):
    """A Dask Series: the row expression on every partition."""
    expr = P._as_expr(expr)
    fn = partial(_eval_part, expr=expr, params=params, types=types)
    meta = fn(ddf._meta)
    return ddf.map_partitions(fn, meta=meta)


def _eval_part(pdf, expr, params, types):
    return P.evaluate(expr, pdf, params, types=types)


def apply_filter(expr, ddf, params: Mapping[str, Any] | None = None, *,
                 types: Mapping[str, Type] | None = None):
    """A Dask DataFrame with the rows where the condition is true."""
    expr = P._as_expr(expr)
    fn = partial(_filter_part, expr=expr, params=params, types=types)
    fn(ddf._meta)  # type errors surface now, not at compute time
    return ddf.map_partitions(fn, meta=ddf._meta)


def _filter_part(pdf, expr, params, types):
    return P.apply_filter(expr, pdf, params, types=types)


# -- aggregation -------------------------------------------------------------------------

def _partials(pdf: pd.DataFrame, plan: P.AggPlan, partition_info=None) -> pd.DataFrame:
    part = (partition_info or {}).get("number", 0)
    work = plan.temps(pdf)
    keys = plan.group_by
    if keys:
        g = work.groupby(keys, dropna=False, sort=False, observed=True)
        cols = {}
        for col, call, kind, arg_t in plan.calls:
            for suffix, values in _partial_columns(g, col, kind):
                cols[col + suffix] = values
        if not cols:
            out = g.size().rename("__n").reset_index()
        else:
            out = pd.DataFrame(cols).reset_index()
    else:
        cols = {}
        for col, call, kind, arg_t in plan.calls:
            s = work[col] if kind != "count_star" else None
            for suffix, v in _partial_whole(s, kind, len(work)):
                cols[col + suffix] = _box(v, s)
        out = pd.DataFrame(cols, index=pd.RangeIndex(1))
    out["__part"] = part
    return out


def _box(v, like: pd.Series | None) -> pd.Series:
    v = P._to_python(v)
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


def _partial_columns(g, col, kind):
    if kind == "count_star":
        return [("_n", g.size())]
    sg = g[col]
    if kind == "count":
        return [("_n", sg.count())]
    if kind == "sum":
        return [("_s", sg.sum(min_count=1))]
    if kind == "mean":
        return [("_s", sg.sum(min_count=1)), ("_n", sg.count())]
    if kind in ("min", "max", "first", "last"):
        return [("_v", getattr(sg, kind)())]
    if kind in ("std", "var"):
        n = sg.count()
        s = sg.sum(min_count=1)
        m2 = sg.var(ddof=0).astype("Float64") * n
        return [("_n", n), ("_s", s.astype("Float64")), ("_m2", m2)]
    if kind == "count_distinct":
        return []  # handled with the distinct pairs
    raise AssertionError(kind)


def _partial_whole(s, kind, n):
    if kind == "count_star":
        return [("_n", n)]
    if kind == "count":
        return [("_n", int(s.count()))]
    if kind == "sum":
        return [("_s", s.sum(min_count=1))]
    if kind == "mean":
        return [("_s", s.sum(min_count=1)), ("_n", int(s.count()))]
    if kind in ("min", "max", "first", "last"):
        return [("_v", P._reduce_whole(s, kind, n))]
    if kind in ("std", "var"):
        c = int(s.count())
        m2 = float(s.var(ddof=0)) * c if c else None
        return [("_n", c), ("_s", s.sum(min_count=1)), ("_m2", m2)]
    if kind == "count_distinct":
        return []
    raise AssertionError(kind)


def _distinct_pairs(pdf: pd.DataFrame, plan: P.AggPlan, col: str) -> pd.DataFrame:
    work = plan.temps(pdf)
    pairs = work[[*plan.group_by, col]]
    pairs = pairs[pairs[col].notna()]
    return pairs.drop_duplicates()


def _combine(partials: pd.DataFrame, *distinct: pd.DataFrame, plan: P.AggPlan,
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
            if how == "sum":
                return sg.sum(min_count=1).reindex(index)
            return getattr(sg, how)().reindex(index)
        s = partials[name]
        if how == "sum":
            v = s.sum(min_count=1)
        elif how in ("first", "last"):
            v = P._reduce_whole(s, how, len(s))
        else:
            v = getattr(s, how)() if s.count() else None
        return _box(v, s)

    for col, call, kind, arg_t in plan.calls:
        if kind in ("count_star", "count"):
            values[col] = red(col + "_n", "sum").fillna(0)
        elif kind == "sum":
            values[col] = red(col + "_s", "sum")
        elif kind == "mean":
            s = red(col + "_s", "sum").astype("Float64")
            n = red(col + "_n", "sum").astype("Float64")
            values[col] = s / n.mask(n == 0)
        elif kind in ("min", "max", "first", "last"):
            values[col] = red(col + "_v", kind)
        elif kind in ("std", "var"):
            p = partials
            n_i = p[col + "_n"].astype("Float64")
            s_i = p[col + "_s"].astype("Float64")
            q = (s_i * s_i / n_i.mask(n_i == 0)).fillna(0)
            tmp = p[keys].copy() if keys else pd.DataFrame(index=p.index)
            tmp["n"], tmp["s"] = n_i, s_i
            tmp["m2"] = p[col + "_m2"].astype("Float64").fillna(0)
            tmp["q"] = q
            if keys:
                tg = tmp.groupby(keys, dropna=False, sort=False, observed=True)
                agg = pd.DataFrame({c: tg[c].sum() for c in ("n", "s", "m2", "q")}).reindex(index)
            else:
                agg = pd.DataFrame({c: [tmp[c].sum()] for c in ("n", "s", "m2", "q")})
            n = agg["n"].astype("Float64")
            m2 = agg["m2"] + agg["q"] - agg["s"] * agg["s"] / n.mask(n == 0)
            var = (m2.clip(lower=0) / (n - 1).mask(n < 2)).astype("Float64")
            values[col] = np.sqrt(var) if kind == "std" else var
        elif kind == "count_distinct":
            pairs = pd.concat([d for c, d in zip(distinct_cols, distinct) if c == col])
            pairs = pairs.drop_duplicates()
            if keys:
                cnt = pairs.groupby(keys, dropna=False, sort=False, observed=True).size()
                values[col] = cnt.reindex(index).fillna(0)
            else:
                values[col] = pd.Series([len(pairs)])
    if keys:
        key_frame = pd.DataFrame({k: P.coerce(key_frame[k], plan.col_types[k]) for k in keys})
        values = {c: v.reset_index(drop=True) for c, v in values.items()}
    return plan.finish(key_frame, values)


def aggregate(ddf, group_by, aggs: Mapping[str, Any], params: Mapping[str, Any] | None = None,
              having=None, *, types: Mapping[str, Type] | None = None):
    """The Dask counterpart of ``pandas_eval.aggregate``: a one-partition Dask DataFrame
    (lazy) with one row per group."""
    plan = P.AggPlan(ddf._meta, group_by, aggs, params, having, types)
    meta = P.aggregate(ddf._meta, group_by, aggs, params, having, types=types)
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
    fn = partial(_combine_checked, plan=plan, distinct_cols=tuple(distinct_cols), meta=meta)
    import dask.dataframe as dd
    return dd.map_partitions(fn, partials, *distinct, meta=meta, align_dataframes=False)


def _combine_checked(partials, *distinct, plan, distinct_cols, meta):
    out = _combine(partials, *distinct, plan=plan, distinct_cols=distinct_cols)
    return out.astype(meta.dtypes.to_dict()) if len(out.columns) == len(meta.columns) else out


def metric(expr, ddf, params: Mapping[str, Any] | None = None, *,
           types: Mapping[str, Type] | None = None):
    """An aggregate expression over the whole Dask DataFrame, computed, as a Python
    scalar."""
    expr = P._as_expr(expr)
    from .typecheck import infer
    col_types = P.frame_types(ddf._meta, types)
    t, errors, _ = infer(expr, col_types, {k: P.param_type(v) for k, v in
                                           (params or {}).items()}, "metric")
    if errors:
        raise P.EvalError(f"{errors[0].code}: {errors[0].message}")
    out = aggregate(ddf, [], {"value": expr}, params, types=types).compute()
    return P._to_python(out["value"].iloc[0], t)
