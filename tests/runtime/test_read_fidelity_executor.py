"""R040 through the executor: a value that a read cannot keep fails the task with a StepError
whose cause is the DataError (dataset, column, file, value), on the pandas engine and on the
duckdb engine (where the error is raised inside DuckDB's SQL and recovered from its
message)."""

from __future__ import annotations

import pytest
from etlc_runtime import executor
from etlc_runtime.errors import DataError, StepError
from rt_helpers import task_plan


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_bad_value_fails_the_task_with_r040(project, engine):
    (project / "in.csv").write_text("id,x\n1,a\n2x,b\n")
    datasets = {"src": {"format": "csv", "path": "in.csv",
                        "columns": {"id": "int", "x": "string"}},
                "out": {"format": "parquet", "path": "out/"}}
    steps = [{"name": "r", "read": "src"}, {"name": "w", "write": "out", "from": "r"}]
    with pytest.raises(StepError) as info:
        executor.run_task(task_plan(steps, datasets, engine=engine), {"run_id": "r1"})
    err = info.value.cause
    assert isinstance(err, DataError), repr(err)
    assert (err.code, err.column, err.value) == ("R040", "id", "2x")
    assert err.file.endswith("in.csv")
    assert info.value.line is not None  # positioned at the step in the spec
    assert not (project / "out").exists() or not any((project / "out").glob("*.parquet"))


@pytest.mark.parametrize("engine", ["pandas", "duckdb", "dask"])
def test_on_error_counts_reach_the_task_result(project, engine):
    (project / "in.csv").write_text("id,x\n1,a\n2x,b\n3,c\nq,d\n")
    datasets = {"src": {"format": "csv", "path": "in.csv", "options": {"on_error": "null"},
                        "columns": {"id": "int", "x": "string"}},
                "out": {"format": "parquet", "path": "out/"}}
    steps = [{"name": "r", "read": "src"}, {"name": "w", "write": "out", "from": "r"}]
    result = executor.run_task(task_plan(steps, datasets, engine=engine), {"run_id": "r1"})
    assert result["read_errors"] == {"src": {"id": {"nulled": 2}}}
    assert result["rows"] == 4


def test_run_summary_shows_the_counts():
    from etlc_compiler.run import read_error_lines

    summary = {"tasks": [{"task": "t", "read_errors": {"src": {"id": {"nulled": 2},
                                                              "*": {"skipped": 1}}}}]}
    assert read_error_lines(summary)[1:] == ["  t: src.id: 2 nulled", "  t: src (rows): 1 skipped"]
    assert read_error_lines({"tasks": [{"task": "t"}]}) == []
