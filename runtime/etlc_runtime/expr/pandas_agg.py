"""Aggregation on pandas (shared with the Dask back end, which reduces per partition and
combines): an :class:`AggPlan` evaluates each aggregate call's argument into a temporary
column, the calls are reduced per group (or over the whole frame), and the outer expressions
are evaluated over the per-group results."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from . import ast as A
from . import int_sums, pandas_nan
from .errors import EvalError
from .pandas_columns import (
    TEMPORAL,
    coerce,
    frame_types,
    is_series,
    pandas_dtype,
    to_python,
    utc_stamp,
)
from .pandas_evaluator import Evaluator, as_expr
from .pandas_numeric import floats, snap
from .pandas_tz import stored
from .typecheck import infer
from .types import INT, UNKNOWN, Type, param_type

__all__ = ["AggPlan", "aggregate_plan", "int_mean", "reduce_whole"]


class AggPlan:
    """The aggregate calls of a set of aggregate expressions (shared by the pandas and
    Dask back ends): each call's argument is evaluated as a row expression into a
    temporary column, reduced per group, and the outer expressions are then evaluated
    over the per-group results."""

    def __init__(self, df_like: pd.DataFrame | None, group_by, aggs: Mapping[str, Any], params,
                 having, types, col_types: Mapping[str, Type] | None = None):
        self._args = (group_by, dict(aggs), params, having)
        self.group_by = list(group_by)
        self.params = params or {}
        self.col_types = dict(col_types) if col_types is not None else \
            frame_types(df_like, types)
        missing = [k for k in self.group_by if k not in self.col_types]
        if missing:
            raise EvalError(f"unknown group_by column '{missing[0]}'")
        self.p_types = {k: param_type(v) for k, v in self.params.items()}
        self.outputs: list[tuple[str, A.Expr, Type, dict]] = []
        self.calls: list[tuple[str, A.Call, str, Type]] = []  # (temp col, call, kind, arg type)
        seen: dict[str, str] = {}
        items = [(name, as_expr(e), "aggregate") for name, e in aggs.items()]
        if having is not None:
            items.append(("__having__", as_expr(having), "having"))
        self.call_col: dict[int, str] = {}
        for name, expr, ctx in items:
            outputs = {n: t for n, _, t, _ in self.outputs} if ctx == "having" else None
            t, errors, node_types = infer(expr, self.col_types, self.p_types, ctx,
                                          self.group_by, outputs)
            if errors:
                err = errors[0]
                raise EvalError(f"{err.code}: {err.message}"
                                + (f" ({err.help})" if err.help else ""), A.unparse(expr))
            self.outputs.append((name, expr, t, node_types))
            for node in A.walk(expr):
                if isinstance(node, A.Call) and node.name in _AGG_KINDS:
                    key = A.unparse(node)
                    col = seen.get(key)
                    if col is None:
                        col = f"__agg{len(self.calls)}"
                        seen[key] = col
                        arg_t = node_types.get(id(node.args[0]), UNKNOWN) if node.args \
                            else INT
                        self.calls.append((col, node, node.name if not node.star
                                           else "count_star", arg_t))
                    self.call_col[id(node)] = col
        self.node_types = {}
        for _, _, _, nt in self.outputs:
            self.node_types.update(nt)
        # each call's temp column -> the first call's with the same argument and type
        # (``sum(x)`` and ``mean(x)`` evaluate and reduce ``x`` once)
        # a decimal sum's temp column holds its values as unscaled ints (column -> scale),
        # summed exactly as ints are (a sum of doubles drifts: 100000 times each of
        # 1000000000000.01 and -1000000000000.00 summed to 1000.98, not 1000.00)
        self.scaled = {col: arg_t.scale or 0 for col, _c, kind, arg_t in self.calls
                       if kind == "sum" and arg_t.name == "decimal"}
        self.arg_col: dict[str, str] = {}
        firsts: dict[tuple[str, Type, bool], str] = {}
        for col, call, kind, arg_t in self.calls:
            if kind != "count_star":
                self.arg_col[col] = firsts.setdefault(
                    (A.unparse(call.args[0]), arg_t, col in self.scaled), col)

    def __reduce__(self):
        # node types are keyed by id(node): rebuild them after unpickling (Dask workers)
        group_by, aggs, params, having = self._args
        return (_rebuild_plan, (self.col_types, group_by, aggs, params, having))

    def temps(self, df: pd.DataFrame) -> pd.DataFrame:
        """Group keys plus one column per aggregate argument."""
        cols = {}
        for k in self.group_by:
            cols[k] = coerce(df[k], self.col_types[k])
        for col, call, kind, arg_t in self.calls:
            if kind == "count_star":
                continue
            if self.arg_col[col] != col:
                cols[col] = cols[self.arg_col[col]]
                continue
            arg = call.args[0]
            nt = _sub_types(self.node_types, arg)
            ev = Evaluator(df, self.params, nt, self.col_types, A.unparse(arg))
            cols[col] = ev.series(ev.ev(arg), arg_t)
            if col in self.scaled:
                cols[col] = unscaled_ints(cols[col], self.scaled[col])
        floats: dict[str, pd.Series | None] = {}   # per argument column
        for col in self.int_sum_cols(("sum", "mean")):   # only where a sum could wrap
            arg = self.arg_col[col]
            if arg not in floats:
                floats[arg] = None if int_sums.small(cols[arg]) else \
                    int_sums.as_floats(cols[arg])
            if floats[arg] is not None:
                cols[col + "__f"] = floats[arg]
        return pd.DataFrame(cols, index=df.index, copy=False)

    def int_sum_cols(self, kinds: tuple[str, ...] = ("sum",)) -> list[str]:
        """The temp columns of the ``sum`` (and ``kinds``) calls over ints (summed as doubles
        beside, ``<col>__f``, to tell a sum beyond 64 bits, where their values are not
        :func:`int_sums.small`)."""
        return [col for col, _call, kind, arg_t in self.calls
                if kind in kinds and (arg_t.name == "int" or col in self.scaled)]

    def check_int_sums(self, keys: pd.DataFrame, values: Mapping[str, pd.Series],
                       float_sums: Mapping[str, Any]) -> None:
        """R041 where an int sum (``values``, int64, wrapped) is beyond 64 bits, told by the
        same values summed as doubles (``float_sums``), per group (``keys``)."""
        for col, call, _kind, _t in self.calls:
            if col not in float_sums:
                continue
            output, expr = next(((n, e) for n, e, _t2, _nt in self.outputs
                                 if any(x is call for x in A.walk(e))), (None, None))
            int_sums.check(values[col], float_sums[col], output or "",
                           A.unparse(expr) if expr is not None else None, call,
                           keys[self.group_by] if self.group_by else None)

    def finish(self, keys: pd.DataFrame, values: dict[str, pd.Series]) -> pd.DataFrame:
        """Outer expressions over per-group results (``keys`` holds the group keys,
        one row per group, ``values`` the reduced aggregate columns)."""
        keys = keys.reset_index(drop=True)
        n = len(keys)
        base = {k: keys[k] for k in self.group_by}
        for col, call, kind, arg_t in self.calls:
            v = values[col].reset_index(drop=True)
            if col in self.scaled:   # the exact sum of unscaled ints (checked within 64 bits)
                v = v.astype("Float64") / 10.0 ** self.scaled[col]
            values[col] = _agg_result_dtype(v, kind, arg_t, self.node_types.get(id(call)))
        frame = pd.DataFrame(base, index=pd.RangeIndex(n))
        outputs = {}
        having_mask = None
        for name, expr, t, node_types in self.outputs:
            agg_values = {i: values[c] for i, c in self.call_col.items()}
            if name == "__having__":  # may name the aggregate outputs (they win over inputs)
                frame = pd.DataFrame({**base, **outputs}, index=pd.RangeIndex(n))
                types = {**self.col_types, **{o: ot for o, _, ot, _ in self.outputs if o != name}}
            else:
                types = self.col_types
            ev = Evaluator(frame, self.params, node_types, types, A.unparse(expr),
                           agg_values)
            v = ev.ev(expr)
            if name == "__having__":
                if is_series(v):
                    having_mask = ev._bool(v).to_numpy(dtype=bool, na_value=False)
                else:
                    having_mask = np.full(n, v is True)
            else:
                outputs[name] = ev.series(v, t)
        out = {k: stored(v, self.col_types[k]) for k, v in base.items()}
        out_types = {o: t for o, _e, t, _nt in self.outputs}
        out.update({k: stored(v, out_types[k]) for k, v in outputs.items()})
        result = pd.DataFrame(out, index=pd.RangeIndex(n))
        if having_mask is not None:
            result = result[having_mask].reset_index(drop=True)
        return result


def _rebuild_plan(col_types, group_by, aggs, params, having) -> AggPlan:
    return AggPlan(None, group_by, aggs, params, having, None, col_types=col_types)


def _sub_types(node_types: dict, expr: A.Expr) -> dict:
    return node_types


def _agg_result_dtype(v: pd.Series, kind: str, arg_t: Type, res_t: Type | None):
    if kind in ("count", "count_star", "count_distinct"):
        return v.astype("Int64")
    if kind in ("mean", "std", "var"):
        return v.astype("Float64")
    if res_t is not None and res_t.name not in ("unknown", "null"):
        v = coerce(v, res_t)
        if res_t.name == "decimal":
            v = snap(v, res_t.scale or 0)
    return v


_AGG_KINDS = {"count", "count_distinct", "sum", "mean", "min", "max", "first", "last", "std",
              "var"}


def reduce_whole(s: pd.Series | None, kind: str, n: int):
    if kind == "count_star":
        return n
    if kind == "count":
        return int(s.count())
    if kind == "count_distinct":
        return int(s.nunique(dropna=True))
    if kind == "sum":
        return pandas_nan.reduce_whole(s, kind, lambda v: v.sum(min_count=1))
    if kind in ("mean", "min", "max"):
        return pandas_nan.reduce_whole(s, kind,
                                       lambda v: getattr(v, kind)() if v.count() else None)
    if kind in ("first", "last"):
        nn = s.dropna()
        if not len(nn):
            return None
        return nn.iloc[0] if kind == "first" else nn.iloc[-1]
    if kind in ("std", "var"):
        return pandas_nan.reduce_whole(
            s, kind, lambda v: getattr(v, kind)(ddof=1) if v.count() > 1 else None)
    raise AssertionError(kind)


def _reduce_grouped(g, col: str | None, kind: str, by: list | None = None):
    if kind == "count_star":
        return g.size()
    sg = g[col]
    if by is not None:
        plain = (lambda x: x.sum(min_count=1)) if kind == "sum" else \
            (lambda x: getattr(x, kind)(ddof=1)) if kind in ("std", "var") else \
            (lambda x: getattr(x, kind)())
        r = pandas_nan.reduce_grouped(sg.obj, by, kind, plain)
        if r is not None:
            return r
    if kind == "count":
        return sg.count()
    if kind == "count_distinct":
        return sg.nunique(dropna=True)
    if kind == "sum":
        return sg.sum(min_count=1)
    if kind in ("std", "var"):
        return getattr(sg, kind)(ddof=1)
    return getattr(sg, kind)()


def aggregate_plan(plan: AggPlan, df: pd.DataFrame) -> pd.DataFrame:
    work = plan.temps(df)
    values = {}
    float_sums: dict[str, Any] = {}
    if plan.group_by:
        g = work.groupby(plan.group_by, dropna=False, sort=False, observed=True)
        keys = None
        checked = _checked(plan, work, ("sum", "mean"))
        for col, call, kind, arg_t in plan.calls:
            if col in checked:
                continue
            r = _reduce_grouped(g, col, kind, [work[k] for k in plan.group_by])
            values[col] = r
            if keys is None:
                keys = r.index.to_frame(index=False)
        if checked:   # int sums, doubles beside; means from them (pandas' sums doubles)
            index = g.size().index   # the groups, in the order of the other reductions
            by_arg: dict[str, tuple] = {}
            for col, call, kind, arg_t in plan.calls:
                if col not in checked:
                    continue
                arg = plan.arg_col[col]
                if arg not in by_arg:
                    by_arg[arg] = tuple(r.reindex(index) for r in (
                        g[col].sum(min_count=1), g[col + "__f"].sum(), g[col].count()))
                w, f, count = by_arg[arg]
                if kind == "sum":
                    values[col], float_sums[col] = w, f
                else:
                    values[col] = int_mean(w, f, count)
            if keys is None:
                keys = index.to_frame(index=False)
        if keys is None:  # no aggregate calls: just the distinct keys
            keys = g.size().index.to_frame(index=False)
        keys = pd.DataFrame({k: coerce(keys[k], plan.col_types[k]) for k in plan.group_by})
    else:
        n = len(df)
        keys = pd.DataFrame(index=pd.RangeIndex(1))
        for col, call, kind, arg_t in plan.calls:
            s = work[col] if kind != "count_star" else None
            v = reduce_whole(s, kind, n)
            res_t = plan.node_types.get(id(call), UNKNOWN)
            if res_t.name in ("unknown", "null"):
                res_t = arg_t
            if col in plan.scaled:
                res_t = INT
            values[col] = _one(v, res_t)
        for col in _checked(plan, work, ("sum",)):
            float_sums[col] = [float(work[col + "__f"].sum())]
        for col in _checked(plan, work, ("mean",)):
            s = work[col]
            values[col] = int_mean(pd.Series(pd.array([s.sum(min_count=1)], dtype="Int64")),
                                   pd.Series([float(work[col + "__f"].sum())]),
                                   pd.Series([s.count()]))
    plan.check_int_sums(keys, values, float_sums)
    return plan.finish(keys, values)


def _checked(plan: AggPlan, work: pd.DataFrame, kinds: tuple[str, ...]) -> list[str]:
    """The int sums (``kinds``) whose values could leave 2**53 (summed as doubles too)."""
    return [c for c in plan.int_sum_cols(kinds) if c + "__f" in work.columns]


def int_mean(w: pd.Series, f: pd.Series, n: pd.Series) -> pd.Series:
    """The means of ints from their int64 sums ``w`` (wrapped), their sums as doubles ``f``
    and their counts ``n``: the exact sum divided, as DuckDB divides its HUGEINT sum
    (pandas' mean sums doubles: the mean of 2**63 - 1, 2**63 - 1, -2**63, -2**63 and 2 was
    0.4, not 0)."""
    n = n.astype("Float64")
    return pandas_nan.divide(int_sums.unwrapped(w, f), n.mask(n == 0))


def unscaled_ints(s: pd.Series, scale: int) -> pd.Series:
    """The decimals of ``s`` (doubles, each the nearest of its decimal) as their unscaled
    Int64 values, exact below 10**15 (beyond: R041, ``pandas_decimal.held``)."""
    from .pandas_decimal import held

    held(s, s, scale)
    v, mask = floats(s)
    u = np.round(np.where(mask, 0.0, v) * 10.0 ** scale).astype(np.int64)
    return pd.Series(pd.arrays.IntegerArray(u, mask), index=s.index, copy=False)


def _one(v, t: Type) -> pd.Series:
    if t.name == "float" and pandas_nan.nan_flags(v):   # a NaN result stays NaN, never null
        return pd.Series(pd.arrays.FloatingArray(np.array([np.nan]), np.array([False])))
    v = to_python(v)
    dtype = pandas_dtype(t)
    if dtype is object:
        return pd.Series([v], dtype=object)
    if t.name in TEMPORAL and v is not None:
        v = utc_stamp(v)
    return pd.Series(pd.array([v], dtype=dtype))



def combine_spread(n: np.ndarray, s: np.ndarray, m2: np.ndarray, codes: np.ndarray,
                   groups: pd.Index) -> tuple[pd.Series, pd.Series]:
    """(count, variance) per group from the partials (count ``n``, sum ``s``, sum of squared
    deviations ``m2``) of the rows of each group (``codes``: the group of each partial),
    combined by Chan's formula, ``M2 = sum(m2_i) + sum(n_i * (mean_i - mean)^2)``, as DuckDB
    combines its states: the variance is inf where it is beyond a double (squaring the
    partial sums, ``s_i^2 / n_i - S^2 / N``, overflowed to inf - inf, made null), and null
    below two values."""
    k = len(groups)
    with np.errstate(all="ignore"):
        count = np.bincount(codes, weights=n, minlength=k)
        mean = np.bincount(codes, weights=s, minlength=k) / np.where(count > 0, count, 1)
        dev = np.where(n > 0, n * (s / np.where(n > 0, n, 1) - mean[codes]) ** 2, 0.0)
        total = np.bincount(codes, weights=m2 + dev, minlength=k)
        var = total / np.where(count > 1, count - 1, 1)
    return (pd.Series(count, index=groups),
            pd.Series(pd.arrays.FloatingArray(var, count < 2), index=groups, copy=False))
