"""Sums of ints beyond 64 bits are R041, as on DuckDB (it sums BIGINT into HUGEINT and its
conversion back to BIGINT fails), never a wrapped value (docs/expressions.md, "Int
arithmetic beyond 64 bits").

numpy and pandas sum int64 modulo 2**64: where the true sum ``T`` is within 64 bits the
wrapped sum ``W`` is ``T`` exactly (whatever the order of the additions, so Dask's partial
sums and their combination wrap harmlessly), and where it is not ``W`` is ``T`` minus a
multiple of 2**64.  Beside each int sum the engines also sum the values as doubles (``F``,
off ``T`` by far less than 2**62: pandas' float sums are pairwise or Kahan-compensated);
``|W - F| > 2**62`` tells a wrapped sum, and ``W + round((F - W) / 2**64) * 2**64`` is ``T``.
The doubles are summed only where a sum could leave 2**53 (:func:`small`).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .errors import EvalError

__all__ = ["as_floats", "check", "small", "true_sum", "unwrapped", "wrapped"]

_SLACK = 2.0 ** 62
_WRAP = 2 ** 64


def small(s: pd.Series) -> bool:
    """Whether no sum of values of ``s`` (an int Series) can leave 2**53: rows times the
    largest magnitude below it (numpy's min and max, nulls as 0): then no int64 sum wraps and
    its double sums are exact, so nothing is checked (the cheap common case)."""
    v = s.to_numpy(dtype=np.int64, na_value=0)   # no copy where there is no null
    if not len(v):
        return True
    return max(abs(int(v.min())), abs(int(v.max()))) * len(v) < 2 ** 53


def as_floats(s: pd.Series) -> pd.Series:
    """The int values of ``s`` as doubles, 0.0 at nulls (summed beside the ints)."""
    v = s.to_numpy(dtype=np.int64, na_value=0).astype(np.float64)   # numpy's, 5x pandas'
    return pd.Series(v, index=s.index, copy=False)


def wrapped(w: pd.Series, f: Any) -> np.ndarray:
    """Where the int64 sums ``w`` wrapped around, given the sums ``f`` of the same values as
    doubles."""
    wv = w.to_numpy(dtype=np.float64, na_value=0.0)
    fv = np.asarray(f.to_numpy(dtype=np.float64, na_value=0.0) if isinstance(f, pd.Series)
                    else f, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return np.abs(wv - fv) > _SLACK


def true_sum(w: int, f: float) -> int:
    """The exact sum of values whose int64 sum is ``w`` and double sum ``f``."""
    return int(w) + round((float(f) - int(w)) / _WRAP) * _WRAP


def unwrapped(w: pd.Series, f: pd.Series) -> pd.Series:
    """``w`` (int64 sums) as Float64, the true sum where one wrapped (a ``mean``'s sum:
    DuckDB divides its HUGEINT sum)."""
    bad = wrapped(w, f)
    out = w.astype("Float64")
    if bad.any():
        fixed = out.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
        for i in np.flatnonzero(bad):
            fixed[i] = float(true_sum(w.iloc[i], f.iloc[i]))
        out = pd.Series(pd.arrays.FloatingArray(fixed, out.isna().to_numpy()),
                        index=w.index, copy=False)
    return out


def check(w: pd.Series, f: Any, output: str, expression: str | None,
          call: Any = None, keys: pd.DataFrame | None = None) -> None:
    """R041 at the first group (``row``: its position among the groups; 0 without
    ``group_by``) whose int sum ``w`` is beyond 64 bits, naming the aggregate ``output``,
    the group's keys and the exact sum (``value``)."""
    bad = wrapped(w, f)
    if not bad.any():
        return
    i = int(np.flatnonzero(bad)[0])
    fv = f.iloc[i] if isinstance(f, pd.Series) else np.asarray(f)[i]
    value = true_sum(w.iloc[i], fv)
    where = ""
    if keys is not None and len(keys.columns):
        where = " in the group " + ", ".join(f"{k}={_plain(keys[k].iloc[i])!r}" for k in keys.columns)
    err = EvalError(f"value out of range for int: the sum of ints is {value}, beyond 64 bits "
                    f"(aggregate output '{output}'{where})", expression, value, row=i)
    if call is not None:
        err.at(call.start, call.end)
    raise err


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v
