"""Issue 10's round trip for PostgreSQL and fixed-width files, on every engine: hypothesis
draws typed columns with extremes (test_roundtrip.tables), a reference writer stores them
(psycopg into a table of the declared PostgreSQL types; Python's own text for a fixed-width
file), etlc reads them (exactly what went in), writes them (read -> identity -> write:
PostgreSQL into a table etlc creates, fixed-width into Parquet), and what comes back is
compared exactly.  Fixed-width files hold no ``string`` column here: a field keeps its
padding (docs/types.md), so text is exact only at its span's width."""

from __future__ import annotations

import decimal
import math
import uuid

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conformance_helpers import assert_same, context, make_project, read
from hypothesis import HealthCheck, given, settings
from test_roundtrip import EXAMPLES, tables

URI = "postgresql://postgres@127.0.0.1:5432/test"
CONNS = {"dwh": "pg_conformance"}
PG_TYPES = {"int": "bigint", "float": "double precision", "string": "text", "bool": "boolean",
            "date": "date", "timestamp": "timestamp"}
SLOW = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large]


def _numbered(table: pa.Table) -> pa.Table:
    """The table with a first column ``rn`` (its row number): the order to compare in."""
    return table.add_column(0, "rn", pa.array(range(table.num_rows), pa.int64()))


# -- PostgreSQL -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def psycopg_mod():
    import psycopg
    try:
        psycopg.connect(URI, connect_timeout=3).close()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"no PostgreSQL at {URI}: {exc}")
    return psycopg


@pytest.fixture
def schema(psycopg_mod, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_PG_CONFORMANCE", URI)
    name = f"etlc_rt_{uuid.uuid4().hex[:10]}"
    with psycopg_mod.connect(URI, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    yield name
    with psycopg_mod.connect(URI, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def _pg_type(spec) -> str:
    if isinstance(spec, dict) and spec.get("type") == "decimal":
        return f"numeric(38, {int(spec.get('scale') or 0)})"
    return PG_TYPES[spec if isinstance(spec, str) else spec["type"]]


def _pg_write_reference(psycopg, schema: str, table: pa.Table, columns: dict) -> None:
    cols = ", ".join(f'"{c}" {_pg_type(t)}' for c, t in columns.items())
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join(["%s"] * len(columns))
    with psycopg.connect(URI, autocommit=True) as conn:
        conn.execute(f'CREATE TABLE "{schema}"."src" ({cols})')
        with conn.cursor() as cur:
            cur.executemany(f'INSERT INTO "{schema}"."src" ({names}) VALUES ({marks})',
                            [tuple(row.values()) for row in table.to_pylist()])


def _pg_rows(psycopg, schema: str, name: str, columns: dict) -> pa.Table:
    """The table as psycopg reads it back, in row-number order, typed as declared."""
    from etlc_runtime.arrow_convert import arrow_type

    names = ", ".join(f'"{c}"' for c in columns)
    with psycopg.connect(URI) as conn:
        rows = conn.execute(f'SELECT {names} FROM "{schema}"."{name}" ORDER BY "rn"'
                            ).fetchall()
    return pa.table({c: pa.array([r[i] for r in rows], arrow_type(t))
                     for i, (c, t) in enumerate(columns.items())})


def _sorted(table: pa.Table) -> pa.Table:
    return table.sort_by("rn")


@pytest.mark.postgres
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=SLOW)
@given(data=tables())
def test_postgres_read_identity_write_is_exact(engine, psycopg_mod, schema, tmp_path_factory,
                                              data):
    table, columns = data
    table, columns = _numbered(table), {"rn": "int", **columns}
    root = make_project(tmp_path_factory.mktemp("pg"))
    with psycopg_mod.connect(URI, autocommit=True) as conn:   # one schema, many examples
        conn.execute(f'DROP TABLE IF EXISTS "{schema}"."src", "{schema}"."out"')
    _pg_write_reference(psycopg_mod, schema, table, columns)
    src = {"format": "postgres", "connection": "dwh", "table": f"{schema}.src",
           "key": ["rn"], "columns": columns}
    ctx = context(root, columns)
    ctx = type(ctx)(**{**ctx.__dict__, "connections": CONNS})
    rel = engine.read(src, ctx)
    assert_same(_sorted(engine.to_arrow(rel)), table, f"{engine.name} read of PostgreSQL")
    out = {"format": "postgres", "connection": "dwh", "table": f"{schema}.out",
           "columns": columns}
    engine.write(rel, out, "overwrite", ctx)
    assert_same(_pg_rows(psycopg_mod, schema, "out", columns), table,
                f"{engine.name} write to PostgreSQL")


# -- fixed-width ----------------------------------------------------------------------------

def _field(value) -> str:
    """A value as the reference writer's text (blank: null)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else repr(value)
    if isinstance(value, decimal.Decimal):
        return format(value, "f")   # positional, every digit of the scale
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ") if hasattr(value, "hour") else value.isoformat()
    return str(value)


def _fixed_width_reference(table: pa.Table, columns: dict, path) -> dict:
    """Write the table as fixed-width text (a record-type column ``rt`` first, so that no
    line is blank); return the declared columns with their spans."""
    texts = {c: [_field(v) for v in table.column(c).to_pylist()] for c in table.column_names}
    spans, first = {"rt": {"type": "string", "span": [1, 1]}}, 2
    for c in table.column_names:
        width = max([len(t) for t in texts[c]] + [1])
        spec = columns[c] if isinstance(columns[c], dict) else {"type": columns[c]}
        spans[c] = {**spec, "span": [first, first + width - 1]}
        first += width
    lines = ["D" + "".join(texts[c][i].ljust(spans[c]["span"][1] - spans[c]["span"][0] + 1)
                           for c in table.column_names) for i in range(table.num_rows)]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return spans


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=SLOW)
@given(data=tables())
def test_fixed_width_read_identity_write_is_exact(engine, tmp_path_factory, data):
    table, columns = data
    table = table.drop_columns(["s"])
    columns = {c: t for c, t in columns.items() if c != "s"}
    root = make_project(tmp_path_factory.mktemp("fw"))
    spans = _fixed_width_reference(table, columns, root / "in.txt")
    ds = {"format": "fixed_width", "path": "in.txt", "columns": spans}
    want = table.add_column(0, "rt", pa.array(["D"] * table.num_rows, pa.string()))
    assert_same(read(engine, root, ds), want, f"{engine.name} read of fixed-width")
    ctx = context(root, spans)
    engine.write(engine.read(ds, ctx), {"format": "parquet", "path": "out/", "columns": spans},
                 "overwrite", ctx)
    parts = sorted(p for p in (root / "out").rglob("*.parquet") if not p.name.startswith("."))
    back = pa.concat_tables([pq.read_table(p) for p in parts]) if parts else None
    if table.num_rows:
        assert_same(back, want, f"{engine.name} fixed-width -> parquet")


@pytest.mark.postgres
@pytest.mark.parametrize("on_error, want, tally", [
    ("null", [1, None, 3], {"n": {"nulled": 1}}),
    ("skip", [1, 3], {"n": {"skipped": 1}})])
def test_postgres_on_error_is_counted(engine, psycopg_mod, schema, tmp_path, on_error, want,
                                      tally):
    with psycopg_mod.connect(URI, autocommit=True) as conn:
        conn.execute(f'CREATE TABLE "{schema}"."t" (rn bigint, n text)')
        conn.execute(f'INSERT INTO "{schema}"."t" VALUES (1, \'1\'), (2, \'x\'), (3, \'3\')')
    root = make_project(tmp_path / "proj")
    columns = {"rn": "int", "n": "int"}
    ds = {"format": "postgres", "connection": "dwh", "table": f"{schema}.t", "key": ["rn"],
          "columns": columns, "options": {"on_error": on_error}}
    ctx = context(root, columns)
    ctx = type(ctx)(**{**ctx.__dict__, "connections": CONNS})
    rel = engine.read(ds, ctx)
    assert _sorted(engine.to_arrow(rel)).column("n").to_pylist() == want
    assert engine.read_errors(rel) == tally
