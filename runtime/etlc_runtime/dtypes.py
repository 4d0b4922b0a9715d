"""Column types of the spec and their pandas representation in the pandas engine.

=========  ==========================================  =================================
etlc type  pandas dtype                                 notes
=========  ==========================================  =================================
int        ``Int64`` (nullable)
float      ``Float64`` (nullable)
decimal    ``Float64``, rounded to ``scale``            Parquet sinks that declare the
                                                        column get ``decimal128(38, s)``
string     ``string`` (``StringDtype``, nulls are NA)
bool       ``boolean`` (nullable)
date       ``date32[pyarrow]`` (``pd.ArrowDtype``)      compares with ``datetime.date``
timestamp  ``datetime64[us]``
vector     ``object`` (lists of floats)
=========  ==========================================  =================================

All of them hold SQL nulls as ``pd.NA``/``NaT``.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

DATE = pd.ArrowDtype(pa.date32())
TIMESTAMP = "datetime64[us]"


class CastError(ValueError):
    """A value that does not convert to the declared type."""


def spec_of(column: Any) -> dict:
    if isinstance(column, str):
        return {"type": column}
    return dict(column or {})


def pandas_dtype(column: Any):
    kind = spec_of(column).get("type")
    return {
        "int": "Int64", "float": "Float64", "decimal": "Float64", "string": "string",
        "bool": "boolean", "date": DATE, "timestamp": TIMESTAMP, "vector": object,
    }.get(kind, object)


def arrow_type(column: Any) -> pa.DataType | None:
    spec = spec_of(column)
    kind = spec.get("type")
    if kind == "decimal":
        return pa.decimal128(38, int(spec.get("scale") or 0))
    return {
        "int": pa.int64(), "float": pa.float64(), "string": pa.string(), "bool": pa.bool_(),
        "date": pa.date32(), "timestamp": pa.timestamp("us"), "vector": pa.list_(pa.float64()),
    }.get(kind)


def type_name(dtype) -> str:
    """The etlc type name that best describes a pandas dtype (for manifests)."""
    text = str(dtype)
    if text in ("Int64", "Int32", "Int16", "Int8") or text.startswith(("int", "uint", "UInt")):
        return "int"
    if text.startswith(("float", "Float", "double")):
        return "float"
    if text.startswith("decimal"):
        return "decimal"
    if text in ("string", "str") or text.startswith(("string", "large_string")):
        return "string"
    if text in ("boolean", "bool") or text.startswith("bool"):
        return "bool"
    if text.startswith(("date32", "date64")):
        return "date"
    if text.startswith(("datetime64", "timestamp")):
        return "timestamp"
    return "unknown"


_TRUE = {"true", "t", "1", "yes", "y"}
_FALSE = {"false", "f", "0", "no", "n"}


def _strip(series: pd.Series) -> pd.Series:
    return series.astype("string").str.strip()


def _check_lost(original: pd.Series, converted: pd.Series, name: str, kind: str,
                strict: bool) -> pd.Series:
    """Values present before and null after conversion are errors when strict."""
    lost = original.notna() & converted.isna()
    if strict and bool(lost.any()):
        bad = original[lost]
        examples = ", ".join(repr(v) for v in bad.head(3).tolist())
        raise CastError(f"column '{name}': {int(lost.sum())} value(s) are not a valid "
                        f"{kind}: {examples}")
    return converted


def _to_number(text: pd.Series) -> pd.Series:
    return pd.to_numeric(text, errors="coerce")


def convert_text(series: pd.Series, column: Any, name: str = "?", *, strict: bool = True,
                 null_value: str | None = "", implied_scale: bool = False) -> pd.Series:
    """Convert a column of text (or mixed objects) to the declared type.

    ``null_value`` (compared after stripping) reads as null.  ``implied_scale``: decimals
    without a decimal point are scaled by ``10**-scale`` (fixed-width files).  Values that do
    not convert raise :class:`CastError` when ``strict``, else become null.
    """
    spec = spec_of(column)
    kind = spec.get("type")
    if kind == "vector":
        return series.astype(object)
    raw = series.astype("string")
    stripped = raw.str.strip()
    is_null = raw.isna()
    if null_value is not None:
        is_null = is_null | (stripped == null_value).fillna(False)
    if kind == "string":
        out = raw.mask(is_null)
        return out.astype("string")
    text = stripped.mask(is_null)
    if kind == "int":
        number = _to_number(text)
        _check_lost(text, number, name, "int", strict)
        frac = number.notna() & (number != np.floor(number.astype("float64")))
        if bool(frac.any()):
            if strict:
                raise CastError(f"column '{name}': non-integer values for an int column: "
                                f"{text[frac].head(3).tolist()}")
            number = number.mask(frac)
        return number.astype("Float64").round().astype("Int64")
    if kind in ("float", "decimal"):
        number = _to_number(text)
        _check_lost(text, number, name, kind, strict)
        number = number.astype("Float64")
        if kind == "decimal":
            scale = int(spec.get("scale") or 0)
            if implied_scale and scale:
                no_point = ~text.str.contains(".", regex=False).fillna(False)
                number = number.mask(no_point, number / (10 ** scale))
            number = number.round(scale)
        return number
    if kind == "bool":
        low = text.str.lower()
        out = pd.Series(pd.NA, index=series.index, dtype="boolean")
        out = out.mask(low.isin(_TRUE).fillna(False), True)
        out = out.mask(low.isin(_FALSE).fillna(False), False)
        return _check_lost(text, out, name, "bool", strict).astype("boolean")
    if kind in ("date", "timestamp"):
        fmt = spec.get("format")
        kwargs = {"format": fmt} if fmt else {"format": "ISO8601"}
        try:
            parsed = pd.to_datetime(text.astype(object), errors="coerce", **kwargs)
        except (ValueError, TypeError):
            parsed = pd.to_datetime(text.astype(object), errors="coerce", format="mixed")
        parsed = pd.Series(parsed, index=series.index)
        _check_lost(text, parsed, name, kind, strict)
        if kind == "date":
            return to_date(parsed)
        return parsed.astype(TIMESTAMP)
    return series


def to_date(series: pd.Series) -> pd.Series:
    if isinstance(series.dtype, pd.ArrowDtype) and pa.types.is_date(series.dtype.pyarrow_dtype):
        return series.astype(DATE)
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        values = series
        if getattr(values.dt, "tz", None) is not None:
            values = values.dt.tz_localize(None)
        arr = pa.array(values.dt.floor("D").astype("datetime64[us]"), from_pandas=True)
        return pd.Series(pd.arrays.ArrowExtensionArray(arr.cast(pa.date32())),
                         index=series.index)
    objs = [None if _isna(v) else (v.date() if isinstance(v, _dt.datetime) else v)
            for v in series.tolist()]
    if all(v is None or isinstance(v, _dt.date) for v in objs):
        return pd.Series(pd.array(objs, dtype=DATE), index=series.index)
    return convert_text(series.astype("string"), "date")


def _isna(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def cast_series(series: pd.Series, column: Any, name: str = "?") -> pd.Series:
    """``cast(x as type)``: convert a typed column to another type (strict)."""
    spec = spec_of(column)
    kind = spec.get("type")
    current = type_name(series.dtype)
    if kind == current and kind not in ("decimal", "float"):
        return series.astype(pandas_dtype(spec))
    if current in ("string", "unknown") and series.dtype != object or current == "string":
        return convert_text(series, spec, name, strict=True, null_value=None)
    if kind == "string":
        if current == "bool":
            return series.map(lambda v: pd.NA if _isna(v) else ("true" if v else "false")
                              ).astype("string")
        if current == "date":
            return series.astype("string")
        return series.astype("string")
    if kind in ("int", "float", "decimal"):
        if current in ("date", "timestamp"):
            raise CastError(f"column '{name}': cannot cast {current} to {kind}")
        values = series.astype("Float64") if current != "unknown" else pd.to_numeric(
            series, errors="raise").astype("Float64")
        if kind == "int":
            # SQL casts round half away from zero
            sign = np.sign(values)
            return (sign * np.floor(values.abs() + 0.5)).astype("Int64")
        if kind == "decimal":
            return values.round(int(spec.get("scale") or 0))
        return values
    if kind == "bool":
        if current in ("int", "float", "decimal"):
            return (series != 0).astype("boolean")
        return series.astype("boolean")
    if kind == "date":
        return to_date(series)
    if kind == "timestamp":
        if current == "date":
            return pd.to_datetime(series.astype(object)).astype(TIMESTAMP)
        return pd.to_datetime(series).astype(TIMESTAMP)
    return series


def conform(df: pd.DataFrame, columns: Mapping[str, Any] | None, *, strict: bool = True,
            keep_extra: bool = False) -> pd.DataFrame:
    """Give ``df`` the declared columns, in declared order, with their dtypes.

    Text columns are parsed; typed columns are cast.  Columns absent from ``df`` become
    all-null columns.  Extra columns are dropped unless ``keep_extra``.
    """
    if not columns:
        return df
    out = {}
    for name, column in columns.items():
        spec = spec_of(column)
        if name not in df.columns:
            out[name] = pd.Series(pd.NA, index=df.index, dtype=object)
            out[name] = convert_text(out[name].astype("string"), spec, name)
            continue
        series = df[name]
        kind = type_name(series.dtype)
        if series.dtype == object or kind == "string":
            out[name] = convert_text(series, spec, name, strict=strict)
        elif kind == spec.get("type") and kind not in ("decimal",):
            out[name] = series.astype(pandas_dtype(spec))
        else:
            out[name] = cast_series(series, spec, name)
    result = pd.DataFrame(out, index=df.index)
    if keep_extra:
        for name in df.columns:
            if name not in result.columns:
                result[name] = df[name]
    return result
