"""Decimals on the pandas evaluator (and Dask's partitions), exact or R041.

The evaluator holds a decimal of scale ``s`` as the nearest double of its value, which tells
every decimal apart while its unscaled value has at most 15 digits
(``pandas_numeric.EXACT_SCALED``).  Every way a decimal comes into being follows that rule
(docs/types.md, "Computed decimals"): the exact value, as DuckDB computes it, or R041 naming
the row and the value where a double would not hold it, never a changed value:

- :func:`cast_decimal`: ``cast(x as decimal(p, s))`` of text (parsed exactly: a double is
  used only where it cannot round differently from the text, the rest goes through
  ``Decimal``), of an int (beyond 2**53 a double would change it), of a float (DuckDB's
  rounding of the double) and of a decimal of another scale;
- :func:`held`: an int or Arrow decimal column taken as a decimal (``pandas_columns.coerce``:
  a column reference, an int beside a decimal in ``coalesce``/``case``/``greatest``), and
  :func:`int_operand`, an int operand of decimal arithmetic (``i % 0.7``, ``i + d``); the
  results of arithmetic and aggregates are held by ``pandas_numeric.snap``;
- :func:`wide_literal`: a decimal literal of 16 or more digits.
"""
from __future__ import annotations

import decimal
from typing import Any

import numpy as np
import pandas as pd

from .pandas_numeric import (
    EXACT_SCALED,
    dec_round,
    float_series,
    float_values,
    floats,
    round_half_away,
)
from .types import Type

__all__ = ["beyond", "cast_decimal", "held", "held_ints", "int_operand", "wide_literal"]

_MAX_SCALE = 22   # 10.0**s is exact up to here: r / 10**s is then one correct rounding
_HELD = 10 ** 15  # EXACT_SCALED as an int


def beyond(scale: int, value: Any, row: Any = None):
    """R041: a decimal of ``scale`` with more digits than a double holds exactly."""
    from .errors import EvalError

    return EvalError(f"the decimal(s={scale}) value {value!s} has more than 15 significant "
                     f"digits, more than the pandas and dask engines hold exactly (a double); "
                     f"engine: duckdb computes it exactly", value=value,
                     row=None if row is None else int(row))


def held_ints(values: np.ndarray, mask: np.ndarray, scale: int) -> np.ndarray:
    """The rows of int64 ``values`` (not null) whose value as a decimal of ``scale`` has 16
    or more digits (|n| * 10**scale >= 10**15), exactly, without overflow."""
    limit = _HELD // 10 ** scale if scale <= 15 else 0
    return ~mask & ~((values > -limit) & (values < limit)) if limit else ~mask & (values != 0)


def held(s: pd.Series, out: pd.Series, scale: int) -> None:
    """R041 at the first row where ``out`` (the doubles of the int or decimal column ``s``
    taken as a decimal of ``scale``) does not hold the value exactly; the value as ``s``
    holds it (an int, a ``Decimal``)."""
    if pd.api.types.is_integer_dtype(s.dtype):
        bad = held_ints(s.to_numpy(dtype=np.int64, na_value=0), s.isna().to_numpy(), scale)
    else:
        v, mask = floats(out)
        with np.errstate(invalid="ignore", over="ignore"):
            bad = ~mask & ~(np.abs(v) * 10.0 ** scale < EXACT_SCALED)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        value = s.iloc[k]
        raise beyond(scale, value.item() if isinstance(value, np.generic) else value,
                     s.index[k])


def int_operand(v: Any, scale: int) -> None:
    """R041 where an int operand ``v`` (a column or a constant) of decimal arithmetic with a
    result of ``scale`` has 16 or more digits as that decimal: the double it is computed
    as would not hold it (``i % 0.7`` of 2**53 + 1)."""
    if isinstance(v, pd.Series):
        held(v, v, scale)
    elif v is not None and abs(int(v)) * 10 ** scale >= _HELD:
        raise beyond(scale, int(v))


def wide_literal(value: decimal.Decimal, rows: int) -> None:
    """R041 (no row: a constant) for a decimal literal of 16 or more digits unscaled, which
    the double it is held as would change (``x = 1.2500000000000000001`` would be true),
    where a row evaluates it (``rows``), as other constants that fail (docs/expressions.md)."""
    exponent = value.as_tuple().exponent
    scale = max(0, -exponent) if isinstance(exponent, int) else 0
    if rows and abs(value.scaleb(scale)) >= _HELD:
        raise beyond(scale, value)


def _text_values(ev, s: pd.Series, scale: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """(the unscaled values of number text rounded half away from zero to ``scale``, as
    doubles (exact integers below 10**15; beyond, only their size counts), null mask, the
    exact unscaled int of each row rounded by ``Decimal``).
    A double parsed from the text is used where the text cannot round otherwise: its scaled
    value y below 10**15 and farther from a half than the double's error (the parse's and
    the product's, under |y| * 5e-16); other text is rounded exactly by ``Decimal``."""
    from .pandas_cast import parse_numbers

    v, mask = floats(parse_numbers(ev, s, "decimal"))
    with np.errstate(invalid="ignore", over="ignore"):
        y = v * 10.0 ** scale
        a = np.abs(y)
        frac = a - np.floor(a)
        fast = (a < EXACT_SCALED) & (np.abs(frac - 0.5) > a * 5e-16) | mask
    if scale > _MAX_SCALE:
        fast = mask.copy()
    r = np.copysign(np.floor(a) + (frac > 0.5), y)
    slow = np.flatnonzero(~fast)
    exact: dict[int, int] = {}
    if len(slow):
        quantum = decimal.Decimal(1).scaleb(-scale)
        texts = s.to_numpy(dtype=object)[slow]
        with decimal.localcontext() as ctx:
            ctx.prec = 1000
            half_up, number = decimal.ROUND_HALF_UP, decimal.Decimal
            for k, text in zip(slow.tolist(), texts.tolist()):
                q = int(number(text.strip()).quantize(quantum, rounding=half_up).scaleb(scale))
                r[k] = q if abs(q) < 10 ** 300 else np.inf   # a double's range
                exact[k] = q
    return r, mask, exact


def _checked(ev, s: pd.Series, unscaled: np.ndarray, mask: np.ndarray, dst: Type,
             precision: int, exact: dict | None = None) -> pd.Series:
    """The decimals of the unscaled values (doubles), or the first row's error: beyond
    ``precision`` DuckDB's out-of-range error (decided on the ``exact`` unscaled int where
    one is given), beyond 15 digits :func:`beyond`; the value as ``s`` holds it."""
    scale = dst.scale or 0
    with np.errstate(invalid="ignore"):
        a = np.abs(unscaled)
        over = ~mask & ~(a < 10.0 ** precision)             # NaN and inf too
        big = ~mask & ~(a < EXACT_SCALED)
    bad = over | big
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        value = s.iloc[k]
        value = value.item() if isinstance(value, np.generic) else value
        if exact and k in exact:
            over[k] = not abs(exact[k]) < 10 ** precision
        if over[k]:
            raise ev.fail(f"value out of range for decimal({precision}, {scale})", value,
                          s.index[k])
        raise beyond(scale, value, None if ev.constant else s.index[k])
    if scale <= _MAX_SCALE:
        values = np.where(mask, 0.0, unscaled) / 10.0 ** scale + 0.0   # no -0.0
    else:
        values = np.array([0.0 if m else float(decimal.Decimal(int(u)).scaleb(-scale))
                           for u, m in zip(unscaled.tolist(), mask)], dtype=np.float64)
    return float_values(values, mask, s.index)


def cast_decimal(ev, s: pd.Series, sn: str, src: Type, dst: Type, precision: int) -> pd.Series:
    """``cast(s as decimal(precision, dst.scale))`` from ``sn`` (string, int, float,
    decimal, bool): DuckDB's value, or R041 at the row (see the module docstring)."""
    scale = dst.scale or 0
    if sn == "string":
        unscaled, mask, exact = _text_values(ev, s, scale)
        return _checked(ev, s, unscaled, mask, dst, precision, exact)
    if sn == "int":   # exact: the int itself, never through a double beyond 10**15
        n = s.to_numpy(dtype=np.int64, na_value=0)
        mask = s.isna().to_numpy()
        digits = precision - scale
        over = ~mask & ~((n > -10 ** digits) & (n < 10 ** digits)) if 0 <= digits <= 18 \
            else ~mask & (digits < 0)
        bad = over | held_ints(n, mask, scale)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            if over[k]:
                raise ev.fail(f"value out of range for decimal({precision}, {scale})",
                              int(n[k]), s.index[k])
            raise beyond(scale, int(n[k]), None if ev.constant else s.index[k])
        return float_values(n.astype(np.float64), mask, s.index)
    v, mask = floats(s.astype("Float64") if sn == "bool" else s)
    if sn == "decimal" and (src.scale or 0) > scale:
        res = dec_round(float_series(v, mask, s.index), src.scale or 0, scale)
        unscaled = np.round(floats(res)[0] * 10.0 ** scale)
    else:   # DuckDB rounds a double's product with 10**s half away from zero
        with np.errstate(invalid="ignore", over="ignore"):
            unscaled = round_half_away(v * 10.0 ** scale, 0)
    return _checked(ev, s, unscaled, mask, dst, precision)
