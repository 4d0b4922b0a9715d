"""Golden defaults: a spec that sets no optional key compiles to a DAG whose every default is a
literal here (schema/pipeline.schema.json and docs/spec-reference.md document them), checked in
the compiler's plan and in the DAG object a real Airflow DagBag builds from the generated file;
and the numeric limits of the schema at, just inside and just outside each boundary."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from etlc_compiler import compile as compile_mod
from etlc_compiler.api import check_file, check_text

MINIMAL = """\
etlc: 1
pipeline: minimal
datasets:
  src: {format: csv, path: in/src.csv}
  dst: {format: csv, path: out/dst.csv}
steps:
  raw:
    read: src
  save:
    from: raw
    write: dst
    mode: overwrite
"""

# every default, as documented: owner etlc, schedule null, catchup false, retries 0,
# retry_delay 5m, no timeout, engine duckdb, partitions 1, parallelism dask, Airflow's pool,
# queue and max_active_runs (16), staging .etlc/staging, no tracking
PLAN_DAG = {
    "catchup": False, "dag_id": "minimal", "dagrun_timeout": None,
    "defaults": {"pool": None, "queue": None, "retries": 0, "retry_delay": "5m", "timeout": None},
    "description": None, "docs": {}, "edges": [["raw", "save"]], "end_date": None,
    "kinds": {"raw": "read", "save": "write"}, "max_active_runs": None, "owner": "etlc",
    "params": {}, "schedule": None, "start_date": None, "steps": ["raw", "save"], "tags": [],
}
TASK_SETTINGS = {"engine": "duckdb", "parallelism": "dask", "partitions": 1, "retries": 0,
                 "retry_delay": "5m"}
RUNTIME_DEFAULTS = {"engine": "duckdb", "partitions": 1, "parallelism": "dask",
                    "staging": {"connection": None, "path": "file:.etlc/staging"},
                    "tracking": None, "connections": {}, "params": {}, "inputs": {},
                    "output": None}
AIRFLOW_DAG = {"schedule": "None", "timetable": "NullTimetable", "catchup": False,
               "max_active_runs": 16, "dagrun_timeout": None,
               "start_date": "2025-01-01 00:00:00+00:00", "end_date": "None", "tags": [],
               "owner": "etlc", "params": {}}
AIRFLOW_TASK = {"retries": 0, "retry_delay": 300.0, "execution_timeout": None,
                "pool": "default_pool", "pool_slots": 1, "queue": "default", "owner": "etlc",
                "depends_on_past": False, "trigger_rule": "all_success", "plan": RUNTIME_DEFAULTS}

PROBE = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
assert not bag.import_errors, bag.import_errors
dag = bag.dags["minimal"]
sec = lambda d: None if d is None else d.total_seconds()
print(json.dumps({
    "dag": {"schedule": repr(dag.schedule), "timetable": type(dag.timetable).__name__,
            "catchup": dag.catchup, "max_active_runs": dag.max_active_runs,
            "dagrun_timeout": sec(dag.dagrun_timeout), "start_date": str(dag.start_date),
            "end_date": str(dag.end_date), "tags": sorted(dag.tags), "owner": dag.owner,
            "params": dict(dag.params)},
    "tasks": {t.task_id: {
        "retries": t.retries, "retry_delay": sec(t.retry_delay),
        "execution_timeout": sec(t.execution_timeout), "pool": t.pool, "pool_slots": t.pool_slots,
        "queue": t.queue, "owner": t.owner, "depends_on_past": t.depends_on_past,
        "trigger_rule": str(t.trigger_rule.value),
        "plan": {k: t.task_plan[k] for k in KEYS}} for t in dag.tasks}}))
""".replace("KEYS", repr(list(RUNTIME_DEFAULTS)))


@pytest.fixture(scope="module")
def minimal(tmp_path_factory):
    root = tmp_path_factory.mktemp("golden")
    (root / "pyproject.toml").write_text("[project]\nname = 'g'\n")
    (root / "specs").mkdir()
    spec = root / "specs" / "minimal.yaml"
    spec.write_text(MINIMAL)
    checked = check_file(spec)
    assert checked.ok, checked.diagnostics
    assert [d.code for d in checked.diagnostics] == ["W401"]  # src declares no columns
    return root, checked


def test_plan_defaults_are_exact(minimal):
    root, checked = minimal
    plan = compile_mod.plan_checked(checked, root)
    assert plan.dag == PLAN_DAG
    assert [t.task_id for t in plan.tasks] == ["save"]
    task = plan.tasks[0]
    assert task.settings == TASK_SETTINGS
    assert {k: task.payload[k] for k in RUNTIME_DEFAULTS} == RUNTIME_DEFAULTS


def test_airflow_dag_defaults_are_exact(minimal, tmp_path):
    """What Airflow really runs: the generated file through a DagBag in a fresh interpreter."""
    root, checked = minimal
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "minimal.py").write_text(compile_mod.render_checked(checked, root))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "ETLC_"))}
    env.update(AIRFLOW_HOME=str(tmp_path / "home"), AIRFLOW__CORE__LOAD_EXAMPLES="False")
    r = subprocess.run([sys.executable, "-c", PROBE, str(dags)], capture_output=True, text=True,
                       env=env, cwd=tmp_path, timeout=300, check=False)
    assert r.returncode == 0, r.stderr[-3000:]
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert got == {"dag": AIRFLOW_DAG, "tasks": {"save": AIRFLOW_TASK}}


# -- numeric limits: at the boundary passes, one past it is E206 at the value ---------------

def _diagnostics(text: str) -> list[tuple]:
    result = check_text(text, "m.yaml")
    return [(d.code, d.line, d.col, d.end_line, d.end_col) for d in result.diagnostics
            if d.code != "W401"]


TOP = MINIMAL + "{key}: {value}\n"                    # line 13
DEFAULTS = MINIMAL + "defaults:\n  {key}: {value}\n"  # line 14, value at col 5 + len(key)
TRANSFORM = MINIMAL.replace("    from: raw\n", "    from: few\n") + \
    "  few:\n    from: raw\n    {key}: {value}\n"      # line 15


@pytest.mark.parametrize("template, key, value, expected", [
    (DEFAULTS, "retries", "0", []),
    (DEFAULTS, "retries", "100", []),
    (DEFAULTS, "retries", "101", [("E206", 14, 12, 14, 15)]),
    (DEFAULTS, "retries", "-1", [("E206", 14, 12, 14, 14)]),
    (DEFAULTS, "partitions", "1", []),
    (DEFAULTS, "partitions", "10000", []),
    (DEFAULTS, "partitions", "0", [("E206", 14, 15, 14, 16)]),
    (DEFAULTS, "partitions", "10001", [("E206", 14, 15, 14, 20)]),
    (TOP, "max_active_runs", "1", []),
    (TOP, "max_active_runs", "1000", []),
    (TOP, "max_active_runs", "0", [("E206", 13, 18, 13, 19)]),
    (TOP, "max_active_runs", "1001", [("E206", 13, 18, 13, 22)]),
    (TRANSFORM, "limit", "0", []),
    (TRANSFORM, "limit", "-1", [("E206", 15, 12, 15, 14)]),
    (TRANSFORM, "partitions", "1", []),
    (TRANSFORM, "partitions", "10000", []),
    (TRANSFORM, "partitions", "0", [("E206", 15, 17, 15, 18)]),
    (TRANSFORM, "partitions", "10001", [("E206", 15, 17, 15, 22)]),
])
def test_numeric_limits(template, key, value, expected):
    assert _diagnostics(template.replace("{key}", key).replace("{value}", value)) == expected


def test_limit_zero_keeps_no_row():
    import pandas as pd
    from etlc_runtime.steps import limit

    df = pd.DataFrame({"a": pd.array([1, 2, 3], dtype="Int64")})
    assert len(limit(df, 0)) == 0 and list(limit(df, 0).columns) == ["a"]
    assert limit(df, 3)["a"].tolist() == [1, 2, 3]
    assert limit(df, 2)["a"].tolist() == [1, 2]


@pytest.mark.parametrize("bounds, ok", [
    ({"min": 3}, True), ({"max": 3}, True), ({"min": 3, "max": 3}, True),
    ({"min": 4}, False), ({"max": 2}, False), ({"min": 0, "max": 0}, False),
    ({"min": 2, "max": 4}, True),
])
def test_row_count_bounds_are_inclusive(bounds, ok):
    import pandas as pd
    from etlc_runtime.checks import run_checks
    from etlc_runtime.errors import CheckFailed

    df = pd.DataFrame({"a": pd.array([1, 2, 3], dtype="Int64")})
    if ok:
        assert run_checks(df, {"row_count": bounds}, {}, step="s") == ["row_count"]
    else:
        with pytest.raises(CheckFailed) as info:
            run_checks(df, {"row_count": bounds}, {}, step="s")
        assert (info.value.step, info.value.check, info.value.failing) == ("s", "row_count", 3)
