"""The pandas evaluator's constant paths (scalar operands, no column: three-valued logic,
negation, comparison, IN with nulls, date arithmetic) and constants mixed with columns,
against DuckDB running the same expression text over the same table (each case is its own
oracle: the text means the same in DuckDB; integer literals, whose DuckDB type is INTEGER,
and division by zero, a deliberate difference, are left to oracle_cases.py). Types exactly,
values exactly (exprdata)."""
from __future__ import annotations

import pytest
from etlc_runtime.expr import check, parse
from etlc_runtime.expr.pandas_eval import evaluate, filter_mask
from exprdata import (
    PARAMS,
    TYPES,
    assert_same_lists,
    duck_value,
    duckdb_con,
    etlc_values,
    pandas_frame,
    same_type,
)
from oracle import P_TYPES, oracle_column

LOGIC = ["true", "false", "null"]
CONSTANTS = (
    [f"{a} {op} {b}" for op in ("and", "or") for a in LOGIC for b in LOGIC]
    + ["not true", "not false", "not (null and true)", "-(2.5)",
       "1 < 2", "2 <= 1", "null = 1", "'a' < 'b'", "'b' >= 'b'",
       "date '2020-01-02' > date '2020-01-01'", "1 in (1, null)", "2 in (1, null)",
       "null in (1, 2)", "2 not in (1, null)", "3 not in (1, 2)",
       "date '2020-01-31' + 1", "date '2020-03-01' - 1", "2 + date '2020-02-28'",
       "date '2020-01-03' - date '2019-12-31'", "1.5 * 2", "7 / 2", "7.0 / 2"]
)
MIXED = [f"{col} {op} {c}" for col in ("b", "c") for op in ("and", "or") for c in LOGIC] + [
    f"{c} {op} b" for op in ("and", "or") for c in LOGIC] + [
    "not b", "not (b and c)", "-i", "-f", "-d", "i + null", "null * f", "dt + 1", "1 + dt",
    "dt - 1", "dt - date '2020-01-01'", "i in (3, null)", "i not in (3, null)",
    "s in ('Ab', null)", "i = null", "f > 1", "ts < '2020-06-01'", "'2020-06-01' <= ts",
    "dt = '2020-01-02'", "d * 2", "e + d", "i % 5", "f % 2"]


@pytest.fixture(scope="module")
def con():
    c = duckdb_con()
    yield c
    c.close()


@pytest.fixture(scope="module")
def df():
    return pandas_frame()


@pytest.mark.parametrize("text", CONSTANTS + MIXED)
def test_matches_duckdb(df, con, text):
    t, errors = check(parse(text), TYPES, P_TYPES, "row")
    assert not errors, errors
    duck_type, ref = oracle_column(con, text, t)
    assert same_type(t, duck_type), (text, t, duck_type)
    ours = etlc_values(evaluate(text, df, PARAMS, types=TYPES), t, len(df))
    assert_same_lists(ours, ref, text)


@pytest.mark.parametrize("text", [t for t in CONSTANTS + MIXED if " and " in t or " or " in t
                                  or t.startswith("not ") or " in (" in t or "<" in t
                                  or ">" in t or "=" in t])
def test_filters_keep_only_true(df, con, text):
    """A filter keeps the rows where the condition is true: null and false both drop."""
    kept = filter_mask(text, df, PARAMS, types=TYPES).tolist()
    want = [r[0] is True for r in con.execute(f"SELECT ({text}) FROM t ORDER BY id").fetchall()]
    assert kept == want, text


@pytest.mark.parametrize("text", MIXED + [
    "coalesce(i, j)", "if(b, i, j)", "i in (3, j)", "upper(s)", "round(f, 1)",
    "b and (i in (3, null))", "c or (dt = '2020-01-02')", "b or (ts < '2020-06-01')",
    "not (s in ('Ab', null)) and c", "(i > 0) = b"])
def test_a_frame_whose_index_has_gaps_and_runs_backwards(df, con, text):
    """After a filter and a sort the engine's frame has neither 0..n-1 nor ascending labels:
    every result must stay with its own row (a Series built on a default index would not)."""
    part = df[df["id"] % 2 == 0].iloc[::-1]
    t, errors = check(parse(text), TYPES, P_TYPES, "row")
    assert not errors, errors
    got = evaluate(text, part, PARAMS, types=TYPES)
    assert list(got.index) == list(part.index), text
    ours = etlc_values(got, t, len(part))
    rows = con.execute(f"SELECT {text} FROM t WHERE id % 2 = 0 ORDER BY id DESC").fetchall()
    ref = [duck_value(r[0], t) for r in rows]
    assert_same_lists(ours, ref, text)
