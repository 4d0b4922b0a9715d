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
import logging
import os
import signal
from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from .connections import resolve
from .errors import StepError
from .templating import render

log = logging.getLogger(__name__)
PG_TYPES = {"int": "bigint", "float": "double precision", "string": "text", "bool": "boolean",
            "date": "date", "timestamp": "timestamp", "timestamptz": "timestamptz",
            "vector": "double precision[]", "json": "jsonb"}
APPEND_KEY = "_etlc_append_key"
STAGE = "_etlc_stage"
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


def lock_key(*parts: str) -> int:
    """The advisory-lock key of a schema (``lock_key("s")``) or a table
    (``lock_key("s", "t")``): a stable signed 64-bit hash of the qualified name."""
    digest = hashlib.blake2b(("etlc:" + ".".join(parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _connect(dataset: Mapping[str, Any], connections: Mapping[str, Any] | None):
    import psycopg

    conn = resolve(dataset.get("connection"), connections)
    kwargs = {"host": conn.host or "localhost", "port": conn.port or 5432,
              "user": conn.login or "postgres", "dbname": conn.schema or "postgres",
              "connect_timeout": 10}
    if conn.password:
        kwargs["password"] = conn.password
    for key in ("sslmode", "options", "application_name"):
        if conn.extra.get(key):
            kwargs[key] = conn.extra[key]
    return psycopg.connect(**kwargs)


def _table(dataset: Mapping[str, Any], macros: Mapping[str, Any]):
    from psycopg import sql

    name = render(dataset.get("table") or "", macros)
    if not name:
        raise StepError(None, "a postgres dataset needs a table")
    parts = name.split(".")
    if len(parts) > 2:
        raise StepError(None, f"table must be 'schema.table' or 'table', got {name!r}")
    schema = parts[0] if len(parts) == 2 else None
    ident = sql.Identifier(*parts)
    return name, schema, parts[-1], ident


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


def _arrow(data) -> pa.Table:
    """The rows to load as Arrow: pandas frames (the pandas engine) keep their nulls apart
    from NaN where the dtype does (``Float64``), ints exact, NaT as null."""
    if isinstance(data, pa.Table):
        return data
    frame = data.reset_index(drop=True)
    frame.columns = [str(c) for c in frame.columns]
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        for c in frame.columns:  # name the column that Arrow cannot hold
            try:
                pa.array(frame[c], from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
                raise StepError(None, f"column {c!r} holds values of mixed or unknown types, "
                                      f"which a table column cannot hold: {exc}") from None
        raise


def _rows(table: pa.Table, cols: list[str]):
    """Python values of each row (Decimal, date, datetime, int, float with NaN, None)."""
    import json

    columns = []
    for c in cols:
        values = table.column(c).to_pylist()
        t = table.schema.field(c).type
        if pa.types.is_struct(t) or pa.types.is_map(t):
            values = [None if v is None else json.dumps(v, default=str) for v in values]
        columns.append(values)
    return zip(*columns)


def _ids(names):
    from psycopg import sql

    return sql.SQL(", ").join(sql.Identifier(n) for n in names)


def _match(names, left: str = "t", right: str = "s"):
    from psycopg import sql

    return sql.SQL(" AND ").join(
        sql.SQL("{}.{} = {}.{}").format(sql.Identifier(left), sql.Identifier(n),
                                        sql.Identifier(right), sql.Identifier(n))
        for n in names)


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
            defs.append(sql.SQL("PRIMARY KEY ({})").format(_ids(key)))
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


def _has_unique(cur, oid: int, key: list[str]) -> bool:
    cur.execute("""
        SELECT array_agg(a.attname::text) FROM pg_index i
        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
        WHERE i.indrelid = %s AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
        GROUP BY i.indexrelid""", (oid,))
    return any(set(cols) == set(key) for (cols,) in cur.fetchall())


def _has_column(cur, oid: int, column: str) -> bool:
    cur.execute("SELECT 1 FROM pg_attribute WHERE attrelid = %s AND attname = %s "
                "AND NOT attisdropped", (oid, column))
    return cur.fetchone() is not None


def _csv_ready(data: pa.Table) -> pa.Table | None:
    """The rows with types whose CSV text (pyarrow's writer) PostgreSQL reads back as the
    same values: ints, floats (float32 widened exactly; shortest round-trip text, nan/inf),
    decimals, bools, dates, microsecond timestamps, text (always quoted, so ``""`` is ''
    and an unquoted empty field null).  None when a column is anything else (lists, JSON,
    nanoseconds that microseconds cannot hold): those go row by row."""
    out = []
    for field in data.schema:
        values, t = data.column(field.name), field.type
        if pa.types.is_dictionary(t):
            values, t = values.cast(t.value_type), t.value_type
        if pa.types.is_floating(t):
            values = values.cast(pa.float64())   # exact; float32 text would be read as double
        elif pa.types.is_timestamp(t) and t.unit != "us":
            try:
                values = values.cast(pa.timestamp("us", t.tz))   # safe: refuses to truncate
            except pa.ArrowInvalid:
                return None
        elif not (pa.types.is_integer(t) or pa.types.is_decimal(t) or pa.types.is_boolean(t)
                  or pa.types.is_date(t) or pa.types.is_timestamp(t) or pa.types.is_string(t)
                  or pa.types.is_large_string(t)):
            return None
        out.append(values)
    return pa.Table.from_arrays(out, names=data.column_names)


def _repeat_text(value: str, n: int) -> pa.Array:
    """``value`` ``n`` times, built from buffers (pa.array of Python values imports pandas,
    which the duckdb engine's path never does)."""
    import array

    raw = value.encode()
    offsets = array.array("q", range(0, (n + 1) * len(raw), len(raw)) if raw else [0] * (n + 1))
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(raw * n))


def _copy_in(cur, data: pa.Table, cols: list[str], target=None) -> None:
    """COPY the rows into ``target`` (default: the staging table): as CSV written by
    pyarrow when every column allows (:func:`_csv_ready`), else row by row."""
    import pyarrow.csv as pcsv
    from psycopg import sql

    half = data.num_rows // 2
    ready = _csv_ready(data.select(cols))
    target = target or sql.Identifier(STAGE)
    if ready is None:
        with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(target, _ids(cols))) as copy:
            for i, row in enumerate(_rows(data, cols)):
                if i == half:
                    _fault("pg:copy")
                copy.write_row(row)
        return
    options = pcsv.WriteOptions(include_header=False, quoting_style="needed")
    with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
            target, _ids(cols))) as copy:
        for i, part in enumerate((ready.slice(0, half), ready.slice(half))):
            if i:
                _fault("pg:copy")
            for batch in part.to_batches(max_chunksize=1 << 16):
                buf = pa.BufferOutputStream()
                pcsv.write_csv(batch, buf, options)
                copy.write(memoryview(buf.getvalue()))


def _merge_keyed(cur, ident, oid: int, cols: list[str], key: list[str], name: str) -> None:
    from psycopg import sql

    rest = [c for c in cols if c not in key]
    # the batch's size, for the join's plan (a hash join for a large batch, index lookups
    # for a small one into a large table)
    cur.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(STAGE)))
    unique = _has_unique(cur, oid, key)
    if unique and cur.connection.info.server_version >= 150000:
        # MERGE joins the batch once (INSERT ... ON CONFLICT tries an insert per row: about
        # 1.5x slower on half updates); etlc's lock keeps its loads apart, and another
        # writer's insert of a key in between stops the load with a unique violation
        update = sql.SQL("UPDATE SET {}").format(sql.SQL(", ").join(
            sql.SQL("{c} = s.{c}").format(c=sql.Identifier(c)) for c in rest)) \
            if rest else sql.SQL("DO NOTHING")
        cur.execute(sql.SQL("MERGE INTO {} t USING {} s ON {} WHEN MATCHED THEN {} WHEN NOT "
                            "MATCHED THEN INSERT ({}) VALUES ({})").format(
            ident, sql.Identifier(STAGE), _match(key), update, _ids(cols),
            sql.SQL(", ").join(sql.SQL("s.{}").format(sql.Identifier(c)) for c in cols)))
        return
    if unique:
        action = sql.SQL("DO UPDATE SET {}").format(sql.SQL(", ").join(
            sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c)) for c in rest)) \
            if rest else sql.SQL("DO NOTHING")
        cur.execute(sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT ({}) {}").format(
            ident, _ids(cols), _ids(cols), sql.Identifier(STAGE), _ids(key), action))
        return
    # no unique index: etlc's lock keeps its own loads apart, but nothing in the table
    # stops other writers, so a key the table already repeats stops the load (R215)
    cur.execute(sql.SQL("SELECT {} FROM {} GROUP BY {} HAVING count(*) > 1 LIMIT 1").format(
        _ids(key), ident, _ids(key)))
    repeated = cur.fetchone()
    if repeated is not None:
        raise StepError(None, f"[R215] table {name!r} has no primary key or unique index on "
                              f"{key} and already holds the key {dict(zip(key, repeated))} "
                              f"more than once, so an upsert cannot tell which row to update; "
                              f"remove the duplicates and add one: ALTER TABLE {name} ADD "
                              f"PRIMARY KEY ({', '.join(key)})")
    log.warning("etlc: table %s has no primary key or unique index on %s: etlc's loads keep "
                "one row per key, other writers are not stopped from adding more", name, key)
    if rest:
        cur.execute(sql.SQL("UPDATE {} t SET {} FROM {} s WHERE {}").format(
            ident, sql.SQL(", ").join(sql.SQL("{c} = s.{c}").format(c=sql.Identifier(c))
                                      for c in rest),
            sql.Identifier(STAGE), _match(key)))
    cur.execute(sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} s WHERE NOT EXISTS "
                        "(SELECT 1 FROM {} t WHERE {})").format(
        ident, _ids(cols), sql.SQL(", ").join(sql.SQL("s.{}").format(sql.Identifier(c))
                                              for c in cols),
        sql.Identifier(STAGE), ident, _match(key)))


def _clear_append(cur, ident, oid: int, append_key: str, name: str) -> None:
    """Delete the rows of this append key (a retry's or an earlier run's of the same date)."""
    from psycopg import sql

    if not _has_column(cur, oid, APPEND_KEY):
        # etlc never changes the columns of a table it did not create
        add = sql.SQL("ALTER TABLE {} ADD COLUMN {} text").format(
            ident, sql.Identifier(APPEND_KEY)).as_string(cur)
        raise StepError(None, f"[R213] table {name!r} was not created by etlc and has no "
                              f"{APPEND_KEY} column, so a keyless append could not replace "
                              f"its own rows on a retry; declare a key: on the dataset "
                              f"(the append becomes an upsert) or add the column: {add}")
    cur.execute(sql.SQL("DELETE FROM {} WHERE {} = %s").format(
        ident, sql.Identifier(APPEND_KEY)), (append_key,))


def _last_per_key(data: pa.Table, key: list[str], name: str) -> pa.Table:
    """One row per key, the last one (as the merge keeps it); a null in a key column stops
    the load (R214): a null never equals a stored key, so its row would be added again on
    every run."""
    import pyarrow.compute as pc

    first = data.column(key[0])
    if len(key) == 1 and not first.null_count and \
            pc.count_distinct(first, mode="all").as_py() == data.num_rows:
        return data   # the usual case, without a Python value per row
    columns = [data.column(k).to_pylist() for k in key]
    last: dict[tuple, int] = {}
    for i, values in enumerate(zip(*columns)):
        if any(v is None for v in values):
            col = key[[v is None for v in values].index(True)]
            raise StepError(None, f"[R214] table {name!r}: key column {col!r} is null in row "
                                  f"{i + 1} ({dict(zip(key, values))}); a row without its key "
                                  f"cannot be upserted (it would be added again on every run)")
        last[values] = i
    if len(last) == data.num_rows:
        return data
    return data.take(pa.array(sorted(last.values()), pa.int64()))


def write_postgres(df, dataset: Mapping[str, Any], mode: str,
                   macros: Mapping[str, Any], connections: Mapping[str, Any] | None,
                   append_key: str | None = None) -> dict:
    """Load ``df`` (a pandas DataFrame or an Arrow table) into the dataset's table (see the
    module doc).  ``append_key`` keys a keyless append (the run's logical date); without it
    such an append is a plain insert."""
    from psycopg import sql

    name, schema, table, _ = _table(dataset, macros)
    key = list(dataset.get("key") or [])
    declared = dataset.get("columns") or {}
    data = _arrow(df)
    missing = [k for k in key if k not in data.column_names]
    if missing:
        raise StepError(None, f"key column(s) {missing} are not in the data")
    if mode == "upsert" and not key:
        raise StepError(None, "mode: upsert needs a key on the dataset")
    if key:
        data = _last_per_key(data, key, name)
    cols = list(data.column_names)
    with _connect(dataset, connections) as conn, conn.transaction(), conn.cursor() as cur:
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
                                "WITH NO DATA").format(sql.Identifier(STAGE), _ids(cols),
                                                       ident))
            _copy_in(cur, data, cols)
            _fault("pg:copied")
            _merge_keyed(cur, ident, oid, cols, key, name)
        else:   # straight into the table, once the rows it replaces are deleted
            if mode == "overwrite":
                cur.execute(sql.SQL("DELETE FROM {}").format(ident))
            elif mode == "append" and append_key:
                _clear_append(cur, ident, oid, append_key, name)
                data = data.select(cols).append_column(
                    APPEND_KEY, _repeat_text(append_key, data.num_rows))
                cols = [*cols, APPEND_KEY]
            _copy_in(cur, data, cols, target=ident)
            _fault("pg:copied")
        _fault("pg:merged")
    return {"path": f"postgres:{name}", "rows": data.num_rows, "bytes": None, "partitions": 1}


def read_postgres(dataset: Mapping[str, Any], macros: Mapping[str, Any],
                  connections: Mapping[str, Any] | None, columns: list[str] | None = None):
    """The table as a frame of the pandas engine (pg_read: COPY into Arrow, exact types)."""
    from .pg_read import read_frame

    return read_frame(dataset, macros, connections, columns)
