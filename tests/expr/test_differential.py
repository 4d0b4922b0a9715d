"""etlc's pandas evaluator against DuckDB on the same table: the expected values come from
SQL written by hand (oracle_cases.py), never from etlc's own SQL renderer; types are compared
exactly (DESCRIBE) and values exactly (exprdata.same). The renderer, `expr.sql.to_sql`, is
tested against the same oracle."""
from __future__ import annotations

from pathlib import Path

import pytest
from cases import AGG_CASES, FILTER_CASES, ROW_CASES
from etlc_runtime.expr import check, parse
from etlc_runtime.expr.pandas_eval import aggregate, apply_filter, evaluate
from etlc_runtime.expr.sql import to_sql
from etlc_runtime.expr.types import param_type
from exprdata import (
    PARAMS,
    TYPES,
    assert_same_lists,
    duckdb_con,
    etlc_values,
    pandas_frame,
    same_type,
)
from oracle import aggregate_types, etlc_rows, oracle_aggregate, oracle_column, params_of
from oracle_cases import AGG_SQL, DIFFERENCES, ROW_SQL, filter_sql, row_sql

P_TYPES = {k: param_type(v) for k, v in PARAMS.items()}
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def df():
    return pandas_frame()


@pytest.fixture(scope="module")
def con():
    c = duckdb_con()
    yield c
    c.close()


def test_enough_cases():
    assert len(ROW_CASES) + len(FILTER_CASES) + len(AGG_CASES) >= 200
    assert len(set(ROW_CASES)) == len(ROW_CASES)
    assert set(ROW_SQL) <= set(ROW_CASES) and len(AGG_SQL) == len(AGG_CASES)


def test_differences_are_documented_once():
    """docs/expressions.md lists exactly the deliberate differences the oracle encodes."""
    doc = (ROOT / "docs" / "expressions.md").read_text(encoding="utf-8")
    section = doc.split("## Where etlc differs from DuckDB", 1)[1].split("\n## ", 1)[0]
    keys = [line.split("|")[1].strip().strip("`") for line in section.splitlines()
            if line.startswith("| `")]
    assert keys == list(DIFFERENCES)


@pytest.mark.parametrize("text", ROW_CASES)
def test_row_expression(text, df, con):
    t, errors = check(parse(text), TYPES, P_TYPES, "row")
    assert not errors, errors
    sql = row_sql(text)
    duck_type, ref = oracle_column(con, sql, t)
    assert same_type(t, duck_type), f"{text}: etlc {t}, DuckDB {duck_type} [SQL: {sql}]"
    ours = etlc_values(evaluate(text, df, PARAMS, types=TYPES), t, len(df))
    assert_same_lists(ours, ref, f"{text}  [SQL: {sql}]")


@pytest.mark.parametrize("text", ROW_CASES)
def test_renderer_matches_the_oracle(text, con):
    """etlc's DuckDB rendering computes what the hand-written SQL computes."""
    t, _ = check(parse(text), TYPES, P_TYPES, "row")
    _, ref = oracle_column(con, row_sql(text), t)
    rendered = to_sql(parse(text), PARAMS, types=TYPES)
    _, got = oracle_column(con, rendered, t)
    assert_same_lists(got, ref, f"{text}  [rendered: {rendered}]")


@pytest.mark.parametrize("text", FILTER_CASES)
def test_filter(text, df, con):
    _, errors = check(parse(text), TYPES, P_TYPES, "filter")
    assert not errors, errors
    ours = apply_filter(text, df, PARAMS, types=TYPES)["id"].tolist()
    sql = filter_sql(text)
    ref = [r[0] for r in con.execute(f"SELECT id FROM t WHERE {sql} ORDER BY id",
                                     params_of(sql)).fetchall()]
    assert ours == ref, f"{text}  [SQL: {sql}]"


# sample standard deviations: pandas and DuckDB use different algorithms (two-pass, streaming),
# 2 units in the last place apart at most here; every other column is exact
AGG_ULPS = {"std": 2, "sd": 2}


@pytest.mark.parametrize("index", range(len(AGG_CASES)),
                         ids=[f"{c[0]}-{'-'.join(c[1])}" for c in AGG_CASES])
def test_aggregate(index, df, con):
    group_by, aggs, having = AGG_CASES[index]
    types = aggregate_types(group_by, aggs)
    out = aggregate(df, group_by, {k: parse(v) for k, v in aggs.items()}, PARAMS,
                    parse(having) if having else None, types=TYPES)
    assert list(out.columns) == [*group_by, *aggs]
    duck_types, ref = oracle_aggregate(con, AGG_CASES[index], AGG_SQL[index], types)
    cols = [*group_by, *aggs]
    bad = [(c, types[c], d) for c, d in zip(cols, duck_types) if not same_type(types[c], d)]
    assert not bad, f"types differ (column, etlc, DuckDB): {bad}"
    ours = etlc_rows(out, types)
    assert len(ours) == len(ref), (ours, ref)
    for col, c in enumerate(cols):
        assert_same_lists([r[col] for r in ours], [r[col] for r in ref], f"{index}: {c}",
                          AGG_ULPS.get(c, 0) if types[c].name == "float" else 0)
