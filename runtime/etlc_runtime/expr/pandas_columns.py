"""etlc types of pandas columns and the dtypes that hold them (the table in ``pandas_eval``'s
docstring): a column's run-time type, the conversion of any storage to the canonical dtype,
and scalars in and out of the evaluator."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .pandas_numeric import snap
from .types import (
    BOOL,
    DATE,
    FLOAT,
    INT,
    STRING,
    TIMESTAMP,
    TIMESTAMPTZ,
    UNKNOWN,
    VECTOR,
    Type,
    decimal,
)

__all__ = ["STRING_DTYPE", "TEMPORAL", "by_distinct", "coerce", "coerce_frame", "frame_types",
           "is_series", "pandas_dtype", "param_value", "runtime_type", "to_python", "utc_stamp"]

STRING_DTYPE = pd.StringDtype()


def pandas_dtype(t: Type):
    """The pandas dtype that holds values of an etlc type."""
    return {
        "int": "Int64", "float": "Float64", "decimal": "Float64", "string": STRING_DTYPE,
        "json": STRING_DTYPE,
        "bool": "boolean", "date": "datetime64[ns]", "timestamp": "datetime64[ns]",
        "timestamptz": "datetime64[ns]",  # its UTC time inside the evaluator (pandas_tz)
    }.get(t.name, object)


# -- run-time types of columns and params ----------------------------------------------

def _arrow_type(pat) -> Type:
    import pyarrow as pa
    if pa.types.is_integer(pat):
        return INT
    if pa.types.is_floating(pat):
        return FLOAT
    if pa.types.is_decimal(pat):
        return decimal(pat.scale)
    if pa.types.is_boolean(pat):
        return BOOL
    if pa.types.is_string(pat) or pa.types.is_large_string(pat):
        return STRING
    if pa.types.is_date(pat):
        return DATE
    if pa.types.is_timestamp(pat):
        return TIMESTAMPTZ if pat.tz else TIMESTAMP
    if pa.types.is_list(pat) or pa.types.is_fixed_size_list(pat) or pa.types.is_large_list(pat):
        return VECTOR
    return UNKNOWN


def runtime_type(s: pd.Series) -> Type:
    """The etlc type of a column, from its dtype (``date`` cannot be told from
    ``timestamp`` by dtype: pass declared types for that)."""
    dtype = s.dtype
    if isinstance(dtype, pd.ArrowDtype):
        return _arrow_type(dtype.pyarrow_dtype)
    if isinstance(dtype, pd.StringDtype):
        return STRING
    kind = getattr(dtype, "kind", "O")
    if kind in "iu":
        return INT
    if kind == "f":
        return FLOAT
    if kind == "b":
        return BOOL
    if kind == "M":
        return TIMESTAMPTZ if isinstance(dtype, pd.DatetimeTZDtype) else TIMESTAMP
    if kind == "O":
        inferred = pd.api.types.infer_dtype(s, skipna=True)
        return {"string": STRING, "empty": STRING, "integer": INT, "floating": FLOAT,
                "mixed-integer-float": FLOAT, "boolean": BOOL, "date": DATE,
                "datetime": TIMESTAMP, "datetime64": TIMESTAMP}.get(inferred) or \
            (_object_decimal_type(s) if inferred == "decimal" else
             VECTOR if _looks_like_vector(s) else UNKNOWN)
    return UNKNOWN


def _object_decimal_type(s: pd.Series) -> Type:
    scale = 0
    for v in s.dropna().head(1000):
        exp = v.as_tuple().exponent
        if isinstance(exp, int):
            scale = max(scale, -exp)
    return decimal(scale)


def _looks_like_vector(s: pd.Series) -> bool:
    v = s.dropna()
    return len(v) > 0 and isinstance(v.iloc[0], (list, tuple, np.ndarray))


def frame_types(df: pd.DataFrame, declared: Mapping[str, Type] | None = None) -> dict[str, Type]:
    """Column name -> Type, from dtypes; ``declared`` types win (decimal scale, date)."""
    out = {}
    for name in df.columns:
        if declared and name in declared:
            out[name] = declared[name]
        else:
            out[name] = runtime_type(df[name])
    return out


TEMPORAL = ("date", "timestamp", "timestamptz")


def param_value(v: Any, t: Type) -> Any:
    if t.name == "decimal":
        return float(v)
    if t.name in TEMPORAL:
        return utc_stamp(v)
    if isinstance(v, np.generic):
        return v.item()
    return v


def utc_stamp(v) -> pd.Timestamp:
    """A date or time value as the evaluator holds it: a zoned one as its naive UTC time."""
    v = pd.Timestamp(v)
    return v.tz_convert("UTC").tz_localize(None) if v.tzinfo is not None else v


def coerce(s: pd.Series, t: Type) -> pd.Series:
    """A column converted to the canonical dtype of ``t`` (no copy when it already is)."""
    dtype = s.dtype
    name = t.name
    if name == "int":
        return s if dtype == "Int64" else s.astype("Int64")
    if name in ("float", "decimal"):
        if dtype == "Float64":
            out = s
        elif _arrow_decimal(dtype):
            import pyarrow as pa

            from .decimal_floats import decimal_floats
            values, mask = decimal_floats(pa.array(s.array))
            out = pd.Series(pd.arrays.FloatingArray(values, mask), index=s.index, name=s.name, copy=False)
        elif getattr(dtype, "kind", "O") == "O" and not isinstance(dtype, pd.StringDtype):
            out = pd.Series(pd.array([None if v is None or v is pd.NA or
                                      (isinstance(v, float) and np.isnan(v)) else float(v)
                                      for v in s], dtype="Float64"), index=s.index, name=s.name)
        else:
            out = s.astype("Float64")
        if name == "decimal" and out is not s:   # an int or a stored decimal taken as one:
            from .pandas_decimal import held  # R041 where the double would not hold it
            held(s, out, t.scale or 0)
        return out
    if name in ("string", "json"):
        return s if dtype == STRING_DTYPE else s.astype(STRING_DTYPE)
    if name == "bool":
        return s if dtype == "boolean" else s.astype("boolean")
    if name in TEMPORAL:
        out = _naive_datetimes(s)
        if name == "date" and not _holds_dates(s):
            out = out.dt.normalize()
        return out
    return s


def _arrow_decimal(dtype) -> bool:
    if not isinstance(dtype, pd.ArrowDtype):
        return False
    import pyarrow as pa
    return pa.types.is_decimal(dtype.pyarrow_dtype)


def _holds_dates(s: pd.Series) -> bool:
    """Whether a column's storage holds calendar dates (no time of day to drop)."""
    dtype = s.dtype
    if isinstance(dtype, pd.ArrowDtype):
        import pyarrow as pa
        return pa.types.is_date(dtype.pyarrow_dtype)
    return dtype == object and pd.api.types.infer_dtype(s, skipna=True) == "date"


def _naive_datetimes(s: pd.Series) -> pd.Series:
    """A date or timestamp column of any storage (numpy datetime64 of any unit, with or
    without a zone; Arrow date32/date64/timestamp with or without a zone; objects holding
    ``datetime.date``/``datetime.datetime``) as naive numpy ``datetime64``, so that it
    compares and computes with the evaluator's ``pd.Timestamp`` literals.  Dates become
    midnight; zoned values become their UTC wall-clock time."""
    dtype = s.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        return s.dt.tz_convert(None)
    if getattr(dtype, "kind", "O") == "M" and not isinstance(dtype, pd.ArrowDtype):
        return s
    if isinstance(dtype, pd.ArrowDtype):
        import pyarrow as pa
        pat = dtype.pyarrow_dtype
        if pa.types.is_date(pat) or pa.types.is_timestamp(pat):
            unit = pat.unit if pa.types.is_timestamp(pat) and pat.unit == "ns" else "us"
            arr = pa.array(s.array).cast(pa.timestamp(unit))
            return pd.Series(arr.to_numpy(zero_copy_only=False), index=s.index, name=s.name)
    if dtype == object or isinstance(dtype, pd.ArrowDtype):
        if not len(s):
            return s.astype("datetime64[ns]")
        out = pd.to_datetime(s)
        return out.dt.tz_convert(None) if out.dt.tz is not None else out
    return s.astype("datetime64[ns]")


def coerce_frame(df: pd.DataFrame, types: Mapping[str, Type]) -> pd.DataFrame:
    """A frame with every declared column in its canonical dtype (decimals rounded to
    their scale, dates normalised)."""
    out = {}
    for name in df.columns:
        s = df[name]
        t = types.get(name)
        if t is not None:
            s = coerce(s, t)
            if t.name == "decimal":
                s = snap(s, t.scale or 0)
        out[name] = s
    return pd.DataFrame(out, index=df.index)


def to_python(v: Any, t: Type | None = None) -> Any:
    """A scalar from pandas/numpy as a plain Python value (None for null)."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float) and np.isnan(v):
        return None
    if isinstance(v, np.generic):
        v = v.item()
        if isinstance(v, float) and np.isnan(v):
            return None
    if isinstance(v, pd.Timestamp):
        if t is not None and t.name == "date":
            return v.date()
        return v.to_pydatetime()
    if t is not None and t.name == "decimal" and isinstance(v, float):
        return round(v, t.scale or 0)
    return v


def is_series(v) -> bool:
    return isinstance(v, pd.Series)


def by_distinct(ev, s: pd.Series, const_args: list, fn, result_dtype):
    """Apply fn(s_subset, *scalar_args) once per distinct combination of the non-constant
    arguments (a loop over distinct values, not rows)."""
    n = len(s)
    keys = pd.DataFrame({f"k{i}": (v if is_series(v) else pd.Series([v] * n, index=s.index))
                         for i, v in enumerate(const_args)})
    out = pd.Series(pd.array([None] * n, dtype=result_dtype), index=s.index)
    valid = ~keys.isna().any(axis=1).to_numpy()
    if not valid.any():
        return out
    codes, uniques = pd.factorize(pd.MultiIndex.from_frame(keys[valid]))
    pos = np.flatnonzero(valid)
    for code, combo in enumerate(uniques):
        rows = pos[codes == code]
        sub = s.iloc[rows]
        out.iloc[rows] = fn(sub, *[c.item() if isinstance(c, np.generic) else c
                                   for c in combo]).to_numpy()
    return out

