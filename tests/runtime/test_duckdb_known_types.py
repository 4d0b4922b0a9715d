"""The duckdb engine's builder knows some relations' columns without asking DuckDB (a read
cast to its declared types, sort, limit, select, distinct: Builder.new(types=...)); what it
knows must be what DuckDB binds the SQL to, or later stages would cast and compare wrongly."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from etlc_runtime.engines.duckdb.read import read
from etlc_runtime.engines.duckdb.sql_build import Builder, Rel, etlc_type

DECLARED = {
    "i": {"type": "int"}, "f": {"type": "float"}, "d": {"type": "decimal", "scale": 2},
    "dp": {"type": "decimal", "scale": 3, "precision": 10}, "s": {"type": "string"},
    "b": {"type": "bool"}, "dt": {"type": "date"}, "ts": {"type": "timestamp"},
    "tz": {"type": "timestamptz"}, "j": {"type": "json"},
}
CSV = ("i,f,d,dp,s,b,dt,ts,tz,j\n"
       "1,0.5,26.00,1.250,x,true,1998-08-12,2020-01-02 10:00:00,2020-01-02T10:00:00Z,{}\n"
       "-2,1e3,-0.50,0.001,,false,2000-02-29,2020-01-02 00:00:00.5,2020-01-02 10:00+02:00,[1]\n")


def bound(b: Builder, rel: Rel) -> tuple[tuple[str, ...], dict]:
    cols = b.describe(rel.query())
    return tuple(c for c, _ in cols), {c: etlc_type(t) for c, t in cols}


def _chain(b: Builder, rel: Rel) -> list[Rel]:
    return [rel, b.sort(rel, ["-i", "s"]), b.limit(rel, 1), b.select(rel, ["dt", "i"]),
            b.drop(rel, ["s"]), b.distinct(rel, True), b.distinct(rel, ["i"])]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_known_columns_are_what_duckdb_binds(tmp_path: Path, fmt):
    if fmt == "csv":
        path = tmp_path / "t.csv"
        path.write_text(CSV)
        declared = DECLARED
    else:
        path = tmp_path / "t.parquet"
        pq.write_table(pa.table({"i": [1, 2], "f": [0.5, 1.0], "s": ["a", None],
                                 "dt": pa.array([0, 1], pa.date32())}), path)
        declared = {k: DECLARED[k] for k in ("i", "f", "s", "dt")}
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    b = Builder(con)
    rel = read(b, {"name": "t", "format": fmt, "path": str(path), "columns": declared}, {},
               tmp_path)
    assert rel.columns == tuple(declared)
    for r in _chain(b, rel):
        cols, types = bound(b, r)
        assert r.columns == cols
        assert dict(r.types) == types, r.ctes[-1][1][:80]
    assert con.execute(rel.query("count(*)")).fetchone()[0] == 2


def test_a_repeated_column_is_asked_of_duckdb(tmp_path: Path):
    b = Builder(duckdb.connect())
    rel = b.source("(SELECT 1 AS a, 'x' AS s)")
    r = b.select(rel, ["a", "a"])
    assert r.columns == bound(b, r)[0]
