"""The dask engine inside an Airflow task: the task's macros hold Airflow's live objects
(`ti`, `task_instance`, `dag_run`, `dag`). A read must keep them out of its Dask graph
(Dask tokenizes a graph's arguments deterministically and cannot tokenize a task instance:
every `engine: dask` read of a file dataset failed under the native stack's scheduler) and
still render the plain macros a path template uses."""

from __future__ import annotations

import threading

import pyarrow as pa
import pyarrow.parquet as pq

from etlc_runtime.engines import get_engine
from etlc_runtime.engines.base import StepContext, TaskResources


class LiveObject:
    """Like Airflow's task instance: it holds a lock, so it has no deterministic token."""

    def __init__(self):
        self.lock = threading.Lock()


def test_a_read_ships_only_plain_macros(tmp_path):
    folder = tmp_path / "in" / "2024-01-01"
    folder.mkdir(parents=True)
    for i in range(3):
        pq.write_table(pa.table({"id": pa.array([2 * i, 2 * i + 1], pa.int64())}), folder / f"f{i}.parquet")
    live = {k: LiveObject() for k in ("ti", "task_instance", "dag_run", "dag")}
    ctx = StepContext(root=tmp_path, params={}, macros={"ds": "2024-01-01", **live}, step="s",
                      types={"id": {"type": "int"}})
    dataset = {"format": "parquet", "path": "in/{{ ds }}/", "columns": {"id": {"type": "int"}}}
    engine = get_engine("dask", TaskResources(partitions=2))
    try:
        rel = engine.read(dataset, ctx)
        assert rel.npartitions == 2
        assert sorted(engine.to_arrow(rel).column("id").to_pylist()) == list(range(6))
    finally:
        engine.close()
