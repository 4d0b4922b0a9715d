"""now() and today() read the run's logical date (the LOGICAL_DATE_PARAM run parameter), never
the wall clock: pandas and the DuckDB rendering give the logical date's values, in UTC, and a
run without one is an error, not the current time."""
from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest
from etlc_runtime.expr import EvalError, ExprError, evaluate
from etlc_runtime.expr.sql import to_sql
from etlc_runtime.expr.types import LOGICAL_DATE_PARAM

UTC = dt.UTC
# (logical date as the executor may hold it, the UTC wall time it stands for)
DATES = [
    (dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC), dt.datetime(2024, 5, 6, 7, 8, 9)),
    (dt.datetime(2024, 1, 1, 1, 30, tzinfo=dt.timezone(dt.timedelta(hours=3))),
     dt.datetime(2023, 12, 31, 22, 30)),
    ("2021-02-03T04:05:06+00:00", dt.datetime(2021, 2, 3, 4, 5, 6)),
    (dt.date(2020, 2, 29), dt.datetime(2020, 2, 29)),
]


@pytest.mark.parametrize("logical,utc", DATES, ids=[str(d[0]) for d in DATES])
def test_now_and_today_are_the_logical_date(logical, utc):
    params = {LOGICAL_DATE_PARAM: logical}
    df = pd.DataFrame({"d": pd.Series([pd.Timestamp("2020-01-01"), pd.NaT])})
    assert evaluate("now()", df, params).tolist() == [pd.Timestamp(utc)] * 2
    assert evaluate("today()", df, params).tolist() == [pd.Timestamp(utc.date())] * 2
    ours = evaluate("date_diff('day', d, today())", df, params).tolist()
    con = duckdb.connect()
    con.execute("CREATE TABLE t (d DATE)")
    con.execute("INSERT INTO t VALUES ('2020-01-01'), (NULL)")
    ref = [r[0] for r in con.execute(
        f"SELECT date_diff('day', d, DATE '{utc.date().isoformat()}') FROM t").fetchall()]
    assert [None if pd.isna(v) else v for v in ours] == ref
    got = con.execute(f"SELECT {to_sql('now()', params)}, {to_sql('today()', params)}").fetchone()
    assert got == (utc, utc.date())


def test_without_a_logical_date_it_is_an_error_not_the_clock():
    df = pd.DataFrame({"x": [1]})
    with pytest.raises(EvalError, match="logical date"):
        evaluate("now()", df, {})
    with pytest.raises(ExprError) as info:
        to_sql("today()", {})
    assert info.value.code == "E404"
