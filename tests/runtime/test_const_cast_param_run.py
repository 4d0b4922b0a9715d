"""A `$param` whose run-time value no engine casts where the spec casts it (expr/const_casts.py):
R041 at the `$name` before any step runs, on every engine, on an empty day as on a full one
(a literal is E422 at compile time: tests/expr/test_const_casts.py)."""

from __future__ import annotations

import pytest
from etlc_runtime.errors import StepError
from etlc_runtime.expr.errors import EvalError
from rt_helpers import run_spec

SPEC = """\
etlc: 1
pipeline: const_param
defaults: {engine: ENGINE}
params:
  limit: {type: string, default: "10"}
datasets:
  src: {format: csv, path: in.csv, columns: {id: {type: int}}}
  out: {format: parquet, path: out.parquet}
steps:
  raw: {read: src}
  kept: {from: raw, filter: "id < cast($limit as int)"}
  save: {from: kept, write: out, mode: overwrite}
"""


@pytest.mark.parametrize("rows", ["id\n", "id\n1\n20\n"], ids=["empty", "full"])
@pytest.mark.parametrize("engine", ["pandas", "duckdb", "dask"])
def test_a_value_that_never_casts_is_r041_at_the_param(tmp_path, engine, rows):
    summary = run_spec(tmp_path, SPEC.replace("ENGINE", engine), rows, {"limit": "1O"})
    err = summary["error"]
    assert summary["status"] == "failed" and isinstance(err, StepError), summary
    cause = err.cause
    assert isinstance(cause, EvalError)
    # line 11 is `  kept: {from: raw, filter: "id < cast($limit as int)"}`: `$limit` at 40-46
    assert (cause.code, cause.line, cause.column, cause.end_column, cause.row, cause.value) \
        == ("R041", 11, 40, 46, None, "1O")
    assert not (tmp_path / "out.parquet").exists()


@pytest.mark.parametrize("engine", ["pandas", "duckdb", "dask"])
def test_a_value_that_casts_runs(tmp_path, engine):
    summary = run_spec(tmp_path, SPEC.replace("ENGINE", engine), "id\n1\n20\n", {"limit": " 10 "})
    assert summary["status"] == "success", summary
