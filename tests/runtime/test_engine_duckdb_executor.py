"""The duckdb engine through the executor: `engine: duckdb` in a task plan runs the fused
chain, the checks, metrics, writes and the staging hand-off (read back on either engine),
and imports no pandas."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from etlc_runtime.errors import CheckFailed
from test_engine_duckdb import COLS, CSV


def _plan(steps, datasets, *, output=None, inputs=None, engine="duckdb", task="t"):
    for i, step in enumerate(steps):
        step.setdefault("line", 10 + i)
    return {"etlc": 1, "pipeline": "p", "task": task, "spec": "specs/p.yaml",
            "engine": engine, "partitions": 2, "staging": {"path": ".etlc/staging"},
            "params": {"lo": 1}, "datasets": datasets, "inputs": inputs or {},
            "steps": steps, "output": output}


DATASETS = {"src": {"format": "csv", "path": "in.csv", "columns": COLS},
            "out": {"format": "parquet", "path": "out/", "partition_by": ["ok"]},
            "out2": {"format": "csv", "path": "out2.csv"}}


def test_run_task_on_duckdb_stages_writes_and_hands_off(project):
    from etlc_runtime.executor import run_task

    (project / "in.csv").write_text(CSV)
    first = _plan([
        {"name": "raw", "kind": "read", "read": "src", "filter": "id >= $lo"},
        {"name": "enriched", "kind": "transform", "from": ["raw"],
         "derive": {"twice": "amt * 2"}, "checks": {"not_null": ["id"]},
         "metrics": {"n": "count(*)", "total": "sum(amt)"}},
        {"name": "save", "kind": "write", "from": ["enriched"], "write": "out",
         "mode": "overwrite"}], DATASETS, output="enriched")
    ctx = {"run_id": "r1", "logical_date": "2024-01-01"}
    res = run_task(first, ctx)
    assert res["rows"] == 3 and res["partitions"] == 2
    assert res["metrics"] == {"enriched": {"n": 3, "total": 3.75}}
    assert sorted(p.name for p in (project / "out").iterdir() if p.is_dir()) == [
        "ok=false", "ok=true"]
    manifest = json.loads(Path(res["manifest"]).read_text())
    assert manifest["part_rows"] == [2, 1] and manifest["schema"]["twice"] == "decimal"
    for engine in ("duckdb", "pandas"):  # the hand-off reads on either engine
        second = _plan([{"name": "top", "kind": "transform", "from": ["enriched"],
                         "sort": ["-id"], "limit": 2},
                        {"name": "save2", "kind": "write", "from": ["top"], "write": "out2",
                         "mode": "overwrite"}], DATASETS, inputs={"enriched": "t"},
                       engine=engine, task="t2")
        assert run_task(second, ctx)["rows"] == 2
        text = (project / "out2.csv").read_text().splitlines()
        assert text[0] == "id,name,amt,day,ok,twice" and text[1].startswith("3, c ,2.25,,true,4.5")


def test_run_task_check_failure_names_the_step(project):
    from etlc_runtime.executor import run_task

    (project / "in.csv").write_text(CSV)
    plan = _plan([{"name": "raw", "kind": "read", "read": "src",
                   "checks": {"expect": ["amt > 0"]}}], DATASETS)
    with pytest.raises(CheckFailed) as info:
        run_task(plan, {"run_id": "r1"})
    assert (info.value.step, info.value.check, info.value.failing, info.value.line) == (
        "raw", "expect(amt > 0)", 1, 10)


def test_run_task_on_duckdb_imports_no_pandas(project):
    (project / "in.csv").write_text(CSV)
    plan = _plan([
        {"name": "raw", "kind": "read", "read": "src"},
        {"name": "agg", "kind": "transform", "from": ["raw"], "group_by": ["ok"],
         "aggregate": {"n": "count(*)", "s": "sum(amt)"}, "metrics": {"g": "count(*)"},
         "checks": {"unique": ["ok"]}},
        {"name": "save", "kind": "write", "from": ["agg"], "write": "out", "mode": "overwrite"}],
        DATASETS, output="agg")
    script = ("import json, sys\nfrom etlc_runtime.executor import run_task\n"
              f"res = run_task(json.loads({json.dumps(json.dumps(plan))}), {{'run_id': 'r'}})\n"
              "print(res['rows'], 'pandas' in sys.modules)\n")
    env = {**os.environ, "ETLC_PROJECT_ROOT": str(project)}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=env, cwd=project, check=True)
    assert out.stdout.split() == ["2", "False"]
