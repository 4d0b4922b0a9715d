"""Partition pruning against DuckDB as the oracle: for any filter over partition columns and
any folder values, a part is pruned only where DuckDB's evaluation of the same filter on the
typed values is not true, and (canonical values, every term on partition columns) kept
exactly where it is true."""

from __future__ import annotations

import datetime as dt

import pytest
from etlc_runtime.partition_prune import partition_filter
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

DATASET = {"partition_by": ["n", "d", "s", "b"],
           "columns": {"n": {"type": "int"}, "d": {"type": "date"}, "s": {"type": "string"},
                       "b": {"type": "bool"}, "x": {"type": "int"}}}
SQL_TYPE = {"n": "BIGINT", "d": "DATE", "s": "VARCHAR", "b": "BOOLEAN"}

ints = st.integers(-3, 3)
dates = st.dates(dt.date(2026, 1, 1), dt.date(2026, 1, 5))
strings = st.sampled_from(["", "a", "b", "ab", "é"])
LIT = {"n": ints.map(str), "d": dates.map(lambda v: f"date '{v.isoformat()}'"),
       "s": strings.map(lambda v: "'" + v.replace("'", "''") + "'"),
       "b": st.sampled_from(["true", "false"])}
VALUE = {"n": st.one_of(st.none(), ints.map(str), st.just("007")),
         "d": st.one_of(st.none(), dates.map(dt.date.isoformat), st.just("2026-1-2")),
         "s": st.one_of(st.none(), strings), "b": st.one_of(st.none(), st.sampled_from(
             ["true", "false", "TRUE"]))}
CANONICAL = {"n": lambda v: str(int(v)) == v, "d": lambda v: len(v) == 10,
             "s": lambda v: True, "b": lambda v: v in ("true", "false")}


@st.composite
def atom(draw):
    col = draw(st.sampled_from(["n", "d", "s", "b", "x"]))
    lit = LIT.get(col, ints.map(str))
    kind = draw(st.sampled_from(["cmp", "in", "between", "null", "bare"]))
    if kind == "cmp":
        return f"{col} {draw(st.sampled_from(['=', '!=', '<', '<=', '>', '>=']))} {draw(lit)}"
    if kind == "in":
        items = ", ".join(draw(st.lists(lit, min_size=1, max_size=3)))
        return f"{col} {draw(st.sampled_from(['in', 'not in']))} ({items})"
    if kind == "between":
        neg = draw(st.sampled_from(["", "not "]))
        return f"{col} {neg}between {draw(lit)} and {draw(lit)}"
    if kind == "bare" and col == "b":
        return "b"
    return f"{col} is {draw(st.sampled_from(['', 'not ']))}null"


terms = st.recursive(atom(), lambda inner: st.one_of(
    inner.map(lambda t: f"not ({t})"),
    st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(
        lambda p: f"({p[0]} {p[1]} {p[2]})")), max_leaves=4)


@pytest.fixture(scope="module")
def oracle():
    import duckdb
    con = duckdb.connect()
    yield con
    con.close()


def truth(con, text: str, row: dict) -> bool:
    """DuckDB's value of the filter for the row (the folder texts cast to their types)."""
    cols = ", ".join(
        f"TRY_CAST({'NULL' if row[c] is None else repr(row[c])} AS {SQL_TYPE[c]}) AS {c}"
        for c in SQL_TYPE)
    return con.execute(f"SELECT ({text}) IS TRUE FROM (SELECT {cols}, 0 AS x)").fetchone()[0]


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(filters=st.lists(terms, min_size=1, max_size=3),
       rows=st.lists(st.fixed_dictionaries(VALUE), min_size=1, max_size=4))
@example(filters=["d = date '2026-01-02'"], rows=[{"n": None, "d": "2026-01-02", "s": None,
                                                    "b": None}])
@example(filters=["not (n not between 1 and 1) or n is null"],
         rows=[{"n": None, "d": None, "s": "", "b": "true"}])
def test_pruning_agrees_with_duckdb(oracle, filters, rows):
    text = " and ".join(f"({f})" for f in filters)
    keep = partition_filter({"filter": text}, DATASET, {})
    for row in rows:
        want = truth(oracle, text, row)
        if keep is None:
            continue
        got = keep(row)
        if not got:
            assert not want, (text, row)
        exact = "x" not in text and all(v is None or CANONICAL[c](v) for c, v in row.items())
        if exact:
            assert got == want, (text, row)


def test_params_and_no_decidable_term():
    ds = {"partition_by": ["day"], "columns": {"day": {"type": "date"}}}
    keep = partition_filter({"filter": "day >= $since"}, ds, {"since": dt.date(2026, 1, 2)})
    assert [keep({"day": d}) for d in ("2026-01-01", "2026-01-02", None)] == [False, True, False]
    assert partition_filter({"filter": "amount > 1"}, ds, {}) is None
    assert partition_filter({"filter": "day = date '2026-01-01'", "join": [{"step": "o"}]}, ds, {}) is None
    assert partition_filter({}, ds, {}) is None
    keep = partition_filter({"filter": "day = $other"}, ds, {"other": "2026-01-01"})
    assert keep({"day": "2026-01-05"}) is True     # a param of another kind never decides
