"""Postgres datasets (``format: postgres``, ``table: schema.table``, ``key: [cols]``).

Every write is one transaction, so a retry never duplicates or loses rows, readers never
see half a load, and a load killed at any point (SIGKILL included: the server rolls back
the transaction of a dropped connection) leaves the table exactly as it was:

1. ``pg_advisory_xact_lock(lock_key(schema.table))`` serialises the loads of one table
   (two overwrites never double the table, two upserts or two first loads never fail with
   a UniqueViolation); the lock is released by the commit or the rollback;
2. a missing schema (under a lock of its own, taken before the table's, so the order is
   always schema then table) and a missing table are created inside the lock, the table
   from the data's columns (declared types win) with the key as its primary key;
3. the rows are COPYed as CSV that pyarrow writes (no Python value per row; row by row
   only for lists and JSON), into a temporary table (``ON COMMIT DROP``) for a keyed merge,
   straight into the table otherwise, after the rows they replace are deleted;
4. the merge:

   - ``overwrite``: ``DELETE`` of every row, then the COPY.  Not ``TRUNCATE``: its ACCESS
     EXCLUSIVE lock would block readers for the whole load and it is not MVCC-safe; with
     ``DELETE`` readers keep reading the old rows until the commit, then see the new ones,
     never an empty table;
   - ``upsert`` (and ``append`` when the dataset has a ``key``): ``MERGE`` (PostgreSQL 15
     and later; ``INSERT ... ON CONFLICT (key) DO UPDATE`` before) when a unique index
     covers exactly the key, else ``UPDATE`` of the
     matching rows and ``INSERT`` of the others (the lock makes that safe); the last row
     wins for a key repeated in the data;
   - ``append`` without a key: keyed by the run's logical date.  Rows carry the load's
     append key in the column ``_etlc_append_key`` (created, with an index, with the
     table; a table etlc did not create is never altered: without the column the load
     stops with R213 and says how to add it or to declare a key);
     the load first deletes the rows of its own key, so a retry or a new run of the same
     date replaces that date's rows.  Reads leave the column out.

``ETLC_FAULT_AT=<point>`` kills the process with SIGKILL at that point of the load, and
``<point>:stop`` stops it there (tests prove the rollback and what readers see with them);
:data:`FAULT_POINTS` lists the points.
"""

from __future__ import annotations

import hashlib
import os
import signal
from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from .errors import StepError
from .pg_copy import copy_in, repeat_text, to_arrow
from .pg_merge import clear_append, last_per_key, merge_keyed
from .pg_target import APPEND_KEY, STAGE, ids, open_connection, table_of

PG_TYPES = {"int": "bigint", "float": "double precision", "string": "text", "bool": "boolean",
            "date": "date", "timestamp": "timestamp", "timestamptz": "timestamptz",
            "vector": "double precision[]", "json": "jsonb"}
FAULT_ENV = "ETLC_FAULT_AT"
FAULT_POINTS = ("pg:locked", "pg:created", "pg:copy", "pg:copied", "pg:merged")


def _fault(point: str) -> None:
    """Die here, as a killed worker would, when ``ETLC_FAULT_AT`` names this point
    (``<point>:stop`` stops the process instead, for a test to look at the server)."""
    wanted = os.environ.get(FAULT_ENV)
    if wanted == point:
        os.kill(os.getpid(), signal.SIGKILL)
    elif wanted == point + ":stop":
        os.kill(os.getpid(), signal.SIGSTOP)


def _copy_fault() -> None:
    _fault("pg:copy")


def lock_key(*parts: str) -> int:
    """The advisory-lock key of a schema (``lock_key("s")``) or a table
    (``lock_key("s", "t")``): a stable signed 64-bit hash of the qualified name."""
    digest = hashlib.blake2b(("etlc:" + ".".join(parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _pg_type(arrow: pa.DataType, column: Any | None) -> str:
    """The column type of an auto-created table (docs/types.md): the declared type, else the
    data's Arrow type; text only for text (never for decimals, dates or bools)."""
    spec = ({"type": column} if isinstance(column, str) else dict(column)) if column else {}
    kind = spec.get("type")
    if kind == "decimal":
        return f"numeric({int(spec.get('precision') or 38)}, {int(spec.get('scale') or 0)})"
    if kind in PG_TYPES:
        return PG_TYPES[kind]
    t = arrow
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_integer(t):
        return "bigint"
    if pa.types.is_floating(t):
        return "double precision"
    if pa.types.is_decimal(t):
        return f"numeric({t.precision}, {t.scale})"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_timestamp(t):
        return "timestamptz" if t.tz else "timestamp"
    if (pa.types.is_list(t) or pa.types.is_large_list(t)) and pa.types.is_floating(t.value_type):
        return "double precision[]"
    if pa.types.is_struct(t) or pa.types.is_map(t) or pa.types.is_list(t):
        return "jsonb"
    return "text"


def _lock(cur, *parts: str) -> None:
    cur.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(*parts),))


def _ensure_table(cur, schema: str, table: str, data: pa.Table, declared: Mapping,
                  key: list[str], append_key: bool = False) -> bool:
    """Create the schema and the table when missing; the caller holds the table's lock
    unless it takes it here (a missing schema is created under its own lock first).
    ``append_key`` adds the keyless-append column to a table created here.  Returns
    whether the table was created."""
    from psycopg import sql

    cur.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,))
    if cur.fetchone() is None:
        _lock(cur, schema)
        cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    _lock(cur, schema, table)
    _fault("pg:locked")
    ident = sql.Identifier(schema, table)
    if _oid(cur, schema, table) is None:
        defs = [sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(
                    _pg_type(data.schema.field(c).type, declared.get(c))))
                for c in data.column_names]
        if append_key:
            defs.append(sql.SQL("{} text").format(sql.Identifier(APPEND_KEY)))
        if key:
            defs.append(sql.SQL("PRIMARY KEY ({})").format(ids(key)))
        cur.execute(sql.SQL("CREATE TABLE {} ({})").format(ident, sql.SQL(", ").join(defs)))
        if append_key:
            cur.execute(sql.SQL("CREATE INDEX ON {} ({})").format(
                ident, sql.Identifier(APPEND_KEY)))
        _fault("pg:created")
        return True
    _fault("pg:created")
    return False


def _oid(cur, schema: str, table: str) -> int | None:
    from psycopg import sql

    text = sql.Identifier(schema, table).as_string(cur)
    cur.execute("SELECT to_regclass(%s)::oid", (text,))
    return cur.fetchone()[0]


def write_postgres(df, dataset: Mapping[str, Any], mode: str,
                   macros: Mapping[str, Any], connections: Mapping[str, Any] | None,
                   append_key: str | None = None) -> dict:
    """Load ``df`` (a pandas DataFrame or an Arrow table) into the dataset's table (see the
    module doc).  ``append_key`` keys a keyless append (the run's logical date); without it
    such an append is a plain insert."""
    from psycopg import sql

    name, schema, table, _ = table_of(dataset, macros)
    key = list(dataset.get("key") or [])
    declared = dataset.get("columns") or {}
    data = to_arrow(df)
    missing = [k for k in key if k not in data.column_names]
    if missing:
        raise StepError(None, f"key column(s) {missing} are not in the data")
    if mode == "upsert" and not key:
        raise StepError(None, "mode: upsert needs a key on the dataset")
    if key:
        data = last_per_key(data, key, name)
    cols = list(data.column_names)
    with open_connection(dataset, connections) as conn, conn.transaction(), conn.cursor() as cur:
        if schema is None:
            cur.execute("SELECT current_schema()")
            schema = cur.fetchone()[0]
            if schema is None:
                raise StepError(None, f"table {name!r} has no schema and the connection's "
                                      f"search_path names none that exists")
        _ensure_table(cur, schema, table, data, declared, key,
                      append_key=bool(mode == "append" and append_key and not key))
        ident = sql.Identifier(schema, table)
        oid = _oid(cur, schema, table)
        if key and mode != "overwrite":   # a merge: through the staging table
            cur.execute(sql.SQL("CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM {} "
                                "WITH NO DATA").format(sql.Identifier(STAGE), ids(cols),
                                                       ident))
            copy_in(cur, data, cols, halfway=_copy_fault)
            _fault("pg:copied")
            merge_keyed(cur, ident, oid, cols, key, name)
        else:   # straight into the table, once the rows it replaces are deleted
            if mode == "overwrite":
                cur.execute(sql.SQL("DELETE FROM {}").format(ident))
            elif mode == "append" and append_key:
                clear_append(cur, ident, oid, append_key, name)
                data = data.select(cols).append_column(
                    APPEND_KEY, repeat_text(append_key, data.num_rows))
                cols = [*cols, APPEND_KEY]
            copy_in(cur, data, cols, target=ident, halfway=_copy_fault)
            _fault("pg:copied")
        _fault("pg:merged")
    return {"path": f"postgres:{name}", "rows": data.num_rows, "bytes": None, "partitions": 1}


def read_postgres(dataset: Mapping[str, Any], macros: Mapping[str, Any],
                  connections: Mapping[str, Any] | None, columns: list[str] | None = None):
    """The table as a frame of the pandas engine (pg_read: COPY into Arrow, exact types)."""
    from .pg_read import read_frame

    return read_frame(dataset, macros, connections, columns)
