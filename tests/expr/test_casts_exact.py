"""The cast table's functions, exactly: what `allowed` lets through beside the table, what
`rule` says of a same-type cast, and which SQL `step_sql` gives the duckdb engine's `cast:`
step, each pair run in DuckDB against its CAST written by hand (TimeZone UTC), a refused value
raising the engine's data error. Written against the mutants mutmut found alive
(docs/testing.md, "Mutation testing")."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from etlc_runtime.expr.casts import CASTS, allowed, rule, step_sql

TYPES = ("int", "float", "decimal", "string", "bool", "date", "timestamp", "timestamptz", "json")
UTC = dt.UTC
SQL = {"string": "VARCHAR", "timestamp": "TIMESTAMP", "timestamptz": "TIMESTAMPTZ", "date": "DATE"}


def test_a_type_casts_to_itself_and_open_types_cast_anywhere():
    for t in TYPES:
        assert allowed(t, t), t
        assert allowed("null", t) and allowed("unknown", t), t
    assert not allowed("date", "int") and not allowed("json", "date")
    assert not allowed("nothing", "int")


def test_the_rule_of_a_same_type_cast():
    for t in TYPES:
        if t != "decimal":
            assert rule(t, t) == "unchanged", t
    assert rule("decimal", "decimal") == CASTS[("decimal", "decimal")] != "unchanged"
    with pytest.raises(KeyError):
        rule("date", "int")


def _con():
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con


def _run(sql: str, src: str, values: list):
    con = _con()
    con.execute(f"CREATE TABLE t (id INTEGER, x {SQL[src]})")
    con.executemany("INSERT INTO t VALUES (?, ?)", [[k, v] for k, v in enumerate(values)])
    return [r[0] for r in con.execute(f"SELECT {sql} FROM t ORDER BY id").fetchall()]


ZONED = [
    ("timestamp", "timestamptz", [dt.datetime(2025, 1, 16, 9, 30), None]),
    ("date", "timestamptz", [dt.date(2025, 1, 16), None]),
    ("timestamptz", "timestamp", [dt.datetime(2025, 1, 16, 9, 30, tzinfo=UTC), None]),
    ("timestamptz", "date", [dt.datetime(2025, 1, 16, 23, 30, tzinfo=UTC), None]),
    ("timestamptz", "string", [dt.datetime(2025, 1, 16, 9, 30, 0, 5, tzinfo=UTC), None]),
    ("string", "timestamptz", [" 2025-01-16 09:30:00+02 ", "2025-01-16", None]),
]


@pytest.mark.parametrize("src,dst,values", ZONED, ids=[f"{a}-{b}" for a, b, _ in ZONED])
def test_zoned_casts_are_duckdbs_cast(src, dst, values):
    sql = step_sql('"x"', src, dst)
    assert sql is not None
    want = _run(f'CAST("x" AS {SQL[dst]})', src, values)
    assert _run(sql, src, values) == want


GUARDED = [("string", "int", "abc", "int"), ("string", "bool", "on", "bool"),
           ("string", "timestamptz", "not a time", "timestamptz")]


@pytest.mark.parametrize("src,dst,bad,name", GUARDED, ids=[f"{a}-{b}" for a, b, *_ in GUARDED])
def test_text_that_does_not_convert_is_the_engines_data_error(src, dst, bad, name):
    reasons = []

    def data_error(reason: str) -> str:
        reasons.append(reason)
        return "error('R041 from the engine')"

    with pytest.raises(duckdb.InvalidInputException, match="R041 from the engine"):
        _run(step_sql('"x"', src, dst, data_error), src, [bad])
    assert len(reasons) == 1 and name in reasons[0]
    # without the engine's hook: R040, the cast's own error
    with pytest.raises(duckdb.InvalidInputException, match="R040"):
        _run(step_sql('"x"', src, dst), src, [bad])


def test_pairs_the_engine_converts_itself_have_no_sql():
    for pair in [("string", "date"), ("int", "string"), ("decimal", "decimal"), ("int", "float")]:
        assert step_sql('"x"', *pair) is None, pair
    assert step_sql('"x"', "float", "int") == 'CAST("x" AS BIGINT)'
