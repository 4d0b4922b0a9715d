"""etlc's pandas evaluator against DuckDB (the reference) on the same table and the same
expressions, rendered to DuckDB SQL by etlc_runtime.expr.sql."""
from __future__ import annotations

import pytest
from cases import AGG_CASES, FILTER_CASES, ROW_CASES
from etlc_runtime.expr import check, parse
from etlc_runtime.expr.pandas_eval import aggregate, apply_filter, evaluate
from etlc_runtime.expr.sql import quote_ident, to_sql
from etlc_runtime.expr.types import param_type
from exprdata import PARAMS, TYPES, assert_same_lists, duckdb_con, norm, pandas_frame

P_TYPES = {k: param_type(v) for k, v in PARAMS.items()}


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


@pytest.mark.parametrize("text", ROW_CASES)
def test_row_expression(text, df, con):
    expr = parse(text)
    t, errors = check(expr, TYPES, P_TYPES, "row")
    assert not errors, errors
    ours = norm(evaluate(expr, df, PARAMS, types=TYPES), t)
    sql = to_sql(expr, PARAMS, types=TYPES)
    ref = [norm(r[0], t) for r in con.execute(f"SELECT {sql} FROM t ORDER BY id").fetchall()]
    assert_same_lists(ours, ref, f"{text}  [SQL: {sql}]")


@pytest.mark.parametrize("text", FILTER_CASES)
def test_filter(text, df, con):
    expr = parse(text)
    _, errors = check(expr, TYPES, P_TYPES, "filter")
    assert not errors, errors
    ours = apply_filter(expr, df, PARAMS, types=TYPES)["id"].tolist()
    sql = to_sql(expr, PARAMS, types=TYPES)
    ref = [r[0] for r in con.execute(f"SELECT id FROM t WHERE {sql} ORDER BY id").fetchall()]
    assert ours == ref, f"{text}  [SQL: {sql}]"


def _sort_key(row):
    return tuple((v is None, str(type(v)), v if v is not None else 0) for v in row)


@pytest.mark.parametrize("case", AGG_CASES, ids=lambda c: f"{c[0]}-{'-'.join(c[1])}")
def test_aggregate(case, df, con):
    group_by, aggs, having = case
    exprs = {k: parse(v) for k, v in aggs.items()}
    types = {}
    for name, e in exprs.items():
        t, errors = check(e, TYPES, P_TYPES, "aggregate", group_by)
        assert not errors, errors
        types[name] = t
    out = aggregate(df, group_by, exprs, PARAMS, parse(having) if having else None,
                    types=TYPES)
    assert list(out.columns) == [*group_by, *aggs]
    ours = sorted((tuple(norm(out[c].iloc[r], TYPES[c] if c in group_by else types[c])
                         for c in out.columns) for r in range(len(out))), key=_sort_key)
    select = [quote_ident(k) for k in group_by] + [
        to_sql(e, PARAMS, types=TYPES, order_by="id") for e in exprs.values()]
    sql = f"SELECT {', '.join(select)} FROM t"
    if group_by:
        sql += " GROUP BY " + ", ".join(quote_ident(k) for k in group_by)
    if having:
        sql += " HAVING " + to_sql(having, PARAMS, types=TYPES, order_by="id")
    cols = [*group_by, *aggs]
    ref = sorted((tuple(norm(v, TYPES[c] if c in group_by else types[c])
                        for c, v in zip(cols, row)) for row in con.execute(sql).fetchall()),
                 key=_sort_key)
    assert len(ours) == len(ref), (sql, ours, ref)
    for a, b in zip(ours, ref):
        assert_same_lists(list(a), list(b), sql)
