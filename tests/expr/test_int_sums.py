"""Sums of ints beyond 64 bits are R041 on pandas and dask, never a wrapped value (numpy sums
int64 modulo 2**64), where DuckDB's HUGEINT sum does not convert back to BIGINT: the
differential holds the pandas and dask (1 and 3 partitions) aggregates and window sums to
DuckDB's exact sums, with values near +-2**63 (expr/int_sums.py)."""
from __future__ import annotations

import dask
import dask.dataframe as dd
import duckdb
import pandas as pd
import pytest
from etlc_runtime.expr import dask_eval
from etlc_runtime.expr import pandas_eval as P
from etlc_runtime.expr.errors import EvalError
from etlc_runtime.expr.types import INT
from hypothesis import example, given, settings
from hypothesis import strategies as st

LOW, HIGH = -2 ** 63, 2 ** 63 - 1
TYPES = {"g": INT, "x": INT}
AGGS = {"s": "sum(x)", "m": "mean(x)", "c": "count(*)"}
near = st.one_of(st.integers(LOW, LOW + 2 ** 12), st.integers(HIGH - 2 ** 12, HIGH),
                 st.integers(-2 ** 62, 2 ** 62), st.integers(-5, 5), st.none())
rows = st.lists(st.tuples(st.integers(0, 2), near), min_size=0, max_size=12)


def _frame(data) -> pd.DataFrame:
    return pd.DataFrame({"g": pd.array([g for g, _ in data], dtype="Int64"),
                         "x": pd.array([x for _, x in data], dtype="Int64")})


def _duckdb(df: pd.DataFrame, keys: list[str]):
    """DuckDB's exact sums, means and counts per group, in the order of the groups' first
    rows (as pandas groups them)."""
    con = duckdb.connect()
    con.register("t", df.assign(r=range(len(df))))
    by = ", ".join(keys)
    sel = f"{by}, " if keys else ""
    got = con.execute(f"SELECT {sel}sum(x), avg(x), count(*), min(r) FROM t "
                      + (f"GROUP BY {by} ORDER BY min(r)" if keys else "")).fetchall()
    con.close()
    return [tuple(r[:-1]) for r in got]


def _check(result_or_error, want, keys):
    beyond = [r for r in want if r[len(keys)] is not None and not LOW <= r[len(keys)] <= HIGH]
    if beyond:
        assert isinstance(result_or_error, EvalError), result_or_error
        err = result_or_error
        assert err.code == "R041"
        assert err.value == beyond[0][len(keys)]
        assert err.row == want.index(beyond[0])   # the group's position among the groups
        assert "'s'" in err.message   # names the aggregate output
        return
    assert not isinstance(result_or_error, Exception), result_or_error
    out = result_or_error
    got = [tuple(None if pd.isna(v) else v for v in r)
           for r in out[[*keys, "s", "m", "c"]].itertuples(index=False)]
    if keys:
        order = {r[0]: i for i, r in enumerate(want)}
        got.sort(key=lambda r: order[r[0]])
    assert [r[:len(keys) + 1] for r in got] == [r[:len(keys) + 1] for r in want]
    for g, w in zip(got, want):
        m_got, m_want = g[len(keys) + 1], w[len(keys) + 1]
        assert (m_got is None) == (m_want is None)
        if m_want is not None:
            assert m_got == pytest.approx(m_want, rel=1e-12)
        assert g[-1] == w[-1]


def _run(fn):
    try:
        return fn()
    except EvalError as err:
        return err


@settings(max_examples=60, deadline=None)
@given(rows, st.sampled_from([[], ["g"]]))
@example([(0, HIGH), (0, 1), (1, 5)], ["g"])
@example([(0, HIGH), (1, 1), (0, 1), (0, -1)], [])
@example([(0, LOW), (0, -1)], [])
@example([(1, 3), (0, HIGH), (0, HIGH), (0, LOW), (0, LOW), (0, 2)], ["g"])
def test_int_sums_beyond_64_bits_match_duckdb(data, keys):
    df = _frame(data)
    want = _duckdb(df, keys)
    _check(_run(lambda: P.aggregate(df, keys, AGGS, types=TYPES)), want, keys)
    for parts in (1, 3):
        ddf = dd.from_pandas(df, npartitions=parts, sort=False)
        with dask.config.set(scheduler="sync"):
            _check(_run(lambda ddf=ddf: dask_eval.aggregate(ddf, keys, AGGS,
                                                             types=TYPES).compute()),
                   want, keys)


def test_partial_sums_that_wrap_combine_to_the_true_sum():
    # each partition's sum is beyond 64 bits, the whole is within: no error, exact values
    df = _frame([(0, HIGH), (0, HIGH), (0, LOW), (0, LOW), (0, 7)])
    ddf = dd.from_pandas(df, npartitions=2, sort=False)
    with dask.config.set(scheduler="sync"):
        out = dask_eval.aggregate(ddf, ["g"], AGGS, types=TYPES).compute()
    assert out["s"].tolist() == [5] and out["c"].tolist() == [5]
    assert out["m"].tolist() == [1.0]


@settings(max_examples=40, deadline=None)
@given(st.lists(near, min_size=1, max_size=8))
@example([HIGH, 1, -5])
@example([LOW, LOW, HIGH, HIGH])
def test_window_sums_beyond_64_bits_match_duckdb(xs):
    df = pd.DataFrame({"i": pd.array(range(len(xs)), dtype="Int64"),
                       "x": pd.array(xs, dtype="Int64")})
    con = duckdb.connect()
    con.register("t", df)
    want = con.execute("SELECT sum(x) OVER (ORDER BY i), avg(x) OVER (ORDER BY i) FROM t "
                       "ORDER BY i").fetchall()
    con.close()
    types = {"i": INT, "x": INT}
    mean = P.evaluate("mean(x) over (order by i)", df, types=types)
    for got, (_s, m) in zip(mean.tolist(), want):
        assert (got is pd.NA or got is None) == (m is None)
        if m is not None:
            assert got == pytest.approx(m, rel=1e-12)
    beyond = [k for k, (s, _m) in enumerate(want) if s is not None and not LOW <= s <= HIGH]
    got = _run(lambda: P.evaluate("sum(x) over (order by i)", df, types=types))
    if beyond:
        assert isinstance(got, EvalError) and got.code == "R041"
        assert (got.row, got.value) == (beyond[0], want[beyond[0]][0])
    else:
        assert [None if v is pd.NA else v for v in got.tolist()] == [s for s, _m in want]
