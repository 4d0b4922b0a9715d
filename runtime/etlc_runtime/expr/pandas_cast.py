"""The pandas engine's ``cast:`` step under the one cast table (``expr.casts``): the pairs whose
rule is DuckDB's and differed from the runtime's column conversion (a double to an int rounds
half to even; text to bool takes DuckDB's words only, no spaces) are done here; every other
pair keeps the runtime's exact conversion (``dtypes.cast_series``: Arrow decimals, dates)."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .casts import BOOL_FALSE, BOOL_TRUE, NUMBER_TEXT

__all__ = ["float_to_int", "step_cast", "text_to_bool", "text_to_int"]


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


def text_to_int(s: pd.Series, name: str = "?") -> pd.Series:
    """Number text to Int64 as DuckDB: spaces ignored, a fraction or exponent rounded half
    away from zero ('2.5' -> 3); anything else, or beyond 64 bits, is an error."""
    import decimal

    from ..dtypes import CastError

    obj = s.astype(object)
    mask = s.isna().to_numpy()
    text = pd.Series(["0" if m else str(v) for v, m in zip(obj, mask)], index=s.index)
    ok = text.str.fullmatch(NUMBER_TEXT).to_numpy(bool)
    out = np.zeros(len(s), np.int64)
    for k in np.flatnonzero(~mask):
        v = None
        if ok[k]:
            q = decimal.Decimal(text.iloc[k].strip()).quantize(
                decimal.Decimal(1), rounding=decimal.ROUND_HALF_UP)
            v = int(q) if -2**63 <= q < 2**63 else None
        if v is None:
            raise CastError(f"column '{name}': not a valid int: {obj.iloc[k]!r}")
        out[k] = v
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
