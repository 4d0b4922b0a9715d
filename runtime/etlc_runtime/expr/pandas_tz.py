"""``timestamptz`` in the pandas evaluator: casts, ``timezone(zone, t)`` (``t at time zone z``)
and the column storage of results.

Inside the evaluator a timestamptz is held as its naive UTC time (``datetime64``), the same
representation as a timestamp: with the session zone UTC (as etlc runs DuckDB) every date
function, comparison and interval gives the same answer for both, so they share one
implementation.  Results go back to columns as ``datetime64[us, UTC]`` (:func:`stored`).
Conversions to a zone's local time follow DuckDB (ICU): a local time in a DST gap takes the
offset in force before the change, a repeated local time the later instant.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa

from .types import STRING, TIMESTAMP, Type
from .zones import zone

__all__ = ["FUNCS", "cast_zoned", "local_to_utc", "stored", "utc_text", "utc_to_local"]

_ZONE_TEXT = r"[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]*)?)? ?(?:Z|z|[+-][0-9]{2}(?::?[0-9]{2})?)$"
_DATE_ONLY = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"


def stored(s: pd.Series, t: Type) -> pd.Series:
    """An evaluator result in the runtime's column storage: timestamptz as
    ``datetime64[us, UTC]`` (other types unchanged)."""
    if t.name != "timestamptz" or not isinstance(s, pd.Series):
        return s
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        return s.dt.tz_convert("UTC").astype("datetime64[us, UTC]")
    return s.astype("datetime64[us]").dt.tz_localize("UTC")


def _in_range(ev, out: pd.Series) -> pd.Series:
    years = out.dt.year
    bad = ((years < 1) | (years > 9999)).fillna(False).to_numpy(dtype=bool)
    if bad.any():
        raise ev.fail("a time zone conversion outside the years 1 to 9999",
                      str(out[bad].iloc[0]))
    return out


def utc_to_local(ev, s: pd.Series, name: str) -> pd.Series:
    """UTC times (naive) as the wall times of zone ``name`` (naive)."""
    us = s.astype("datetime64[us]")
    return _in_range(ev, us.dt.tz_localize("UTC").dt.tz_convert(zone(name)).dt.tz_localize(None))


def local_to_utc(ev, s: pd.Series, name: str) -> pd.Series:
    """Wall times of zone ``name`` (naive) as UTC times (naive): DuckDB's choice in DST gaps
    (the offset before the change) and overlaps (the later instant)."""
    us = s.astype("datetime64[us]")
    z = zone(name)
    out = us.dt.tz_localize(z, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC") \
        .dt.tz_localize(None)
    odd = (out.isna() & us.notna()).to_numpy()
    if odd.any():
        fixed = out.copy()
        for i in np.flatnonzero(odd):
            w = us.iloc[i].to_pydatetime()
            first = w.replace(tzinfo=z, fold=0)
            gap = first.astimezone(dt.UTC).astimezone(z).replace(tzinfo=None) != w
            moment = first if gap else w.replace(tzinfo=z, fold=1)
            fixed.iloc[i] = pd.Timestamp(moment.astimezone(dt.UTC).replace(tzinfo=None))
        out = fixed
    return _in_range(ev, out)


def _zone_name(v) -> str:
    if isinstance(v, pd.Series):
        v = v.dropna()
        return str(v.iloc[0]) if len(v) else "UTC"
    return str(v)


def _f_timezone(ev, a, t, tr):
    name = _zone_name(a[0])
    x = ev.series(a[1], t[1])
    if t[1].name == "timestamptz":
        return utc_to_local(ev, x, name)
    return local_to_utc(ev, x, name)


FUNCS = {"timezone": _f_timezone}


def utc_text(s: pd.Series) -> pd.Series:
    """Text for a timestamptz with DuckDB's defaults made explicit: no offset means UTC, a
    date alone its midnight (the cast table's string -> timestamptz)."""
    text = s.astype("string").str.strip()
    zoned = text.str.contains(_ZONE_TEXT, regex=True).fillna(False)
    dated = text.str.fullmatch(_DATE_ONLY).fillna(False)
    full = text.where(~dated, text + " 00:00:00")
    return full.where(zoned | full.isna(), full + "+00:00")


def _text_to_utc(ev, s: pd.Series) -> pd.Series:
    """string -> timestamptz as DuckDB's CAST (TimeZone UTC): ISO text with an optional
    offset; without one the time is UTC; a date alone is midnight UTC."""
    from ..arrow_convert import text_to
    from ..errors import DataError

    full = utc_text(s)
    try:
        arr = text_to(pa.array(full.astype(object).where(full.notna(), None).tolist(),
                               pa.string()), "timestamptz", "?")
    except DataError as exc:
        if exc.row:   # the row of the text (1 first)
            raise ev.fail("cannot cast to timestamptz", s.iloc[exc.row - 1],
                          s.index[exc.row - 1]) from None
        raise ev.fail("cannot cast to timestamptz", exc.value) from None
    naive = arr.cast(pa.timestamp("us"))
    return pd.Series(naive.to_numpy(zero_copy_only=False), index=s.index)


def cast_zoned(ev, s: pd.Series, sn: str, dn: str) -> pd.Series:
    """``cast`` where one side is timestamptz (the other side's rules are the evaluator's)."""
    if sn in ("date", "timestamp", "timestamptz") and dn in ("timestamp", "timestamptz"):
        return s  # the same naive UTC time (a date: its midnight)
    if sn == "timestamptz" and dn == "date":
        return s.dt.normalize()
    if sn == "timestamptz" and dn == "string":
        from .pandas_cast import cast_series
        return cast_series(ev, s, TIMESTAMP, STRING) + "+00"
    if sn == "string" and dn == "timestamptz":
        return _text_to_utc(ev, s)
    raise ev.fail(f"cannot cast {sn} to {dn}")
