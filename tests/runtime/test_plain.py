"""plain(): the one rule that turns metrics, check examples and operator results into JSON
data; every output must survive json.dumps(allow_nan=False) and keep what JSON can hold."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from etlc_runtime.plain import plain
from hypothesis import given
from hypothesis import strategies as st

CASES = [
    (None, None), (float("nan"), None), (float("inf"), None), (-math.inf, None),
    (pd.NA, None), (pd.NaT, None), (np.float64("nan"), None),
    (np.int64(2**63 - 1), 2**63 - 1), (np.float32(1.5), 1.5), (np.bool_(True), True),
    (True, True), ("", ""), (0, 0), (-0.0, -0.0),
    (decimal.Decimal("12.50"), 12.5),
    (dt.date(1, 1, 1), "0001-01-01"), (dt.datetime(2024, 2, 29, 1, 2, 3, 4), "2024-02-29T01:02:03.000004"),
    (pd.Timestamp("2024-01-02 03:04:05.000006"), "2024-01-02T03:04:05.000006"),
    (pa.scalar(7, pa.int64()), 7), (pa.scalar(None, pa.int64()), None),
    (pa.scalar(decimal.Decimal("1.25"), pa.decimal128(5, 2)), 1.25),
    ([np.int64(1), float("nan"), "x"], [1, None, "x"]), ((1, 2), [1, 2]),
    ({"a": np.float64(0.5), 3: [pd.NA]}, {"a": 0.5, "3": [None]}),
    (object, str(object)),
]


@pytest.mark.parametrize("value, expected", CASES, ids=[repr(c[0])[:30] for c in CASES])
def test_plain_values(value, expected):
    got = plain(value)
    assert got == expected and type(got) is type(expected)
    json.dumps(got, allow_nan=False)


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text()
                    | st.decimals() | st.dates() | st.datetimes(),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=3), inner, max_size=3), max_leaves=8))
def test_anything_becomes_strict_json(value):
    json.dumps(plain(value), allow_nan=False)
