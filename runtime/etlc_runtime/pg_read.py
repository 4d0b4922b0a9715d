"""PostgreSQL reads (``format: postgres``): the columns a step needs and the rows its
filter keeps (pg_pushdown), through ``COPY (SELECT ...) TO STDOUT (FORMAT csv)`` into Arrow,
with no pandas on the way (the duckdb engine takes the Arrow table as it is).

Values are exact: every field arrives as PostgreSQL's text (the session is set to ISO dates,
UTC and shortest-exact float text), a quoted empty field is ``''`` and an unquoted one null,
and each column is converted by arrow_convert.text_to, the rules of a CSV file's declared
columns (docs/types.md): its declared type, else the type its PostgreSQL type names
(int2/int4/int8 int, numeric(p,s) decimal of scale s, numeric without a scale decimal of the
largest scale present, real/double float (real through float8: its own value), bool, date,
timestamp, timestamptz (the instant, in UTC); any other type is its text).  A value that does
not convert unchanged is R040 naming the dataset, column, row and value.

The dask engine reads one range of the dataset's first ``key`` column per partition
(:func:`key_ranges`; int, date or timestamp keys), each partition one query: the first range
holds the null keys, the last is open-ended.  Every query reads the snapshot the engine
exported before the first (``pg_export_snapshot``, its transaction open until the engine
closes), so a load committed meanwhile shows in no partition.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import pyarrow as pa

from .errors import StepError
from .pg_pushdown import PUSHDOWN, families, render_filter
from .pg_target import APPEND_KEY

log = logging.getLogger(__name__)
SNAPSHOT = "_etlc_snapshot"   # a dataset key: the exported snapshot every partition reads
SPEC_OF_PG = {"int2": "int", "int4": "int", "int8": "int", "float4": "float",
              "float8": "float", "numeric": "decimal", "bool": "bool", "date": "date",
              "timestamp": "timestamp", "timestamptz": "timestamptz"}
SESSION = ("SET DateStyle = 'ISO, YMD'", "SET TimeZone = 'UTC'",
           "SET extra_float_digits = 3", "SET client_encoding = 'UTF8'",
           "SET IntervalStyle = 'iso_8601'")


@dataclass(frozen=True)
class KeyRange:
    """One dask partition: ``column`` from ``low`` (None: no lower bound, null keys too)
    to ``high`` (exclusive; None: no upper bound)."""

    column: str
    low: Any = None
    high: Any = None


@dataclass(frozen=True)
class Source:
    """What a read asks for: the table, its columns' PostgreSQL types, the columns read
    with their specs, the pushed-down filter and its etlc text."""

    dataset: str
    table: str
    ident: Any
    pg_types: dict
    specs: dict
    where: Any
    pushed: tuple[str, ...]


def _catalog(cur, name: str) -> dict[str, tuple[str, int]]:
    from psycopg import sql

    cur.execute("SELECT to_regclass(%s)::oid", (name,))
    oid = cur.fetchone()[0]
    if oid is None:
        raise StepError(None, f"postgres table {name!r} does not exist")
    cur.execute(sql.SQL("SELECT a.attname, t.typname, a.atttypmod FROM pg_attribute a JOIN "
                        "pg_type t ON t.oid = a.atttypid WHERE a.attrelid = %s AND "
                        "a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"), (oid,))
    return {n: (t, m) for n, t, m in cur.fetchall() if n != APPEND_KEY}  # etlc's, not data


def _spec(typname: str, typmod: int) -> dict:
    kind = SPEC_OF_PG.get(typname, "string")
    if kind == "decimal":
        if typmod < 4:
            return {"type": "decimal", "scale": None}   # scale from the data
        return {"type": "decimal", "precision": ((typmod - 4) >> 16) & 0xFFFF,
                "scale": (typmod - 4) & 0xFFFF}
    return {"type": kind}


def plan_source(cur, dataset: Mapping[str, Any], macros: Mapping[str, Any],
                columns: list[str] | None) -> Source:
    """The table's catalog, the columns to read (declared ones, else the table's; only
    ``columns`` when given) and the filter terms that go down."""
    from .arrow_convert import Where
    from .pg_target import table_of

    name, _, _, ident = table_of(dataset, macros)
    text = ident.as_string(cur)
    catalog = _catalog(cur, text)
    declared = dataset.get("columns") or None
    wanted = list(declared) if declared else list(catalog)
    if columns is not None:
        wanted = [c for c in wanted if c in columns] or wanted[:1]
    specs = {}
    for c in wanted:
        if c not in catalog:
            raise Where(dataset.get("name") or name, f"postgres:{name}").error(
                "a declared column is absent from the table", c)
        specs[c] = declared[c] if declared else _spec(*catalog[c])
    pg_types = {c: t for c, (t, _) in catalog.items()}
    where, pushed = None, []
    request = dataset.get(PUSHDOWN) or {}
    if request.get("filter"):
        where, pushed = render_filter(request["filter"], request.get("params"),
                                      families(pg_types, declared))
    return Source(dataset.get("name") or name, name, ident, pg_types, specs, where,
                  tuple(pushed))


def _range_sql(r: KeyRange | None):
    from psycopg import sql

    if r is None:
        return None
    col = sql.Identifier(r.column)
    parts = []
    if r.low is not None:
        parts.append(sql.SQL("{} >= {}").format(col, sql.Literal(r.low)))
    if r.high is not None:
        high = sql.SQL("{} < {}").format(col, sql.Literal(r.high))
        parts.append(high if r.low is not None else
                     sql.SQL("({} OR {} IS NULL)").format(high, col))
    return sql.SQL(" AND ").join(parts) if parts else None


def select_sql(src: Source, part: KeyRange | None = None):
    """The SELECT a read sends (COPY wraps it)."""
    from psycopg import sql

    items = [sql.SQL("{}::float8").format(sql.Identifier(c)) if src.pg_types[c] == "float4"
             else sql.Identifier(c) for c in src.specs]
    conds = [c for c in (src.where, _range_sql(part)) if c is not None]
    query = sql.SQL("SELECT {} FROM {}").format(sql.SQL(", ").join(items), src.ident)
    if conds:
        query = sql.SQL("{} WHERE {}").format(query, sql.SQL(" AND ").join(conds))
    return query


def _text_table(cur, query, names: list[str]) -> pa.Table:
    import pyarrow.csv as pcsv
    from psycopg import sql

    buf = io.BytesIO()
    with cur.copy(sql.SQL("COPY ({}) TO STDOUT (FORMAT csv)").format(query)) as copy:
        for chunk in copy:
            buf.write(chunk)
    if not buf.tell():
        return pa.Table.from_arrays([pa.nulls(0, pa.string()) for _ in names], names=names)
    buf.seek(0)
    return pcsv.read_csv(
        buf, read_options=pcsv.ReadOptions(column_names=names),
        # ignore_empty_lines: a one-column row holding null is an empty line
        parse_options=pcsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
        convert_options=pcsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=True,
            quoted_strings_can_be_null=False, null_values=[""]))


def _with_scale(spec: dict, text: pa.ChunkedArray) -> dict:
    """An unconstrained numeric's scale: the most digits after the point of any value."""
    import pyarrow.compute as pc

    if not (isinstance(spec, Mapping) and "scale" in spec and spec["scale"] is None):
        return spec   # declared, or a numeric(p, s)
    tails = pc.utf8_length(pc.replace_substring_regex(text, r"^[^.]*\.?", ""))
    return {**spec, "scale": int(pc.max(tails).as_py() or 0)}


def export_snapshot(dataset: Mapping[str, Any], connections: Mapping[str, Any] | None):
    """A REPEATABLE READ transaction and the id of its exported snapshot: the queries of a
    dask read's partitions all see the rows as of this moment while it stays open."""
    import psycopg

    from .pg_target import open_connection

    conn = open_connection(dataset, connections)
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    return conn, conn.execute("SELECT pg_export_snapshot()").fetchone()[0]


def connect(dataset: Mapping[str, Any], connections: Mapping[str, Any] | None):
    """A connection set up for exact text (see the module doc), in the dataset's exported
    snapshot when it names one."""
    import psycopg
    from psycopg import sql

    from .pg_target import open_connection

    conn = open_connection(dataset, connections)
    if dataset.get(SNAPSHOT):
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(
            sql.Literal(dataset[SNAPSHOT])))
    for statement in SESSION:
        conn.execute(statement)
    return conn


def read_arrow(dataset: Mapping[str, Any], macros: Mapping[str, Any],
               connections: Mapping[str, Any] | None, columns: list[str] | None = None,
               part: KeyRange | None = None, counts: dict | None = None) -> pa.Table:
    """The dataset's rows (a partition's with ``part``) as an Arrow table of its types
    (``counts``: gets the tally of what ``on_error: null | skip`` let through)."""
    from .arrow_convert import Where, conform_table

    with connect(dataset, connections) as conn, conn.cursor() as cur:
        src = plan_source(cur, dataset, macros, columns)
        query = select_sql(src, part)
        log.info("etlc: postgres read of %s: %s", src.dataset, query.as_string(cur))
        text = _text_table(cur, query, list(src.specs))
    specs = {c: _with_scale(s, text.column(c)) for c, s in src.specs.items()}
    opts = dataset.get("options") or {}
    return conform_table(text, specs, Where(src.dataset, f"postgres:{src.table}"), text=True,
                         on_error=opts.get("on_error", "fail"), counts=counts)


def read_frame(dataset: Mapping[str, Any], macros: Mapping[str, Any],
               connections: Mapping[str, Any] | None, columns: list[str] | None = None,
               part: KeyRange | None = None):
    """:func:`read_arrow` as a frame of the pandas engine (and a dask partition); the
    ``on_error`` tally in its ``attrs`` as io_read keeps it."""
    from .dtypes import arrow_to_frame
    from .io_read import READ_ERRORS

    counts: dict = {}
    frame = arrow_to_frame(read_arrow(dataset, macros, connections, columns, part, counts))
    if counts:
        frame.attrs[READ_ERRORS] = counts
    return frame


def part_errors(part: KeyRange | None, dataset: Mapping[str, Any],
                macros: Mapping[str, Any], connections: Mapping[str, Any] | None,
                select: list[str] | None) -> dict:
    """The ``on_error`` tally of one dask partition's read (the dask engine's
    read_errors)."""
    counts: dict = {}
    read_arrow(dataset, macros, connections, select, part, counts)
    return counts


def _bounds(low, high, n: int) -> list:
    if isinstance(low, dt.datetime):
        base = dt.datetime(1970, 1, 1)
        cuts = _bounds((low - base) // dt.timedelta(microseconds=1),
                       (high - base) // dt.timedelta(microseconds=1), n)
        return [base + dt.timedelta(microseconds=c) for c in cuts]
    if isinstance(low, dt.date):
        return [dt.date.fromordinal(c) for c in _bounds(low.toordinal(), high.toordinal(), n)]
    span = high - low + 1
    return sorted({low + span * i // n for i in range(1, n)} - {low})


def key_ranges(dataset: Mapping[str, Any], macros: Mapping[str, Any],
               connections: Mapping[str, Any] | None, n: int) -> list[KeyRange | None]:
    """``n`` ranges of the first key column over the rows the filter keeps (one ``None``,
    the whole table, when there is no int, date or timestamp key or one partition)."""
    from psycopg import sql

    key = list(dataset.get("key") or [])
    if n <= 1 or not key:
        return [None]
    with connect(dataset, connections) as conn, conn.cursor() as cur:
        src = plan_source(cur, dataset, macros, None)
        if src.pg_types.get(key[0]) not in ("int2", "int4", "int8", "date", "timestamp"):
            return [None]
        col = sql.Identifier(key[0])
        query = sql.SQL("SELECT min({}), max({}) FROM {}").format(col, col, src.ident)
        if src.where is not None:
            query = sql.SQL("{} WHERE {}").format(query, src.where)
        cur.execute(query)
        low, high = cur.fetchone()
    if low is None:
        return [None]
    cuts = [None, *_bounds(low, high, n), None]
    return [KeyRange(key[0], a, b) for a, b in pairwise(cuts)]


def read_part(part: KeyRange | None, dataset: Mapping[str, Any], macros: Mapping[str, Any],
              connections: Mapping[str, Any] | None, select: list[str] | None):
    """One dask partition (``dd.from_map`` passes the range first; a parameter named
    ``columns`` would be taken for its column projection)."""
    return read_frame(dataset, macros, connections, select, part)
