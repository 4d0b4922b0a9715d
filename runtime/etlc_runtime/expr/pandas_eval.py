"""Vectorised evaluation of expressions on pandas DataFrames, with SQL semantics.

Every operator and function maps to whole-column pandas/numpy operations; nothing
loops over rows.  (Functions whose pattern/offset arguments are columns rather than
constants loop over the *distinct* argument values, never over rows.)

Data representation (see docs/expressions.md, "Types at run time"):

=========  ==============================================================
int        ``Int64`` (nullable)
float      ``Float64`` (nullable; NaN in numpy ``float64`` input is null)
decimal    ``Float64`` holding values rounded to the column's scale
string     ``pd.StringDtype()`` (pyarrow storage, ``pd.NA`` for null)
bool       ``boolean`` (nullable, three-valued)
date       ``datetime64`` at midnight (the static type says "date")
timestamp  ``datetime64`` (naive)
=========  ==============================================================

Inputs in other dtypes (numpy ints/floats/bools, object strings, pandas 3 ``str``,
pyarrow-backed ``ArrowDtype`` columns) are converted on access.  Dates and timestamps of
any storage (Arrow ``date32``/``timestamp`` as CSV and Parquet reads give them, numpy
``datetime64`` of any unit, objects holding ``datetime.date``) become naive ``datetime64``
so that they compare with ``date``/``timestamp`` literals as in SQL; zoned values compare
as their UTC time.  ``evaluate``/``aggregate`` with ``dates_as_dates`` hand date results
back in the runtime's date storage (Arrow ``date32``), as the runtime's steps need.
"""
from __future__ import annotations

import operator
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from . import ast as A
from . import casts
from .errors import EvalError
from .parser import parse
from .typecheck import infer
from .types import (
    BOOL,
    DATE,
    FLOAT,
    INT,
    NULL,
    STRING,
    TIMESTAMP,
    TIMESTAMPTZ,
    UNKNOWN,
    VECTOR,
    Type,
    decimal,
    param_type,
)

__all__ = [
    "aggregate",
    "apply_filter",
    "coerce_frame",
    "evaluate",
    "frame_types",
    "metric",
    "pandas_dtype",
    "param_type",
    "runtime_type",
]

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


def _param_value(v: Any, t: Type) -> Any:
    if t.name == "decimal":
        return float(v)
    if t.name in _TEMPORAL:
        return _utc_stamp(v)
    if isinstance(v, np.generic):
        return v.item()
    return v


_TEMPORAL = ("date", "timestamp", "timestamptz")


def _utc_stamp(v) -> pd.Timestamp:
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
        return out
    if name in ("string", "json"):
        return s if dtype == STRING_DTYPE else s.astype(STRING_DTYPE)
    if name == "bool":
        return s if dtype == "boolean" else s.astype("boolean")
    if name in _TEMPORAL:
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
                s = _snap(s, t.scale or 0)
        out[name] = s
    return pd.DataFrame(out, index=df.index)


# -- numeric helpers ---------------------------------------------------------------------

def _floats(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(float values with NaN at nulls, null mask)."""
    arr = s.array
    if isinstance(arr, pd.arrays.FloatingArray | pd.arrays.IntegerArray):
        mask = arr._mask
        return arr._data.astype(np.float64, copy=False), mask
    v = s.to_numpy(dtype=np.float64, na_value=np.nan)
    return v, np.isnan(v)


def _float_series(values: np.ndarray, mask: np.ndarray, index) -> pd.Series:
    mask = mask | np.isnan(values)
    return pd.Series(pd.arrays.FloatingArray(values, mask), index=index, copy=False)


def _round_half_away(values: np.ndarray, digits) -> np.ndarray:
    m = np.power(10.0, digits)
    y = values * m
    a = np.abs(y)
    r = np.floor(a)
    r = r + ((a - r) >= 0.5)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.copysign(r, y) / m
    # like DuckDB: a result that overflows keeps the input
    bad = ~np.isfinite(out) & np.isfinite(values)
    if bad.any():
        out = np.where(bad, values, out)
    return out


def _two_product_error(a: np.ndarray, b) -> np.ndarray:
    """The exact error a*b - fl(a*b) (Dekker's TwoProduct, no FMA needed)."""
    split = 134217729.0  # 2**27 + 1
    b = np.broadcast_to(np.asarray(b, dtype=np.float64), a.shape)
    p = a * b
    ca = split * a
    ah = ca - (ca - a)
    al = a - ah
    cb = split * b
    bh = cb - (cb - b)
    bl = b - bh
    return ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _round_exact(values: np.ndarray, digits) -> np.ndarray:
    """round(x, n) as DuckDB does it for doubles: half away from zero, decided on the
    exact binary value of x (round(1.45, 1) is 1.4 because 1.45 is 1.4499999...)."""
    digits = np.asarray(digits)
    if digits.ndim == 0 and digits < 0:
        return _round_half_away(values, digits)
    with np.errstate(all="ignore"):
        m = np.power(10.0, np.maximum(digits, 0))
        y = values * m
        a = np.abs(y)
        r = np.floor(a)
        frac = a - r
        up = frac > 0.5
        ties = frac == 0.5
        if ties.any():
            err = _two_product_error(values, m)  # exact x*m = y + err
            err = np.where(y < 0, -err, err)   # in terms of |y|
            up = up | (ties & (err >= 0))
        r = r + up
        out = np.copysign(r, y) / m
    if digits.ndim > 0 and (digits < 0).any():
        out = np.where(digits < 0, _round_half_away(values, np.minimum(digits, 0)), out)
    bad = ~np.isfinite(out) & np.isfinite(values)
    if bad.any():
        out = np.where(bad, values, out)
    return out


def _snap(s: pd.Series, scale: int) -> pd.Series:
    """Round decimal values (held as floats) to their scale, removing float noise."""
    if not isinstance(s, pd.Series):
        return None if s is None else round(float(s), scale)
    v, mask = _floats(s)
    return _float_series(np.round(v, scale), mask, s.index)


def _dec_mod(a, b, scale: int) -> pd.Series:
    """Decimal remainder, exact as SQL's DECIMAL %: fmod of the scaled integers, so that
    0.3 % 0.1 is 0.0 (fmod of the floats gives 0.09999...)."""
    series = a if _is_series(a) else b
    q = 10.0 ** scale
    parts = [_floats(v) if _is_series(v) else (np.float64(v), False) for v in (a, b)]
    (av, am), (bv, bm) = parts
    with np.errstate(all="ignore"):
        r = np.fmod(np.round(av * q), np.round(bv * q)) / q + 0.0  # no -0.0 in decimals
    r = np.broadcast_to(r, (len(series),)).copy()
    return _float_series(r, np.zeros(len(series), bool) | am | bm, series.index)


def _dec_round(s: pd.Series, from_scale: int, digits: int) -> pd.Series:
    """Exact half-away-from-zero rounding of decimal values to ``digits`` places."""
    v, mask = _floats(s)
    ints = np.round(v * 10.0 ** from_scale)  # exact integers for scaled decimals
    shift = from_scale - digits
    if shift <= 0:
        return _float_series(ints / 10.0 ** from_scale, mask, s.index)
    q = 10.0 ** shift
    a = np.abs(ints)
    r = np.floor((a + q / 2) / q)
    out = np.copysign(r, ints) * q / 10.0 ** from_scale
    return _float_series(np.round(out, max(digits, 0)), mask, s.index)


def _to_python(v: Any, t: Type | None = None) -> Any:
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


def _is_series(v) -> bool:
    return isinstance(v, pd.Series)


# -- the evaluator ---------------------------------------------------------------------

class _Evaluator:
    def __init__(self, df: pd.DataFrame, params: Mapping[str, Any], node_types: dict,
                 col_types: Mapping[str, Type], text: str, agg_values: dict | None = None):
        self.df = df
        self.index = df.index
        self.n = len(df)
        self.params = params or {}
        self.T = node_types
        self.col_types = col_types
        self.text = text
        self.agg_values = agg_values or {}
        self._cols: dict[str, pd.Series] = {}

    # utilities ------------------------------------------------------------------------
    def fail(self, message: str, value: Any = None, row: Any = None) -> EvalError:
        """``row``: the offending row's index label (its position in the step's relation)."""
        return EvalError(message + (f": {value!r}" if value is not None else ""), self.text,
                         value, row=None if row is None else int(row))

    def typ(self, e: A.Expr) -> Type:
        return self.T.get(id(e), UNKNOWN)

    def series(self, v: Any, t: Type) -> pd.Series:
        """Materialise a value (scalar or Series) as a Series of t's dtype."""
        if _is_series(v):
            return coerce(v, t) if t.name not in ("null", "unknown", "vector") else v
        if t.name in _TEMPORAL and v is not None:
            v = _utc_stamp(v)
        dtype = pandas_dtype(t)
        if v is None:
            v = None if dtype is object else (pd.NaT if t.name in _TEMPORAL else pd.NA)
        return pd.Series(v, index=self.index, dtype=dtype)

    def scalar_apply(self, fn, args: list, types: list[Type], result: Type,
                     first_only: bool = False):
        """Evaluate fn on all-scalar arguments through the Series code path (so scalars
        and columns share one implementation), returning a scalar.  With ``first_only``
        the other arguments stay scalars (function options such as round's digits)."""
        saved = (self.index, self.n)
        self.index, self.n = pd.RangeIndex(1), 1
        try:
            ser = [self.series(a, t) if (k == 0 or not first_only) else a
                   for k, (a, t) in enumerate(zip(args, types))]
            out = fn(*ser)
        finally:
            self.index, self.n = saved
        if _is_series(out):
            return _to_python(out.iloc[0], result) if result.name not in _TEMPORAL \
                else (None if pd.isna(out.iloc[0]) else pd.Timestamp(out.iloc[0]))
        return out

    def column(self, name: str) -> pd.Series:
        s = self._cols.get(name)
        if s is None:
            if name not in self.df.columns:
                raise self.fail(f"unknown column '{name}'")
            t = self.col_types.get(name, UNKNOWN)
            s = self.df[name]
            if isinstance(s, pd.DataFrame):
                raise self.fail(f"column name '{name}' is not unique")
            s = coerce(s, t)
            self._cols[name] = s
        return s

    # dispatch -------------------------------------------------------------------------
    def ev(self, e: A.Expr):
        try:
            return self._ev(e)
        except EvalError as err:  # the innermost node that failed names its span
            err.at(e.start, e.end)
            raise

    def _ev(self, e: A.Expr):
        if self.T.get(id(e)) == NULL:
            return None  # statically always null (null literal, abs(null), ...)
        if isinstance(e, A.Literal):
            v = e.value
            if e.kind == "decimal":
                return float(v)
            if e.kind in _TEMPORAL:
                return _utc_stamp(v)
            return v
        if isinstance(e, A.Column):
            return self.column(e.name)
        if isinstance(e, A.Param):
            if e.name not in self.params:
                raise self.fail(f"unknown parameter '${e.name}'")
            v = self.params[e.name]
            return _param_value(v, self.typ(e))
        if isinstance(e, A.Binary):
            return self.binary(e)
        if isinstance(e, A.Unary):
            return self.unary(e)
        if isinstance(e, A.IsNull):
            v = self.ev(e.operand)
            if not _is_series(v):
                return (v is not None) if e.negated else (v is None)
            isna = v.isna().to_numpy()
            res = ~isna if e.negated else isna
            return pd.Series(pd.arrays.BooleanArray(res, np.zeros(len(res), bool)),
                             index=v.index, copy=False)
        if isinstance(e, A.InList):
            return self.in_list(e)
        if isinstance(e, A.Between):
            x = self.ev(e.operand)
            a = self.compare(">=", x, self.ev(e.low), self.typ(e.operand), self.typ(e.low))
            b = self.compare("<=", x, self.ev(e.high), self.typ(e.operand), self.typ(e.high))
            r = self.logic("and", a, b)
            return self.logic_not(r) if e.negated else r
        if isinstance(e, A.Call):
            if id(e) in self.agg_values:
                return self.agg_values[id(e)]
            return self.call(e)
        if isinstance(e, A.Cast):
            return self.cast(e)
        if isinstance(e, A.Case):
            from .pandas_funcs import case
            return case(self, e)
        if isinstance(e, A.Window):
            from .pandas_window import window
            return window(self, e)
        raise TypeError(f"not an expression node: {e!r}")  # pragma: no cover

    # logic ----------------------------------------------------------------------------
    @staticmethod
    def _bool(v):
        if _is_series(v):
            if v.dtype != "boolean":
                v = v.astype("boolean")
            return v
        return pd.NA if v is None else bool(v)

    def logic(self, op: str, a, b):
        if not _is_series(a) and not _is_series(b):
            if op == "and":
                if a is False or b is False:
                    return False
                return None if a is None or b is None else True
            if a is True or b is True:
                return True
            return None if a is None or b is None else False
        a, b = self._bool(a), self._bool(b)
        return (a & b) if op == "and" else (a | b)

    def logic_not(self, v):
        if not _is_series(v):
            return None if v is None else (not v)
        return ~self._bool(v)

    def unary(self, e: A.Unary):
        v = self.ev(e.operand)
        if e.op == "not":
            return self.logic_not(v)
        if not _is_series(v):
            return None if v is None else -v
        return -v

    # comparison -----------------------------------------------------------------------
    def _temporal_operand(self, v, t: Type, other: Type):
        if other.name in _TEMPORAL and t.name == "string" and not _is_series(v) \
                and v is not None:
            return _utc_stamp(v)
        return v

    def compare(self, op: str, a, b, ta: Type, tb: Type):
        a = self._temporal_operand(a, ta, tb)
        b = self._temporal_operand(b, tb, ta)
        if isinstance(a, A.Interval) or isinstance(b, A.Interval):
            from .pandas_funcs import as_timedelta
            a, b = as_timedelta(a), as_timedelta(b)
        if a is None or b is None:
            return None
        fn = _CMP[op]
        if not _is_series(a) and not _is_series(b):
            return bool(fn(a, b))
        out = fn(a, b)
        arr = out.array
        if isinstance(arr, pd.arrays.BooleanArray):
            return out
        if isinstance(out.dtype, pd.ArrowDtype):
            return out.astype("boolean")
        # numpy bool (datetimes): nulls compared False; put them back as null
        mask = np.zeros(len(out), bool)
        for v in (a, b):
            if _is_series(v):
                mask |= v.isna().to_numpy()
        return pd.Series(pd.arrays.BooleanArray(out.to_numpy(dtype=bool), mask),
                         index=out.index, copy=False)

    def in_list(self, e: A.InList):
        x = self.ev(e.operand)
        tx = self.typ(e.operand)
        items = [self.ev(i) for i in e.items]
        if _is_series(x) and not any(_is_series(i) for i in items):
            vals = [self._temporal_operand(v, self.typ(n), tx) for v, n in zip(items, e.items)]
            has_null = any(v is None for v in vals)
            vals = [v for v in vals if v is not None]
            hit = x.isin(vals).to_numpy(dtype=bool)
            mask = x.isna().to_numpy()
            if has_null:
                mask = mask | ~hit
            r = pd.Series(pd.arrays.BooleanArray(hit, mask), index=x.index, copy=False)
        else:
            r = False
            for v, n in zip(items, e.items):
                r = self.logic("or", r, self.compare("=", x, v, tx, self.typ(n)))
        return self.logic_not(r) if e.negated else r

    # arithmetic -----------------------------------------------------------------------
    def binary(self, e: A.Binary):
        op = e.op
        if op in ("and", "or"):
            a = self.ev(e.left)
            if not _is_series(a) and ((op == "and" and a is False) or (op == "or" and a is True)):
                return a  # short cut on constants
            return self.logic(op, a, self.ev(e.right))
        a, b = self.ev(e.left), self.ev(e.right)
        ta, tb = self.typ(e.left), self.typ(e.right)
        if op in _CMP:
            return self.compare(op, a, b, ta, tb)
        tr = self.typ(e)
        if a is None or b is None:
            return None
        if "interval" in (ta.name, tb.name, tr.name):
            from .pandas_funcs import interval_arith
            return interval_arith(self, op, a, b, ta, tb)
        if not _is_series(a) and not _is_series(b):
            return self.scalar_apply(lambda x, y: self.arith(op, x, y, ta, tb, tr), [a, b],
                                     [ta, tb], tr)
        return self.arith(op, a, b, ta, tb, tr)

    def arith(self, op: str, a, b, ta: Type, tb: Type, tr: Type):
        if op == "||":
            return a + b
        if op == "//":
            from .pandas_funcs import int_div
            return int_div(self, a, b)
        if tr.name == "date" or (ta.name == "date" and tb.name == "date"):
            return self.date_arith(op, a, b, ta, tb)
        if op == "/":
            if _is_series(b):
                b = b.mask(b == 0)
            elif b == 0:
                return self.series(None, FLOAT)
            r = a / b
            if tr.name == "float" and _is_series(r) and r.dtype != "Float64":
                r = r.astype("Float64")
            return r
        if op == "%":
            if _is_series(b):
                b = b.mask(b == 0)
            elif b == 0:
                return self.series(None, tr)
            if tr.name == "decimal":
                return _dec_mod(a, b, tr.scale or 0)
            with np.errstate(all="ignore"):
                r = np.fmod(a, b)
        else:
            r = _ARITH[op](a, b)
        if tr.name == "decimal":
            r = _snap(r, tr.scale or 0)
        elif tr.name == "float" and r.dtype != "Float64":
            r = r.astype("Float64")
        return r

    def date_arith(self, op, a, b, ta, tb):
        if ta.name == "date" and tb.name == "date":
            d = (a - b)
            return (d.dt.days if _is_series(d) else d.days)
        if ta.name == "date":
            delta = pd.to_timedelta(b, unit="D") if _is_series(b) else pd.Timedelta(days=int(b))
            return a + delta if op == "+" else a - delta
        delta = pd.to_timedelta(a, unit="D") if _is_series(a) else pd.Timedelta(days=int(a))
        return b + delta

    # functions -------------------------------------------------------------------------
    def call(self, e: A.Call):
        name = e.name
        impl = _FUNCS.get(name)
        if impl is None:
            raise self.fail(f"function '{name}' is not available here")
        args = [self.ev(a) for a in e.args]
        types = [self.typ(a) for a in e.args]
        tr = self.typ(e)
        if name in ("if", "coalesce") or name in _NULL_AWARE:
            return impl(self, args, types, tr)
        if any(a is None for a in args):
            return None
        if not args:  # now(), today()
            return impl(self, args, types, tr)
        if not _is_series(args[0]) and any(_is_series(a) for a in args[1:]) \
                and name not in _UNIT_FIRST:
            args[0] = self.series(args[0], types[0])  # constant subject, column options
        if not any(_is_series(a) for a in args):
            if any(t.name == "interval" for t in types):  # intervals stay Python values
                return impl(self, args, types, tr)
            return self.scalar_apply(lambda *s: impl(self, list(s), types, tr), args, types, tr,
                                     first_only=True)
        return impl(self, args, types, tr)

    # cast ------------------------------------------------------------------------------
    def cast(self, e: A.Cast):
        v = self.ev(e.operand)
        src = self.typ(e.operand)
        dst = self.typ(e)
        if v is None:
            return None
        if not _is_series(v):
            return self.scalar_apply(lambda s: self.cast_series(s, src, dst), [v], [src], dst)
        return self.cast_series(v, src, dst)

    def cast_series(self, s: pd.Series, src: Type, dst: Type) -> pd.Series:
        if src.name == "unknown":
            src = runtime_type(s)
        sn, dn = src.name, dst.name
        if sn == dn and dn != "decimal":
            return s
        if "timestamptz" in (sn, dn):
            from .pandas_tz import cast_zoned
            return cast_zoned(self, s, sn, dn)
        if "json" in (sn, dn):
            from .pandas_json import json_cast
            return json_cast(self, s, sn, dn)
        if dn == "string":
            if sn == "bool":
                out = s.map({True: "true", False: "false"}, na_action="ignore")
                return out.astype(STRING_DTYPE)
            if sn == "float":
                v, mask = _floats(s)
                txt = np.array([repr(x + 0.0) for x in v.tolist()], dtype=object) if len(v) else \
                    np.array([], dtype=object)
                txt[mask] = None
                return pd.Series(txt, index=s.index).astype(STRING_DTYPE)
            if sn == "decimal":
                scale = src.scale or 0
                v, mask = _floats(s)
                txt = np.array([f"{x:.{scale}f}" for x in v.tolist()], dtype=object) \
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
                v, mask = _floats(s)
                # as DuckDB: a double rounds half to even, a decimal half away from zero
                r = np.rint(v) if sn == "float" else _round_half_away(v, 0)
                if (np.abs(r[~mask]) >= 2.0**63).any():
                    over = np.flatnonzero(~mask & (np.abs(np.where(mask, 0, r)) >= 2.0**63))[0]
                    raise self.fail("value out of range for int", float(v[over]),
                                    s.index[over])
                return pd.Series(pd.arrays.IntegerArray(np.where(mask, 0, r).astype(np.int64),
                                                        mask), index=s.index, copy=False)
            if sn == "bool":
                return s.astype("Int64")
            if sn == "string":  # as a decimal text: half away from zero (the cast table)
                v, mask = _floats(self.parse_numbers(s, "int"))
                return self.cast_series(_float_series(_round_half_away(v, 0), mask, s.index),
                                        FLOAT, dst)
        if dn in ("float", "decimal"):
            if sn == "string":
                s = self.parse_numbers(s, dn)
                sn = "float"
            out = s.astype("Float64")
            if dn == "decimal":
                if sn == "decimal" and (src.scale or 0) > (dst.scale or 0):
                    return _dec_round(out, src.scale or 0, dst.scale or 0)
                v, mask = _floats(out)
                return _float_series(np.round(_round_half_away(v, dst.scale or 0),
                                              dst.scale or 0), mask, s.index)
            return out
        if dn == "bool":
            if sn in ("int", "float", "decimal"):
                return (s != 0).astype("boolean")
            if sn == "string":
                low = s.str.lower()
                true = low.isin(casts.BOOL_TRUE).to_numpy(bool)
                false = low.isin(casts.BOOL_FALSE).to_numpy(bool)
                bad = ~(true | false) & s.notna().to_numpy()
                if bad.any():
                    raise self.fail("cannot cast to bool", s[bad].iloc[0], s.index[bad][0])
                return pd.Series(pd.arrays.BooleanArray(true, s.isna().to_numpy()),
                                 index=s.index, copy=False)
        if dn == "date":
            if sn == "string":
                return self.parse_dates(s, None, True)
            return s.dt.normalize()
        if dn == "timestamp":
            if sn == "string":
                return self.parse_dates(s, None, False)
            return s
        raise self.fail(f"cannot cast {src} to {dst}")

    def parse_numbers(self, s: pd.Series, what: str) -> pd.Series:
        stripped = s.str.strip()
        num = pd.to_numeric(stripped.astype(object), errors="coerce")
        num = pd.Series(num, index=s.index).astype("Float64")
        bad = num.isna().to_numpy() & s.notna().to_numpy()
        if bad.any():
            raise self.fail(f"cannot cast to {what}", s[bad].iloc[0], s.index[bad][0])
        return num

    def parse_dates(self, s: pd.Series, fmt: str | None, date: bool) -> pd.Series:
        obj = s.astype(object)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if fmt is None:
                out = pd.to_datetime(obj.where(obj.notna(), None), errors="coerce",
                                     format="ISO8601")
            else:
                out = pd.to_datetime(obj, errors="coerce", format=fmt)
        out = pd.Series(out, index=s.index)
        bad = out.isna().to_numpy() & s.notna().to_numpy()
        if bad.any():
            what = "date" if date else "timestamp"
            raise self.fail(f"cannot read {what}" + (f" with format '{fmt}'" if fmt else ""),
                            s[bad].iloc[0], s.index[bad][0])
        if getattr(out.dt, "tz", None) is not None:
            out = out.dt.tz_convert("UTC").dt.tz_localize(None)
        return out.dt.normalize() if date else out


_CMP = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
        ">": operator.gt, ">=": operator.ge}
_ARITH = {"+": operator.add, "-": operator.sub, "*": operator.mul}


# -- function implementations (args: Series or scalars, at least one Series, no None
# scalars except for if/coalesce) -------------------------------------------------------

def _const(v) -> bool:
    return not _is_series(v)


def _f_abs(ev, a, t, tr):
    return a[0].abs()


def _f_round(ev, a, t, tr):
    x = a[0]
    n = a[1] if len(a) > 1 else 0
    if t[0].name == "decimal":
        return _dec_round(ev.series(x, t[0]), t[0].scale or 0, int(n))
    if t[0].name == "int":
        if _const(n) and n >= 0:
            return ev.series(x, INT)
        v, mask = _floats(ev.series(x, INT))
        nn = n if _const(n) else ev.series(n, INT).to_numpy(dtype=float, na_value=0)
        r = _round_half_away(v, np.minimum(nn, 0))
        nmask = mask if _const(n) else (mask | ev.series(n, INT).isna().to_numpy())
        return pd.Series(pd.arrays.IntegerArray(np.where(nmask, 0, r).astype(np.int64), nmask),
                         index=ev.index, copy=False)
    v, mask = _floats(ev.series(x, FLOAT))
    if _const(n):
        return _float_series(_round_exact(v, n), mask, ev.index)
    ns = ev.series(n, INT)
    nv = ns.to_numpy(dtype=float, na_value=0)
    return _float_series(_round_exact(v, nv), mask | ns.isna().to_numpy(), ev.index)


def _f_floor_ceil(fn):
    def impl(ev, a, t, tr):
        x = a[0]
        if t[0].name == "int":
            return x
        v, mask = _floats(x)
        if t[0].name == "decimal":
            v = np.round(v, t[0].scale or 0)
        return _float_series(fn(v), mask, x.index)
    return impl


def _f_unary_float(fn, valid):
    def impl(ev, a, t, tr):
        v, mask = _floats(a[0])
        bad = ~valid(np.where(mask, 1.0, v))
        with np.errstate(all="ignore"):
            r = fn(v)
        return _float_series(r, mask | bad, a[0].index)
    return impl


def _f_str(method, *extra):
    def impl(ev, a, t, tr):
        return getattr(a[0].str, method)(*extra)
    return impl


def _f_length(ev, a, t, tr):
    return a[0].str.len().astype("Int64")


def _by_distinct(ev, s: pd.Series, const_args: list, fn, result_dtype):
    """Apply fn(s_subset, *scalar_args) once per distinct combination of the non-constant
    arguments (a loop over distinct values, not rows)."""
    n = len(s)
    keys = pd.DataFrame({f"k{i}": (v if _is_series(v) else pd.Series([v] * n, index=s.index))
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


def _slice_bounds(offset: int, length: int | None):
    """DuckDB substring(offset, length) as a Python slice (start, stop) or None for ''."""
    if length is None:
        if offset > 0:
            return offset - 1, None
        if offset < 0:
            return offset, None
        return 0, None
    if offset == 0:
        length -= 1
        if length <= 0:
            return None
        return 0, length
    if offset > 0:
        if length >= 0:
            return offset - 1, offset - 1 + length
        return max(0, offset - 1 + length), offset - 1
    # offset < 0: start = n + offset
    if length >= 0:
        stop = offset + length
        return offset, (None if stop >= 0 else stop)
    return offset + length, offset


def _substr_const(s: pd.Series, offset, length=None):
    b = _slice_bounds(int(offset), None if length is None else int(length))
    if b is None:
        return s.where(s.isna(), "")
    start, stop = b
    if start is not None and stop is not None and start < 0 <= stop:
        pass
    return s.str.slice(start, stop)


def _f_substr(ev, a, t, tr):
    s = a[0]
    rest = a[1:]
    if all(_const(v) for v in rest):
        return _substr_const(s, *rest)
    return _by_distinct(ev, s, rest, _substr_const, STRING_DTYPE)


def _replace_const(s, old, new):
    if old == "":
        return s
    return s.str.replace(old, new, regex=False)


def _f_replace(ev, a, t, tr):
    s, old, new = a
    if _const(old) and _const(new):
        return _replace_const(s, old, new)
    return _by_distinct(ev, s, [old, new], _replace_const, STRING_DTYPE)


def _f_pattern(method):
    def one(s, p):
        if method == "contains":
            return s.str.contains(p, regex=False)
        return getattr(s.str, method)(p)

    def impl(ev, a, t, tr):
        s, p = a
        if _const(s):  # constant subject, column pattern
            s = ev.series(s, STRING)
        if _const(p):
            return one(s, p).astype("boolean")
        return _by_distinct(ev, s, [p], one, "boolean")
    return impl


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
        if not _const(fmt):
            return _by_distinct(ev, x, [fmt], lambda s, f: ev.parse_dates(s, f, date),
                                "datetime64[ns]")
        return ev.parse_dates(x, fmt, date)
    if src.name == "string":
        return ev.parse_dates(x, None, date)
    if src.name in ("int", "float", "decimal"):
        v, mask = _floats(x)
        us = np.round(v * 1e6)
        out = pd.to_datetime(pd.Series(pd.array(np.where(mask, 0, us).astype(np.int64)),
                                       index=x.index), unit="us")
        out[mask] = pd.NaT
        return out.dt.normalize() if date else out
    return x.dt.normalize() if date else x


def _f_if(ev, a, t, tr):
    c, x, y = a
    if not _is_series(c):
        return x if c is True else y
    mask = ev._bool(c).to_numpy(dtype=bool, na_value=False)
    if _is_series(x) or not _is_series(y):
        xs = ev.series(x, tr)
        other = ev.series(y, tr) if _is_series(y) or y is None else y
        return xs.where(mask, other)
    return ev.series(y, tr).where(~mask, x)


def _f_coalesce(ev, a, t, tr):
    res = None
    for v in a:
        if res is None:
            if v is None:
                continue
            if not _is_series(v):
                return v
            res = ev.series(v, tr)
            continue
        if v is None:
            continue
        if _is_series(v):
            res = res.where(res.notna(), ev.series(v, tr))
        else:
            return res.fillna(v)
        if not res.isna().any():
            break
    return res


_FUNCS = {
    "abs": _f_abs,
    "round": _f_round,
    "floor": _f_floor_ceil(np.floor),
    "ceil": _f_floor_ceil(np.ceil),
    "sqrt": _f_unary_float(np.sqrt, lambda v: v >= 0),
    "ln": _f_unary_float(np.log, lambda v: v > 0),
    "exp": _f_unary_float(np.exp, lambda v: np.ones(len(v), bool)),
    "lower": _f_str("lower"),
    "upper": _f_str("upper"),
    "trim": _f_str("strip", " "),
    "length": _f_length,
    "substr": _f_substr,
    "replace": _f_replace,
    "starts_with": _f_pattern("startswith"),
    "ends_with": _f_pattern("endswith"),
    "contains": _f_pattern("contains"),
    "year": _f_part("year"),
    "month": _f_part("month"),
    "day": _f_part("day"),
    "to_date": _f_to_date,
    "to_timestamp": _f_to_timestamp,
    "if": _f_if,
    "coalesce": _f_coalesce,
}


from .pandas_funcs import FUNCS as _MORE_FUNCS
from .pandas_funcs import NULL_AWARE as _NULL_AWARE
from .pandas_funcs import UNIT_FIRST as _UNIT_FIRST
from .pandas_tz import FUNCS as _TZ_FUNCS
from .pandas_tz import stored

_FUNCS.update(_MORE_FUNCS)
_FUNCS.update(_TZ_FUNCS)
from .pandas_json import FUNCS as _JSON_FUNCS

_FUNCS.update(_JSON_FUNCS)


# -- public API ------------------------------------------------------------------------

def _as_expr(expr) -> A.Expr:
    return parse(expr) if isinstance(expr, str) else expr


def _prepare(expr, df, params, context, types, group_keys=()):
    expr = _as_expr(expr)
    params = params or {}
    col_types = frame_types(df, types)
    p_types = {k: param_type(v) for k, v in params.items()}
    t, errors, node_types = infer(expr, col_types, p_types, context, group_keys)
    if errors:
        err = errors[0]
        raise EvalError(f"{err.code}: {err.message}" + (f" ({err.help})" if err.help else ""),
                        A.unparse(expr), start=err.start, end=err.end)
    return expr, t, node_types, col_types


def _finish(v, t: Type, index, ev: _Evaluator) -> pd.Series:
    return stored(ev.series(v, t), t)


def evaluate(expr, df: pd.DataFrame, params: Mapping[str, Any] | None = None, *,
             types: Mapping[str, Type] | None = None, dates_as_dates: bool = False) -> pd.Series:
    """Evaluate a row expression: a Series aligned with ``df`` (constants broadcast).

    ``types`` (optional) gives declared column types where the dtype alone cannot tell
    (decimal scale, date vs timestamp).  A date result is a midnight ``datetime64`` (the
    evaluator's representation) unless ``dates_as_dates``: then it is the runtime's date
    column, Arrow ``date32`` (a derived ``d + 1`` stays a date when written)."""
    expr, t, node_types, col_types = _prepare(expr, df, params, "row", types)
    ev = _Evaluator(df, params, node_types, col_types, A.unparse(expr))
    out = _finish(ev.ev(expr), t, df.index, ev)
    if dates_as_dates and t.name == "date":
        from ..dtypes import to_date
        out = to_date(out).rename(out.name)
    return out


def filter_mask(expr, df: pd.DataFrame, params=None, *, types=None,
                context: str = "filter") -> np.ndarray:
    """numpy bool array: True where the condition is true (null and false drop).
    ``context``: ``filter``, or ``qualify`` (window functions allowed)."""
    expr, _t, node_types, col_types = _prepare(expr, df, params, context, types)
    ev = _Evaluator(df, params, node_types, col_types, A.unparse(expr))
    v = ev.ev(expr)
    if not _is_series(v):
        return np.full(len(df), v is True)
    return ev._bool(v).to_numpy(dtype=bool, na_value=False)


def apply_filter(expr, df: pd.DataFrame, params: Mapping[str, Any] | None = None, *,
                 types: Mapping[str, Type] | None = None,
                 context: str = "filter") -> pd.DataFrame:
    """Rows of ``df`` where the condition is true (SQL WHERE: null counts as false; with
    ``context="qualify"``, SQL QUALIFY: the condition may hold window functions)."""
    mask = filter_mask(expr, df, params, types=types, context=context)
    if mask.all():
        return df
    return df[mask]


# -- aggregation -----------------------------------------------------------------------

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
        items = [(name, _as_expr(e), "aggregate") for name, e in aggs.items()]
        if having is not None:
            items.append(("__having__", _as_expr(having), "having"))
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
            arg = call.args[0]
            nt = _sub_types(self.node_types, arg)
            ev = _Evaluator(df, self.params, nt, self.col_types, A.unparse(arg))
            cols[col] = ev.series(ev.ev(arg), arg_t)
        return pd.DataFrame(cols, index=df.index)

    def finish(self, keys: pd.DataFrame, values: dict[str, pd.Series]) -> pd.DataFrame:
        """Outer expressions over per-group results (``keys`` holds the group keys,
        one row per group, ``values`` the reduced aggregate columns)."""
        keys = keys.reset_index(drop=True)
        n = len(keys)
        base = {k: keys[k] for k in self.group_by}
        for col, call, kind, arg_t in self.calls:
            v = values[col].reset_index(drop=True)
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
            ev = _Evaluator(frame, self.params, node_types, types, A.unparse(expr),
                            agg_values)
            v = ev.ev(expr)
            if name == "__having__":
                if _is_series(v):
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
            v = _snap(v, res_t.scale or 0)
    return v


_AGG_KINDS = {"count", "count_distinct", "sum", "mean", "min", "max", "first", "last", "std",
              "var"}


def _reduce_whole(s: pd.Series | None, kind: str, n: int):
    if kind == "count_star":
        return n
    if kind == "count":
        return int(s.count())
    if kind == "count_distinct":
        return int(s.nunique(dropna=True))
    if kind == "sum":
        return s.sum(min_count=1)
    if kind == "mean":
        return s.mean() if s.count() else None
    if kind in ("min", "max"):
        return getattr(s, kind)() if s.count() else None
    if kind in ("first", "last"):
        nn = s.dropna()
        if not len(nn):
            return None
        return nn.iloc[0] if kind == "first" else nn.iloc[-1]
    if kind in ("std", "var"):
        return getattr(s, kind)(ddof=1) if s.count() > 1 else None
    raise AssertionError(kind)


def _reduce_grouped(g, col: str | None, kind: str):
    if kind == "count_star":
        return g.size()
    sg = g[col]
    if kind == "count":
        return sg.count()
    if kind == "count_distinct":
        return sg.nunique(dropna=True)
    if kind == "sum":
        return sg.sum(min_count=1)
    if kind in ("std", "var"):
        return getattr(sg, kind)(ddof=1)
    return getattr(sg, kind)()


def aggregate(df: pd.DataFrame, group_by, aggs: Mapping[str, Any],
              params: Mapping[str, Any] | None = None, having=None, *,
              types: Mapping[str, Type] | None = None,
              dates_as_dates: bool = False) -> pd.DataFrame:
    """SQL GROUP BY: one row per distinct combination of ``group_by`` (nulls form a group;
    an empty ``group_by`` gives exactly one row), with a column per ``aggs`` expression,
    keeping the groups where ``having`` is true.  Group keys come first.  With
    ``dates_as_dates`` date columns come back as Arrow ``date32`` (see :func:`evaluate`)."""
    plan = AggPlan(df, group_by, aggs, params, having, types)
    out = _aggregate(plan, df)
    if dates_as_dates:
        from ..dtypes import to_date
        date_cols = [k for k in plan.group_by if plan.col_types[k].name == "date"] + \
            [name for name, _e, t, _nt in plan.outputs if t.name == "date" and name in out]
        for name in date_cols:
            out[name] = to_date(out[name])
    return out


def _aggregate(plan: AggPlan, df: pd.DataFrame) -> pd.DataFrame:
    work = plan.temps(df)
    values = {}
    if plan.group_by:
        g = work.groupby(plan.group_by, dropna=False, sort=False, observed=True)
        keys = None
        for col, call, kind, arg_t in plan.calls:
            r = _reduce_grouped(g, col, kind)
            values[col] = r
            if keys is None:
                keys = r.index.to_frame(index=False)
        if keys is None:  # no aggregate calls: just the distinct keys
            keys = g.size().index.to_frame(index=False)
        keys = pd.DataFrame({k: coerce(keys[k], plan.col_types[k]) for k in plan.group_by})
    else:
        n = len(df)
        keys = pd.DataFrame(index=pd.RangeIndex(1))
        for col, call, kind, arg_t in plan.calls:
            s = work[col] if kind != "count_star" else None
            v = _reduce_whole(s, kind, n)
            res_t = plan.node_types.get(id(call), UNKNOWN)
            if res_t.name in ("unknown", "null"):
                res_t = arg_t
            values[col] = _one(v, res_t)
    return plan.finish(keys, values)


def _one(v, t: Type) -> pd.Series:
    v = _to_python(v)
    dtype = pandas_dtype(t)
    if dtype is object:
        return pd.Series([v], dtype=object)
    if t.name in _TEMPORAL and v is not None:
        v = _utc_stamp(v)
    return pd.Series(pd.array([v], dtype=dtype))


def metric(expr, df: pd.DataFrame, params: Mapping[str, Any] | None = None, *,
           types: Mapping[str, Type] | None = None):
    """An aggregate expression over the whole frame, as a Python scalar (None for null;
    dates as datetime.date, timestamps as datetime.datetime)."""
    expr = _as_expr(expr)
    col_types = frame_types(df, types)
    p_types = {k: param_type(v) for k, v in (params or {}).items()}
    t, errors, _ = infer(expr, col_types, p_types, "metric")
    if errors:
        err = errors[0]
        raise EvalError(f"{err.code}: {err.message}", A.unparse(expr))
    out = aggregate(df, [], {"value": expr}, params, types=types)
    return _to_python(out["value"].iloc[0], t)

