"""Numeric helpers of the pandas evaluator: float columns as (values, null mask), rounding as
DuckDB rounds (half away from zero, decided on the exact binary value of a double), and
decimals held as floats kept exact at their scale."""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["dec_mod", "dec_round", "float_arith", "int_wrapped", "float_or_zero", "float_series",
           "float_values", "floats", "round_exact", "round_half_away", "snap"]


def floats(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(float values with NaN at nulls, null mask); a NaN value of a masked float column
    stays NaN with no null.  Public API only (``to_numpy``, ``isna``), no pandas internals
    (``_data``/``_mask``), so that other array back ends (cuDF) can follow."""
    arr = s.array
    if isinstance(arr, pd.arrays.FloatingArray | pd.arrays.IntegerArray):
        return arr.to_numpy(dtype=np.float64, na_value=np.nan), arr.isna()
    v = s.to_numpy(dtype=np.float64, na_value=np.nan)
    return v, np.isnan(v)


def float_or_zero(arr: pd.arrays.FloatingArray) -> np.ndarray:
    """The doubles of a masked float array, 0.0 at nulls (so NaN only where a value is
    NaN): the array's own buffer where it has no null, never written to."""
    return arr.to_numpy(dtype=np.float64, na_value=0.0)


def float_series(values: np.ndarray, mask: np.ndarray, index) -> pd.Series:
    """A Float64 Series, null where ``mask`` is true or a value is NaN."""
    return float_values(values, mask | np.isnan(values), index)


def float_values(values: np.ndarray, mask: np.ndarray, index, fresh: bool = False
                 ) -> pd.Series:
    """A Float64 Series, null only where ``mask`` is true: a NaN value stays NaN (pandas'
    masked arithmetic and ufuncs would make it null).  ``fresh``: both arrays were made for
    this result (a ufunc's output), so a full-length one is kept instead of copied."""
    n = len(index)
    if not (fresh and np.shape(values) == (n,) and values.dtype == np.float64):
        values = np.array(np.broadcast_to(values, n), dtype=np.float64)
    if not (fresh and np.shape(mask) == (n,) and mask.dtype == bool):
        mask = np.array(np.broadcast_to(mask, n), dtype=bool)
    return pd.Series(pd.arrays.FloatingArray(values, mask), index=index, copy=False)


_FLOAT_OPS = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide, "%": np.fmod}


def float_arith(op: str, a, b, index) -> pd.Series:
    """``a op b`` with a float result, on the raw doubles with the null mask carried apart,
    so that NaN stays NaN; ``x / 0`` and ``x % 0`` are null (docs/expressions.md, div_zero
    and mod_zero)."""
    (x, mx), (y, my) = (floats(v) if isinstance(v, pd.Series) else (np.float64(v), False)
                        for v in (a, b))
    mask = mx | my
    if op in ("/", "%"):
        mask = mask | (y == 0)
    with np.errstate(all="ignore"):
        r = _FLOAT_OPS[op](x, y)
    # r is new; mask is new unless an operand's own mask came through (x + constant)
    return float_values(r, mask, index, fresh=mask is not mx and mask is not my)


def round_half_away(values: np.ndarray, digits) -> np.ndarray:
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


def round_exact(values: np.ndarray, digits) -> np.ndarray:
    """round(x, n) as DuckDB does it for doubles: half away from zero, decided on the
    exact binary value of x (round(1.45, 1) is 1.4 because 1.45 is 1.4499999...)."""
    digits = np.asarray(digits)
    if digits.ndim == 0 and digits < 0:
        return round_half_away(values, digits)
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
        out = np.where(digits < 0, round_half_away(values, np.minimum(digits, 0)), out)
    bad = ~np.isfinite(out) & np.isfinite(values)
    if bad.any():
        out = np.where(bad, values, out)
    return out


# a decimal held as a double is exact at its scale while its scaled value has at most 15
# digits (every such decimal has its own nearest double); beyond, digits would be lost
EXACT_SCALED = 1e15


def snap(s: pd.Series, scale: int) -> pd.Series:
    """Round decimal values (held as floats) to their scale, removing float noise; a value
    beyond what a double holds exactly at that scale is an R041 error, never a rounded
    value (the duckdb engine computes such decimals exactly)."""
    if not isinstance(s, pd.Series):
        if s is not None and abs(float(s)) * 10.0 ** scale >= EXACT_SCALED:
            raise _beyond(float(s), scale, None)
        return None if s is None else round(float(s), scale)
    v, mask = floats(s)
    with np.errstate(invalid="ignore", over="ignore"):
        big = ~mask & (np.abs(v) * 10.0 ** scale >= EXACT_SCALED)
    if big.any():
        row = int(np.flatnonzero(big)[0])
        raise _beyond(float(v[row]), scale, row)
    return float_series(np.round(v, scale), mask, s.index)


def _beyond(value: float, scale: int, row: int | None) -> Exception:
    from .errors import EvalError

    return EvalError(f"a decimal({scale}) value of about {value:.17g} has more than 15 significant "
                     f"digits, more than the pandas and dask engines compute exactly "
                     f"(engine: duckdb computes it exactly)", value=value, row=row)


def dec_mod(a, b, scale: int) -> pd.Series:
    """Decimal remainder, exact as SQL's DECIMAL %: fmod of the scaled integers, so that
    0.3 % 0.1 is 0.0 (fmod of the floats gives 0.09999...)."""
    series = a if isinstance(a, pd.Series) else b
    q = 10.0 ** scale
    parts = [floats(v) if isinstance(v, pd.Series) else (np.float64(v), False) for v in (a, b)]
    (av, am), (bv, bm) = parts
    with np.errstate(all="ignore"):
        r = np.fmod(np.round(av * q), np.round(bv * q)) / q + 0.0  # no -0.0 in decimals
    r = np.broadcast_to(r, (len(series),)).copy()
    return float_series(r, np.zeros(len(series), bool) | am | bm, series.index)


def dec_round(s: pd.Series, from_scale: int, digits: int) -> pd.Series:
    """Exact half-away-from-zero rounding of decimal values to ``digits`` places."""
    v, mask = floats(s)
    ints = np.round(v * 10.0 ** from_scale)  # exact integers for scaled decimals
    shift = from_scale - digits
    if shift <= 0:
        return float_series(ints / 10.0 ** from_scale, mask, s.index)
    q = 10.0 ** shift
    a = np.abs(ints)
    r = np.floor((a + q / 2) / q)
    out = np.copysign(r, ints) * q / 10.0 ** from_scale
    return float_series(np.round(out, max(digits, 0)), mask, s.index)



def _ints(v) -> tuple:
    if isinstance(v, pd.Series):
        return v.to_numpy(dtype=np.int64, na_value=0), v.isna().to_numpy(dtype=bool)
    return np.int64(v), False


def int_wrapped(op: str, a, b, r: pd.Series) -> int | None:
    """The position of the first row where the int64 result ``r`` of ``a op b`` (``+``,
    ``-``, ``*``; ``neg`` and ``abs`` of ``a``) wrapped around 64 bits, which DuckDB refuses
    (an Out of Range error) and pandas' masked arithmetic does silently; None when none."""
    x, mx = _ints(a)
    y, my = _ints(b) if b is not None else (np.int64(0), False)
    z = r.to_numpy(dtype=np.int64, na_value=0)
    low = np.iinfo(np.int64).min
    with np.errstate(all="ignore"):
        if op == "+":
            bad = ((x ^ z) & (y ^ z)) < 0
        elif op == "-":
            bad = ((x ^ y) & (x ^ z)) < 0
        elif op == "*":   # exact division undoes a product that did not wrap
            nz = x != 0
            bad = nz & ((z // np.where(nz, x, 1) != y) | ((x == -1) & (y == low)))
        else:
            bad = x == low
    bad = np.broadcast_to(bad & ~(mx | my), len(r)) & ~r.isna().to_numpy(dtype=bool)
    return int(np.flatnonzero(bad)[0]) if bad.any() else None
