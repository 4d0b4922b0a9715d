"""More functions of the pandas evaluator (issue 13): numbers and logic (log10 power mod sign
greatest least nullif, integer division, case), date and time parts and arithmetic, text.

Each ``impl(ev, args, types, result_type)`` gets Series or scalars (at least one Series, no
null scalars except for the functions in ``NULL_AWARE``), works on whole columns and returns
a Series of the result type's dtype, as the functions of ``pandas_eval``.
"""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from .pandas_eval import (
    STRING_DTYPE,
    _by_distinct,
    _f_unary_float,
    _float_series,
    _floats,
    _is_series,
)
from .types import INT, STRING, is_temporal

__all__ = ["FUNCS", "NULL_AWARE", "UNIT_FIRST", "case", "int_div"]

# functions that see null arguments (they do not simply return null for one)
NULL_AWARE = frozenset({"greatest", "least", "nullif", "concat", "concat_ws"})
# functions whose first argument, a constant unit, stays a scalar
UNIT_FIRST = frozenset({"date_trunc", "date_diff"})


def _mask(ev, v) -> np.ndarray:
    """True where a condition (Series or scalar) is true; null counts as false."""
    if _is_series(v):
        return ev._bool(v).to_numpy(dtype=bool, na_value=False)
    return np.full(ev.n, v is True)


# -- numbers and logic -------------------------------------------------------------------

def int_div(ev, a, b) -> pd.Series:
    """``a // b`` on ints: the quotient truncated toward zero (DuckDB); null where b is 0."""
    a, b = ev.series(a, INT), ev.series(b, INT)
    b = b.mask(b == 0)
    q = a.abs() // b.abs()
    neg = (a < 0) ^ (b < 0)
    return q.where(~neg.fillna(False), -q).astype("Int64")


def _f_power(ev, a, t, tr):
    x, mx = _floats(ev.series(a[0], t[0]))
    y, my = _floats(ev.series(a[1], t[1])) if _is_series(a[1]) else (np.float64(a[1]), False)
    with np.errstate(all="ignore"):
        r = np.power(x, y)
    return _float_series(r, mx | my, ev.index)  # NaN (negative ** fraction) is null


def _f_mod(ev, a, t, tr):
    return ev.arith("%", a[0], a[1], t[0], t[1], tr)  # the same as a % b


def _f_sign(ev, a, t, tr):
    v, mask = _floats(ev.series(a[0], t[0]))
    s = np.sign(np.where(mask, 0.0, v)).astype(np.int64)
    return pd.Series(pd.arrays.IntegerArray(s, mask.copy()), index=ev.index)


def _extreme(largest: bool):
    def impl(ev, a, t, tr):
        vals = [v for v in a if v is not None]
        if not vals:
            return None
        if not any(_is_series(v) for v in vals):
            return max(vals) if largest else min(vals)
        res = ev.series(vals[0], tr)
        for v in vals[1:]:
            other = ev.series(v, tr)
            better = (other > res) if largest else (other < res)
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
    if not _is_series(x) and not _is_series(y):
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
    if not any(_is_series(c) for c in conds):
        for c, (_, r) in zip(conds, e.whens):
            if c is True:
                return ev.ev(r)
        return ev.ev(e.default) if e.default is not None else None
    res = ev.series(ev.ev(e.default) if e.default is not None else None, tr)
    for c, (_, r) in reversed(list(zip(conds, e.whens))):
        m = _mask(ev, c)
        if m.any():
            res = res.mask(m, ev.series(ev.ev(r), tr))
    return res


# -- date and time -------------------------------------------------------------------------

_US = {"hour": 3_600_000_000, "minute": 60_000_000, "second": 1_000_000, "millisecond": 1_000}


def _micros(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(microseconds since 1970 as int64, null mask) of a datetime64 column."""
    mask = s.isna().to_numpy()
    us = s.to_numpy(dtype="datetime64[us]").astype(np.int64)
    return np.where(mask, 0, us), mask


def _ints(values: np.ndarray, mask: np.ndarray, index) -> pd.Series:
    return pd.Series(pd.arrays.IntegerArray(values.astype(np.int64), mask.copy()), index=index)


def _part(fn):
    def impl(ev, a, t, tr):
        s = a[0]
        mask = s.isna().to_numpy()
        v = np.asarray(fn(s.dt)).astype(np.float64)
        return _ints(np.where(mask, 0, np.nan_to_num(v)), mask, s.index)
    return impl


def _trunc_micros(us: np.ndarray, unit: str) -> np.ndarray:
    """Microseconds cut down to the start of ``unit``."""
    if unit in _US:
        return us // _US[unit] * _US[unit]
    day = 86_400_000_000
    days = us // day
    if unit == "day":
        return days * day
    if unit == "week":  # 1970-01-01 is a Thursday; ISO weeks start on Monday
        return (days - (days + 3) % 7) * day
    d = days.astype("datetime64[D]")
    months = d.astype("datetime64[M]").astype(np.int64)
    if unit == "quarter":
        months = months - months % 3
    elif unit == "year":
        months = months - months % 12
    return months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) * day


def _unit_of(v) -> str:
    """The constant unit argument (a scalar by UNIT_FIRST; a column of that one value when
    the evaluator has broadcast every argument of an all-constant call)."""
    if _is_series(v):
        v = v.dropna().iloc[0] if v.notna().any() else ""
    return str(v).lower()


def _f_date_trunc(ev, a, t, tr):
    unit, s = _unit_of(a[0]), ev.series(a[1], t[1])
    us, mask = _micros(s)
    out = _trunc_micros(us, unit).astype("datetime64[us]").astype("datetime64[ns]")
    out[mask] = np.datetime64("NaT")
    return pd.Series(out, index=s.index)


def _f_date_diff(ev, a, t, tr):
    unit = _unit_of(a[0])
    x, y = (v if _is_series(v) else ev.series(v, tt) for v, tt in zip(a[1:], t[1:]))
    ux, mx = _micros(x)
    uy, my = _micros(y)
    mask = mx | my
    if unit in _US:
        r = uy // _US[unit] - ux // _US[unit]
    elif unit in ("day", "week"):
        day = 86_400_000_000
        r = uy // day - ux // day
        if unit == "week":
            r = np.trunc(r / 7).astype(np.int64)
    else:
        def months(u):
            return (u // 86_400_000_000).astype("datetime64[D]").astype("datetime64[M]") \
                .astype(np.int64)
        r = months(uy) - months(ux)
        if unit == "quarter":
            r = (months(uy) // 3) - (months(ux) // 3)
        elif unit == "year":
            r = (months(uy) // 12) - (months(ux) // 12)
    return _ints(r, mask, x.index)


def _f_epoch(ev, a, t, tr):
    if t[0].name == "interval":
        v = as_timedelta(a[0])
        if not _is_series(v):
            return (v.value // 1000) / 1e6
        mask = v.isna().to_numpy()
        us = v.to_numpy(dtype="timedelta64[us]").astype(np.int64)
        return _float_series(np.where(mask, 0, us) / 1e6, mask, v.index)
    us, mask = _micros(a[0])
    return _float_series(us / 1e6, mask, a[0].index)


def _f_strftime(ev, a, t, tr):
    s, fmt = a
    out = s.dt.strftime(fmt)
    return out.astype(STRING_DTYPE)


def _f_strptime(ev, a, t, tr):
    return ev.parse_dates(a[0], a[1], False)


# -- intervals ------------------------------------------------------------------------------

def as_timedelta(v):
    """An interval (literal or column) as a Timedelta; a month counts 30 days (DuckDB's
    normalisation when intervals are compared or measured)."""
    from .ast import Interval
    if isinstance(v, Interval):
        return pd.Timedelta(days=v.months * 30 + v.days, microseconds=v.micros)
    return v


def _shift(ev, x, iv, sign: int):
    """A timestamp (column or scalar) moved by an interval: months first (the day clamped
    to the month's end), then days and microseconds, as DuckDB."""
    import warnings

    from .ast import Interval
    if x is None or iv is None:
        return None
    if isinstance(iv, Interval):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if iv.months:
                x = x + pd.DateOffset(months=sign * iv.months)
            return x + sign * pd.Timedelta(days=iv.days, microseconds=iv.micros)
    return x + iv if sign > 0 else x - iv


def interval_arith(ev, op, a, b, ta, tb):
    """Arithmetic with intervals (types.arith_result's interval rules)."""
    from .ast import Interval
    if a is None or b is None:
        return None
    if is_temporal(ta) and is_temporal(tb):
        return a - b  # a Timedelta (column or scalar)
    if is_temporal(ta):
        return _shift(ev, a, b, 1 if op == "+" else -1)
    if is_temporal(tb):
        return _shift(ev, b, a, 1)
    if isinstance(a, Interval) and isinstance(b, Interval):
        k = 1 if op == "+" else -1
        return Interval(a.months + k * b.months, a.days + k * b.days, a.micros + k * b.micros)
    a, b = as_timedelta(a), as_timedelta(b)
    return a + b if op == "+" else a - b


def _f_date_add(ev, a, t, tr):
    return _shift(ev, a[0], a[1], 1)


# -- text ---------------------------------------------------------------------------------

def _obj(s: pd.Series) -> np.ndarray:
    return s.to_numpy(dtype=object, na_value=None)


def _texts(values, index) -> pd.Series:
    return pd.Series(pd.array(list(values), dtype=STRING_DTYPE), index=index)


def _per_value(fn, result_dtype):
    """A function of plain Python values, applied once per distinct combination of the
    arguments (no row loop); the subject may be a column or a constant."""
    def apply(ev, s: pd.Series, rest: list) -> pd.Series:
        codes, uniques = pd.factorize(s)
        vals = []
        for k, u in enumerate(uniques.tolist()):
            try:
                vals.append(fn(u, *rest))
            except ValueError as exc:
                raise ev.fail(str(exc), u, s.index[codes == k][0]) from None
        out = [None if c < 0 else vals[c] for c in codes.tolist()]
        return pd.Series(pd.array(out, dtype=result_dtype), index=s.index)

    def impl(ev, a, t, tr):
        s = a[0] if _is_series(a[0]) else ev.series(a[0], t[0])
        rest = [r.item() if isinstance(r, np.generic) else r for r in a[1:]]
        if all(not _is_series(r) for r in rest):
            return apply(ev, s, rest)
        return _by_distinct(ev, s, rest, lambda sub, *c: apply(ev, sub, list(c)), result_dtype)
    return impl


def _split_part(v: str, sep: str, n: int) -> str:
    parts = list(v) if sep == "" else v.split(sep)
    if n == 0 or abs(n) > len(parts):
        return ""
    return parts[n - 1] if n > 0 else parts[n]


def _pad(left: bool):
    def fn(v: str, n: int, pad: str) -> str:
        if n <= len(v):
            return v[:max(n, 0)]
        if pad == "":
            raise ValueError("an empty pad")
        fill = (pad * (n - len(v)))[:n - len(v)]
        return fill + v if left else v + fill
    return fn


def _left(v: str, n: int) -> str:
    return v[:n] if n >= 0 else v[:max(len(v) + n, 0)]


def _right(v: str, n: int) -> str:
    return (v[len(v) - n:] if n < len(v) else v) if n >= 0 else v[min(-n, len(v)):]


def _strpos(v: str, part: str) -> int:
    return v.find(part) + 1


def _like_regex(pattern: str, fold: bool):
    import re
    body = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if fold else 0))


def _like(fold: bool):
    import functools

    @functools.lru_cache(maxsize=256)
    def compiled(p):
        return _like_regex(p, fold)

    def fn(v: str, p: str) -> bool:
        return compiled(p).fullmatch(v) is not None
    return fn


def _regex(p: str):
    import re
    return re.compile(p)


def _regexp_matches(v: str, p: str) -> bool:
    return _regex(p).search(v) is not None


def _regexp_replace(v: str, p: str, by: str, options: str = "") -> str:
    return _regex(p).sub(by.replace("\\0", "\\g<0>"), v, count=0 if "g" in options else 1)


def _regexp_extract(v: str, p: str, group: int = 0) -> str:
    m = _regex(p).search(v)
    return (m.group(group) or "") if m and group <= m.re.groups else ""


def _arrow_regex(kind: str, slow):
    """regexp_matches / regexp_replace with constant arguments on Arrow's RE2 (the engine
    DuckDB uses too), whole columns at once; other calls go value by value (``slow``)."""
    def impl(ev, a, t, tr):
        if any(_is_series(x) for x in a[1:]) or not _is_series(a[0]):
            return slow(ev, a, t, tr)
        import pyarrow as pa
        import pyarrow.compute as pc
        arr = pa.array(a[0].array)
        if kind == "matches":
            r = pc.match_substring_regex(arr, a[1])
            return pd.Series(r.to_pandas(types_mapper={pa.bool_(): pd.BooleanDtype()}.get)
                             .array, index=a[0].index)
        by = a[2]
        glob = len(a) > 3 and "g" in a[3]
        r = pc.replace_substring_regex(arr, a[1], by, max_replacements=None if glob else 1)
        return pd.Series(pd.array(r, dtype=STRING_DTYPE), index=a[0].index)
    return impl


def _arrow_extract(slow):
    """regexp_extract with a constant pattern and group on Arrow's RE2, whole columns at once:
    the string is replaced by the group of its first match (``^.*?(?:p).*$``), '' when the
    pattern does not match; other calls go value by value (``slow``)."""
    def impl(ev, a, t, tr):
        group = a[2] if len(a) > 2 else 0
        if any(_is_series(x) for x in a[1:]) or not _is_series(a[0]) \
                or not isinstance(group, int) or not 0 <= group <= min(9, _regex(a[1]).groups):
            return slow(ev, a, t, tr)  # DuckDB gives '' for a group the pattern lacks
        import pyarrow as pa
        import pyarrow.compute as pc
        arr = pa.array(a[0].array)
        whole, ref = (f"({a[1]})", "\\1") if group == 0 else (f"(?:{a[1]})", f"\\{group}")
        hit = pc.match_substring_regex(arr, a[1])
        got = pc.replace_substring_regex(arr, f"(?s)^.*?{whole}.*$", ref, max_replacements=1)
        out = pc.if_else(hit, got, pa.scalar("", pa.string()))
        return pd.Series(pd.array(out, dtype=STRING_DTYPE), index=a[0].index)
    return impl


def _digest(name: str):
    def fn(v: str) -> str:
        return hashlib.new(name, v.encode("utf-8")).hexdigest()
    return fn


def _trim(left: bool):
    def fn(v: str, chars: str = " ") -> str:
        return v.lstrip(chars) if left else v.rstrip(chars)
    return fn


def _f_concat(ev, a, t, tr):
    parts = [ev.series(v, STRING).fillna("") for v in a if v is not None]
    if not parts:
        return ""
    out = parts[0]
    for p in parts[1:]:
        out = out + p
    return out


def _f_concat_ws(ev, a, t, tr):
    sep, rest = a[0], [v for v in a[1:] if v is not None]
    if sep is None:
        return None
    sep = ev.series(sep, STRING)
    out = None
    for v in rest:
        v = ev.series(v, STRING)
        if out is None:
            out = v
            continue
        both = out.notna() & v.notna()
        out = out.where(~both, out + sep + v).fillna(v)
    out = ev.series("", STRING) if out is None else out.fillna("")
    return out.mask(sep.isna())


def _logical(today: bool):
    def impl(ev, a, t, tr):
        from .types import LOGICAL_DATE_PARAM, logical_date
        v = logical_date(ev.params.get(LOGICAL_DATE_PARAM))
        if v is None:
            raise ev.fail(("today" if today else "now") + "() needs the run's logical date")
        v = pd.Timestamp(v)
        return v.normalize() if today else v
    return impl


FUNCS = {
    "now": _logical(False),
    "today": _logical(True),
    "hour": _part(lambda d: d.hour),
    "minute": _part(lambda d: d.minute),
    "second": _part(lambda d: d.second),
    "millisecond": _part(lambda d: d.second * 1000 + d.microsecond // 1000),
    "dayofweek": _part(lambda d: (d.day_of_week + 1) % 7),
    "dayofyear": _part(lambda d: d.day_of_year),
    "week": _part(lambda d: d.isocalendar().week.astype("float64")),
    "quarter": _part(lambda d: d.quarter),
    "date_trunc": _f_date_trunc,
    "date_diff": _f_date_diff,
    "epoch": _f_epoch,
    "date_add": _f_date_add,
    "strftime": _f_strftime,
    "strptime": _f_strptime,
    "concat": _f_concat,
    "concat_ws": _f_concat_ws,
    "split_part": _per_value(_split_part, STRING_DTYPE),
    "lpad": _per_value(_pad(True), STRING_DTYPE),
    "rpad": _per_value(_pad(False), STRING_DTYPE),
    "ltrim": _per_value(_trim(True), STRING_DTYPE),
    "rtrim": _per_value(_trim(False), STRING_DTYPE),
    "left": _per_value(_left, STRING_DTYPE),
    "right": _per_value(_right, STRING_DTYPE),
    "strpos": _per_value(_strpos, "Int64"),
    "like": _per_value(_like(False), "boolean"),
    "ilike": _per_value(_like(True), "boolean"),
    "regexp_matches": _arrow_regex("matches", _per_value(_regexp_matches, "boolean")),
    "regexp_replace": _arrow_regex("replace", _per_value(_regexp_replace, STRING_DTYPE)),
    "regexp_extract": _arrow_extract(_per_value(_regexp_extract, STRING_DTYPE)),
    "md5": _per_value(_digest("md5"), STRING_DTYPE),
    "sha256": _per_value(_digest("sha256"), STRING_DTYPE),
    "log10": _f_unary_float(np.log10, lambda v: v > 0),
    "power": _f_power,
    "mod": _f_mod,
    "sign": _f_sign,
    "greatest": _extreme(True),
    "least": _extreme(False),
    "nullif": _f_nullif,
}

