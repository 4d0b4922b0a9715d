"""Numeric and conditional functions of the pandas evaluator: abs round floor ceil sqrt ln
exp log10 power mod sign greatest least nullif, integer division, if, coalesce and case.

Each ``impl(ev, args, types, result_type)`` gets Series or scalars (at least one Series, no
null scalars except for the evaluator's ``NULL_AWARE`` functions), works on whole columns
and returns a Series of the result type's dtype.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .pandas_branches import ev_where
from .pandas_columns import is_series
from .pandas_numeric import (
    dec_round,
    float_series,
    float_values,
    floats,
    round_exact,
    round_half_away,
)
from .types import FLOAT, INT

__all__ = ["FUNCS", "case", "int_div"]


def _f_abs(ev, a, t, tr):
    if tr.name == "int":   # abs(-2**63) does not fit: DuckDB's Out of Range error
        ev.int_range("abs", a[0], None, a[0].abs())
    return a[0].abs()


def _f_round(ev, a, t, tr):
    x = a[0]
    n = a[1] if len(a) > 1 else 0
    if t[0].name == "decimal":
        return dec_round(ev.series(x, t[0]), t[0].scale or 0, int(n))
    if t[0].name == "int":
        if not is_series(n) and n >= 0:
            return ev.series(x, INT)
        v, mask = floats(ev.series(x, INT))
        nn = n if not is_series(n) else ev.series(n, INT).to_numpy(dtype=float, na_value=0)
        r = round_half_away(v, np.minimum(nn, 0))
        nmask = mask if not is_series(n) else (mask | ev.series(n, INT).isna().to_numpy())
        return pd.Series(pd.arrays.IntegerArray(np.where(nmask, 0, r).astype(np.int64), nmask),
                         index=ev.index, copy=False)
    v, mask = floats(ev.series(x, FLOAT))
    if not is_series(n):
        return float_values(round_exact(v, n), mask, ev.index)   # NaN stays NaN
    ns = ev.series(n, INT)
    nv = ns.to_numpy(dtype=float, na_value=0)
    return float_values(round_exact(v, nv), mask | ns.isna().to_numpy(), ev.index)


def _f_floor_ceil(fn):
    def impl(ev, a, t, tr):
        x = a[0]
        if t[0].name == "int":
            return x
        v, mask = floats(x)
        if t[0].name == "decimal":
            v = np.round(v, t[0].scale or 0)
        return float_values(fn(v), mask, x.index)   # NaN stays NaN
    return impl


def _f_unary_float(fn, valid):
    def impl(ev, a, t, tr):
        v, mask = floats(a[0])
        bad = ~valid(np.where(mask, 1.0, v)) & ~np.isnan(v)   # NaN in, NaN out
        with np.errstate(all="ignore"):
            r = fn(v)
        return float_values(r, mask | bad, a[0].index)
    return impl



def _mask(ev, v) -> np.ndarray:
    """True where a condition (Series or scalar) is true; null counts as false."""
    if is_series(v):
        return ev._bool(v).to_numpy(dtype=bool, na_value=False)
    return np.full(ev.n, v is True)


def int_div(ev, a, b) -> pd.Series:
    """``a // b`` on ints: the quotient truncated toward zero (DuckDB); null where b is 0."""
    a, b = ev.series(a, INT), ev.series(b, INT)
    b = b.mask(b == 0)
    q = a.abs() // b.abs()
    neg = (a < 0) ^ (b < 0)
    return q.where(~neg.fillna(False), -q).astype("Int64")


def _f_power(ev, a, t, tr):
    x, mx = floats(ev.series(a[0], t[0]))
    y, my = floats(ev.series(a[1], t[1])) if is_series(a[1]) else (np.float64(a[1]), False)
    with np.errstate(all="ignore"):
        r = np.power(x, y)
    return float_series(r, mx | my, ev.index)  # NaN (negative ** fraction) is null


def _f_mod(ev, a, t, tr):
    return ev.arith("%", a[0], a[1], t[0], t[1], tr)  # the same as a % b


def _f_sign(ev, a, t, tr):
    v, mask = floats(ev.series(a[0], t[0]))
    s = np.sign(np.where(mask | np.isnan(v), 0.0, v)).astype(np.int64)   # NaN: 0 (DuckDB)
    return pd.Series(pd.arrays.IntegerArray(s, mask.copy()), index=ev.index)


def _extreme(largest: bool):
    def impl(ev, a, t, tr):
        vals = [v for v in a if v is not None]
        if not vals:
            return None
        if not any(is_series(v) for v in vals):
            return max(vals) if largest else min(vals)
        res = ev.series(vals[0], tr)
        for v in vals[1:]:
            other = ev.series(v, tr)
            better = ev.compare(">" if largest else "<", other, res, tr, tr)  # NaN's order
            take = better.fillna(False).to_numpy(dtype=bool) | (res.isna().to_numpy()
                                                                & other.notna().to_numpy())
            res = res.mask(take, other)
        return res
    return impl


def _f_nullif(ev, a, t, tr):
    x, y = a
    if x is None:
        return None
    if y is None:
        return x
    if not is_series(x) and not is_series(y):
        return None if x == y else x
    x = ev.series(x, tr)
    eq = ev.compare("=", x, y, tr, t[1])
    return x.mask(_mask(ev, eq))


def case(ev, e) -> pd.Series | object:
    """``case`` of the evaluator: the first ``when`` that holds gives the result (null
    conditions do not hold), else the ``else`` value (null without one)."""
    tr = ev.typ(e)
    op = ev.ev(e.operand) if e.operand is not None else None
    top = ev.typ(e.operand) if e.operand is not None else None
    conds = []
    for w, _ in e.whens:
        c = ev.ev(w)
        if e.operand is not None:
            c = ev.compare("=", op, c, top, ev.typ(w))
        conds.append(c)
    if not any(is_series(c) for c in conds):
        for c, (_, r) in zip(conds, e.whens):
            if c is True:
                return ev.ev(r)
        return ev.ev(e.default) if e.default is not None else None
    # each branch is needed at the rows that take it: a row takes the first when that holds
    masks, taken = [], np.zeros(ev.n, bool)
    for c in conds:
        m = _mask(ev, c)
        masks.append(m & ~taken)
        taken |= m
    res = ev.series(ev_where(ev, e.default, ~taken) if e.default is not None else None, tr)
    for m, (_, r) in reversed(list(zip(masks, e.whens))):
        if m.any():
            res = res.mask(m, ev.series(ev_where(ev, r, m), tr))
    return res




def _f_if(ev, a, t, tr):
    c, x, y = a
    if not is_series(c):
        return x if c is True else y
    mask = ev._bool(c).to_numpy(dtype=bool, na_value=False)
    if is_series(x) or not is_series(y):
        xs = ev.series(x, tr)
        other = ev.series(y, tr) if is_series(y) or y is None else y
        return xs.where(mask, other)
    return ev.series(y, tr).where(~mask, x)


def _f_coalesce(ev, a, t, tr):
    res = None
    for v in a:
        if res is None:
            if v is None:
                continue
            if not is_series(v):
                return v
            res = ev.series(v, tr)
            continue
        if v is None:
            continue
        if is_series(v):
            res = res.where(res.notna(), ev.series(v, tr))
        else:
            return res.fillna(v)
        if not res.isna().any():
            break
    return res


FUNCS = {
    "abs": _f_abs,
    "round": _f_round,
    "floor": _f_floor_ceil(np.floor),
    "ceil": _f_floor_ceil(np.ceil),
    "sqrt": _f_unary_float(np.sqrt, lambda v: v >= 0),
    "ln": _f_unary_float(np.log, lambda v: v > 0),
    "exp": _f_unary_float(np.exp, lambda v: np.ones(len(v), bool)),
    "log10": _f_unary_float(np.log10, lambda v: v > 0),
    "power": _f_power,
    "mod": _f_mod,
    "sign": _f_sign,
    "greatest": _extreme(True),
    "least": _extreme(False),
    "nullif": _f_nullif,
    "if": _f_if,
    "coalesce": _f_coalesce,
}
