"""Computed columns are written in the type the plan gives them, on every engine, also when the
target declares no columns: the pandas and Dask back ends hold a computed decimal as Float64
and a date as datetime64, and wrote them as double and timestamp (the duckdb engine wrote the
plan's decimal and date). The written schema and values must equal the duckdb engine's."""

from __future__ import annotations

import decimal
import textwrap

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from etlc_compiler.api import check_text
from etlc_compiler.compile import plan_checked
from etlc_runtime.expr.errors import EvalError
from etlc_runtime.local import run_pipeline

SPEC = textwrap.dedent("""\
    etlc: 1
    pipeline: computed
    defaults: {engine: ENGINE}
    params:
      least: {type: number, default: 0}
    datasets:
      src:
        format: csv
        path: in.csv
        columns: {k: {type: string}, v: {type: decimal, scale: 2}, d: {type: date}}
      out: {format: parquet, path: out/}
    steps:
      raw: {read: src, filter: "v >= $least"}
      agg:
        from: raw
        group_by: [k]
        aggregate: {total: "sum(v)", top: "max(v)", latest: "last(v)", first_day: "min(d)"}
      more:
        from: agg
        derive: {double_top: "top * 2", next_day: "first_day + 1"}
        sort: [k]
      save: {from: more, write: out, mode: overwrite}
    """)
ROWS = "k,v,d\na,1.10,2024-01-31\nb,20.05,2023-12-31\na,300.01,2024-02-29\nb,,\n"


def written(tmp_path, engine: str):
    summary = run(tmp_path / engine, engine, ROWS)
    assert summary["status"] == "success", summary.get("error")
    table = pq.read_table(tmp_path / engine / "out")
    return {f.name: f.type for f in table.schema}, table.to_pylist()


@pytest.mark.parametrize("engine", ["pandas", "dask"])
def test_computed_decimals_and_dates_are_written_as_the_plan_types_them(tmp_path, engine):
    want_types, want_rows = written(tmp_path, "duckdb")
    got_types, got_rows = written(tmp_path, engine)
    assert list(got_types) == list(want_types)            # column order kept
    for name in ("total", "top", "latest", "double_top"):   # precision: the plan's, 38
        assert pa.types.is_decimal(got_types[name]), name
        assert got_types[name].scale == want_types[name].scale == 2, name
    for name in ("first_day", "next_day"):
        assert got_types[name] == want_types[name] == pa.date32(), name
    assert got_rows == want_rows



def run(root, engine: str, rows: str) -> dict:
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (root / "in.csv").write_text(rows)
    text = SPEC.replace("ENGINE", engine)
    checked = check_text(text, str(root / "s.yaml"))
    assert checked.ok, checked.diagnostics
    return run_pipeline(plan_checked(checked, root).pipeline_payload(), project_root=str(root))


@pytest.mark.parametrize("engine", ["pandas", "dask"])
def test_a_decimal_beyond_15_digits_stops_the_float_backed_engines(tmp_path, engine):
    """sum(v) is 12000000000000.03, 16 significant digits at scale 2, more than a double
    holds exactly: the duckdb engine computes it exactly; the engines that hold decimals as
    doubles stop with R041 naming the value instead of writing a rounded one."""
    rows = "k,v,d\na,6000000000000.01,2024-01-01\na,6000000000000.02,2024-01-02\n"
    exact = run(tmp_path / "duckdb", "duckdb", rows)
    assert exact["status"] == "success", exact.get("error")
    got = pq.read_table(tmp_path / "duckdb" / "out").column("total").to_pylist()
    assert got == [decimal.Decimal("12000000000000.03")]
    summary = run(tmp_path / engine, engine, rows)
    err = summary["error"]
    cause = err if isinstance(err, EvalError) else getattr(err, "cause", None) or err.__cause__
    assert summary["status"] == "failed" and isinstance(cause, EvalError), err
    assert cause.code == "R041" and cause.row == 0 and cause.value > 1.2e13
    assert not (tmp_path / engine / "out").exists()
