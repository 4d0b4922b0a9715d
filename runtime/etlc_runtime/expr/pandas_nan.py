"""NaN in the pandas evaluators with DuckDB's and PostgreSQL's meaning (docs/expressions.md,
"NaN"): NaN is a value, equal to itself and above every number (``inf`` included), apart
from null.  pandas compares NaN as IEEE does (every comparison false, ``<>`` true) and its
masked reductions read NaN as missing (``max`` of a group of NaN is ``-inf``, ``sum`` null),
so the comparisons and the reductions over float columns go through here.  Masked arrays are
read through pandas' public API only (``to_numpy``, ``isna``, the ``FloatingArray`` and
``BooleanArray`` constructors), never ``_data``/``_mask`` (tests/expr/test_no_private_api.py)."""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from .pandas_numeric import float_or_zero, floats


def nan_flags(v: Any) -> Any:
    """Where ``v`` is NaN (never at a null): a numpy bool array for a float Series, a bool
    for a scalar, None when ``v`` cannot hold NaN."""
    if isinstance(v, pd.Series):
        arr = v.array
        if isinstance(arr, pd.arrays.FloatingArray):
            flags = np.isnan(float_or_zero(arr))
        elif isinstance(v.dtype, np.dtype) and v.dtype.kind == "f":
            flags = np.isnan(v.to_numpy())
        else:
            return None
        return flags if flags.any() else None
    if isinstance(v, float | np.floating) and math.isnan(v):
        return True
    return None


def spread_flags(v: pd.Series) -> np.ndarray | None:
    """Where a float Series is NaN or +-inf (never at a null), None when nowhere: std and
    var of two values or more are NaN over such a value (DuckDB: inf - inf), where pandas'
    masked reductions give null."""
    arr = v.array
    if isinstance(arr, pd.arrays.FloatingArray):
        flags = ~np.isfinite(float_or_zero(arr))
    elif isinstance(v.dtype, np.dtype) and v.dtype.kind == "f":
        flags = np.isinf(v.to_numpy())
    else:
        return None
    return flags if flags.any() else None


def _infs_of_both_signs(v: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """(where +inf, where -inf) of a float Series holding both, else None (pandas' masked
    sum of the two is null, IEEE's and DuckDB's NaN)."""
    arr = v.array
    if not isinstance(arr, pd.arrays.FloatingArray):
        return None
    values = float_or_zero(arr)
    pos, neg = values == np.inf, values == -np.inf
    return (pos, neg) if pos.any() and neg.any() else None


def compare(fn: Callable, a: Any, b: Any) -> Any:
    """``fn(a, b)`` for a comparison operator ``fn``, NaN ordered above every number and equal
    to itself; None when neither side holds a NaN (the caller's plain comparison applies)."""
    na, nb = nan_flags(a), nan_flags(b)
    if na is None and nb is None:
        return None
    if not isinstance(a, pd.Series) and not isinstance(b, pd.Series):
        return bool(fn(bool(na), bool(nb))) if bool(na) != bool(nb) else bool(fn(0, 0))
    n = len(a) if isinstance(a, pd.Series) else len(b)
    fa = np.zeros(n, bool) if na is None else np.broadcast_to(na, n)
    fb = np.zeros(n, bool) if nb is None else np.broadcast_to(nb, n)
    out = fn(_zeroed(a, fa), _zeroed(b, fb))   # both NaN: 0 against 0, equal
    differ = fa != fb
    if differ.any():
        values = out.to_numpy(dtype=bool, na_value=False, copy=True)
        mask = out.isna().to_numpy(copy=True)
        values[differ] = fn(fa[differ].astype(int), fb[differ].astype(int))
        out = pd.Series(pd.arrays.BooleanArray(values, mask), index=out.index, copy=False)
    return out


def _zeroed(v: Any, flags: np.ndarray) -> Any:
    if not isinstance(v, pd.Series):
        return 0.0 if isinstance(v, float | np.floating) and math.isnan(v) else v
    if not flags.any():
        return v
    return v.mask(pd.Series(flags, index=v.index), 0.0)


# the reductions a NaN decides (min: only in a group of NaN alone; std and var: from two
# values on, below that they are null, and +-inf decides them as NaN does)
_NAN_WINS = {"sum", "mean", "max"}
_SUMS = {"sum", "mean"}   # NaN also over +inf and -inf together
_SPREAD = {"std", "var"}


def reduce_whole(s: pd.Series, kind: str, plain: Callable[[pd.Series], Any]) -> Any:
    """``plain`` (the reduction over values that are no NaN) with DuckDB's NaN rules."""
    if kind in _SUMS and _infs_of_both_signs(s) is not None:
        return math.nan   # inf + -inf
    flags = spread_flags(s) if kind in _SPREAD else nan_flags(s)
    if flags is None or kind not in _NAN_WINS | _SPREAD | {"min"}:
        return plain(s)
    if kind in _NAN_WINS or (kind in _SPREAD and s.count() > 1):
        return math.nan
    if kind in _SPREAD:
        return plain(s)
    rest = s[~flags]
    return plain(rest) if rest.count() else math.nan


def reduce_grouped(s: pd.Series, by: list, kind: str,
                   plain: Callable[[Any], pd.Series]) -> pd.Series | None:
    """The grouped form of :func:`reduce_whole` (``by``: the key Series of the grouping,
    ``plain`` the reduction of a SeriesGroupBy); None when ``s`` holds no NaN."""
    flags = spread_flags(s) if kind in _SPREAD else nan_flags(s)
    infs = _infs_of_both_signs(s) if kind in _SUMS else None
    if (flags is None and infs is None) or kind not in _NAN_WINS | _SPREAD | {"min"}:
        return None
    flags = np.zeros(len(s), bool) if flags is None else flags
    cleaned = s.mask(pd.Series(flags, index=s.index))      # NaN -> null for pandas' reductions
    group = {"dropna": False, "sort": False, "observed": True}
    out = plain(cleaned.groupby(by, **group)).astype("Float64")

    def any_of(f: np.ndarray) -> np.ndarray:
        return pd.Series(f, index=s.index).groupby(by, **group).any().reindex(out.index) \
            .to_numpy(bool)
    put = any_of(flags)
    if infs is not None:   # inf + -inf in one group
        put = put | (any_of(infs[0]) & any_of(infs[1]))
    if kind == "min":
        put = put & out.isna().to_numpy()
    elif kind in _SPREAD:
        put = put & (s.groupby(by, **group).count().reindex(out.index).to_numpy() > 1)
    return put_nan(out, put)


def put_nan(s: pd.Series, put: np.ndarray) -> pd.Series:
    """A Float64 copy of ``s`` that is NaN (not null) where ``put`` is true."""
    data, mask = floats(s)
    data, mask = data.copy(), mask.copy()
    data[put], mask[put] = np.nan, False
    return pd.Series(pd.arrays.FloatingArray(data, mask), index=s.index, name=s.name)


def divide(a: pd.Series, b: pd.Series) -> pd.Series:
    """``a / b`` of two Float64 Series keeping a NaN quotient NaN (pandas' masked division
    makes it null); null where either side is."""
    (x, mx), (y, my) = floats(a.astype("Float64")), floats(b.astype("Float64"))
    with np.errstate(all="ignore"):
        data = x / y
    return pd.Series(pd.arrays.FloatingArray(data, mx | my), index=a.index, copy=False)


def sqrt(v: pd.Series) -> pd.Series:
    """The square root of a Float64 Series keeping NaN NaN (numpy's ufunc on a masked array
    makes it null)."""
    x, mask = floats(v.astype("Float64"))
    with np.errstate(all="ignore"):
        data = np.sqrt(x)
    return pd.Series(pd.arrays.FloatingArray(data, mask), index=v.index, copy=False)
