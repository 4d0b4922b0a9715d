"""Postgres loads under concurrency and kills (issue 8), against the local server.

Each load runs in its own process, as two Airflow workers or two `etlc run`s would.  For the
concurrency tests the test first holds the table's (or schema's) advisory lock, starts both
loads, waits until both are queued on that lock in ``pg_locks`` and then lets them go: the two
loads are provably concurrent, whatever the scheduling.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid

import pandas as pd
import psycopg
import pytest
from etlc_runtime.io_postgres import FAULT_ENV, FAULT_POINTS, lock_key, write_postgres

pytestmark = pytest.mark.postgres
URI = "postgresql://postgres@127.0.0.1:5432/test"
CONNS = {"dwh": "pg_test"}

LOADER = """
import json, sys
import pandas as pd
from etlc_runtime.io_postgres import write_postgres
a = json.loads(sys.argv[1])
df = pd.DataFrame({"id": pd.array(a["ids"], dtype="Int64"),
                   "tag": pd.array([a["tag"]] * len(a["ids"]), dtype="string")})
ds = {"format": "postgres", "connection": "dwh", "table": a["table"], "key": a["key"]}
write_postgres(df, ds, a["mode"], {}, {"dwh": "pg_test"}, append_key=a.get("append_key"))
"""


@pytest.fixture
def schema(monkeypatch):
    try:
        psycopg.connect(URI, connect_timeout=3).close()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"no PostgreSQL at {URI}: {exc}")
    monkeypatch.setenv("AIRFLOW_CONN_PG_TEST", URI)
    monkeypatch.delenv(FAULT_ENV, raising=False)
    name = f"etlc_s_{uuid.uuid4().hex[:8]}"
    yield name
    with psycopg.connect(URI, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def start(table, mode, ids, tag, key=(), fault=None, append_key=None):
    env = {**os.environ, "AIRFLOW_CONN_PG_TEST": URI}
    env.pop(FAULT_ENV, None)
    if fault:
        env[FAULT_ENV] = fault
    args = {"table": table, "mode": mode, "ids": list(ids), "tag": tag, "key": list(key),
            "append_key": append_key}
    return subprocess.Popen([sys.executable, "-c", LOADER, json.dumps(args)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def load(table, mode, ids, tag, key=(), fault=None, append_key=None):
    proc = start(table, mode, ids, tag, key, fault, append_key)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


def write(table, mode, ids, tag, key=(), append_key=None):
    """The same load as LOADER's, in this process (for set-ups and reruns)."""
    df = pd.DataFrame({"id": pd.array(list(ids), dtype="Int64"),
                       "tag": pd.array([tag] * len(ids), dtype="string")})
    ds = {"format": "postgres", "connection": "dwh", "table": table, "key": list(key)}
    write_postgres(df, ds, mode, {}, CONNS, append_key=append_key)


def rows(schema, table="t"):
    with psycopg.connect(URI) as conn:
        return sorted(conn.execute(f'SELECT id, tag FROM "{schema}"."{table}"').fetchall())


def exists(schema, table="t"):
    with psycopg.connect(URI) as conn:
        return conn.execute("SELECT to_regclass(%s)", (f'"{schema}"."{table}"',)).fetchone()[0]


def waiting(conn, key: int) -> int:
    """How many sessions wait for the advisory lock ``key``."""
    unsigned = key & 0xFFFFFFFFFFFFFFFF
    return conn.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
        "AND classid = %s AND objid = %s AND objsubid = 1",
        (unsigned >> 32, unsigned & 0xFFFFFFFF)).fetchone()[0]


def race(key: int, *loads):
    """Start the loads while holding lock ``key``; release it once all of them queue on it."""
    with psycopg.connect(URI) as holder, psycopg.connect(URI, autocommit=True) as watcher:
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
        procs = [start(*args) for args in loads]
        deadline = time.monotonic() + 120
        while waiting(watcher, key) < len(procs):
            assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
            assert time.monotonic() < deadline, "the loads never queued on the advisory lock"
            time.sleep(0.05)
        holder.commit()
    results = [p.communicate(timeout=120) for p in procs]
    return [(p.returncode, err) for p, (_, err) in zip(procs, results)]


def tagged(ids, tag):
    return [(i, tag) for i in ids]


A, B = range(1, 41), range(101, 131)


def test_two_overwrite_loads_do_not_double_the_table(schema):
    table = f"{schema}.t"
    write(table, "overwrite", [7, 8], "old")
    results = race(lock_key(schema, "t"), (table, "overwrite", A, "a"),
                   (table, "overwrite", B, "b"))
    assert [rc for rc, _ in results] == [0, 0], results
    assert rows(schema) in (tagged(A, "a"), tagged(B, "b"))


def test_two_upserts_do_not_fail(schema):
    table = f"{schema}.t"
    write(table, "upsert", [1, 2, 200], "old", key=["id"])
    left, right = range(1, 31), range(20, 51)
    results = race(lock_key(schema, "t"), (table, "upsert", left, "a", ["id"]),
                   (table, "upsert", right, "b", ["id"]))
    assert [rc for rc, _ in results] == [0, 0], results
    got = dict(rows(schema))
    assert sorted(got) == sorted(set(left) | set(right) | {200})
    assert got[200] == "old" and {got[i] for i in range(1, 20)} == {"a"}
    assert {got[i] for i in range(31, 51)} == {"b"}
    assert len({got[i] for i in range(20, 31)}) == 1      # one load's rows won, not a mix


def test_two_upserts_without_a_unique_index_do_not_duplicate(schema):
    with psycopg.connect(URI, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'CREATE TABLE "{schema}".t (id bigint, tag text)')
        conn.execute(f"INSERT INTO \"{schema}\".t VALUES (1, 'old'), (200, 'old')")
    table = f"{schema}.t"
    results = race(lock_key(schema, "t"), (table, "upsert", range(1, 31), "a", ["id"]),
                   (table, "upsert", range(20, 51), "b", ["id"]))
    assert [rc for rc, _ in results] == [0, 0], results
    ids = [i for i, _ in rows(schema)]
    assert ids == sorted(set(range(1, 51)) | {200})       # each key exactly once


@pytest.mark.parametrize("missing", ["schema", "table"])
def test_two_creates_do_not_fail(schema, missing):
    if missing == "table":
        with psycopg.connect(URI, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
    key = lock_key(schema) if missing == "schema" else lock_key(schema, "t")
    table = f"{schema}.t"
    results = race(key, (table, "upsert", A, "a", ["id"]), (table, "upsert", B, "b", ["id"]))
    assert [rc for rc, _ in results] == [0, 0], results
    assert rows(schema) == tagged(A, "a") + tagged(B, "b")


def test_two_keyless_appends_of_one_date_keep_one_copy(schema):
    table = f"{schema}.t"
    write(table, "append", [1], "d1", append_key="date_1")
    results = race(lock_key(schema, "t"), (table, "append", A, "a", (), None, "date_2"),
                   (table, "append", A, "a", (), None, "date_2"))
    assert [rc for rc, _ in results] == [0, 0], results
    assert rows(schema) == sorted(tagged([1], "d1") + tagged(A, "a"))


OLD = list(range(1, 6))
NEW = list(range(4, 3004))        # big enough that part of the COPY reaches the server
CASES = {
    "overwrite": ((), None, tagged(NEW, "new")),
    "upsert": (["id"], None, tagged([1, 2, 3], "old") + tagged(NEW, "new")),
    "append": ((), "date_2", sorted(tagged(OLD, "old") + tagged(NEW, "new"))),
}


@pytest.mark.parametrize("point", FAULT_POINTS)
@pytest.mark.parametrize("mode", sorted(CASES))
def test_a_killed_load_leaves_the_table_as_before(schema, mode, point):
    key, append_key, clean = CASES[mode]
    table = f"{schema}.t"
    write(table, mode, OLD, "old", key, append_key="date_1")
    before = rows(schema)
    assert before == tagged(OLD, "old")
    rc, err = load(table, mode, NEW, "new", key, fault=point, append_key=append_key)
    assert rc == -signal.SIGKILL, err
    assert rows(schema) == before
    for _ in range(2):                              # the rerun, then a retry of it
        write(table, mode, NEW, "new", key, append_key=append_key)
        assert rows(schema) == clean


@pytest.mark.parametrize("point", FAULT_POINTS)
def test_a_killed_first_load_leaves_no_table(schema, point):
    rc, err = load(f"{schema}.t", "upsert", NEW, "new", ["id"], fault=point)
    assert rc == -signal.SIGKILL, err
    assert exists(schema) is None
    write(f"{schema}.t", "upsert", NEW, "new", ["id"])
    assert rows(schema) == tagged(NEW, "new")


def test_readers_see_the_old_rows_during_an_overwrite(schema):
    """A load stopped after its DELETE + INSERT, before the commit: a reader is not blocked
    and sees the old rows; once the load goes on, the new ones."""
    table = f"{schema}.t"
    write(table, "overwrite", OLD, "old")
    proc = start(table, "overwrite", NEW, "new", fault="pg:merged:stop")
    _, status = os.waitpid(proc.pid, os.WUNTRACED)
    assert os.WIFSTOPPED(status), proc.communicate()
    try:
        with psycopg.connect(URI) as conn:
            conn.execute("SET statement_timeout = '60s'")     # a blocked read fails, not hangs
            got = sorted(conn.execute(f'SELECT id, tag FROM "{schema}".t').fetchall())
        assert got == tagged(OLD, "old")
    finally:
        os.kill(proc.pid, signal.SIGCONT)
    assert proc.wait(timeout=120) == 0, proc.communicate()
    assert rows(schema) == tagged(NEW, "new")


def test_lock_keys_are_stable_and_distinct():
    assert lock_key("s", "t") == lock_key("s", "t")
    assert -2**63 <= lock_key("s", "t") < 2**63
    assert len({lock_key("s", "t"), lock_key("s", "u"), lock_key("s"), lock_key("t")}) == 4


def test_keyless_append_never_alters_a_table_etlc_did_not_create(schema):
    """A user's table without the append-key column: the load stops (R213), the table's
    columns and rows stay exactly as they were."""
    from etlc_runtime.errors import StepError

    table = f"{schema}.users_own"
    with psycopg.connect(URI, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        conn.execute(f"CREATE TABLE {table} (id bigint, tag text)")
        conn.execute(f"INSERT INTO {table} VALUES (1, 'mine')")
    with pytest.raises(StepError, match=r"R213"):
        write(table, "append", [7], "new", append_key="date_1")
    with psycopg.connect(URI) as conn:
        cols = [r[0] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s "
            "AND table_name = 'users_own' ORDER BY ordinal_position", (schema,))]
        got = conn.execute(f"SELECT id, tag FROM {table}").fetchall()
    assert cols == ["id", "tag"]
    assert got == [(1, "mine")]
