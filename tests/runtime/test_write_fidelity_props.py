"""Issue 10, the write side as a property: for any typed table hypothesis draws (int64
bounds, any double including NaN, ±inf and -0.0, decimals at full precision, any unicode text
including empty and null-like strings, dates 0001..9999, microsecond timestamps), what the
pandas and the duckdb engine write to CSV and JSON Lines reads back, through reference
parsers that are not etlc's readers, equal to what went in; and both engines' files say the
same values."""

from __future__ import annotations

import datetime as dt
import decimal

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_write_fidelity import _read_csv, _read_json, _same, _write

D = decimal.Decimal
N = 4
COLUMNS = {"i": {"type": "int"}, "f": {"type": "float"},
           "d": {"type": "decimal", "scale": 3, "precision": 38}, "s": {"type": "string"},
           "b": {"type": "bool"}, "day": {"type": "date"}, "ts": {"type": "timestamp"}}
ARROW = {"i": pa.int64(), "f": pa.float64(), "d": pa.decimal128(38, 3), "s": pa.string(),
         "b": pa.bool_(), "day": pa.date32(), "ts": pa.timestamp("us")}
TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\r"), max_size=8)
VALUES = {
    "i": st.integers(-2**63, 2**63 - 1),
    "f": st.floats(allow_nan=True, allow_infinity=True),
    "d": st.decimals(min_value=D("-1e34") + D("0.001"), max_value=D("1e34") - D("0.001"),
                     places=3, allow_nan=False, allow_infinity=False),
    "s": st.one_of(TEXT, st.sampled_from(["", " ", "NA", "null", "None", "nan", "N/A"])),
    "b": st.booleans(),
    "day": st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)),
    "ts": st.datetimes(dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31, 23, 59, 59, 999999)),
}


@st.composite
def tables(draw):
    cols = {name: draw(st.lists(st.one_of(st.none(), strat), min_size=N, max_size=N))
            for name, strat in VALUES.items()}
    return cols, pa.table({n: pa.array(v, ARROW[n]) for n, v in cols.items()})


def _check(got: dict, want: dict) -> None:
    for name, values in want.items():
        assert len(got[name]) == len(values)
        for row, (g, w) in enumerate(zip(got[name], values)):
            assert _same(g, w), f"{name} row {row}: wrote {w!r}, read back {g!r}"


@pytest.mark.parametrize("fmt", ["csv", "json"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(data=tables())
def test_any_table_round_trips_on_both_engines(tmp_path_factory, fmt, data):
    _, table = data
    want = {n: table.column(n).to_pylist() for n in table.column_names}  # decimals at scale 3
    texts = {}
    for engine in ("pandas", "duckdb"):
        root = tmp_path_factory.mktemp(engine)
        _write(engine, table, root, {"format": fmt, "path": f"o.{fmt}", "columns": COLUMNS})
        path = root / f"o.{fmt}"
        got = _read_csv(path) if fmt == "csv" else _read_json(path)
        _check(got, want)
        texts[engine] = got
    for name in want:
        assert all(_same(a, b) for a, b in zip(texts["pandas"][name], texts["duckdb"][name]))
