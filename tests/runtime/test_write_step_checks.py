"""`checks` and `metrics` on a write step hold for the rows it writes, on every engine, and
are evaluated before the write: a violated check fails the task and the target is never
created (they were accepted by the compiler and silently skipped before)."""

from __future__ import annotations

import textwrap

import duckdb
import pytest
from etlc_compiler.api import check_text
from etlc_compiler.compile import plan_checked
from etlc_runtime.errors import CheckFailed
from etlc_runtime.local import run_pipeline

SPEC = textwrap.dedent("""\
    etlc: 1
    pipeline: gate
    defaults: {engine: ENGINE}
    datasets:
      src: {format: csv, path: in.csv, columns: {k: {type: string}, v: {type: int}}}
      out: {format: parquet, path: out.parquet}
    steps:
      raw: {read: src}
      save:
        from: raw
        write: out
        mode: overwrite
        checks: CHECKS
        metrics: {total: "sum(v)", keys: "count_distinct(k)"}
    """)
ROWS = "k,v\na,1\nb,20\na,300\n"


def run(tmp_path, engine: str, checks: str):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (tmp_path / "in.csv").write_text(ROWS)
    text = SPEC.replace("ENGINE", engine).replace("CHECKS", checks)
    checked = check_text(text, str(tmp_path / "s.yaml"))
    assert checked.ok, checked.diagnostics
    return run_pipeline(plan_checked(checked, tmp_path).pipeline_payload(),
                        project_root=str(tmp_path))


@pytest.mark.parametrize("engine", ["pandas", "duckdb", "dask"])
@pytest.mark.parametrize("checks, check, failing", [
    ("{row_count: {min: 4}}", "row_count", 3),
    ("{row_count: {max: 2}}", "row_count", 3),
    ("{unique: [k]}", "unique(k)", 2),
    ("{expect: ['v < 100']}", "expect(v < 100)", 1),
])
def test_a_violated_check_of_a_write_step_writes_nothing(tmp_path, engine, checks, check, failing):
    summary = run(tmp_path, engine, checks)
    err = summary["error"]
    assert summary["status"] == "failed" and isinstance(err, CheckFailed)
    assert (err.step, err.check, err.failing) == ("save", check, failing)
    assert not (tmp_path / "out.parquet").exists()


@pytest.mark.parametrize("engine", ["pandas", "duckdb", "dask"])
def test_write_step_metrics_and_passing_checks(tmp_path, engine):
    summary = run(tmp_path, engine, "{row_count: {min: 3, max: 3}, unique: [v]}")
    assert summary["status"] == "success", summary.get("error")
    (task,) = summary["tasks"]
    want = duckdb.connect().execute(
        f"SELECT sum(v), count(DISTINCT k) FROM read_csv('{tmp_path / 'in.csv'}')").fetchone()
    assert task["metrics"] == {"save": {"total": want[0], "keys": want[1]}}
    assert duckdb.connect().execute(
        f"SELECT count(*) FROM '{tmp_path / 'out.parquet'}'").fetchone()[0] == 3
