"""`qualify:` (SQL QUALIFY) and `position(a in b)` against SQL written by hand for DuckDB: the
rows a qualify keeps on the pandas, duckdb and dask engines, and position's values and type,
on the shared table of exprdata (nulls in every column)."""
from __future__ import annotations

import dask.dataframe as dd
import duckdb
import pytest
from etlc_runtime import steps as S
from etlc_runtime.engines.dask import transform as DT
from etlc_runtime.engines.duckdb.sql_build import Builder
from etlc_runtime.expr import Type, check, parse
from etlc_runtime.expr.pandas_columns import coerce_frame
from etlc_runtime.expr.pandas_eval import apply_filter, evaluate
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
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracle import oracle_column, params_of

P_TYPES = {k: param_type(v) for k, v in PARAMS.items()}

# etlc qualify -> the same condition as DuckDB SQL, written by hand (nulls last made explicit)
QUALIFY = {
    "row_number() over (partition by k order by id desc) = 1":
        "row_number() OVER (PARTITION BY k ORDER BY id DESC) = 1",
    "rank() over (order by m) = 1": "rank() OVER (ORDER BY m) = 1",
    "dense_rank() over (partition by m order by k) <= 2":
        "dense_rank() OVER (PARTITION BY m ORDER BY k ASC NULLS LAST) <= 2",
    "lag(i) over (order by id) < i": "lag(i, 1) OVER (ORDER BY id) < i",
    "i > mean(i) over (partition by m)": "i > avg(i) OVER (PARTITION BY m)",
    "sum(i) over (partition by k order by id) > 5":
        "sum(i) OVER (PARTITION BY k ORDER BY id RANGE BETWEEN UNBOUNDED PRECEDING AND "
        "CURRENT ROW) > 5",
    "count(*) over (partition by k) > 1": "count(*) OVER (PARTITION BY k) > 1",
    "row_number() over (partition by m order by ts desc, id) <= 2":
        "row_number() OVER (PARTITION BY m ORDER BY ts DESC NULLS LAST, id) <= 2",
    "first_value(s) over (partition by m order by id) = s":
        "first_value(s) OVER (PARTITION BY m ORDER BY id) = s",
    "lead(f) over (order by id) is null": "(lead(f) OVER (ORDER BY id)) IS NULL",
    "i = max(i) over (partition by m)": "i = max(i) OVER (PARTITION BY m)",
    "row_number() over (order by id) between 3 and 6":
        "row_number() OVER (ORDER BY id) >= 3 AND row_number() OVER (ORDER BY id) <= 6",
    "k is not null and row_number() over (partition by k order by id) = 1":
        "k IS NOT NULL AND row_number() OVER (PARTITION BY k ORDER BY id) = 1",
    "b or rank() over (partition by m order by i desc) = 1":
        "b OR rank() OVER (PARTITION BY m ORDER BY i DESC NULLS LAST) = 1",
    "case when m = 1 then row_number() over (partition by m order by id) <= 2 else true end":
        "CASE WHEN m = 1 THEN row_number() OVER (PARTITION BY m ORDER BY id) <= 2 ELSE TRUE END",
    "row_number() over (partition by lower(s) order by id) = 1":
        "row_number() OVER (PARTITION BY lower(s) ORDER BY id) = 1",
    "min(dt) over (partition by m) = dt": "min(dt) OVER (PARTITION BY m) = dt",
    "lag(s, 1, 'none') over (partition by k order by id) = 'none'":
        "lag(s, 1, 'none') OVER (PARTITION BY k ORDER BY id) = 'none'",
    "position('a' in lower(s)) > 0 and row_number() over (partition by m order by id) = 1":
        "strpos(lower(s), 'a') > 0 AND row_number() OVER (PARTITION BY m ORDER BY id) = 1",
    "$p_int > row_number() over (order by id desc)":
        "5 > row_number() OVER (ORDER BY id DESC)",
    "i - lag(i) over (partition by m order by id) > 0":
        "i - lag(i) OVER (PARTITION BY m ORDER BY id) > 0",
    "sum(d) over (partition by m order by id) > 1.00":
        "sum(d) OVER (PARTITION BY m ORDER BY id) > 1.00",
    "row_number() over (partition by k, m order by id) = 1 and m = 2":
        "row_number() OVER (PARTITION BY k, m ORDER BY id) = 1 AND m = 2",
    "count(i) over (partition by m) = count(*) over (partition by m, k)":
        "count(i) OVER (PARTITION BY m) = count(*) OVER (PARTITION BY m, k)",
}

# etlc row expression -> DuckDB SQL by hand (DuckDB's own position(... IN ...) or strpos)
POSITION = {
    "position('a' in s)": "position('a' IN s)",
    "position(t in s)": "strpos(s, t)",
    "position('' in s)": "position('' IN s)",
    "position(s in t)": "position(s IN t)",
    "position('b' in lower(s))": "strpos(lower(s), 'b')",
    "position('o' in s) + 1": "position('o' IN s) + 1",
    "position(upper(t) in upper(s))": "position(upper(t) IN upper(s))",
    "position('ç' in s)": "strpos(s, 'ç')",
    "position(t || 'x' in s || 'x')": "position((t || 'x') IN (s || 'x'))",
    "position('l' in 'hello world')": "position('l' IN 'hello world')",
    "position($p_str in s)": "strpos(s, 'abc')",
    "POSITION('B' IN s)": "strpos(s, 'B')",
}


@pytest.fixture(scope="module")
def df():
    return pandas_frame()


@pytest.fixture(scope="module")
def con():
    c = duckdb_con()
    yield c
    c.close()


def _oracle_ids(con, sql: str) -> list[int]:
    return [r[0] for r in con.execute(f"SELECT id FROM t QUALIFY {sql} ORDER BY id",
                                      params_of(sql)).fetchall()]


def test_enough_cases():
    assert len(QUALIFY) + len(POSITION) >= 30


@pytest.mark.parametrize("text", QUALIFY)
def test_qualify_pandas(text, df, con):
    _, errors = check(parse(text), TYPES, P_TYPES, "qualify")
    assert not errors, errors
    ours = sorted(S.qualify(df, text, PARAMS, TYPES)["id"].tolist())
    assert ours == _oracle_ids(con, QUALIFY[text]), text


@pytest.mark.parametrize("text", QUALIFY)
def test_qualify_duckdb(text, con):
    b = Builder(con)
    rel = b.qualify(b.source("t"), text, PARAMS)
    ours = [r[0] for r in con.execute(rel.query("id") + " ORDER BY id").fetchall()]
    assert ours == _oracle_ids(con, QUALIFY[text]), text


@pytest.mark.parametrize("text", list(QUALIFY)[::2])
def test_qualify_dask(text, df, con):
    ddf = dd.from_pandas(df, npartitions=3, sort=False)
    ours = sorted(DT.qualify(ddf, text, PARAMS, TYPES).compute()["id"].tolist())
    assert ours == _oracle_ids(con, QUALIFY[text]), text


STEP = {"derive": {"newest": "row_number() over (partition by k order by ts desc, id)",
                   "u": "upper(s)"},
        "qualify": "newest = 1 or u = 'B'", "select": ["id", "newest"], "sort": ["id"]}
STEP_SQL = ("SELECT id, newest FROM (SELECT *, row_number() OVER (PARTITION BY k ORDER BY ts "
            "DESC NULLS LAST, id) AS newest, upper(s) AS u FROM t) WHERE newest = 1 OR u = 'B' "
            "ORDER BY id")


def test_derive_then_qualify_in_one_step_on_every_engine(df, con):
    """derive runs first, so qualify sees the derived columns (SELECT ... QUALIFY)."""
    ref = con.execute(STEP_SQL).fetchall()
    assert len(ref) >= 4
    pandas_rows = list(S.apply_transform(STEP, {}, PARAMS, base=df, types=TYPES)
                       .itertuples(index=False, name=None))
    b = Builder(con)
    duck_rows = con.execute(b.apply(STEP, {}, PARAMS, base=b.source("t")).query()).fetchall()
    ddf = dd.from_pandas(df, npartitions=3, sort=False)
    out, _ = DT.apply(STEP, {}, PARAMS, base=ddf, types=TYPES)
    dask_rows = list(out.compute().itertuples(index=False, name=None))
    for rows in (pandas_rows, duck_rows, dask_rows):
        assert [(int(a), int(b)) for a, b in rows] == ref


@pytest.mark.parametrize("text", POSITION)
def test_position(text, df, con):
    t, errors = check(parse(text), TYPES, P_TYPES, "row")
    assert not errors, errors
    duck_type, ref = oracle_column(con, POSITION[text], t)
    assert same_type(t, duck_type), (text, t, duck_type)
    assert_same_lists(etlc_values(evaluate(text, df, PARAMS, types=TYPES), t, len(df)), ref, text)
    b = Builder(con)
    rel = b.derive(b.source("t"), {"v": text}, PARAMS)
    got = [r[0] for r in con.execute(rel.query("v") + " ORDER BY id").fetchall()]
    assert got == ref, text


def test_position_in_a_filter(df, con):
    ours = apply_filter("position('a' in s) = 1 or position('x' in s) > 1", df, PARAMS,
                        types=TYPES)["id"].tolist()
    ref = [r[0] for r in con.execute("SELECT id FROM t WHERE position('a' IN s) = 1 OR "
                                     "position('x' IN s) > 1 ORDER BY id").fetchall()]
    assert ours == ref and ref


def test_position_is_a_column_name_elsewhere():
    e = parse("position + position(`position` in s)")
    assert e.left.name == "position" and e.right.args[1].name == "position"


@pytest.mark.parametrize("text, code, span", [
    ("row_number() over (order by id)", "E405", (0, 31)),
    ("i > mean(i)", "E407", (4, 11)),
    ("sum(count(*) over ()) > 1", "E407", (0, 21)),
])
def test_qualify_typing_errors(text, code, span):
    _, errors = check(parse(text), TYPES, P_TYPES, "qualify")
    assert errors and (errors[0].code, (errors[0].start, errors[0].end)) == (code, span)


def test_window_stays_refused_in_filter():
    _, errors = check(parse("row_number() over (order by id) = 1"), TYPES, P_TYPES, "filter")
    assert [e.code for e in errors] == ["E407"]


# -- property: any small table with nulls and ties, the rows DuckDB's QUALIFY keeps ----------

_ROWS = st.lists(st.tuples(st.sampled_from(["a", "b", "c", None]),
                           st.one_of(st.none(), st.integers(-3, 3)),
                           st.one_of(st.none(), st.integers(-5, 5))), max_size=25)
_CONDITIONS = [
    ("row_number() over (partition by k order by t desc, id) <= 2",
     "row_number() OVER (PARTITION BY k ORDER BY t DESC NULLS LAST, id) <= 2"),
    ("rank() over (partition by k order by t) = 1", "rank() OVER (PARTITION BY k ORDER BY t) = 1"),
    ("v >= max(v) over (partition by k)", "v >= max(v) OVER (PARTITION BY k)"),
    ("sum(v) over (order by t, id) > 0", "sum(v) OVER (ORDER BY t, id) > 0"),
    (("lag(v) over (partition by k order by id) is null or v > lag(v) over (partition by k "
      "order by id)"),
     ("lag(v) OVER (PARTITION BY k ORDER BY id) IS NULL OR v > "
      "lag(v) OVER (PARTITION BY k ORDER BY id)")),
]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=_ROWS, which=st.integers(0, len(_CONDITIONS) - 1), parts=st.integers(1, 3))
def test_qualify_property(rows, which, parts):
    import pandas as pd

    text, sql = _CONDITIONS[which]
    types = {"id": Type("int"), "k": Type("string"), "t": Type("int"), "v": Type("int")}
    df = coerce_frame(pd.DataFrame({"id": list(range(len(rows))),
                                    "k": pd.Series([r[0] for r in rows], dtype=object),
                                    "t": pd.Series([r[1] for r in rows], dtype=object),
                                    "v": pd.Series([r[2] for r in rows], dtype=object)}), types)
    con = duckdb.connect()
    con.execute("CREATE TABLE q (id BIGINT, k VARCHAR, t BIGINT, v BIGINT)")
    if rows:
        con.executemany("INSERT INTO q VALUES (?, ?, ?, ?)",
                        [(i, *r) for i, r in enumerate(rows)])
    want = [r[0] for r in con.execute(f"SELECT id FROM q QUALIFY {sql} ORDER BY id").fetchall()]
    assert sorted(S.qualify(df, text, {}, types)["id"].tolist()) == want
    b = Builder(con)
    rel = b.qualify(b.source("q"), text, {})
    assert [r[0] for r in con.execute(rel.query("id") + " ORDER BY id").fetchall()] == want
    if rows:
        ddf = dd.from_pandas(df, npartitions=min(parts, len(rows)), sort=False)
        assert sorted(DT.qualify(ddf, text, {}, types).compute()["id"].tolist()) == want
