"""Postgres sinks and sources against the local server (127.0.0.1:5432, trust auth)."""

from __future__ import annotations

import datetime as dt
import uuid

import pandas as pd
import psycopg
import pyarrow as pa
import pytest
from etlc_runtime import executor
from etlc_runtime.connections import ConnectionNotFound, resolve
from etlc_runtime.io_read import read_dataset
from etlc_runtime.io_write import write_dataset
from etlc_runtime.templating import macros
from rt_helpers import task_plan

URI = "postgresql://postgres@127.0.0.1:5432/test"
M = macros("r", "2025-01-02", {})


@pytest.fixture
def pg(monkeypatch):
    try:
        psycopg.connect(URI, connect_timeout=3).close()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"no Postgres at {URI}: {exc}")
    monkeypatch.setenv("AIRFLOW_CONN_PG_TEST", URI)
    schema = f"etlc_t_{uuid.uuid4().hex[:8]}"
    yield schema
    with psycopg.connect(URI, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def rows(schema, table, order="id"):
    with psycopg.connect(URI) as conn:
        return conn.execute(f'select * from "{schema}"."{table}" order by {order}').fetchall()


def frame(ids, amount=1.0):
    return pd.DataFrame({"id": pd.array(ids, dtype="Int64"),
                         "name": pd.array([f"n{i}" for i in ids], dtype="string"),
                         "day": pd.Series([dt.date(2025, 1, i) for i in ids],
                                          dtype=pd.ArrowDtype(pa.date32())),
                         "amount": pd.array([amount * i for i in ids], dtype="Float64")})


def test_connection_from_env(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_DWH_X", "postgresql://u:p%40ss@db.example:6543/wh?sslmode=require")
    conn = resolve("dwh", {"dwh": "dwh_x"})
    assert (conn.host, conn.port, conn.login, conn.password, conn.schema) == \
        ("db.example", 6543, "u", "p@ss", "wh")
    assert conn.extra == {"sslmode": "require"} and "p@ss" not in repr(conn)
    monkeypatch.setenv("AIRFLOW_CONN_J", '{"conn_type": "postgres", "host": "h", "port": 1}')
    assert resolve("j", {}).host == "h"
    with pytest.raises(ConnectionNotFound, match="AIRFLOW_CONN_NOPE_ID"):
        resolve("nope", {"nope": "nope_id"})


def test_upsert_is_idempotent_and_merges(pg):
    ds = {"format": "postgres", "connection": "dwh", "table": f"{pg}.facts", "key": ["id"],
          "columns": {"amount": {"type": "decimal", "scale": 2}}}
    conns = {"dwh": "pg_test"}
    write_dataset(frame([1, 2, 3]), ds, "upsert", M, None, "r1", connections=conns)
    write_dataset(frame([1, 2, 3]), ds, "upsert", M, None, "r1", connections=conns)  # retry
    assert len(rows(pg, "facts")) == 3
    write_dataset(frame([3, 4], amount=10.0), ds, "upsert", M, None, "r2", connections=conns)
    got = rows(pg, "facts")
    assert [r[0] for r in got] == [1, 2, 3, 4]
    assert float(got[2][3]) == 30.0 and float(got[0][3]) == 1.0
    assert got[0][2] == dt.date(2025, 1, 1)
    back = read_dataset({**ds, "columns": {"id": {"type": "int"}, "amount": {"type": "float"}}},
                        M, None, connections=conns)
    assert back.sort_values("id")["amount"].tolist() == [1.0, 2.0, 30.0, 40.0]


def test_overwrite_and_keyless_append(pg):
    conns = {"dwh": "pg_test"}
    ds = {"format": "postgres", "connection": "dwh", "table": f"{pg}.t"}
    write_dataset(frame([1, 2]), ds, "append", M, None, "d1", connections=conns)
    write_dataset(frame([3]), ds, "append", M, None, "d2", connections=conns)
    write_dataset(frame([3]), ds, "append", M, None, "d2", connections=conns)  # same date again
    assert len(rows(pg, "t")) == 3
    write_dataset(frame([9]), ds, "overwrite", M, None, "r", connections=conns)
    assert [r[0] for r in rows(pg, "t")] == [9]


def test_failed_load_leaves_the_table_unchanged(pg):
    conns = {"dwh": "pg_test"}
    ds = {"format": "postgres", "connection": "dwh", "table": f"{pg}.safe", "key": ["id"]}
    write_dataset(frame([1, 2]), ds, "upsert", M, None, "r", connections=conns)
    bad = frame([2, 3])
    bad["amount"] = pd.array(["x", "y"], dtype="string")     # not a double precision
    with pytest.raises(Exception):  # noqa: B017 - psycopg's data error
        write_dataset(bad, ds, "overwrite", M, None, "r", connections=conns)
    assert [r[0] for r in rows(pg, "safe")] == [1, 2]


def test_executor_writes_postgres(pg, project):
    (project / "in.csv").write_text("id,name\n1,a\n2,b\n2,c\n")
    datasets = {"src": {"format": "csv", "path": "in.csv",
                        "columns": {"id": {"type": "int"}, "name": {"type": "string"}}},
                "dst": {"format": "postgres", "connection": "dwh", "table": f"{pg}.names",
                        "key": ["id"]}}
    plan = task_plan([{"name": "raw", "read": "src"},
                      {"name": "load", "from": "raw", "write": "dst", "mode": "upsert"}],
                     datasets)
    plan["connections"] = {"dwh": "pg_test"}
    for _ in range(2):
        result = executor.run_task(plan, {"run_id": "r"})
    assert result["rows"] == 2
    assert rows(pg, "names") == [(1, "a"), (2, "c")]   # last row wins for a repeated key
