"""Decimals computed by the engines that hold them as doubles (pandas, dask): a value beyond
what a double holds exactly at its scale stops the run with R041 instead of being rounded;
the duckdb engine computes it exactly."""

from __future__ import annotations

import decimal
import textwrap

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
    rows = "k,v\na,6000000000000.01\na,6000000000000.02\n"
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


@pytest.mark.parametrize("engine", ["pandas", "dask"])
def test_a_decimal_within_15_digits_is_exact(tmp_path, engine):
    rows = "k,v\na,600000000.01\na,600000000.02\nb,0.10\nb,0.20\n"
    summary = run(tmp_path / engine, engine, rows)
    assert summary["status"] == "success", summary.get("error")
    got = sorted(pq.read_table(tmp_path / engine / "out").to_pylist(), key=lambda r: r["k"])
    assert got == [{"k": "a", "total": decimal.Decimal("1200000000.03")},
                   {"k": "b", "total": decimal.Decimal("0.30")}]
