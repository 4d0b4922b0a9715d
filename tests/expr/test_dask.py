"""The Dask back end gives the same results as the pandas back end and DuckDB."""
from __future__ import annotations

import pickle

import dask
import dask.dataframe as dd
import pytest
from cases import AGG_CASES, FILTER_CASES, ROW_CASES
from etlc_runtime.expr import check, dask_eval, parse
from etlc_runtime.expr import pandas_eval as P
from etlc_runtime.expr.sql import to_sql
from etlc_runtime.expr.types import param_type
from exprdata import PARAMS, TYPES, assert_same_lists, duckdb_con, norm, pandas_frame

P_TYPES = {k: param_type(v) for k, v in PARAMS.items()}
ROW_SUBSET = ROW_CASES[::3]


@pytest.fixture(scope="module")
def df():
    return pandas_frame()


@pytest.fixture(scope="module")
def ddf(df):
    return dd.from_pandas(df, npartitions=3, sort=False)


@pytest.fixture(scope="module")
def con():
    c = duckdb_con()
    yield c
    c.close()


@pytest.fixture(autouse=True, scope="module")
def _sync():
    with dask.config.set(scheduler="sync"):
        yield


@pytest.mark.parametrize("text", ROW_SUBSET)
def test_row_expression_dask(text, ddf, con):
    expr = parse(text)
    t, _ = check(expr, TYPES, P_TYPES, "row")
    ours = norm(dask_eval.evaluate(expr, ddf, PARAMS, types=TYPES).compute(), t)
    sql = to_sql(expr, PARAMS, types=TYPES)
    ref = [norm(r[0], t) for r in con.execute(f"SELECT {sql} FROM t ORDER BY id").fetchall()]
    assert_same_lists(ours, ref, f"{text}  [SQL: {sql}]")


@pytest.mark.parametrize("text", FILTER_CASES[::2])
def test_filter_dask(text, ddf, df):
    ours = dask_eval.apply_filter(text, ddf, PARAMS, types=TYPES).compute()["id"].tolist()
    assert ours == P.apply_filter(text, df, PARAMS, types=TYPES)["id"].tolist()


def _rows(frame):
    rows = [tuple(norm(frame[c].iloc[r]) for c in frame.columns) for r in range(len(frame))]
    return sorted(rows, key=lambda row: tuple((v is None, str(v)) for v in row))


@pytest.mark.parametrize("case", AGG_CASES, ids=lambda c: f"{c[0]}-{'-'.join(c[1])}")
def test_aggregate_dask(case, ddf, df):
    group_by, aggs, having = case
    ours = dask_eval.aggregate(ddf, group_by, aggs, PARAMS, having, types=TYPES).compute()
    ref = P.aggregate(df, group_by, aggs, PARAMS, having, types=TYPES)
    assert list(ours.columns) == list(ref.columns)
    a, b = _rows(ours), _rows(ref)
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert_same_lists(list(x), list(y), str(case))


def test_first_last_follow_partition_order(df):
    ddf = dd.from_pandas(df, npartitions=4, sort=False)
    out = dask_eval.aggregate(ddf, [], {"f": "first(s)", "l": "last(s)"}, types=TYPES).compute()
    assert out["f"].iloc[0] == "Ab" and out["l"].iloc[0] == "zz"


def test_metric_dask(ddf, df):
    assert dask_eval.metric("sum(d) * 2", ddf, types=TYPES) == \
        P.metric("sum(d) * 2", df, types=TYPES) == pytest.approx(208.48)
    assert dask_eval.metric("count(*)", ddf) == 12


def test_plan_survives_pickling(df):
    plan = P.AggPlan(df, ["k"], {"n": "sum(i)"}, {}, None, TYPES)
    again = pickle.loads(pickle.dumps(plan))
    assert len(again.node_types) == len(plan.node_types)
    assert again.calls[0][0] == plan.calls[0][0]


def test_lazy_until_compute(ddf):
    out = dask_eval.aggregate(ddf, ["k"], {"n": "count(*)"}, types=TYPES)
    assert hasattr(out, "compute") and list(out.columns) == ["k", "n"]
