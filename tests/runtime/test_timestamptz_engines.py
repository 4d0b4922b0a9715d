"""timestamptz through a transform step (issues 10 and 13): a derive with ``at time zone``,
date parts, text casts and a filter on instants, and the ``cast:`` step key between text,
timestamp and timestamptz, give the same typed table on pandas, duckdb and dask, and the
values DuckDB's own SQL gives (TimeZone UTC)."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from etlc_runtime.engines import get_engine
from etlc_runtime.engines.base import TaskResources
from etlc_runtime.errors import DataError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "conformance"))
from conformance_helpers import ENGINES, context, make_project, plain

CSV = ("id,z,ts,s\n"
       "1,2025-03-09T07:30:00Z,2025-11-02 01:30:00,2025-01-16 11:30:00+02:00\n"
       "2,,2025-03-09 02:30:00,2025-01-16\n"
       "3,2019-02-17 01:30:00.25-00:00,,\n"
       "4,1900-01-01 12:00:00+00,1900-01-01 00:00:00,2000-01-01 00:00:00\n")
COLS = {"id": "int", "z": "timestamptz", "ts": "timestamp", "s": "string"}
DERIVE = {"local": "z at time zone 'America/Sao_Paulo'",
          "inst": "ts at time zone 'America/New_York'",
          "h": "hour(z)", "txt": "cast(z as string)", "day": "date_trunc('day', z)",
          "later": "z + interval '1 month'"}
SQL = {"local": "timezone('America/Sao_Paulo', z)", "inst": "timezone('America/New_York', ts)",
       "h": "hour(z)", "txt": "CAST(z AS VARCHAR)", "day": "date_trunc('day', z)",
       "later": "z + INTERVAL 1 MONTH"}
FILTER = ("z is null or z > '2000-01-01 00:00:00+00'",
          "z IS NULL OR z > TIMESTAMPTZ '2000-01-01 00:00:00+00'")
CAST = {"s": "timestamptz", "z": "string", "ts": "timestamptz"}


def _run(name: str, root: Path, step: dict) -> pa.Table:
    eng = get_engine(name, TaskResources(spill_dir=root / f".spill-{name}"))
    try:
        ctx = context(root, COLS)
        rel = eng.read({"format": "csv", "path": "in.csv", "columns": COLS}, ctx)
        return plain(eng.to_arrow(eng.transform(step, {"r": rel}, ctx, None)))
    finally:
        eng.close()


def _duckdb(root: Path, select: str, where: str = "TRUE") -> pa.Table:
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{root / 'in.csv'}', header = "
                    f"true, columns = {{'id': 'BIGINT', 'z': 'TIMESTAMPTZ', 'ts': 'TIMESTAMP', "
                    f"'s': 'VARCHAR'}}, auto_detect = false, nullstr = '')")
        return plain(con.sql(f"SELECT {select} FROM t WHERE {where} ORDER BY id"
                             ).to_arrow_table())
    finally:
        con.close()


@pytest.fixture
def root(tmp_path) -> Path:
    root = make_project(tmp_path)
    (root / "in.csv").write_text(CSV)
    return root


def test_derive_and_filter_equal_duckdb_on_every_engine(root):
    step = {"name": "d", "kind": "transform", "from": ["r"], "filter": FILTER[0],
            "derive": DERIVE}
    select = "id, z, ts, s, " + ", ".join(f"{sql} AS {name}" for name, sql in SQL.items())
    want = _duckdb(root, select, FILTER[1])
    assert want.schema.field("local").type == pa.timestamp("us")
    for name in ENGINES:
        got = _run(name, root, step).sort_by("id")
        assert got.schema == want.schema, name
        assert got.to_pylist() == want.to_pylist(), name


def test_cast_step_equals_duckdb_on_every_engine(root):
    step = {"name": "c", "kind": "transform", "from": ["r"], "cast": CAST}
    want = _duckdb(root, "id, CAST(z AS VARCHAR) AS z, CAST(ts AS TIMESTAMPTZ) AS ts, "
                         "CAST(s AS TIMESTAMPTZ) AS s")
    for name in ENGINES:
        got = _run(name, root, step).sort_by("id").select(["id", "z", "ts", "s"])
        assert got.schema == want.schema, name
        assert got.to_pylist() == want.to_pylist(), name


# text the cast table's string -> timestamptz refuses (docs/types.md, "Date and timestamp
# text"), each after a clean row without an offset (read as UTC, not refused)
REFUSED_TZ = ["x", "2020-01-02T03", "2020-01-02 03:04 z", "2020-01-02 03:04 +02:00",
              "2020-1-2", "epoch", "2020-02-30 00:00", "2020-01-02 03:04:05.1234567"]


@pytest.mark.parametrize("bad", REFUSED_TZ)
def test_cast_step_refuses_what_the_rule_refuses_with_r040_fields(root, bad):
    """Text without an offset is UTC on every engine; text outside the rule is R040 naming the
    column and the value as the column holds it (before, pandas and dask named it with the
    '+00:00' they had added: 'x+00:00'), and the row on pandas and dask."""
    (root / "in.csv").write_text(f'id,z,ts,s\n1,,,2020-01-02 03:04:05\n2,,,"{bad}"\n')
    step = {"name": "c", "kind": "transform", "from": ["r"], "cast": {"s": "timestamptz"}}
    for name in ENGINES:
        with pytest.raises(Exception) as info:
            _run(name, root, step)
        err = DataError.from_exception(info.value)
        assert err is not None, (name, info.value)
        row = None if name == "duckdb" else 2  # DuckDB's cast in SQL numbers no rows
        assert (err.code, err.column, err.row, err.value) == ("R040", "s", row, bad), name
