"""Issue 10: an R040 is positioned at the declaration of its column in the spec (file, line
and column of the column's entry under the dataset's `columns:`), not at the step: the plan
carries `declared_at`, the executor puts it on the StepError, `etlc run` prints it."""

from __future__ import annotations

import re
import textwrap

import pytest
from etlc_runtime import executor
from etlc_runtime.errors import DataError, StepError

from .conftest import run_cli

SPEC = textwrap.dedent("""\
    etlc: 1
    pipeline: typed
    defaults:
      engine: {engine}
    datasets:
      src:
        format: csv
        path: in.csv
        columns:
          id: {{type: int}}
          amount:   {{type: decimal, scale: 2}}
      out:
        format: parquet
        path: out/
    steps:
      raw:
        read: src
      save:
        from: raw
        write: out
        mode: overwrite
    """)


def _where(text: str, key: str) -> tuple[int, int]:
    """1-based line and column of `key:` in the spec text."""
    for number, line in enumerate(text.splitlines(), start=1):
        found = re.match(rf"^(\s*){re.escape(key)}:", line)
        if found:
            return number, len(found.group(1)) + 1
    raise AssertionError(key)


@pytest.fixture
def project(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    return tmp_path


def _plan(project, engine: str):
    from etlc_compiler.check_cache import check_file
    from etlc_compiler.compile import plan_checked

    text = SPEC.format(engine=engine)
    (project / "typed.yaml").write_text(text)
    checked, _ = check_file(str(project / "typed.yaml"), project)
    assert checked.ok, checked.diagnostics
    return text, plan_checked(checked, project)


def test_the_plan_carries_each_declared_column_position(project):
    text, plan = _plan(project, "pandas")
    (task,) = [t for t in plan.tasks if t.kind == "python"]
    assert task.payload["declared_at"] == {"src": {"id": list(_where(text, "id")),
                                                   "amount": list(_where(text, "amount"))}}


@pytest.mark.parametrize("engine", ["pandas", "duckdb", "dask"])
@pytest.mark.parametrize("bad, column", [("1,2.5x\n", "amount"), ("x1,2.50\n", "id")])
def test_r040_points_at_the_column_declaration(project, engine, bad, column):
    text, plan = _plan(project, engine)
    (project / "in.csv").write_text("id,amount\n1,2.00\n" + bad)
    (task,) = [t for t in plan.tasks if t.kind == "python"]
    with pytest.raises(StepError) as info:
        executor.run_task(task.payload, {"run_id": "r1", "project_root": str(project)})
    assert isinstance(info.value.cause, DataError)
    assert info.value.cause.column == column
    assert (info.value.line, info.value.col) == _where(text, column)
    assert info.value.to_dict()["col"] == _where(text, column)[1]
    assert str(info.value).startswith(f"{plan.spec_path}:{info.value.line}:{info.value.col}: ")


def test_an_error_without_a_declared_column_stays_at_the_step(project):
    text, plan = _plan(project, "pandas")
    (project / "in.csv").write_text("id,amount\n1,2.00,3\n")   # ragged: no column
    (task,) = [t for t in plan.tasks if t.kind == "python"]
    with pytest.raises(StepError) as info:
        executor.run_task(task.payload, {"run_id": "r1", "project_root": str(project)})
    assert info.value.col is None
    assert info.value.line == _where(text, "raw")[0]


def test_etlc_run_prints_the_r040_at_the_column(project):
    text = SPEC.format(engine="duckdb")
    (project / "typed.yaml").write_text(text)
    (project / "in.csv").write_text("id,amount\n1,2.00\n2,2.5x\n")
    r = run_cli("run", str(project / "typed.yaml"), "--color", "never", cwd=project)
    assert r.returncode == 1
    line, col = _where(text, "amount")
    assert f"typed.yaml:{line}:{col}: error[R040]:" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
