"""Decimals and dates computed by the engines that hold them as doubles and datetime64 (pandas,
dask) are written in the plan's type, also where the target declares no columns: the same spec
writes the same Parquet schema and values, the same CSV text and the same PostgreSQL column
types and rows on every engine (the duckdb engine computes decimals exactly and is the
reference).  A value beyond what a double holds exactly at its scale stops the run with R041,
a value a decimal cannot hold unchanged or a date with a time of day with R040 naming dataset,
column, row and value; nothing is rounded or truncated on the way."""

from __future__ import annotations

import datetime as dt
import decimal
import tempfile
import textwrap
from pathlib import Path

import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from etlc_compiler.api import check_text
from etlc_compiler.compile import plan_checked
from etlc_runtime.errors import DataError
from etlc_runtime.expr.errors import EvalError
from etlc_runtime.io_write import write_dataset
from etlc_runtime.local import run_pipeline
from hypothesis import given, settings
from hypothesis import strategies as st
from test_postgres_fidelity import URI as PG_URI
from test_postgres_fidelity import pg  # noqa: F401  (the server fixture: a schema)

D = decimal.Decimal

SUM_SPEC = textwrap.dedent("""\
    etlc: 1
    pipeline: computed
    defaults: {engine: ENGINE}
    datasets:
      src:
        format: csv
        path: in.csv
        columns: {k: {type: string}, v: {type: decimal, scale: 2}}
      out:
        format: parquet
        path: out/
        columns: {k: {type: string}, total: {type: decimal, scale: 2}}
    steps:
      raw: {read: src}
      agg: {from: raw, group_by: [k], aggregate: {total: "sum(v)"}}
      save: {from: agg, write: out, mode: overwrite}
    """)

# every kind of computed decimal (aggregates, arithmetic at a new scale, a window) and date,
# written to targets that declare no columns
SPEC = textwrap.dedent("""\
    etlc: 1
    pipeline: computed
    defaults: {engine: ENGINE}
    connections: {dwh: pg_test}
    datasets:
      src:
        format: csv
        path: in.csv
        columns: {k: {type: string}, v: {type: decimal, scale: 2}, d: {type: date}}
      pq_out: {format: parquet, path: out/}
      csv_out: {format: csv, path: out.csv}
    PG_DATASET
    steps:
      raw: {read: src}
      agg:
        from: raw
        group_by: [k]
        aggregate:
          total: "sum(v)"
          top: "max(v)"
          low: "min(v)"
          earliest: "first(v)"
          latest: "last(v)"
          first_day: "min(d)"
          last_day: "max(d)"
      more:
        from: agg
        derive:
          double_top: "top * 2"
          spread: "total - low"
          gross: "top * 1.1"
          next_day: "first_day + 1"
        sort: [k]
      save_pq: {from: more, write: pq_out, mode: overwrite}
      save_csv: {from: more, write: csv_out, mode: overwrite}
    PG_WRITE
    """)
PG_DATASET = "  pg_out: {format: postgres, connection: dwh, table: SCHEMA.out}"
PG_WRITE = "  save_pg: {from: more, write: pg_out, mode: overwrite}"
DECIMALS = ("total", "top", "low", "earliest", "latest", "double_top", "spread", "gross")
DATES = ("first_day", "last_day", "next_day")


def run(root: Path, engine: str, spec: str, rows: str, schema: str | None = None) -> dict:
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (root / "in.csv").write_text(rows)
    to_pg = schema is not None   # the pg fixture's schema; its connection is pg_test
    text = (spec.replace("ENGINE", engine)
            .replace("PG_DATASET", PG_DATASET.replace("SCHEMA", schema or "") if to_pg else "")
            .replace("PG_WRITE", PG_WRITE if to_pg else ""))
    checked = check_text(text, str(root / "s.yaml"))
    assert checked.ok, checked.diagnostics
    return run_pipeline(plan_checked(checked, root).pipeline_payload(), project_root=str(root))


def kind(t: pa.DataType) -> str:
    """An Arrow type less what the engines are known to differ in apart from this fix: the
    duckdb engine gives arithmetic on a decimal DuckDB's precision (decimal(18, 2)) where the
    plan's decimal without one is decimal(38, s), and pandas holds a string read from CSV as
    large_string."""
    if pa.types.is_decimal(t):
        return f"decimal(s={t.scale})"
    return "string" if t == pa.large_string() else str(t)


def written(root: Path) -> tuple[list, list, str]:
    """(Parquet column names and types, Parquet rows, CSV text) of a run of SPEC."""
    table = pq.read_table(root / "out")
    return ([(f.name, kind(f.type)) for f in table.schema], table.to_pylist(),
            (root / "out.csv").read_text())


def pg_written(schema: str) -> tuple[dict, list]:
    with psycopg.connect(PG_URI) as conn:
        types = dict(conn.execute(
            "select a.attname, format_type(a.atttypid, a.atttypmod) from pg_attribute a "
            "where a.attrelid = %s::regclass and a.attnum > 0 and not a.attisdropped "
            "order by a.attnum", (f'"{schema}"."out"',)).fetchall())
        rows = conn.execute(f'select * from "{schema}"."out" order by k').fetchall()
    return types, rows


def csv_rows(rows: list[tuple[str, D | None, dt.date | None]]) -> str:
    return "k,v,d\n" + "".join(f"{k},{'' if v is None else v},{'' if d is None else d}\n"
                               for k, v, d in rows)


ROWS = csv_rows([("a", D("1.10"), dt.date(2024, 1, 31)), ("b", D("20.05"), dt.date(2023, 12, 31)),
                 ("a", D("300.01"), dt.date(2024, 2, 29)), ("b", None, None),
                 ("c", D("23.03"), dt.date(1970, 1, 1)), ("c", D("-107.36"), None)])


@pytest.mark.postgres
@pytest.mark.parametrize("engine", ["pandas", "dask"])
def test_computed_decimals_and_dates_are_written_as_the_duckdb_engine_writes_them(
        tmp_path, pg, engine):  # noqa: F811
    """Parquet, CSV and PostgreSQL targets without declared columns: the same types and
    values as the duckdb engine's (decimal(p, s) and date, not double and timestamp); 23.03 *
    1.1 = 25.333 and 107.36 + 10.74 = 118.1 are exact at their scale although Arrow's own
    decimal-to-double cast gives 25.333000000000002 and 118.10000000000001."""
    outs = {}
    for name in ("duckdb", engine):   # each run overwrites the table of the one before
        summary = run(tmp_path / name, name, SPEC, ROWS, pg)
        assert summary["status"] == "success", summary.get("error")
        outs[name] = (*written(tmp_path / name), *pg_written(pg))
    want_types, want_rows, want_csv, want_pg_types, want_pg_rows = outs["duckdb"]
    got_types, got_rows, got_csv, got_pg_types, got_pg_rows = outs[engine]
    assert got_types == want_types  # order and types
    types = dict(got_types)
    assert {types[c] for c in DECIMALS} == {"decimal(s=2)", "decimal(s=3)"}
    assert {types[c] for c in DATES} == {"date32[day]"}
    assert got_rows == want_rows
    assert {r["k"]: r["gross"] for r in got_rows}["c"] == D("25.333")
    assert got_csv == want_csv
    assert {c: t.split("(")[0] for c, t in got_pg_types.items()} == {
        c: t.split("(")[0] for c, t in want_pg_types.items()}
    assert {c: t.partition(",")[2] for c, t in got_pg_types.items()} == {
        c: t.partition(",")[2] for c, t in want_pg_types.items()}   # the scale
    assert {got_pg_types[c].split("(")[0] for c in DECIMALS} == {"numeric"}
    assert {got_pg_types[c] for c in DATES} == {"date"}
    assert got_pg_rows == want_pg_rows


@settings(max_examples=15, deadline=None)
@given(st.lists(st.tuples(
    st.sampled_from("abc"),
    st.none() | st.decimals(min_value=D("-999999999.99"), max_value=D("999999999.99"), places=2,
                            allow_nan=False, allow_infinity=False),
    st.none() | st.dates(min_value=dt.date(1, 1, 2), max_value=dt.date(9999, 12, 30))),
    min_size=1, max_size=12))
def test_pandas_writes_what_duckdb_writes(rows):
    """Property: any data, pandas against duckdb, Parquet schema and values and CSV text."""
    text = csv_rows(rows)
    with tempfile.TemporaryDirectory() as tmp:
        outs = {}
        for name in ("duckdb", "pandas"):
            summary = run(Path(tmp) / name, name, SPEC, text)
            assert summary["status"] == "success", summary.get("error")
            outs[name] = written(Path(tmp) / name)
    assert outs["pandas"] == outs["duckdb"]


@pytest.mark.parametrize("engine", ["pandas", "dask"])
def test_a_decimal_beyond_15_digits_stops_the_float_backed_engines(tmp_path, engine):
    """sum(v) is 12000000000000.03, 16 significant digits at scale 2, more than a double
    holds exactly: the duckdb engine computes it exactly; the engines that hold decimals as
    doubles stop with R041 naming the value instead of writing a rounded one."""
    rows = "k,v\na,6000000000000.01\na,6000000000000.02\n"
    exact = run(tmp_path / "duckdb", "duckdb", SUM_SPEC, rows)
    assert exact["status"] == "success", exact.get("error")
    got = pq.read_table(tmp_path / "duckdb" / "out").column("total").to_pylist()
    assert got == [D("12000000000000.03")]
    summary = run(tmp_path / engine, engine, SUM_SPEC, rows)
    err = summary["error"]
    cause = err if isinstance(err, EvalError) else getattr(err, "cause", None) or err.__cause__
    assert summary["status"] == "failed" and isinstance(cause, EvalError), err
    assert cause.code == "R041" and cause.row == 0 and cause.value > 1.2e13
    assert not (tmp_path / engine / "out").exists()


@pytest.mark.parametrize("engine", ["pandas", "dask"])
def test_a_decimal_within_15_digits_is_exact(tmp_path, engine):
    rows = "k,v\na,600000000.01\na,600000000.02\nb,0.10\nb,0.20\n"
    summary = run(tmp_path / engine, engine, SUM_SPEC, rows)
    assert summary["status"] == "success", summary.get("error")
    got = sorted(pq.read_table(tmp_path / engine / "out").to_pylist(), key=lambda r: r["k"])
    assert got == [{"k": "a", "total": D("1200000000.03")}, {"k": "b", "total": D("0.30")}]


# -- the writer itself: what a frame holds against what the plan types --------------------

def _write(root: Path, frame: pd.DataFrame, types: dict, fmt: str = "parquet") -> dict:
    dataset = {"name": "sink", "format": fmt, "path": "out/"}
    return write_dataset(frame, dataset, "overwrite", {}, root, "k", types=types)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.none() | st.decimals(min_value=D("-9999999999.99999"),
                                        max_value=D("9999999999.99999"), places=5,
                                        allow_nan=False, allow_infinity=False),
                min_size=1, max_size=30))
def test_a_decimal_held_as_its_nearest_double_is_written_exactly(values):
    """Any decimal of at most 15 digits, held as its nearest double (as the evaluator holds a
    computed one), is written as that decimal, every digit the reference's."""
    frame = pd.DataFrame({"x": pd.array([None if v is None else float(v) for v in values],
                                        dtype="Float64")})
    with tempfile.TemporaryDirectory() as tmp:
        _write(Path(tmp), frame, {"x": {"type": "decimal", "scale": 5}})
        got = pq.read_table(Path(tmp) / "out").column("x")
    assert pa.types.is_decimal(got.type) and got.type.scale == 5
    assert got.to_pylist() == values


def test_a_double_that_is_no_decimal_of_the_scale_stops_with_its_place(tmp_path):
    """1.005 is 1.00499999999999989..., no decimal(2): R040 naming dataset, column, row, value,
    and nothing written (a bare float cast would round it to 1.00 or 1.01)."""
    frame = pd.DataFrame({"x": pd.array([1.25, None, 1.005], dtype="Float64")})
    with pytest.raises(DataError) as info:
        _write(tmp_path, frame, {"x": {"type": "decimal", "scale": 2}})
    err = info.value
    assert (err.code, err.dataset, err.column, err.row, err.value) == ("R040", "sink", "x", 3,
                                                                        1.005)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_a_date_with_a_time_of_day_is_refused_not_truncated(tmp_path, fmt):
    frame = pd.DataFrame({"day": pd.to_datetime(["2024-01-31", None, "2024-02-29 00:00:01"], format="ISO8601")})
    with pytest.raises(DataError) as info:
        _write(tmp_path, frame, {"day": {"type": "date"}}, fmt)
    err = info.value
    assert (err.code, err.dataset, err.column, err.row) == ("R040", "sink", "day", 3)
    assert err.value == "2024-02-29 00:00:01"
    assert not (tmp_path / "out").exists()


def test_a_date_at_midnight_is_written_as_a_date(tmp_path):
    frame = pd.DataFrame({"n": [1, 2], "day": pd.to_datetime(["2024-01-31", None])})
    _write(tmp_path, frame, {"day": {"type": "date"}})
    table = pq.read_table(tmp_path / "out")
    assert table.schema.names == ["n", "day"] and table.schema.field("day").type == pa.date32()
    assert table.column("day").to_pylist() == [dt.date(2024, 1, 31), None]


def test_on_dask_the_error_names_the_part_file_its_row_counts_in(tmp_path):
    """Each dask partition writes its own part: the R040 names the dataset, the column, the
    part file and the row inside it (the third row of the whole frame is the first of the
    second partition) and the value; nothing is committed."""
    from etlc_runtime.engines import get_engine
    from etlc_runtime.engines.base import StepContext, TaskResources

    frame = pd.DataFrame({"n": [1, 2, 3, 4], "day": pd.to_datetime(
        ["2024-01-31", "2024-02-01", "2024-02-29 12:00:00", None], format="ISO8601")})
    engine = get_engine("dask", TaskResources(partitions=2, spill_dir=tmp_path / ".spill"))
    ctx = StepContext(root=tmp_path, params={}, macros={}, types={"day": {"type": "date"}},
                      append_key="k", step="save")
    try:
        rel = engine.from_pandas(frame)
        assert rel.npartitions == 2
        with pytest.raises(DataError) as info:
            engine.write(rel, {"name": "sink", "format": "parquet", "path": "out/"},
                         "overwrite", ctx)
    finally:
        engine.close()
    err = info.value
    assert (err.code, err.dataset, err.column, err.row) == ("R040", "sink", "day", 1)
    assert err.file.startswith("part-00001") and err.value == "2024-02-29 12:00:00"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("engine", ["pandas", "dask"])
def test_computed_types_survive_a_hand_off_to_another_engine(tmp_path, monkeypatch, engine):
    """The aggregate runs on ``engine`` and the derive on duckdb, two tasks with a staging
    hand-off between them: the staged parts hold the computed decimals and dates in their plan
    types, so the duckdb task computes on decimals (not on doubles) and the output is the
    all-duckdb run's, type for type and value for value."""
    split = SPEC.replace("  agg:\n    from: raw\n",
                         f"  agg:\n    engine: {engine}\n    from: raw\n")
    assert split != SPEC
    monkeypatch.setenv("ETLC_STAGING_RETENTION", "1d")   # keep the hand-off to look at
    outs = {}
    for name, text in (("duckdb", SPEC), ("split", split)):
        summary = run(tmp_path / name, "duckdb", text, ROWS)
        assert summary["status"] == "success", summary.get("error")
        outs[name] = written(tmp_path / name)
    assert outs["split"] == outs["duckdb"]
    staged = [pq.read_schema(p) for p in (tmp_path / "split").rglob("part-*.parquet")
              if "agg" in p.parts]
    assert staged, "the hand-off went through staging"
    types = {f.name: f.type for f in staged[0]}
    assert pa.types.is_decimal(types["total"]) and types["total"].scale == 2
    assert types["first_day"] == pa.date32()
