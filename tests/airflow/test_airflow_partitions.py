"""`parallelism: airflow` under Airflow: the compiled DAG file maps the partition-local task
over its partitions (a MappedOperator expanding `partition` in the DagBag, upstream of the
commit task), and `dag.test()` runs every mapped instance and the commit, writing exactly
the rows the same pipeline writes as one task; a second run for the same date writes them
again, none duplicated."""

from __future__ import annotations

import datetime as dt
import decimal
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from airflow_support import DAGS_FOLDER, load_dagbag, run_etlc
from test_airflow_run import compile_into_dags_folder, run_dag

SPEC = """\
etlc: 1
pipeline: {pipeline}
schedule: null
start_date: 2025-01-01
defaults: {{engine: pandas}}
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
    path: data/{pipeline}/
steps:
  events:
    read: events
  clean:
    from: events
    filter: "id % 3 <> 0"
    derive:
      gross: "amount * 2"
  save:
    from: clean
    write: out
    mode: overwrite
    partitions: 3
    parallelism: {parallelism}
"""


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    proj = tmp_path / "proj"
    (proj / "specs").mkdir(parents=True)
    (proj / "data" / "in").mkdir(parents=True)
    (proj / "pyproject.toml").write_text("[project]\nname = 'parts'\nversion = '0'\n")
    for f in range(2):  # fewer files than partitions: row slices of a file
        n = 7 + 5 * f
        pq.write_table(pa.table({
            "id": pa.array([f * 100 + i for i in range(n)], pa.int64()),
            "amount": pa.array([None if i == 4 else decimal.Decimal(f"{i}.{f}5") for i in range(n)],
                               pa.decimal128(10, 2)),
            "day": pa.array([dt.date(2025, 2, 1 + i) for i in range(n)], pa.date32()),
            "tag": pa.array([f"t{i % 4}" for i in range(n)]),
        }), proj / "data" / "in" / f"part-{f}.parquet")
    (proj / "specs" / "mapped_parts.yaml").write_text(SPEC.format(pipeline="mapped_parts", parallelism="airflow"))
    monkeypatch.setenv("ETLC_PROJECT_ROOT", str(proj))
    yield proj
    (DAGS_FOLDER / "mapped_parts.py").unlink(missing_ok=True)


def _rows(folder: Path) -> list[dict]:
    return sorted(pq.read_table(folder).to_pylist(), key=lambda r: r["id"])


def test_mapped_task_in_the_dagbag_and_under_dag_test(project, airflow_db, tmp_path):
    compile_into_dags_folder(project, "mapped_parts")
    bag = load_dagbag(DAGS_FOLDER)
    assert not bag.import_errors, bag.import_errors
    dag = bag.dags["mapped_parts"]
    mapped, commit = dag.get_task("save__partitions"), dag.get_task("save")
    assert type(mapped).__name__ == "MappedOperator"
    assert mapped.expand_input.value == {"partition": [0, 1, 2]}
    assert mapped.downstream_task_ids == {"save"} and not commit.upstream_task_ids - {"save__partitions"}

    # the same pipeline as one task, with `etlc run` in a copy of the project
    one = tmp_path / "one"
    shutil.copytree(project, one, ignore=shutil.ignore_patterns(".etlc", "generated_dags"))
    (one / "specs" / "mapped_parts.yaml").write_text(SPEC.format(pipeline="mapped_parts", parallelism="dask"))
    r = run_etlc("run", "specs/mapped_parts.yaml", "--date", "2025-03-04", cwd=one,
                 env={"ETLC_PROJECT_ROOT": str(one)})
    assert r.returncode == 0, r.stdout + r.stderr
    want = _rows(one / "data" / "mapped_parts")
    assert want and len(want) == sum(1 for r in want if r["id"] % 3 != 0)

    _dag, dr = run_dag("mapped_parts")
    instances = [ti for ti in dr.get_task_instances() if ti.task_id == "save__partitions"]
    assert sorted(ti.map_index for ti in instances) == [0, 1, 2]
    assert _rows(project / "data" / "mapped_parts") == want
    run_dag("mapped_parts")  # the same date again: replaced, not appended
    assert _rows(project / "data" / "mapped_parts") == want
