"""Issue 10, PostgreSQL sinks: values load unchanged, auto-created tables get real types, and
the keyed merge refuses what it cannot do right (against the local server, trust auth).

Findings covered: a null timestamp failed the load ("NaT"); auto-created tables stored
decimal, date and bool as text; an upsert with a null key added the row again on every run;
a table without a primary key was upserted silently.  Both engines load through the same
writer (the duckdb engine hands it an Arrow table, no pandas).
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import uuid

import pandas as pd
import psycopg
import pyarrow as pa
import pytest
from etlc_runtime.engines import get_engine
from etlc_runtime.engines.base import StepContext, TaskResources
from etlc_runtime.errors import StepError
from etlc_runtime.io_postgres import write_postgres
from test_write_fidelity import _pandas_frame  # the pandas engine's representation

pytestmark = pytest.mark.postgres
URI = "postgresql://postgres@127.0.0.1:5432/test"
CONNS = {"dwh": "pg_test"}
D = decimal.Decimal
I64 = 2**63 - 1


@pytest.fixture
def pg(monkeypatch):
    try:
        psycopg.connect(URI, connect_timeout=3).close()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"no PostgreSQL at {URI}: {exc}")
    monkeypatch.setenv("AIRFLOW_CONN_PG_TEST", URI)
    schema = f"etlc_f_{uuid.uuid4().hex[:8]}"
    yield schema
    with psycopg.connect(URI, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _rows(schema, table="t", order="id"):
    with psycopg.connect(URI) as conn:
        return conn.execute(f'select * from "{schema}"."{table}" order by {order}').fetchall()


def _types(schema, table="t") -> dict[str, str]:
    with psycopg.connect(URI) as conn:
        got = conn.execute(
            "select a.attname, format_type(a.atttypid, a.atttypmod) from pg_attribute a "
            "where a.attrelid = %s::regclass and a.attnum > 0 and not a.attisdropped",
            (f'"{schema}"."{table}"',)).fetchall()
    return dict(got)


ARROW = pa.table({
    "id": pa.array([1, 2, 3], pa.int64()),
    "big": pa.array([I64, None, 2**53 + 1], pa.int64()),
    "f": pa.array([0.1, math.nan, None], pa.float64()),
    "amount": pa.array([D("12345678901234567.89"), None, D("-0.01")], pa.decimal128(38, 2)),
    "day": pa.array([dt.date(1, 1, 1), None, dt.date(9999, 12, 31)], pa.date32()),
    "ts": pa.array([dt.datetime(2025, 1, 16, 9, 30, 0, 123456), None,
                    dt.datetime(2025, 1, 16)], pa.timestamp("us")),
    "ok": pa.array([True, None, False], pa.bool_()),
    "s": pa.array(["", None, "x"], pa.string()),
})
WANT = [(1, I64, 0.1, D("12345678901234567.89"), dt.date(1, 1, 1),
         dt.datetime(2025, 1, 16, 9, 30, 0, 123456), True, ""),
        (2, None, "nan", None, None, None, None, None),
        (3, 2**53 + 1, None, D("-0.01"), dt.date(9999, 12, 31), dt.datetime(2025, 1, 16),
         False, "x")]


def _load(engine: str, table: pa.Table, dataset: dict, mode: str, root):
    eng = get_engine(engine, TaskResources(spill_dir=root / ".spill"))
    try:
        rel = eng.from_pandas(_pandas_frame(table)) if engine == "pandas" else eng.from_arrow(table)
        ctx = StepContext(root=root, params={}, macros={}, connections=CONNS,
                          append_key="2025-01-01", step="load")
        return eng.write(rel, dataset, mode, ctx)
    finally:
        eng.close()


def _same(got, want):
    assert len(got) == len(want)
    for g_row, w_row in zip(got, want):
        for g, w in zip(g_row, w_row):
            if w == "nan":
                assert isinstance(g, float) and math.isnan(g)       # NaN kept apart from null
            else:
                assert g == w and type(g) is type(w), (g_row, w_row)


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_values_load_unchanged_null_timestamp_included(pg, tmp_path, engine):
    ds = {"format": "postgres", "connection": "dwh", "table": f"{pg}.t", "key": ["id"]}
    _load(engine, ARROW, ds, "upsert", tmp_path)   # a null timestamp used to fail ("NaT")
    _same(_rows(pg), WANT)


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_auto_created_table_has_real_types(pg, tmp_path, engine):
    ds = {"format": "postgres", "connection": "dwh", "table": f"{pg}.t", "key": ["id"]}
    _load(engine, ARROW, ds, "upsert", tmp_path)
    assert _types(pg) == {"id": "bigint", "big": "bigint", "f": "double precision",
                          "amount": "numeric(38,2)", "day": "date",
                          "ts": "timestamp without time zone", "ok": "boolean", "s": "text"}


def test_declared_types_win_when_creating(pg):
    frame = pd.DataFrame({"id": pd.array([1], dtype="Int64"),
                          "p": pd.array([D("1.5")], dtype=pd.ArrowDtype(pa.decimal128(38, 1))),
                          "at": pd.Series([dt.datetime(2025, 1, 1)], dtype="datetime64[us]")})
    write_postgres(frame, {"format": "postgres", "connection": "dwh", "table": f"{pg}.t",
                           "columns": {"p": {"type": "decimal", "scale": 3, "precision": 12}}},
                   "append", {}, CONNS, append_key="k")
    types = _types(pg)
    assert types["p"] == "numeric(12,3)" and types["at"] == "timestamp without time zone"


def test_object_columns_from_an_untyped_frame_are_not_text(pg):
    frame = pd.DataFrame({"id": [1, 2], "day": [dt.date(2025, 1, 1), None],
                          "amount": [D("1.10"), None], "ok": [True, None]}, dtype=object)
    write_postgres(frame, {"format": "postgres", "connection": "dwh", "table": f"{pg}.t",
                           "key": ["id"]}, "upsert", {}, CONNS)
    types = _types(pg)
    assert (types["day"], types["ok"]) == ("date", "boolean")
    assert types["amount"].startswith("numeric")
    assert _rows(pg)[0] == (1, dt.date(2025, 1, 1), D("1.10"), True)


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_upsert_with_a_null_key_is_an_error_not_a_new_row(pg, tmp_path, engine):
    ds = {"format": "postgres", "connection": "dwh", "table": f"{pg}.t", "key": ["k"]}
    table = pa.table({"k": pa.array(["a", None], pa.string()), "v": pa.array([1, 2])})
    with pytest.raises(StepError, match=r"R214") as info:
        _load(engine, table, ds, "upsert", tmp_path)
    assert "'k'" in str(info.value) and "row 2" in str(info.value)
    with psycopg.connect(URI) as conn:   # nothing was loaded, not even the table
        assert conn.execute("select to_regclass(%s)", (f'"{pg}"."t"',)).fetchone()[0] is None


def test_upsert_into_a_table_without_a_primary_key(pg, caplog):
    with psycopg.connect(URI, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{pg}"')
        conn.execute(f'CREATE TABLE "{pg}".t (id bigint, tag text)')
        conn.execute(f"INSERT INTO \"{pg}\".t VALUES (1, 'old')")
    ds = {"format": "postgres", "connection": "dwh", "table": f"{pg}.t", "key": ["id"]}
    frame = pd.DataFrame({"id": pd.array([1, 2], dtype="Int64"),
                          "tag": pd.array(["new", "new"], dtype="string")})
    with caplog.at_level("WARNING"):
        write_postgres(frame, ds, "upsert", {}, CONNS)
        write_postgres(frame, ds, "upsert", {}, CONNS)      # a rerun adds nothing
    assert _rows(pg) == [(1, "new"), (2, "new")]
    assert any("no primary key" in r.getMessage() for r in caplog.records)  # not silent
    with psycopg.connect(URI, autocommit=True) as conn:     # someone else adds a duplicate
        conn.execute(f"INSERT INTO \"{pg}\".t VALUES (2, 'other')")
    with pytest.raises(StepError, match="R215"):
        write_postgres(frame, ds, "upsert", {}, CONNS)
    assert sorted(_rows(pg)) == [(1, "new"), (2, "new"), (2, "other")]  # rolled back


def test_duckdb_postgres_sink_imports_no_pandas(pg, tmp_path):
    import subprocess
    import sys

    code = f"""
import sys, pyarrow as pa
from pathlib import Path
from etlc_runtime.engines import get_engine
from etlc_runtime.engines.base import StepContext, TaskResources
eng = get_engine("duckdb", TaskResources())
rel = eng.b.source("(SELECT * FROM (VALUES (1::BIGINT, 9223372036854775807::BIGINT), "
                  "(NULL, NULL)) t(id, v))")  # from_arrow: DuckDB's register imports pandas
eng.write(rel, {{"format": "postgres", "connection": "dwh", "table": "{pg}.t"}}, "append",
          StepContext(root=Path("{tmp_path}"), params={{}}, macros={{}},
                      connections={CONNS!r}, append_key="k"))
eng.close()
assert "pandas" not in sys.modules, "pandas imported"
"""
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True,
                          text=True,
                          env={**__import__("os").environ, "AIRFLOW_CONN_PG_TEST": URI})
    assert done.returncode == 0, done.stderr
    assert _rows(pg) == [(1, I64, "k"), (None, None, "k")]


def test_read_back_with_declared_columns_is_what_was_loaded(pg, tmp_path):
    from etlc_runtime.io_postgres import read_postgres

    ds = {"format": "postgres", "connection": "dwh", "table": f"{pg}.t", "key": ["id"]}
    _load("pandas", ARROW, ds, "upsert", tmp_path)
    declared = {"id": {"type": "int"}, "big": {"type": "int"}, "f": {"type": "float"},
                "amount": {"type": "decimal", "scale": 2}, "day": {"type": "date"},
                "ts": {"type": "timestamp"}, "ok": {"type": "bool"}, "s": {"type": "string"}}
    frame = read_postgres({**ds, "columns": declared}, {}, CONNS).sort_values("id")
    back = pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)
    for name in ARROW.column_names:
        got, want = back.column(name).to_pylist(), ARROW.column(name).to_pylist()
        for g, w in zip(got, want):
            if isinstance(w, float) and math.isnan(w):
                assert isinstance(g, float) and math.isnan(g)
            else:
                assert g == w, (name, got, want)
