"""The duckdb engine's builder knows some relations' columns without asking DuckDB (a read
cast to its declared types, sort, limit, select, distinct: Builder.new(types=...)); what it
knows must be what DuckDB binds the SQL to, or later stages would cast and compare wrongly."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from etlc_runtime.engines.base import StepContext, TaskResources
from etlc_runtime.engines.duckdb.read import read
from etlc_runtime.engines.duckdb.sql_build import Builder, Rel, etlc_type
from etlc_runtime.engines.duckdb_engine import DuckDBEngine
from test_engine_conformance import _cases, _expr_table, _exprdata

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



# -- every stage the builder types itself, against DuckDB's DESCRIBE --------------------------
# filter, qualify, derive, aggregate, rename and join know their columns from what they select
# (a column passed through keeps its type, SQL cast to a type has that type); a repeated name
# or an uncast expression is still asked of DuckDB.


class CheckingBuilder(Builder):
    """A Builder that binds every stage it types itself and fails where DuckDB disagrees;
    ``asked`` counts the DESCRIBEs the plain Builder runs, ``checked`` the stages typed
    without one."""

    def __init__(self, con):
        super().__init__(con)
        self.asked = 0
        self.checked = 0

    def describe(self, query: str) -> list[tuple[str, str]]:
        self.asked += 1
        return super().describe(query)

    def new(self, sql, *parents, prefix="s", types=None):
        rel = super().new(sql, *parents, prefix=prefix, types=types)
        if types is not None:
            cols = self.con.execute(f"DESCRIBE {rel.query()}").fetchall()
            assert rel.columns == tuple(c[0] for c in cols), sql[:300]
            assert dict(rel.types) == {c[0]: etlc_type(c[1]) for c in cols}, sql[:300]
            self.checked += 1
        return rel


@pytest.fixture(scope="module")
def checking(tmp_path_factory):
    """The engine as the executor builds it, with a CheckingBuilder, over the expression
    suite's table (every etlc type, nulls) and a small dimension."""
    root = tmp_path_factory.mktemp("bound")
    engine = DuckDBEngine(TaskResources(spill_dir=root / "spill"))
    engine.b = CheckingBuilder(engine.con)
    inputs = {"t": engine.from_arrow(_expr_table()),
              "dim": engine.from_arrow(pa.table({"id": [1, 2, 9], "ID2": [1, 2, 3],
                                                 "i": [1, 2, 3], "label": ["a", None, "c"]}))}
    yield engine, inputs, StepContext(root=root, params=_exprdata.PARAMS, macros={})
    engine.close()


def _transform(checking, step: dict) -> Rel:
    engine, inputs, ctx = checking
    return engine.transform({"from": ["t"], **step}, inputs, ctx)


def test_derived_columns_are_what_duckdb_binds(checking):
    """Every row expression of the differential suite as a new column and over an existing
    one (the checks are CheckingBuilder.new's)."""
    before = checking[0].b.checked
    for text in _cases.ROW_CASES:
        _transform(checking, {"derive": {"__v": text, "i": text}})
    assert checking[0].b.checked - before > len(_cases.ROW_CASES) // 2


def test_filtered_and_aggregated_columns_are_what_duckdb_binds(checking):
    before = checking[0].b.checked
    for text in _cases.FILTER_CASES:
        _transform(checking, {"filter": text, "qualify": text})
    for group_by, aggs, having in _cases.AGG_CASES:
        _transform(checking, {"group_by": group_by, "aggregate": aggs, "having": having})
    assert checking[0].b.checked - before >= 2 * len(_cases.FILTER_CASES) + len(_cases.AGG_CASES)


@pytest.mark.parametrize("step", [
    {"derive": {"a": "i + 1", "b": "a * 2", "i": "b", "s2": "upper(s)"}},
    {"derive": {"I": "i + 1"}},                     # DuckDB renames the repeat: asked
    {"derive": {"x": "null"}},                      # nothing to cast to: asked
    {"group_by": ["s"], "aggregate": {"f": "first(i)", "l": "last(d)", "n": "count(*)"}},
    {"group_by": ["s", "b"]},
    {"group_by": ["s", "b"], "having": "b"},
    {"rename": {"i": "ii", "s": "ss"}},
    {"rename": {"i": "S"}},
    {"join": {"with": "dim", "on": "id"}},
    {"join": {"with": "dim", "on": "id", "how": "left"}},
    {"join": {"with": "dim", "on": "id", "how": "right"}},
    {"join": {"with": "dim", "on": "id", "how": "outer"}},
    {"join": {"with": "dim", "on": {"id": "ID2"}, "how": "outer"}},
    {"join": {"with": "dim", "on": "id", "how": "semi"}},
    {"join": {"with": "dim", "on": "id", "how": "anti"}},
    {"join": [{"with": "dim", "on": "id"}, {"with": "dim", "on": "id"}]},
], ids=repr)
def test_stage_columns_are_what_duckdb_binds(checking, step):
    rel = _transform(checking, step)
    assert checking[0].to_arrow(rel).column_names == list(rel.columns)


def test_a_parquet_chain_binds_its_read_only(tmp_path: Path):
    """Read (typed), filter, two derive layers, aggregate, sort, select: one DESCRIBE, of
    the read (the file's own types decide the exact conversions); before, one per stage."""
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"i": [1, 2], "f": [0.5, 1.0], "s": ["a", None]}), path)
    b = CheckingBuilder(duckdb.connect())
    rel = read(b, {"name": "t", "format": "parquet", "path": str(path),
                   "columns": {k: DECLARED[k] for k in ("i", "f", "s")}}, {}, tmp_path)
    rel = b.apply({"from": "t", "filter": "i > 0", "derive": {"g": "f * 2", "h": "g + 1"},
                   "group_by": ["s"], "aggregate": {"n": "sum(h)", "c": "count(*)"},
                   "sort": ["s"], "select": ["s", "n"]}, {"t": rel}, {})
    # typed by the builder: _finish, filter, two derive layers, aggregate, sort, select
    assert (b.asked, b.checked) == (1, 7)
    assert b.con.execute(rel.query()).fetchall() == [("a", 2.0), (None, 3.0)]
