"""Arrow decimals to doubles (expr/decimal_floats.py, the pandas evaluator's coerce): the
vectorised path gives float(Decimal)'s nearest double for every value, null, width, scale,
chunking and slice offset; coerce of a decimal128[pyarrow] column equals the per-value
conversion it replaced."""

from __future__ import annotations

import decimal

import numpy as np
import pandas as pd
import pyarrow as pa
from etlc_runtime.expr.decimal_floats import decimal_floats
from etlc_runtime.expr.pandas_columns import coerce
from etlc_runtime.expr.types import Type
from hypothesis import example, given, settings
from hypothesis import strategies as st

EDGES = [0, 1, -1, 2 ** 53, 2 ** 53 + 1, -(2 ** 53) - 1, 2 ** 63 - 1, -(2 ** 63), 2 ** 63,
         10 ** 38 - 1, -(10 ** 38 - 1), 9007199254740993, 123456789012345678,
         2 ** 64 + 5, -(2 ** 64) - 5]


def _dec(unscaled: int, scale: int) -> decimal.Decimal:
    return decimal.Decimal(f"{unscaled}E-{scale}")  # exact: the constructor never rounds


def _expected(unscaled: list, scale: int) -> list:
    return [None if u is None else float(_dec(u, scale)) for u in unscaled]


def _array(unscaled: list, precision: int, scale: int, wide: bool) -> pa.Array:
    t = (pa.decimal256 if wide else pa.decimal128)(precision, scale)
    return pa.array([None if u is None else _dec(u, scale) for u in unscaled], t)


def _same(values: np.ndarray, mask: np.ndarray, expected: list) -> None:
    assert mask.tolist() == [e is None for e in expected]
    got = [None if m else float(v) for v, m in zip(values, mask)]
    assert got == expected  # exact: the nearest double, not within a tolerance


unscaled_values = st.lists(st.one_of(st.none(), st.integers(-(10 ** 38 - 1), 10 ** 38 - 1),
                                     st.integers(-(2 ** 54), 2 ** 54), st.sampled_from(EDGES)),
                           max_size=40)


@settings(max_examples=200, deadline=None)
@given(unscaled=unscaled_values, scale=st.integers(0, 30), wide=st.booleans(),
       cut=st.integers(0, 5), chunks=st.integers(1, 3))
@example(unscaled=[3, None, -1, 10 ** 38 - 1], scale=2, wide=False, cut=0, chunks=1)
@example(unscaled=[2 ** 53 + 1, 1], scale=0, wide=False, cut=0, chunks=1)
@example(unscaled=[1, 7], scale=23, wide=False, cut=0, chunks=1)
def test_nearest_double_of_every_decimal(unscaled, scale, wide, cut, chunks):
    unscaled = [u if u is None or abs(u) < 10 ** 38 else None for u in unscaled]
    arr = _array(unscaled, 38, scale, wide)
    arr = arr.slice(min(cut, len(arr)))  # a non-zero offset into the buffers
    kept = unscaled[min(cut, len(unscaled)):]
    size = max(1, -(-len(arr) // chunks))
    pieces = [arr.slice(i, size) for i in range(0, len(arr), size)] or [arr]
    values, mask = decimal_floats(pa.chunked_array(pieces, arr.type))
    _same(values, mask, _expected(kept, scale))


def test_empty():
    values, mask = decimal_floats(pa.chunked_array([], pa.decimal128(15, 2)))
    assert values.shape == (0,) and mask.shape == (0,)


@settings(max_examples=60, deadline=None)
@given(unscaled=st.lists(st.one_of(st.none(), st.integers(-(10 ** 15 - 1), 10 ** 15 - 1)), max_size=30),
       scale=st.integers(0, 6))
def test_coerce_of_arrow_decimals_equals_the_per_value_conversion(unscaled, scale):
    s = pd.Series(pd.array(_array(unscaled, 15, scale, False), dtype=pd.ArrowDtype(pa.decimal128(15, scale))),
                  index=pd.RangeIndex(5, 5 + len(unscaled)), name="x")
    out = coerce(s, Type("decimal", scale=scale))
    assert out.dtype == "Float64" and out.name == "x" and out.index.equals(s.index)
    slow = [None if v is None else float(v) for v in s.array.to_pylist()] if hasattr(s.array, "to_pylist") \
        else [None if v is pd.NA else float(v) for v in s]
    assert [None if v is pd.NA else v for v in out] == slow
