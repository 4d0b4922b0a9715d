"""Issue 12, the PostgreSQL load path: rows go to COPY as CSV written by pyarrow (no Python
value per row), and every value arrives unchanged: a hypothesis property over floats (NaN,
infinities, -0.0, subnormals, float32), text ('' apart from null, quotes, commas, newlines,
any code point), decimals, microsecond timestamps, dates, bools and int64 extremes, read
back by a hand-written psycopg query.  Keyless appends COPY straight into the table (with
the append key), and the merge keeps the last row of a repeated key.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import struct

import psycopg
import pyarrow as pa
import pytest
from etlc_runtime.io_postgres import write_postgres
from etlc_runtime.pg_copy import csv_ready
from etlc_runtime.pg_merge import last_per_key
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_postgres_fidelity import CONNS, URI, pg  # noqa: F401  (the server fixture)

pytestmark = pytest.mark.postgres
D = decimal.Decimal

TEXT = st.one_of(st.none(), st.text(st.characters(blacklist_categories=("Cs",),
                                                  blacklist_characters="\x00"), max_size=6),
                 st.sampled_from(["", '"', "a,b", "x\ny", "\\N", "NULL", " "]))
FLOAT = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True),
                  st.sampled_from([-0.0, 5e-324, 1e-310, 0.1]))
ROW = st.tuples(st.integers(-2**63, 2**63 - 1), FLOAT,
                st.one_of(st.none(), st.floats(width=32)), TEXT,
                st.one_of(st.none(), st.decimals(min_value=-10**15, max_value=10**15,
                                                 places=4, allow_nan=False)),
                st.one_of(st.none(), st.datetimes(dt.datetime(1, 1, 1))),
                st.one_of(st.none(), st.dates()), st.one_of(st.none(), st.booleans()))
TYPES = [pa.int64(), pa.float64(), pa.float32(), pa.string(), pa.decimal128(20, 4),
         pa.timestamp("us"), pa.date32(), pa.bool_()]
NAMES = ["i", "f", "r", "s", "m", "ts", "d", "b"]


def _bits(v):
    return struct.pack("<d", v) if isinstance(v, float) and not math.isnan(v) else \
        ("nan" if isinstance(v, float) else v)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(ROW, min_size=1, max_size=20, unique_by=lambda r: r[0]))
@example(rows=[(0, -0.0, 0.1, "", D("0.0001"), dt.datetime(1, 1, 1), dt.date(9999, 12, 31),
                True), (1, None, None, None, None, None, None, None)])
def test_every_value_loads_unchanged(pg, rows):  # noqa: F811
    table = pa.Table.from_arrays([pa.array([r[k] for r in rows], t) for k, t in
                                  enumerate(TYPES)], names=NAMES)
    assert csv_ready(table) is not None   # the CSV path, not the row fallback
    ds = {"format": "postgres", "connection": "dwh", "table": f"{pg}.t", "key": ["i"]}
    write_postgres(table, ds, "overwrite", {}, CONNS)
    with psycopg.connect(URI) as conn:
        got = conn.execute(f'SELECT {", ".join(NAMES)} FROM "{pg}".t ORDER BY i').fetchall()
    want = sorted(table.to_pylist(), key=lambda r: r["i"])
    assert [tuple(map(_bits, r)) for r in got] == [
        tuple(_bits(r[n]) for n in NAMES) for r in want]


def test_keyless_append_copies_straight_in_with_its_key(pg):  # noqa: F811
    ds = {"format": "postgres", "connection": "dwh", "table": f"{pg}.a"}
    table = pa.table({"v": pa.array(["x", "", None]), "n": pa.array([1, 2, 3])})
    for key in ("day1", "day2", "day1"):   # day1's retry replaces its own rows only
        write_postgres(table, ds, "append", {}, CONNS, append_key=key)
    with psycopg.connect(URI) as conn:
        got = conn.execute(f'SELECT v, n, _etlc_append_key FROM "{pg}".a '
                           f"ORDER BY _etlc_append_key, n").fetchall()
    assert got == [("x", 1, "day1"), ("", 2, "day1"), (None, 3, "day1"),
                   ("x", 1, "day2"), ("", 2, "day2"), (None, 3, "day2")]


def test_last_row_of_a_repeated_key_wins():
    table = pa.table({"k": [1, 2, 1, 3], "v": ["a", "b", "c", "d"]})
    assert last_per_key(table, ["k"], "t").to_pylist() == [
        {"k": 2, "v": "b"}, {"k": 1, "v": "c"}, {"k": 3, "v": "d"}]
    unique = pa.table({"k": [3, 1, 2], "v": ["a", "b", "c"]})
    assert last_per_key(unique, ["k"], "t") is unique   # the fast path: nothing taken


def test_types_csv_cannot_carry_go_row_by_row():
    nested = pa.table({"v": pa.array([[1.0, 2.0]], pa.list_(pa.float64()))})
    assert csv_ready(nested) is None
    nanos = pa.table({"t": pa.array([1], pa.timestamp("ns"))})
    assert csv_ready(nanos) is None
    whole = pa.table({"t": pa.array([1000], pa.timestamp("ns"))})
    assert csv_ready(whole).schema.field("t").type == pa.timestamp("us")
