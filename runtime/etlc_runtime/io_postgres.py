"""Postgres datasets (``format: postgres``, ``table: schema.table``, ``key: [cols]``).

Loads are idempotent and atomic: the rows are COPYed into a temporary staging table and then
merged into the target in the same transaction, so a retry never duplicates or loses rows
and readers never see half a load.

- ``upsert`` (and ``append`` when the dataset has a ``key``): rows whose key is in the new
  data are deleted and the new rows inserted (the last row wins for a key repeated in the
  data);
- ``overwrite``: the table's rows are replaced (DELETE + INSERT in one transaction);
- ``append`` without a key: a plain insert (not idempotent: give the dataset a ``key``).

A missing table is created from the data's columns (declared types win), with the key as
its primary key.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from . import dtypes
from .connections import resolve
from .errors import StepError
from .templating import render

PG_TYPES = {"int": "bigint", "float": "double precision", "string": "text", "bool": "boolean",
            "date": "date", "timestamp": "timestamp", "vector": "double precision[]"}


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


def _pg_type(series: pd.Series, column: Any | None) -> str:
    spec = dtypes.spec_of(column) if column else {"type": dtypes.type_name(series.dtype)}
    if spec.get("type") == "decimal":
        return f"numeric(38, {int(spec.get('scale') or 0)})"
    if spec.get("type") == "unknown":
        return "text"
    return PG_TYPES.get(spec.get("type"), "text")


def _python(v):
    if v is None or v is pd.NA:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, pd.Timestamp):
        return None if pd.isna(v) else v.to_pydatetime()
    if hasattr(v, "item") and not isinstance(v, (_dt.date, _dt.datetime)):
        return v.item()
    return v


def write_postgres(df: pd.DataFrame, dataset: Mapping[str, Any], mode: str,
                   macros: Mapping[str, Any], connections: Mapping[str, Any] | None) -> dict:
    from psycopg import sql

    name, schema, _table_name, ident = _table(dataset, macros)
    key = list(dataset.get("key") or [])
    declared = dataset.get("columns") or {}
    missing = [k for k in key if k not in df.columns]
    if missing:
        raise StepError(None, f"key column(s) {missing} are not in the data")
    if mode == "upsert" and not key:
        raise StepError(None, "mode: upsert needs a key on the dataset")
    if key:
        df = df.drop_duplicates(subset=key, keep="last")
    cols = list(df.columns)
    col_ids = sql.SQL(", ").join(sql.Identifier(c) for c in cols)
    with _connect(dataset, connections) as conn, conn.cursor() as cur:
        if schema:
            cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        defs = [sql.SQL("{} {}").format(sql.Identifier(c),
                                        sql.SQL(_pg_type(df[c], declared.get(c))))
                for c in cols]
        if key:
            defs.append(sql.SQL("PRIMARY KEY ({})").format(
                sql.SQL(", ").join(sql.Identifier(k) for k in key)))
        cur.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} ({})").format(
            ident, sql.SQL(", ").join(defs)))
        cur.execute(sql.SQL("CREATE TEMP TABLE _etlc_stage ON COMMIT DROP AS "
                            "SELECT {} FROM {} WITH NO DATA").format(col_ids, ident))
        with cur.copy(sql.SQL("COPY _etlc_stage ({}) FROM STDIN").format(col_ids)) as copy:
            for row in df.astype(object).itertuples(index=False, name=None):
                copy.write_row([_python(v) for v in row])
        if mode == "overwrite":
            cur.execute(sql.SQL("DELETE FROM {}").format(ident))
        elif key:
            match = sql.SQL(" AND ").join(
                sql.SQL("t.{k} = s.{k}").format(k=sql.Identifier(k)) for k in key)
            cur.execute(sql.SQL("DELETE FROM {} t USING _etlc_stage s WHERE {}").format(
                ident, match))
        cur.execute(sql.SQL("INSERT INTO {} ({}) SELECT {} FROM _etlc_stage").format(
            ident, col_ids, col_ids))
        conn.commit()
    return {"path": f"postgres:{name}", "rows": len(df), "bytes": None, "partitions": 1}


def read_postgres(dataset: Mapping[str, Any], macros: Mapping[str, Any],
                  connections: Mapping[str, Any] | None) -> pd.DataFrame:
    from psycopg import sql

    _, _, _, ident = _table(dataset, macros)
    declared = dataset.get("columns") or None
    with _connect(dataset, connections) as conn, conn.cursor() as cur:
        cur.execute(sql.SQL("SELECT * FROM {}").format(ident))
        names = [d.name for d in cur.description]
        rows = cur.fetchall()
    frame = pd.DataFrame.from_records(rows, columns=names).astype(object)
    if declared:
        frame = dtypes.conform(frame, declared)
    return frame
