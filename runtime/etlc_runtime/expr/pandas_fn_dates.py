"""Date and time functions of the pandas evaluator: parts (year ... quarter), date_trunc,
date_diff, epoch, date_add, strftime, strptime, to_date, to_timestamp, now and today, and
arithmetic with intervals (``impl(ev, args, types, result_type)`` as in ``pandas_fn_numbers``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .pandas_cast import parse_dates
from .pandas_columns import STRING_DTYPE, by_distinct, is_series, runtime_type
from .pandas_numeric import float_series, floats
from .types import is_temporal

__all__ = ["FUNCS", "as_timedelta", "interval_arith"]


def _f_part(attr):
    def impl(ev, a, t, tr):
        return getattr(a[0].dt, attr).astype("Int64")
    return impl


def _f_to_date(ev, a, t, tr):
    return _to_temporal(ev, a, t, True)


def _f_to_timestamp(ev, a, t, tr):
    return _to_temporal(ev, a, t, False)


def _to_temporal(ev, a, t, date):
    x = a[0]
    src = t[0] if t[0].name != "unknown" else runtime_type(x)
    if len(a) == 2:
        fmt = a[1]
        if is_series(fmt):
            return by_distinct(ev, x, [fmt], lambda s, f: parse_dates(ev, s, f, date),
                               "datetime64[ns]")
        return parse_dates(ev, x, fmt, date)
    if src.name == "string":
        return parse_dates(ev, x, None, date)
    if src.name in ("int", "float", "decimal"):
        v, mask = floats(x)
        us = np.round(v * 1e6)
        out = pd.to_datetime(pd.Series(pd.array(np.where(mask, 0, us).astype(np.int64)),
                                       index=x.index), unit="us")
        out[mask] = pd.NaT
        return out.dt.normalize() if date else out
    return x.dt.normalize() if date else x


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
    if is_series(v):
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
    x, y = (v if is_series(v) else ev.series(v, tt) for v, tt in zip(a[1:], t[1:]))
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
        if not is_series(v):
            return (v.value // 1000) / 1e6
        mask = v.isna().to_numpy()
        us = v.to_numpy(dtype="timedelta64[us]").astype(np.int64)
        return float_series(np.where(mask, 0, us) / 1e6, mask, v.index)
    us, mask = _micros(a[0])
    return float_series(us / 1e6, mask, a[0].index)


def _f_strftime(ev, a, t, tr):
    s, fmt = a
    out = s.dt.strftime(fmt)
    return out.astype(STRING_DTYPE)


def _f_strptime(ev, a, t, tr):
    return parse_dates(ev, a[0], a[1], False)


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
    "year": _f_part("year"),
    "month": _f_part("month"),
    "day": _f_part("day"),
    "hour": _part(lambda d: d.hour),
    "minute": _part(lambda d: d.minute),
    "second": _part(lambda d: d.second),
    "millisecond": _part(lambda d: d.second * 1000 + d.microsecond // 1000),
    "dayofweek": _part(lambda d: (d.day_of_week + 1) % 7),
    "dayofyear": _part(lambda d: d.day_of_year),
    "week": _part(lambda d: d.isocalendar().week.astype("float64")),
    "quarter": _part(lambda d: d.quarter),
    "to_date": _f_to_date,
    "to_timestamp": _f_to_timestamp,
    "now": _logical(False),
    "today": _logical(True),
    "date_trunc": _f_date_trunc,
    "date_diff": _f_date_diff,
    "epoch": _f_epoch,
    "date_add": _f_date_add,
    "strftime": _f_strftime,
    "strptime": _f_strptime,
}
