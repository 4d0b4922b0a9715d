"""`parallelism: airflow` (compiler partition_map.py, runtime partition_tasks.py): the compiled
plan's mapped instances, run one per partition and then committed, write exactly the rows of
the same pipeline run as one task (`parallelism: dask`), on every engine, for partition counts
below, at and above the number of files; a retried instance never duplicates rows; a missing
partition stops the commit with the target untouched; a mapped chain hands its parts to a
downstream task; steps that are not partition-local stay one task."""

from __future__ import annotations

import datetime as dt
import decimal
import textwrap
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from etlc_compiler import compile as compile_mod
from etlc_compiler.api import check_file
from etlc_runtime import plan_types
from etlc_runtime.errors import StagingError
from etlc_runtime.executor import run_task
from etlc_runtime.local import run_pipeline, task_payload

FILES = 4
SPEC = textwrap.dedent("""\
    etlc: 1
    pipeline: parts
    schedule: null
    start_date: 2025-01-01
    defaults: {{engine: {engine}}}
    datasets:
      events:
        format: parquet
        path: data/in/
        columns:
          id: {{type: int}}
          amount: {{type: decimal, scale: 2}}
          day: {{type: date}}
          tag: {{type: string}}
      out:
        format: parquet
        path: data/out/
    steps:
      events:
        read: events
      clean:
        from: events
        filter: "id % 5 <> 1"
        derive:
          gross: "amount * 1.1"
          label: "coalesce(tag, 'none') || '-' || cast(id as string)"
    {tail}""")
WRITE = """\
  save:
    from: clean
    write: out
    mode: overwrite
    partitions: {partitions}
    parallelism: {parallelism}
"""


def _data(root: Path) -> None:
    (root / "data" / "in").mkdir(parents=True)
    for f in range(FILES):
        n = 3 + 4 * f  # files of unequal sizes
        pq.write_table(pa.table({
            "id": pa.array([f * 100 + i for i in range(n)], pa.int64()),
            "amount": pa.array([None if i % 4 == 2 else decimal.Decimal(f"{i * 7 + f}.{i:02d}")
                                for i in range(n)], pa.decimal128(12, 2)),
            "day": pa.array([dt.date(2025, 1, 1 + i) for i in range(n)], pa.date32()),
            "tag": pa.array([None if i == 3 else f"t{i % 3}" for i in range(n)]),
        }), root / "data" / "in" / f"part-{f}.parquet")


@pytest.fixture
def project(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\nversion = '0'\n")
    (tmp_path / "specs").mkdir()
    _data(tmp_path)
    return tmp_path


def _plan(project: Path, engine: str, tail: str):
    spec = project / "specs" / "parts.yaml"
    spec.write_text(SPEC.format(engine=engine, tail=tail))
    checked = check_file(spec)
    assert checked.ok, [str(d) for d in checked.diagnostics]
    return compile_mod.plan_checked(checked, project), checked


def _run(project: Path, plan) -> dict:
    summary = run_pipeline(plan.pipeline_payload(), logical_date="2025-01-01", project_root=project)
    assert summary["status"] == "success", summary["error"]
    return summary


def _rows(path: Path) -> list[dict]:
    return sorted(pq.read_table(path).to_pylist(), key=lambda r: r["id"])


def _one_task_rows(project: Path, engine: str) -> list[dict]:
    plan, _ = _plan(project, engine, WRITE.format(partitions=3, parallelism="dask"))
    assert [t.mapped for t in plan.tasks] == [0]
    _run(project, plan)
    return _rows(project / "data" / "out")


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
@pytest.mark.parametrize("partitions", [2, 4, 7])  # fewer, as many and more than the files
def test_mapped_instances_write_the_one_task_rows(project, engine, partitions):
    want = _one_task_rows(project, engine)
    con = duckdb.connect()
    ids = sorted(r[0] for r in con.execute(
        f"SELECT id FROM read_parquet('{project}/data/in/*.parquet') WHERE id % 5 <> 1").fetchall())
    assert [r["id"] for r in want] == ids  # the one-task run itself against DuckDB
    plan, _ = _plan(project, engine, WRITE.format(partitions=partitions, parallelism="airflow"))
    assert [(t.task_id, t.mapped, t.upstream) for t in plan.tasks] == [
        ("save__partitions", partitions, ()), ("save", 0, ("save__partitions",))]
    one, _ = _plan(project, engine, WRITE.format(partitions=3, parallelism="dask"))
    write = one.tasks[0].payload["steps"][-1]
    assert plan_types.step_types(plan.tasks[1].payload, write) == \
        plan_types.step_types(one.tasks[0].payload, write) != {}   # the write's types travel
    summary = _run(project, plan)
    assert summary["tasks"][0]["partitions"] == partitions
    got = _rows(project / "data" / "out")
    assert got == want  # every value exact: decimals, dates, nulls, strings


def test_etlc_run_reports_each_instance(project):
    plan, _ = _plan(project, "pandas", WRITE.format(partitions=3, parallelism="airflow"))
    events = []
    summary = run_pipeline(plan.pipeline_payload(), logical_date="2025-01-01", project_root=project,
                           on_event=events.append)
    assert summary["status"] == "success"
    steps = [(e["task"], e["step"]) for e in events if e["event"] == "step_finished"]
    assert steps == [(f"save__partitions[{i}]", s) for i in range(3) for s in ("events", "clean")] \
        + [("save", "save")]
    assert [t["task"] for t in summary["tasks"]] == ["save__partitions", "save"]


def test_dask_engine_instances(project):
    want = _one_task_rows(project, "pandas")
    plan, _ = _plan(project, "dask", WRITE.format(partitions=2, parallelism="airflow"))
    _run(project, plan)
    assert _rows(project / "data" / "out") == want


def _instances(project: Path, plan, order, context) -> None:
    tasks = plan.pipeline_payload()["tasks"]
    mapped = task_payload(tasks[0], plan.pipeline_payload())
    for index in order:
        run_task({**mapped, "partition": index}, dict(context))


def test_a_retried_instance_never_duplicates_rows(project):
    want = _one_task_rows(project, "pandas")
    plan, _ = _plan(project, "pandas", WRITE.format(partitions=3, parallelism="airflow"))
    context = {"run_id": "manual__retry", "logical_date": dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
               "project_root": project}
    _instances(project, plan, [1, 0, 1, 2, 1], context)  # instance 1 retried twice
    commit = task_payload(plan.pipeline_payload()["tasks"][1], plan.pipeline_payload())
    run_task(commit, dict(context))
    run_task(commit, dict(context))  # the commit task retried too
    got = _rows(project / "data" / "out")
    assert got == want and len({r["id"] for r in got}) == len(got)


def test_a_missing_partition_stops_the_commit(project):
    want = _one_task_rows(project, "pandas")
    plan, _ = _plan(project, "pandas", WRITE.format(partitions=3, parallelism="airflow"))
    context = {"run_id": "manual__gap", "logical_date": dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
               "project_root": project}
    _instances(project, plan, [0, 2], context)
    commit = task_payload(plan.pipeline_payload()["tasks"][1], plan.pipeline_payload())
    with pytest.raises(Exception, match="partition 1 of 3 has no committed output"):
        run_task(commit, dict(context))
    assert _rows(project / "data" / "out") == want  # the earlier output, untouched


def test_an_instance_needs_its_index(project):
    plan, _ = _plan(project, "pandas", WRITE.format(partitions=3, parallelism="airflow"))
    mapped = task_payload(plan.pipeline_payload()["tasks"][0], plan.pipeline_payload())
    for bad in (None, 3, -1, True):
        with pytest.raises(StagingError, match="partition index"):
            run_task({**mapped, "partition": bad} if bad is not None else mapped,
                     {"project_root": project})


CONSUMER = """\
    partitions: {partitions}
    parallelism: airflow
  totals:
    from: clean
    group_by: [tag]
    aggregate: {{n: "count(*)", total: "sum(amount)"}}
    sort: [tag]
  save:
    from: totals
    write: out
    mode: overwrite
"""


def test_a_mapped_chain_hands_its_parts_downstream(project):
    tail = CONSUMER.format(partitions=3)
    plan, _ = _plan(project, "pandas", tail)
    assert [(t.task_id, t.mapped) for t in plan.tasks] == [
        ("clean__partitions", 3), ("clean", 0), ("save", 0)]
    _run(project, plan)
    got = pq.read_table(project / "data" / "out").to_pylist()
    con = duckdb.connect()
    want = con.execute(f"""SELECT coalesce(tag, NULL) AS tag, count(*) AS n, sum(amount) AS total
        FROM read_parquet('{project}/data/in/*.parquet') WHERE id % 5 <> 1
        GROUP BY tag ORDER BY tag NULLS LAST""").fetchall()
    assert [(r["tag"], r["n"], float(r["total"])) for r in got] == [(t, n, float(s)) for t, n, s in want]


@pytest.mark.parametrize("extra", [
    "    sort: [id]\n",                                   # a shuffle: W301, one task
    "    checks: {not_null: [id]}\n",                      # over all rows: one task
])
def test_steps_that_are_not_partition_local_stay_one_task(project, extra):
    tail = ("  kept:\n    from: clean\n" + extra + "    partitions: 3\n    parallelism: airflow\n"
            + WRITE.format(partitions=3, parallelism="airflow").replace("from: clean", "from: kept"))
    plan, checked = _plan(project, "pandas", tail)
    assert all(t.mapped == 0 for t in plan.tasks)
    if "sort" in extra:
        assert "W301" in {d.code for d in checked.diagnostics}
