"""The PostgreSQL side of a ``format: postgres`` dataset, for its loads (io_postgres) and its
reads (pg_read): the connection it names, its table, quoted identifiers, and the names etlc
itself gives in the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .connections import resolve
from .errors import StepError
from .templating import render

APPEND_KEY = "_etlc_append_key"   # the column keying a keyless append's rows (io_postgres)
STAGE = "_etlc_stage"             # the temporary table a keyed merge loads first


def open_connection(dataset: Mapping[str, Any], connections: Mapping[str, Any] | None):
    """A psycopg connection to the dataset's ``connection`` (host, port, login, database,
    password and the ``sslmode``/``options``/``application_name`` extras)."""
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


def table_of(dataset: Mapping[str, Any], macros: Mapping[str, Any]):
    """``(name, schema or None, table, identifier)`` of the dataset's rendered ``table``."""
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


def ids(names):
    """``"a", "b"``: the names as a list of quoted identifiers."""
    from psycopg import sql

    return sql.SQL(", ").join(sql.Identifier(n) for n in names)
