"""now() and today() in a real run read the run's logical date (the executor hands it to
every engine's expressions), so a rerun of a date gives the same rows."""

from __future__ import annotations

import datetime as dt
import textwrap

import pyarrow.parquet as pq
import pytest
from etlc_compiler.api import check_text
from etlc_compiler.compile import plan_checked
from etlc_runtime.local import run_pipeline

SPEC = textwrap.dedent("""\
    etlc: 1
    pipeline: stamped
    defaults: {engine: ENGINE}
    datasets:
      src: {format: csv, path: in.csv, columns: {id: {type: int}}}
      out: {format: parquet, path: out.parquet}
    steps:
      raw:
        read: src
      stamped:
        from: raw
        derive: {day: "today()", at: "now()", age: "date_diff('day', date '2025-01-01', today())"}
      save: {from: stamped, write: out, mode: overwrite}
    """)


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_today_is_the_logical_date(tmp_path, engine):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (tmp_path / "in.csv").write_text("id\n1\n2\n")
    text = SPEC.replace("ENGINE", engine)
    (tmp_path / "s.yaml").write_text(text)
    checked = check_text(text, str(tmp_path / "s.yaml"))
    assert checked.ok, checked.diagnostics
    payload = plan_checked(checked, tmp_path).pipeline_payload()
    when = dt.datetime(2025, 3, 4, 5, 6, 7, tzinfo=dt.UTC)
    summary = run_pipeline(payload, logical_date=when, project_root=str(tmp_path))
    assert summary["status"] == "success", summary.get("error")
    rows = pq.read_table(tmp_path / "out.parquet").to_pylist()
    assert [r["day"] for r in rows] == [dt.date(2025, 3, 4)] * 2
    assert [r["age"] for r in rows] == [62, 62]
    assert {r["at"].replace(tzinfo=None) for r in rows} == {dt.datetime(2025, 3, 4, 5, 6, 7)}
