"""Issue 12, PostgreSQL reads (pg_read, pg_pushdown) against the local server: values come
back exactly as a hand-written psycopg query returns them on every engine, the SQL sent
names only the columns the step needs and the filter terms PostgreSQL computes as etlc
does, the rows equal the hand-written query's, and the dask engine reads one key range per
partition.
"""

from __future__ import annotations

import datetime as dt
import decimal
import logging
import math

import psycopg
import pyarrow.parquet as pq
import pytest
from etlc_runtime import executor
from etlc_runtime.column_use import used_columns
from etlc_runtime.engines import get_engine
from etlc_runtime.engines.base import StepContext, TaskResources
from etlc_runtime.errors import DataError
from etlc_runtime.pg_pushdown import PUSHDOWN, with_pushdown
from etlc_runtime.pg_read import key_ranges, read_arrow
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rt_helpers import task_plan
from test_postgres_fidelity import CONNS, URI, pg  # noqa: F401  (the server fixture)

pytestmark = pytest.mark.postgres
D = decimal.Decimal
UTC = dt.UTC
I64 = 2**63 - 1
ENGINES = ["pandas", "duckdb", "dask"]
COLUMNS = "id, grp, amt, f, r::float8 AS r, s, d, ts, ok, tz, j::text AS j"
TEXTS = ["", None, "a", "b", "O'Brien", 'say "hi", then\nleave', "ção", "Z", " pad ",
         "a\\b", "'); DROP TABLE t; --"]


def _row(i: int) -> tuple:
    """Row i of the fixture table: nulls, extremes, NaN/inf, '' and tricky text."""
    floats = [math.nan, math.inf, -math.inf, -0.0, 1e-310, 0.1, None, 1e300]
    # the widest a pandas/dask filter compares exactly: 15 significant digits (wider is R041
    # there since 2f64b9e, tests/expr/test_decimal_exact.py)
    amounts = [D("99999999999.9999"), D("-0.0001"), None, D("12.5000"), D("0.0000")]
    return (i if i != 7 else I64, None if i % 5 == 0 else i % 4 - 1, amounts[i % 5],
            floats[i % 8], None if i % 6 == 0 else [0.1, 3.4e38, -1.5][i % 3],
            TEXTS[i % len(TEXTS)],
            None if i % 9 == 0 else dt.date(1, 1, 1) + dt.timedelta(days=i * 40000),
            None if i % 4 == 0 else dt.datetime(2024, 2, 29, 23, 59, 59, i * 7919 % 1000000),
            None if i % 3 == 0 else i % 2 == 0,
            None if i % 7 == 0 else dt.datetime(2020, 1, 1, i % 24, tzinfo=UTC),
            None if i % 2 else f'{{"k": {i}}}')


ROWS = [_row(i) for i in range(1, 41)]


@pytest.fixture
def table(pg):  # noqa: F811
    with psycopg.connect(URI, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{pg}"')
        conn.execute(f'CREATE TABLE "{pg}".t (id int8 PRIMARY KEY, grp int4, '
                     f'amt numeric(20, 4), f float8, r real, s text, d date, ts timestamp, '
                     f'ok bool, tz timestamptz, j jsonb)')
        with conn.cursor() as cur, cur.copy(f'COPY "{pg}".t FROM STDIN') as copy:
            for row in ROWS:
                copy.write_row(row)
    return {"format": "postgres", "connection": "dwh", "table": f"{pg}.t", "key": ["id"]}


def _hand(pg_schema: str, where: str = "true", columns: str = COLUMNS) -> list[tuple]:
    with psycopg.connect(URI) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        rows = conn.execute(f'SELECT {columns} FROM "{pg_schema}".t WHERE {where} '
                            f'ORDER BY id').fetchall()
    return [tuple(v.astimezone(UTC) if isinstance(v, dt.datetime) and v.tzinfo else v
                  for v in row) for row in rows]


def _same(got: list[tuple], want: list[tuple]) -> None:
    assert len(got) == len(want)
    for g_row, w_row in zip(got, want):
        for g, w in zip(g_row, w_row):
            if isinstance(w, float) and math.isnan(w):
                assert isinstance(g, float) and math.isnan(g), (g_row, w_row)
            else:
                assert g == w and type(g) is type(w), (g, w, g_row, w_row)
                if isinstance(w, float):
                    assert math.copysign(1, g) == math.copysign(1, w)


def _ctx(project, params=None):
    return StepContext(root=project, params=params or {}, macros={}, connections=CONNS)


@pytest.mark.parametrize("engine_name", ENGINES)
def test_every_value_comes_back_as_psycopg_returns_it(engine_name, table, pg, project):  # noqa: F811
    engine = get_engine(engine_name, TaskResources(partitions=3))
    try:
        got = engine.to_arrow(engine.read(table, _ctx(project)))
    finally:
        engine.close()
    assert got.schema.field("amt").type.scale == 4 and str(got.schema.field("d").type) == \
        "date32[day]"
    rows = sorted((tuple(r.values()) for r in got.to_pylist()), key=lambda r: r[0])
    _same(rows, _hand(pg))


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.one_of(st.none(), st.text(st.characters(
           blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=8)),
           min_size=1, max_size=12),
       amounts=st.lists(st.decimals(min_value=-10**8, max_value=10**8, places=3,
                                    allow_nan=False), min_size=12, max_size=12))
def test_text_and_decimals_any_value(pg, texts, amounts):  # noqa: F811
    """'' stays apart from null, every character and digit unchanged (hypothesis)."""
    with psycopg.connect(URI, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{pg}"')
        conn.execute(f'DROP TABLE IF EXISTS "{pg}".h')
        conn.execute(f'CREATE TABLE "{pg}".h (i int8, s text, n numeric)')
        with conn.cursor() as cur, cur.copy(f'COPY "{pg}".h FROM STDIN') as copy:
            for i, s in enumerate(texts):
                copy.write_row((i, s, amounts[i]))
    ds = {"format": "postgres", "connection": "dwh", "table": f"{pg}.h"}
    got = read_arrow(ds, {}, CONNS).to_pylist()
    assert [(r["i"], r["s"], r["n"]) for r in got] == [
        (i, s, amounts[i]) for i, s in enumerate(texts)]
    # one column: a null is an empty line, which must stay a row
    assert read_arrow(ds, {}, CONNS, columns=["s"]).column("s").to_pylist() == texts


FILTER = ("grp >= $low and s != 'O''Brien' and d between date '0001-01-01' and "
          "date '2500-01-01' and f > 0.0 and (ok or amt is null) and id not in (3, 4)")


@pytest.mark.parametrize("engine_name", ENGINES)
def test_executor_pushes_columns_and_filter(engine_name, table, pg, project, caplog):  # noqa: F811
    caplog.set_level(logging.INFO, logger="etlc_runtime.pg_read")
    steps = [{"name": "src", "read": "t", "filter": FILTER, "select": ["id", "amt", "s"]},
             {"name": "out", "from": "src", "write": "o", "mode": "overwrite"}]
    plan = task_plan(steps, {"t": table, "o": {"format": "parquet", "path": "out/o/"}},
                     engine=engine_name, partitions=2, params={"low": 0})
    plan["connections"] = CONNS
    executor.run_task(plan, {"run_id": "manual__1"})
    sent = [r.getMessage() for r in caplog.records if "postgres read" in r.getMessage()]
    assert sent
    for text in sent:   # columns: the select's and the filter's; f > 0.0 stays in the engine
        assert 'SELECT "id", "grp", "amt", "f", "s", "d", "ok" FROM' in text, text
        assert ('WHERE ("grp" >= (0)) AND ("s" COLLATE "C" <> (\'O\'\'Brien\')) AND ("d" '
                "BETWEEN ('0001-01-01'::date) AND ('2500-01-01'::date)) AND ((\"ok\") OR "
                '("amt" IS NULL)) AND ("id" NOT IN ((3), (4)))') in text, text
        assert '"f" >' not in text
    got = pq.read_table(project / "out" / "o").to_pylist()
    got = sorted(((r["id"], r["amt"], r["s"]) for r in got), key=lambda r: r[0])
    want = _hand(pg, "grp >= 0 AND s <> 'O''Brien' AND d BETWEEN '0001-01-01' AND "
                     "'2500-01-01' AND f > 0 AND f <> 'NaN' AND (ok OR amt IS NULL) AND "
                     "id NOT IN (3, 4)", "id, amt, s")
    assert want and got == want


def _lit(kind: str, v) -> str:
    if kind == "s":
        return "'" + v.replace("'", "''") + "'"
    if kind == "d":
        return f"date '{v.isoformat()}'"
    return str(v)


_COLS = {"grp": ("n", st.integers(-2, 3)), "id": ("n", st.integers(0, 45)),
         "amt": ("n", st.sampled_from([D("-0.0001"), D("12.5"), D("0"), 5])),
         "s": ("s", st.sampled_from([t for t in TEXTS if t is not None])),
         "d": ("d", st.dates(dt.date(1, 1, 1), dt.date(4500, 1, 1)))}


@st.composite
def _term(draw, depth=0):
    """An etlc filter term and whether all of it can go down."""
    kind = draw(st.sampled_from(["cmp", "null", "in", "between", "bool", "float"] +
                                (["and", "or", "not"] if depth < 2 else [])))
    if kind in ("and", "or"):
        (a, pa_), (b, pb) = draw(_term(depth + 1)), draw(_term(depth + 1))
        return f"({a} {kind} {b})", pa_ and pb
    if kind == "not":
        a, p = draw(_term(depth + 1))
        return f"not ({a})", p
    if kind == "bool":
        return draw(st.sampled_from(["ok", "not ok"])), True
    if kind == "float":
        return f"f {draw(st.sampled_from(['<', '>=', '=']))} 0.1", False
    col = draw(st.sampled_from(sorted(_COLS)))
    lk, values = _COLS[col]
    if kind == "null":
        return f"{col} is {draw(st.sampled_from(['', 'not ']))}null", True
    if kind == "in":
        items = draw(st.lists(values, min_size=1, max_size=3))
        neg = draw(st.sampled_from(["", "not "]))
        return f"{col} {neg}in ({', '.join(_lit(lk, v) for v in items)})", True
    if kind == "between":
        lo, hi = draw(values), draw(values)
        return f"{col} between {_lit(lk, lo)} and {_lit(lk, hi)}", True
    op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="]))
    return f"{col} {op} {_lit(lk, draw(values))}", True


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(terms=st.lists(_term(), min_size=1, max_size=3))
def test_pushed_filter_keeps_exactly_what_etlc_keeps(table, terms):
    """Differential: the rows the server sends for a pushed filter, against etlc's own
    filter over the whole table: never fewer, and the same when every term went down."""
    from etlc_runtime import _expr
    from etlc_runtime.dtypes import arrow_to_frame

    text = " and ".join(t for t, _ in terms)
    whole = arrow_to_frame(read_arrow(table, {}, CONNS))
    want = sorted(_expr.apply_filter(text, whole, {})["id"].tolist())
    sent = arrow_to_frame(read_arrow({**table, PUSHDOWN: {"filter": text, "params": {}}},
                                     {}, CONNS))
    assert set(want) <= set(sent["id"].tolist())
    assert sorted(_expr.apply_filter(text, sent, {})["id"].tolist()) == want
    if all(p for _, p in terms):
        assert sorted(sent["id"].tolist()) == want


def test_literals_and_params_are_escaped(table, pg, project):  # noqa: F811
    """Quotes, backslashes and SQL in constants and $params are values, never SQL."""
    evil = "'); DROP TABLE t; --"
    rel = read_arrow({**table, PUSHDOWN: {"filter": "s = $v or s = 'a\\b'",
                                          "params": {"v": evil}}}, {}, CONNS)
    assert sorted(rel.column("s").to_pylist()) == sorted(
        [r[5] for r in ROWS if r[5] in (evil, "a\\b")])
    assert len(_hand(pg)) == len(ROWS)   # the table is still there


def test_a_declared_type_other_than_the_columns_keeps_the_filter_in_the_engine(
        table, project, caplog):
    """``grp`` declared as string: etlc compares text, the server ints, so nothing goes
    down; the declared text is exact."""
    caplog.set_level(logging.INFO, logger="etlc_runtime.pg_read")
    ds = {**table, "columns": {"id": "int", "grp": "string"},
          PUSHDOWN: {"filter": "grp = '2' and id > 2", "params": {}}}
    got = read_arrow(ds, {}, CONNS)
    (sent,) = [r.getMessage() for r in caplog.records if "postgres read" in r.getMessage()]
    assert 'WHERE ("id" > (2))' in sent and "grp" not in sent.split("WHERE")[1]
    assert sorted(zip(got.column("id").to_pylist(), got.column("grp").to_pylist())) == \
        sorted((r[0], None if r[1] is None else str(r[1])) for r in ROWS if r[0] > 2)


def test_a_value_that_does_not_convert_is_r040(table, pg):  # noqa: F811
    with psycopg.connect(URI, autocommit=True) as conn:
        conn.execute(f'CREATE TABLE "{pg}".n (k int8, v numeric)')
        conn.execute(f"INSERT INTO \"{pg}\".n VALUES (1, 1.5), (2, 'NaN')")
    with pytest.raises(DataError) as err:
        read_arrow({"format": "postgres", "connection": "dwh", "table": f"{pg}.n",
                    "name": "nums"}, {}, CONNS)
    e = err.value
    assert (e.code, e.dataset, e.column, e.row, e.value) == ("R040", "nums", "v", 2, "NaN")
    with pytest.raises(DataError) as err:
        read_arrow({**table, "columns": {"s": "int"}}, {}, CONNS)
    assert (err.value.code, err.value.column, err.value.row, err.value.value) == (
        "R040", "s", 2, "a")


def test_dask_reads_one_key_range_per_partition(pg, project, caplog):  # noqa: F811
    """Null keys in the first range, the last open-ended; each partition one query; the
    rows are the table's, once each."""
    with psycopg.connect(URI, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{pg}"')
        conn.execute(f'CREATE TABLE "{pg}".k (k int4, v text)')
        conn.execute(f"INSERT INTO \"{pg}\".k SELECT CASE WHEN g % 10 = 0 THEN NULL ELSE g "
                     f"END, 'v' || g FROM generate_series(1, 100) g")
    ds = {"format": "postgres", "connection": "dwh", "table": f"{pg}.k", "key": ["k"]}
    ranges = key_ranges(ds, {}, CONNS, 4)
    assert [(r.low, r.high) for r in ranges] == [(None, 25), (25, 50), (50, 75), (75, None)]
    caplog.set_level(logging.INFO, logger="etlc_runtime.pg_read")
    engine = get_engine("dask", TaskResources(partitions=4))
    try:
        rel = engine.read(ds, _ctx(project))
        assert rel.npartitions == 4
        got = engine.to_pandas(rel)
    finally:
        engine.close()
    assert sorted(got["v"].tolist()) == sorted(f"v{g}" for g in range(1, 101))
    sent = {r.getMessage().split("FROM")[1] for r in caplog.records
            if "postgres read" in r.getMessage()}
    assert len(sent) == 4
    assert any('("k" < 25 OR "k" IS NULL)' in s for s in sent)
    assert any(s.endswith('WHERE "k" >= 75') for s in sent)


def needed_columns(step: dict) -> list[str] | None:
    """The columns a PostgreSQL read step asks for when it is its task's only data step."""
    return used_columns([{"name": "src", "kind": "read", **step}], "src",
                        {"format": "postgres", "table": "t"}, None)


def test_needed_columns():
    assert needed_columns({"read": "t"}) is None
    assert needed_columns({"read": "t", "filter": "a > 1", "select": ["b", "c"]}) == \
        ["a", "b", "c"]
    assert needed_columns({"filter": "a > 1", "derive": {"x": "b + a", "y": "x * c"},
                           "select": ["x", "y", "d"]}) == ["a", "b", "c", "d"]
    assert needed_columns({"group_by": ["g"], "aggregate": {"n": "count(*)",
                                                             "s": "sum(v)"},
                           "having": "n > 1"}) == ["g", "v"]
    assert needed_columns({"join": {"with": "x", "on": ["k"]}, "select": ["k"]}) is None
    assert needed_columns({"union": ["x"], "select": ["k"]}) is None
    assert needed_columns({"select": ["*"]}) is None
    # qualify runs after derive: a derived name it uses is no source column
    assert needed_columns({"derive": {"r": "row_number() over (partition by k order by t)"},
                           "qualify": "r = 1 and v > 0", "select": ["k", "r"]}) == ["k", "t", "v"]
    ds = with_pushdown({"filter": "a > $p", "select": ["b"]}, {"table": "t"}, {"p": 1})
    assert ds[PUSHDOWN] == {"filter": "a > $p", "params": {"p": 1}}


@pytest.mark.parametrize("engine_name", ENGINES)
def test_a_read_follows_its_chain_to_the_columns_it_needs(engine_name, table, pg, project,  # noqa: F811
                                                          caplog):
    """A PostgreSQL read without a select of its own asks for the declared columns the task's
    later steps name (as file reads do), and the task's output is unchanged."""
    caplog.set_level(logging.INFO, logger="etlc_runtime.pg_read")
    declared = {"id": {"type": "int"}, "grp": {"type": "int"},
                "amt": {"type": "decimal", "scale": 4}, "ok": {"type": "bool"},
                "ts": {"type": "timestamp"}}
    steps = [{"name": "src", "read": "t"},
             {"name": "agg", "from": "src", "filter": "id > 2", "group_by": ["grp"],
              "aggregate": {"n": "count(*)", "top": "max(id)", "priced": "count(amt)"}},
             {"name": "out", "from": "agg", "write": "o", "mode": "overwrite"}]
    plan = task_plan(steps, {"t": {**table, "columns": declared},
                             "o": {"format": "parquet", "path": "out/o/"}}, engine=engine_name)
    plan["connections"] = CONNS
    executor.run_task(plan, {"run_id": "manual__1"})
    sent = [r.getMessage() for r in caplog.records if "postgres read" in r.getMessage()]
    assert sent and all('SELECT "id", "grp", "amt" FROM' in text for text in sent), sent
    got = {r["grp"]: (r["n"], r["top"], r["priced"])
           for r in pq.read_table(project / "out" / "o").to_pylist()}
    with psycopg.connect(URI) as conn:
        want = conn.execute(f'SELECT grp, count(*), max(id), count(amt) FROM "{pg}".t '
                            f'WHERE id > 2 GROUP BY grp').fetchall()
    assert got == {g: tuple(rest) for g, *rest in want}


def test_a_duckdb_read_imports_no_pandas(table, project):
    """Every column type of the fixture table through the duckdb engine, in a fresh
    process: COPY text, pyarrow's CSV reader and arrow_convert, no pandas module."""
    import os
    import subprocess
    import sys

    code = f"""
import sys
from pathlib import Path
from etlc_runtime.engines import get_engine
from etlc_runtime.engines.base import StepContext, TaskResources
eng = get_engine("duckdb", TaskResources())
ctx = StepContext(root=Path({str(project)!r}), params={{}}, macros={{}}, connections={CONNS!r})
rel = eng.read({table!r}, ctx)
assert eng.to_arrow(rel).num_rows == {len(ROWS)}
eng.close()
assert "pandas" not in sys.modules, "pandas imported"
"""
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True,
                          text=True, env={**os.environ, "AIRFLOW_CONN_PG_TEST": URI})
    assert done.returncode == 0, done.stderr


def test_key_range_bounds_of_dates_and_timestamps():
    from etlc_runtime.pg_read import _bounds

    assert _bounds(1, 99, 4) == [25, 50, 75]
    assert _bounds(5, 5, 3) == []              # one key: one range
    assert _bounds(dt.date(2024, 1, 1), dt.date(2024, 1, 9), 3) == [
        dt.date(2024, 1, 4), dt.date(2024, 1, 7)]
    t0 = dt.datetime(2024, 1, 1)
    assert _bounds(t0, t0 + dt.timedelta(seconds=4), 2) == [t0 + dt.timedelta(seconds=2)]


def test_dask_partitions_read_one_snapshot(pg, project):  # noqa: F811
    """Rows deleted and added after the read step ran (the partitions compute later) show
    in no partition: every range query reads the snapshot exported at the read."""
    with psycopg.connect(URI, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{pg}"')
        conn.execute(f'CREATE TABLE "{pg}".k (k int4 PRIMARY KEY, v text)')
        conn.execute(f"INSERT INTO \"{pg}\".k SELECT g, 'v' || g FROM generate_series(1, 100) g")
    ds = {"format": "postgres", "connection": "dwh", "table": f"{pg}.k", "key": ["k"]}
    engine = get_engine("dask", TaskResources(partitions=4))
    try:
        rel = engine.read(ds, _ctx(project))
        with psycopg.connect(URI, autocommit=True) as conn:
            conn.execute(f'DELETE FROM "{pg}".k WHERE k > 50')
            conn.execute(f"INSERT INTO \"{pg}\".k VALUES (1000, 'late')")
        got = engine.to_pandas(rel)
    finally:
        engine.close()
    assert sorted(got["v"].tolist()) == sorted(f"v{g}" for g in range(1, 101))
    assert engine._snapshots == []
