"""Issue 10: `etlc run` shows in its summary what a read's `on_error: null | skip` let through,
per dataset and column, as the task result carries it."""

from __future__ import annotations

import textwrap

import pytest

from .conftest import run_cli

SPEC = textwrap.dedent("""\
    etlc: 1
    pipeline: counted
    defaults:
      engine: {engine}
    datasets:
      src:
        format: csv
        path: in.csv
        options: {{on_error: "{on_error}"}}
        columns:
          id: {{type: int}}
          x: {{type: int}}
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


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
@pytest.mark.parametrize("on_error, what", [("null", "nulled"), ("skip", "skipped")])
def test_run_summary_counts_what_on_error_let_through(tmp_path, engine, on_error, what):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (tmp_path / "in.csv").write_text("id,x\n1,2\nzz,3\n4,q\n5,w\n")
    (tmp_path / "counted.yaml").write_text(SPEC.format(engine=engine, on_error=on_error))
    r = run_cli("run", str(tmp_path / "counted.yaml"), "--color", "never", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "values that did not convert (on_error):" in r.stderr
    assert f"save: src.id: 1 {what}" in r.stderr
    assert f"save: src.x: 2 {what}" in r.stderr
