"""Casts on pandas under the one cast table (``expr.casts``).

The evaluator's ``cast(x as T)`` is :func:`cast_series` (with the text parsers it shares with
``to_date``/``strptime``).  The pandas engine's ``cast:`` step (:func:`step_cast`) does here
the pairs whose rule is DuckDB's and differed from the runtime's column conversion (a double
to an int rounds half to even; text to bool takes DuckDB's words only, no spaces); every
other pair keeps the runtime's exact conversion (``dtypes.cast_series``: Arrow decimals,
dates)."""
from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np
import pandas as pd

from . import casts
from .casts import BOOL_FALSE, BOOL_TRUE, NUMBER_TEXT
from .pandas_columns import STRING_DTYPE, runtime_type
from .pandas_numeric import float_values, floats, round_half_away
from .types import Type

__all__ = ["cast_series", "float_to_int", "int_texts", "parse_dates", "parse_numbers",
           "step_cast", "text_to_bool", "text_to_int"]


def float_to_int(s: pd.Series, name: str = "?") -> pd.Series:
    """Doubles to Int64, half to even as DuckDB; NaN, inf or beyond 64 bits is an error."""
    from ..dtypes import CastError

    v = s.to_numpy(dtype=np.float64, na_value=np.nan)
    mask = s.isna().to_numpy()
    r = np.rint(v)
    bad = ~mask & ~(np.abs(r) < 2.0**63)
    if bad.any():
        raise CastError(f"column '{name}': {v[bad][0]!r} does not fit an int")
    return pd.Series(pd.arrays.IntegerArray(np.where(mask, 0, r).astype(np.int64), mask),
                     index=s.index, name=s.name)


def text_to_bool(s: pd.Series, name: str = "?") -> pd.Series:
    """Text to bool with DuckDB's words (any letter case, no spaces); else an error."""
    from ..dtypes import CastError

    obj = s.astype(object)
    mask = s.isna().to_numpy()
    low = pd.Series([None if m else str(v).lower() for v, m in zip(obj, mask)], dtype=object,
                    index=s.index)
    true = low.isin(BOOL_TRUE).to_numpy(bool)
    false = low.isin(BOOL_FALSE).to_numpy(bool)
    bad = ~(true | false | mask)
    if bad.any():
        raise CastError(f"column '{name}': not a valid bool: {obj[bad].iloc[0]!r}")
    return pd.Series(pd.arrays.BooleanArray(true, mask), index=s.index, name=s.name)


# below 2**50: a double there that is a whole number is its text's value rounded half away
# from zero (the doubles' spacing is under 0.5), so only other text needs the exact path
_EXACT = 1e15
_NUMBER = re.compile(NUMBER_TEXT)


def _exact_int(text: Any) -> int | None:
    """Number text rounded half away from zero, exactly (Decimal); None if it is no number
    text or does not fit 64 bits."""
    import decimal

    t = str(text)
    if not _NUMBER.fullmatch(t):
        return None
    d = decimal.Decimal(t.strip())
    if not abs(d) < 2**64:   # quantize to 28 digits stays exact below this
        return None
    q = int(d.quantize(decimal.Decimal(1), rounding=decimal.ROUND_HALF_UP))
    return q if -2**63 <= q < 2**63 else None


def int_texts(s: pd.Series) -> tuple[np.ndarray, np.ndarray, int | None]:
    """Number text as int64, exactly (docs/types.md, string -> int, DuckDB's CAST):
    (values, null mask, position of the first text that is no int or None). Plain integer
    text within 64 bits and whole numbers below 10**15 are parsed at once; any other text
    (longer digits, a fraction, an exponent) goes through Decimal one value at a time."""
    mask = s.isna().to_numpy()
    obj = s.astype(object).where(~mask, "0")
    num = pd.to_numeric(obj, errors="coerce")
    if num.dtype == np.int64:   # every text a plain integer within 64 bits, parsed exactly
        return num.to_numpy(), mask, None
    v = np.asarray(num, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        fast = (np.abs(v) < _EXACT) & (v == np.floor(v))   # NaN and inf are not
    out = np.where(fast, v, 0).astype(np.int64)
    for k in np.flatnonzero(~fast & ~mask):
        q = _exact_int(obj.iloc[k])
        if q is None:
            return out, mask, int(k)
        out[k] = q
    return out, mask, None


def text_to_int(s: pd.Series, name: str = "?") -> pd.Series:
    """Number text to Int64 as DuckDB: spaces ignored, a fraction or exponent rounded half
    away from zero ('2.5' -> 3); anything else, or beyond 64 bits, is an error."""
    from ..dtypes import CastError

    out, mask, bad = int_texts(s)
    if bad is not None:
        raise CastError(f"column '{name}': not a valid int: {s.iloc[bad]!r}")
    return pd.Series(pd.arrays.IntegerArray(out, mask), index=s.index, name=s.name)


def step_cast(series: pd.Series, column: Any, name: str = "?") -> pd.Series:
    """``cast:`` of one column on the pandas engine (see the module docstring)."""
    from .. import dtypes

    want = dtypes.spec_of(column).get("type")
    have = dtypes.type_name(series.dtype)
    if have == "float" and want == "int":
        return float_to_int(series, name)
    text = have == "string" or (series.dtype == object and pd.api.types.infer_dtype(
        series, skipna=True) in ("string", "empty"))
    if text and want == "bool":
        return text_to_bool(series, name)
    if text and want == "int":
        return text_to_int(series, name)
    return dtypes.cast_series(series, column, name)


def cast_series(ev, s: pd.Series, src: Type, dst: Type, precision: int = 18) -> pd.Series:
    """``cast(s as dst)`` in the evaluator ``ev`` (a value that does not convert is its
    error, naming the value and its row); ``precision``: a decimal's digits (DuckDB's
    default 18)."""
    if src.name == "unknown":
        src = runtime_type(s)
    sn, dn = src.name, dst.name
    if sn == dn and dn != "decimal":
        return s
    if "timestamptz" in (sn, dn):
        from .pandas_tz import cast_zoned
        return cast_zoned(ev, s, sn, dn)
    if "json" in (sn, dn):
        from .pandas_json import json_cast
        return json_cast(ev, s, sn, dn)
    if dn == "string":
        if sn == "bool":
            out = s.map({True: "true", False: "false"}, na_action="ignore")
            return out.astype(STRING_DTYPE)
        if sn == "float":
            v, mask = floats(s)
            # -0.0 keeps its sign, every NaN is 'nan' (docs/types.md: text that reads back)
            txt = np.array([repr(x) for x in v.tolist()], dtype=object) if len(v) else \
                np.array([], dtype=object)
            txt[mask] = None
            return pd.Series(txt, index=s.index).astype(STRING_DTYPE)
        if sn == "decimal":
            scale = src.scale or 0
            v, mask = floats(s)
            # a decimal has no negative zero (DuckDB's and PostgreSQL's): + 0.0 drops it
            txt = np.array([f"{x + 0.0:.{scale}f}" for x in v.tolist()], dtype=object) \
                if len(v) else np.array([], dtype=object)
            txt[mask] = None
            return pd.Series(txt, index=s.index).astype(STRING_DTYPE)
        if sn == "date":
            return s.dt.strftime("%Y-%m-%d").astype(STRING_DTYPE)
        if sn == "timestamp":
            base = s.dt.strftime("%Y-%m-%d %H:%M:%S")
            frac = s.dt.microsecond
            has = (frac.fillna(0) != 0)
            if has.any():
                f = s.dt.strftime(".%f").str.rstrip("0")
                base = base.where(~has, base + f)
            return base.astype(STRING_DTYPE)
        return s.astype(STRING_DTYPE)
    if dn == "int":
        if sn in ("float", "decimal"):
            v, mask = floats(s)
            # as DuckDB: a double rounds half to even, a decimal half away from zero
            r = np.rint(v) if sn == "float" else round_half_away(v, 0)
            out_of_range = ~mask & ~(np.abs(np.where(mask, 0, r)) < 2.0**63)   # NaN too
            if out_of_range.any():
                over = np.flatnonzero(out_of_range)[0]
                raise ev.fail("value out of range for int", float(v[over]),
                              s.index[over])
            return pd.Series(pd.arrays.IntegerArray(np.where(mask, 0, r).astype(np.int64),
                                                    mask), index=s.index, copy=False)
        if sn == "bool":
            return s.astype("Int64")
        if sn == "string":  # as a decimal text: half away from zero, exactly (the table)
            out, mask, bad = int_texts(s)
            if bad is not None:
                what = "value out of range for int" if _NUMBER.fullmatch(
                    str(s.iloc[bad])) else "cannot cast to int"
                raise ev.fail(what, s.iloc[bad], s.index[bad])
            return pd.Series(pd.arrays.IntegerArray(out, mask), index=s.index, copy=False)
    if dn == "decimal":   # exact, or R041 where a double would not hold the value
        from .pandas_decimal import cast_decimal
        return cast_decimal(ev, s, sn, src, dst, precision)
    if dn == "float":
        if sn == "string":
            s = parse_numbers(ev, s, dn)
        return s.astype("Float64")
    if dn == "bool":
        if sn in ("int", "float", "decimal"):
            return (s != 0).astype("boolean")
        if sn == "string":
            low = s.str.lower()
            true = low.isin(casts.BOOL_TRUE).to_numpy(bool)
            false = low.isin(casts.BOOL_FALSE).to_numpy(bool)
            bad = ~(true | false) & s.notna().to_numpy()
            if bad.any():
                raise ev.fail("cannot cast to bool", s[bad].iloc[0], s.index[bad][0])
            return pd.Series(pd.arrays.BooleanArray(true, s.isna().to_numpy()),
                             index=s.index, copy=False)
    if dn == "date":
        if sn == "string":
            return parse_dates(ev, s, None, True)
        return s.dt.normalize()
    if dn == "timestamp":
        if sn == "string":
            return parse_dates(ev, s, None, False)
        return s
    raise ev.fail(f"cannot cast {src} to {dst}")

def parse_numbers(ev, s: pd.Series, what: str) -> pd.Series:
    """Number text as Float64 (spaces around ignored); other text is an error. 'nan' and
    'inf' (any case, a sign) are floats, as DuckDB reads them, and no int or decimal."""
    stripped = s.str.strip()
    present = s.notna().to_numpy()
    num = pd.to_numeric(stripped.astype(object), errors="coerce")
    values = np.asarray(num, dtype=np.float64)   # NaN where no number: told apart below
    if what == "float":
        nan_text = stripped.str.fullmatch(r"[+-]?nan", case=False)
        bad = np.isnan(values) & ~nan_text.to_numpy(dtype=bool, na_value=False)
    else:
        bad = ~np.isfinite(values)
    bad &= present
    if bad.any():
        raise ev.fail(f"cannot cast to {what}", s[bad].iloc[0], s.index[bad][0])
    return float_values(values, ~present, s.index)

def _zone_free(obj: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """(the text with a zone of offset zero dropped, as DuckDB reads it; the rows naming a
    zone other than UTC, which a zone-less type refuses: ``zone_text``)."""
    from . import zone_text

    text = obj.where(obj.notna(), "").astype(str)
    zoned = (text.str.contains(zone_text.ZONED, regex=True)
             & ~text.str.contains(zone_text.UTC_TAIL, regex=True)).to_numpy(bool)
    bare = text.str.replace(f"({zone_text.WALL}){zone_text.ZERO}", r"\1", regex=True)
    return bare.where(obj.notna() & ~zoned, None).astype(object), zoned


def _not_iso(text: pd.Series) -> np.ndarray:
    """The rows of (stripped) ``text`` that are not date or timestamp text by the one rule's
    shape (``casts.ISO_TEXT``, no year 0000, nothing finer than the microsecond); the
    calendar is the parser's. Pandas' ISO parser alone reads '2020-1-2', '20200102', 'now'."""
    t = text.astype(STRING_DTYPE)
    ok = (t.str.fullmatch(casts.ISO_TEXT) & ~t.str.startswith("0000")
          & ~t.str.contains(casts.FINE_FRACTION))
    return ~ok.to_numpy(dtype=bool, na_value=True) & text.notna().to_numpy()


def parse_dates(ev, s: pd.Series, fmt: str | None, date: bool) -> pd.Series:
    """Date or timestamp text (ISO 8601, or the strptime ``fmt``) as naive ``datetime64``;
    text that does not parse is an error."""
    obj = s.astype(object)
    zoned = shapeless = np.zeros(len(s), bool)
    if fmt is None:   # the one rule of date text (docs/types.md), Unicode whitespace stripped
        text = s.astype(STRING_DTYPE).str.strip(casts.ISO_SPACE)
        shapeless = _not_iso(text)
        long = text.str.contains(r"\.[0-9]{7}").to_numpy(dtype=bool, na_value=False)
        if long.any():   # zeros past the microsecond dropped, else pandas parses every row
            # to nanoseconds (and refuses the years outside 1677-2262)
            text = text.where(~long, text.str.replace(r"(\.[0-9]{6})[0-9]+", r"\1", regex=True))
        obj, zoned = _zone_free(text.astype(object))
        shapeless &= ~zoned
        obj = obj.where(~shapeless, None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if fmt is None:
            out = pd.to_datetime(obj.where(obj.notna(), None), errors="coerce",
                                 format="ISO8601")
        else:
            out = pd.to_datetime(obj, errors="coerce", format=fmt)
    out = pd.Series(out, index=s.index)
    bad = out.isna().to_numpy() & s.notna().to_numpy() | zoned | shapeless
    if bad.any():
        what = "date" if date else "timestamp"
        k = int(np.flatnonzero(bad)[0])
        if zoned[k]:
            from .zone_text import row_message
            raise ev.fail(row_message(what), s.iloc[k], s.index[k])
        raise ev.fail(f"cannot read {what}" + (f" with format '{fmt}'" if fmt else ""),
                      s.iloc[k], s.index[k])
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_convert("UTC").dt.tz_localize(None)
    return out.dt.normalize() if date else out

