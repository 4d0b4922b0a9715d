"""Column types of the spec and their pandas representation in the pandas engine.

=========  ==========================================  =================================
etlc type  pandas dtype                                 notes
=========  ==========================================  =================================
int        ``Int64`` (nullable)
float      ``Float64`` (nullable; NaN is a value)
decimal    ``decimal128[pyarrow]`` (``pd.ArrowDtype``)   exact; precision from the spec,
                                                        else 38 (expressions see floats)
string     ``string`` (``StringDtype``, nulls are NA)
bool       ``boolean`` (nullable)
date       ``date32[pyarrow]`` (``pd.ArrowDtype``)      compares with ``datetime.date``
timestamp  ``datetime64[us]``
timestamptz ``datetime64[us, UTC]``                     an instant (docs/types.md)
vector     ``object`` (lists of floats)
=========  ==========================================  =================================

All of them hold SQL nulls as ``pd.NA``/``NaT``.  Reads convert in Arrow
(:mod:`etlc_runtime.arrow_convert`) and become pandas through :func:`arrow_to_frame`.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

DATE = pd.ArrowDtype(pa.date32())
TIMESTAMP = "datetime64[us]"
TIMESTAMPTZ = "datetime64[us, UTC]"  # an instant, in UTC


class CastError(ValueError):
    """A value that does not convert to the declared type."""


def spec_of(column: Any) -> dict:
    if isinstance(column, str):
        return {"type": column}
    return dict(column or {})


def pandas_dtype(column: Any):
    spec = spec_of(column)
    kind = spec.get("type")
    if kind == "decimal":
        return pd.ArrowDtype(arrow_type(spec))
    return {
        "int": "Int64", "float": "Float64", "string": "string",
        "bool": "boolean", "date": DATE, "timestamp": TIMESTAMP, "timestamptz": TIMESTAMPTZ,
        "vector": object,
        "json": "string",  # JSON text
    }.get(kind, object)


def arrow_type(column: Any) -> pa.DataType | None:
    from .arrow_convert import arrow_type as _arrow_type

    return _arrow_type(column)


def _pandas_of(t: pa.DataType):
    if pa.types.is_signed_integer(t):
        return pd.Int64Dtype()
    if pa.types.is_unsigned_integer(t):
        return pd.UInt64Dtype()
    if pa.types.is_boolean(t):
        return pd.BooleanDtype()
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return pd.StringDtype()
    if pa.types.is_decimal(t) or pa.types.is_date32(t):
        return pd.ArrowDtype(t)
    return None


def _owned(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A writable NumPy copy of a null-free column, copied once (pyarrow's own conversion
    gives a read-only view, or a read-only concatenation of the chunks)."""
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    parts = [c.to_numpy(zero_copy_only=False) for c in chunks]
    if len(parts) == 1:
        return parts[0].copy()
    if not parts:
        return np.empty(0, values.type.to_pandas_dtype())
    return np.concatenate(parts)


def arrow_series(values: pa.Array | pa.ChunkedArray, index=None) -> pd.Series:
    """One Arrow column in the pandas engine's representation (docs/types.md): ints exact in
    ``Int64``, floats in ``Float64`` with NaN apart from null, decimals and dates as Arrow."""
    t = values.type
    if pa.types.is_floating(t):
        data = _owned(values.cast(pa.float64()).fill_null(0.0))
        mask = _owned(values.is_null())
        return pd.Series(pd.arrays.FloatingArray(data, mask), index=index, copy=False)
    if isinstance(values, pa.ChunkedArray) and (_pandas_of(t) is None or pa.types.is_date64(t)
                                                or pa.types.is_null(t)):
        values = values.combine_chunks()   # pandas' own conversions below take chunks
    if pa.types.is_date64(t):
        values, t = values.cast(pa.date32()), pa.date32()
    if pa.types.is_null(t):
        values, t = values.cast(pa.string()), pa.string()
    dtype = _pandas_of(t)
    if dtype is not None:
        if isinstance(dtype, pd.ArrowDtype):
            return pd.Series(pd.arrays.ArrowExtensionArray(values), index=index, copy=False)
        return pd.Series(dtype.__from_arrow__(values), index=index, copy=False)
    return pd.Series(pa.table({"v": values}).to_pandas()["v"].array, index=index, copy=False)


def arrow_to_frame(table: pa.Table) -> pd.DataFrame:
    """An Arrow table as a pandas DataFrame of :func:`arrow_series` columns (each array new,
    so neither the Series nor the frame copies it: pandas 3 would, twice, about 30 ms a
    column of 3 M rows)."""
    index = pd.RangeIndex(table.num_rows)
    return pd.DataFrame({name: arrow_series(table.column(name), index)
                         for name in table.column_names}, index=index, copy=False)


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
        return "timestamptz" if ("tz=" in text or ", " in text) else "timestamp"
    return "unknown"




def _text_array(series: pd.Series) -> pa.Array:
    """A column of text (or of objects: their text) as an Arrow string array."""
    if isinstance(series.dtype, pd.StringDtype) or series.dtype == object or \
            str(series.dtype) == "str":
        values = [None if _isna(v) else (v if isinstance(v, str) else _object_text(v))
                  for v in series.tolist()]
        return pa.array(values, pa.string())
    return pa.array(series.astype("string").tolist(), pa.string())


def _object_text(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dict, list)):
        import json
        return json.dumps(v, separators=(",", ":"), ensure_ascii=False, default=str)
    return str(v)


def convert_text(series: pd.Series, column: Any, name: str = "?", *, strict: bool = True,
                 null_value: str | None = None) -> pd.Series:
    """Convert a column of text (or mixed objects) to the declared type, exactly
    (:func:`etlc_runtime.arrow_convert.text_to`).

    ``null_value`` (compared after stripping; fixed-width fields) reads as null; without it
    only nulls are null, never ``''``.  Values that do not convert raise
    :class:`~etlc_runtime.errors.DataError` (R040, a ``ValueError``) when ``strict``, else
    become null.
    """
    from .arrow_convert import text_to

    spec = spec_of(column)
    kind = spec.get("type")
    if kind == "vector":
        return series.astype(object)
    text = _text_array(series)
    if null_value is not None:
        is_null = pc.equal(pc.utf8_trim_whitespace(text), null_value)
        text = pc.if_else(pc.fill_null(is_null, False), pa.scalar(None, pa.string()), text)
    if strict or kind == "string":
        return arrow_series(text_to(text, spec, name), series.index)
    try:
        return arrow_series(text_to(text, spec, name), series.index)
    except ValueError:
        pass
    values = []
    for i in range(len(text)):
        try:
            values.append(text_to(text.slice(i, 1), spec, name))
        except ValueError:
            values.append(pa.nulls(1, arrow_type(spec)))
    return arrow_series(pa.concat_arrays(values) if values else
                        pa.array([], arrow_type(spec)), series.index)


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


def _text_to_utc(series: pd.Series, spec: Mapping, name: str) -> pd.Series:
    """string -> timestamptz by the cast table (docs/types.md): the read rule, but text
    without an offset is the UTC time (``pandas_tz.utc_text`` writes the ``+00:00``); an
    error names the value as the column holds it, not as made explicit."""
    from .errors import DataError
    from .expr.pandas_tz import utc_text

    try:
        return convert_text(utc_text(series), spec, name, strict=True, null_value=None)
    except DataError as exc:
        if exc.row is None:
            raise
        raise DataError("not timestamptz text by the one rule", dataset=exc.dataset,
                        column=exc.column, file=exc.file, line=exc.line, row=exc.row,
                        value=series.iloc[exc.row - 1]) from None


def cast_series(series: pd.Series, column: Any, name: str = "?") -> pd.Series:
    """``cast(x as type)``: convert a typed column to another type (strict)."""
    spec = spec_of(column)
    kind = spec.get("type")
    current = type_name(series.dtype)
    if kind == "timestamptz" and current == "string":  # the cast table: no offset means UTC
        return _text_to_utc(series, spec, name)
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
        if current == "timestamptz":  # '2025-01-16 09:30:00+00', as DuckDB's cast
            from .text_write import value_text
            return pd.Series(value_text(pa.array(series), "csv").to_pandas(
                types_mapper=pd.ArrowDtype), index=series.index).astype("string")
        return series.astype("string")
    if kind in ("int", "float", "decimal"):
        if current in ("date", "timestamp"):
            raise CastError(f"column '{name}': cannot cast {current} to {kind}")
        if kind == "decimal":
            return _to_decimal(series, spec)
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
    if kind in ("timestamp", "timestamptz") and current in ("timestamp", "timestamptz"):
        values = series if current == "timestamptz" else series.dt.tz_localize("UTC")
        values = values.astype(TIMESTAMPTZ)  # the same instant; a timestamp reads as UTC
        return values if kind == "timestamptz" else values.dt.tz_convert(None)
    if kind == "timestamptz":
        return cast_series(cast_series(series, "timestamp", name), spec, name)
    if kind == "timestamp":
        if current == "date":
            return pd.to_datetime(series.astype(object)).astype(TIMESTAMP)
        return pd.to_datetime(series).astype(TIMESTAMP)
    return series


def _to_decimal(series: pd.Series, spec: dict) -> pd.Series:
    """Numbers to a decimal column: exact digits, rounded half away from zero to the scale
    (as SQL's cast); a value beyond the precision is an error."""
    import decimal

    target = arrow_type(spec)
    quantum = decimal.Decimal(1).scaleb(-target.scale)
    out = []
    for v in series.tolist():
        if _isna(v):
            out.append(None)
            continue
        if isinstance(v, float):
            if not np.isfinite(v):
                raise CastError(f"{v!r} cannot be a {target}")
            v = repr(v)
        out.append(decimal.Decimal(v).quantize(quantum, rounding=decimal.ROUND_HALF_UP))
    try:
        arr = pa.array(out, target)
    except (pa.ArrowInvalid, decimal.InvalidOperation) as exc:
        raise CastError(f"a value does not fit {target}: {exc}") from None
    return pd.Series(pd.arrays.ArrowExtensionArray(arr), index=series.index)


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
