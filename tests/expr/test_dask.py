"""The Dask back end against the same hand-written DuckDB oracle as the pandas back end
(oracle_cases.py), with the same strict comparison: never against the pandas back end, which
Dask runs per partition."""
from __future__ import annotations

import pickle
from decimal import Decimal

import dask
import dask.dataframe as dd
import pytest
from cases import AGG_CASES, FILTER_CASES, ROW_CASES
from etlc_runtime.expr import check, dask_eval, parse
from etlc_runtime.expr import pandas_eval as P
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
from oracle_cases import AGG_SQL, filter_sql, row_sql

P_TYPES = {k: param_type(v) for k, v in PARAMS.items()}
ROW_SUBSET = [c for c in ROW_CASES[::3] if " over (" not in c]
WINDOWS = [c for c in ROW_CASES if " over (" in c]


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
    t, _ = check(parse(text), TYPES, P_TYPES, "row")
    duck_type, ref = oracle_column(con, row_sql(text), t)
    assert same_type(t, duck_type), (t, duck_type)
    ours = etlc_values(dask_eval.evaluate(text, ddf, PARAMS, types=TYPES).compute(), t, 12)
    assert_same_lists(ours, ref, f"{text}  [SQL: {row_sql(text)}]")


@pytest.mark.parametrize("text", WINDOWS[::4])
def test_window_is_refused_on_dask(text, ddf):
    """Per partition a window would be computed on part of its rows: refused, never wrong."""
    with pytest.raises(P.EvalError, match="window functions are not available on the dask"):
        dask_eval.evaluate(text, ddf, PARAMS, types=TYPES)
    with pytest.raises(P.EvalError, match="window functions are not available on the dask"):
        dask_eval.derive(ddf, {"w": text}, PARAMS, types=TYPES)


@pytest.mark.parametrize("text", FILTER_CASES)
def test_filter_dask(text, ddf, con):
    ours = dask_eval.apply_filter(text, ddf, PARAMS, types=TYPES).compute()["id"].tolist()
    sql = filter_sql(text)
    ref = [r[0] for r in con.execute(f"SELECT id FROM t WHERE {sql} ORDER BY id",
                                     params_of(sql)).fetchall()]
    assert ours == ref, f"{text}  [SQL: {sql}]"


# sample variance and standard deviation from per-partition parts: a few units in the last
# place from DuckDB's streaming algorithm; every other column is exact
DASK_AGG_ULPS = {"var": 2, "std": 4, "sd": 4}


@pytest.mark.parametrize("index", range(len(AGG_CASES)),
                         ids=[f"{c[0]}-{'-'.join(c[1])}" for c in AGG_CASES])
def test_aggregate_dask(index, ddf, con):
    group_by, aggs, having = AGG_CASES[index]
    types = aggregate_types(group_by, aggs)
    out = dask_eval.aggregate(ddf, group_by, aggs, PARAMS, having, types=TYPES).compute()
    assert list(out.columns) == [*group_by, *aggs]
    _, ref = oracle_aggregate(con, AGG_CASES[index], AGG_SQL[index], types)
    ours = etlc_rows(out, types)
    assert len(ours) == len(ref), (ours, ref)
    for col, c in enumerate(out.columns):
        bound = DASK_AGG_ULPS.get(c, 0) if types[c].name == "float" else 0
        assert_same_lists([r[col] for r in ours], [r[col] for r in ref], f"{index}: {c}", bound)


def test_first_last_follow_partition_order(df):
    ddf = dd.from_pandas(df, npartitions=4, sort=False)
    out = dask_eval.aggregate(ddf, [], {"f": "first(s)", "l": "last(s)"}, types=TYPES).compute()
    assert out["f"].iloc[0] == "Ab" and out["l"].iloc[0] == "zz"


def test_metric_dask(ddf, con):
    # decimal(2) metrics are held as floats rounded to the scale: exactly DuckDB's value
    (ref,) = con.execute("SELECT sum(d) * 2 FROM t").fetchone()
    assert ref == Decimal("208.48")
    got = dask_eval.metric("sum(d) * 2", ddf, types=TYPES)
    assert type(got) is float and got == float(ref)
    assert dask_eval.metric("count(*)", ddf) == 12


def test_plan_survives_pickling(df):
    plan = P.AggPlan(df, ["k"], {"n": "sum(i)"}, {}, None, TYPES)
    again = pickle.loads(pickle.dumps(plan))
    assert len(again.node_types) == len(plan.node_types)
    assert again.calls[0][0] == plan.calls[0][0]


def test_lazy_until_compute(ddf):
    out = dask_eval.aggregate(ddf, ["k"], {"n": "count(*)"}, types=TYPES)
    assert hasattr(out, "compute") and list(out.columns) == ["k", "n"]
