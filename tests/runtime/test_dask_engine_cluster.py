"""The dask engine on a real cluster: a ``dask scheduler`` and two ``dask worker`` processes on
loopback, named to the engine by ``ETLC_DASK_SCHEDULER``; a whole chain (read in partitions,
checks, aggregate, metrics, write) runs on the workers and writes the pandas engine's rows.

One test: starting three processes takes seconds.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from etlc_runtime import executor, plan_types
from etlc_runtime.engines.dask import cluster
from exact_rows import assert_same
from rt_helpers import task_plan

BIN = Path(sys.executable).parent
COLUMNS = {"id": {"type": "int"}, "g": {"type": "string"}, "v": {"type": "decimal", "scale": 2}}
DATASETS = {"src": {"format": "parquet", "path": "data/", "columns": COLUMNS},
            "out": {"format": "parquet", "path": "out/res/"}}
STEPS = [
    {"name": "raw", "read": "src", "checks": {"unique": ["id"], "not_null": ["g"]}},
    {"name": "big", "from": "raw", "filter": "v > 1", "derive": {"w": "v * 2"}},
    {"name": "by_g", "from": "big", "group_by": ["g"],
     "aggregate": {"n": "count(*)", "total": "sum(w)"}, "sort": ["g"],
     "metrics": {"groups": "count(*)"}},
    {"name": "save", "from": "by_g", "write": "out", "mode": "overwrite"},
]


def _start(args: list[str], log: Path) -> subprocess.Popen:
    out = open(log, "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})


@pytest.fixture
def dask_cluster(tmp_path):
    """A scheduler and two single-thread workers on 127.0.0.1; their address."""
    if not (BIN / "dask").exists():
        pytest.skip("the dask command is not installed (pip install 'etlc[dask]')")
    info = tmp_path / "scheduler.json"
    procs = [_start([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0",
                     "--dashboard-address", ":0", "--scheduler-file", str(info)],
                    tmp_path / "scheduler.log")]
    try:
        deadline = time.monotonic() + 60
        while not info.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert info.exists(), (tmp_path / "scheduler.log").read_text()
        for i in range(2):
            procs.append(_start([str(BIN / "dask"), "worker", "--scheduler-file", str(info),
                                 "--nthreads", "1", "--nworkers", "1", "--no-nanny",
                                 "--dashboard-address", ":0", "--name", f"w{i}"],
                                tmp_path / f"worker{i}.log"))
        from distributed import Client
        with Client(scheduler_file=str(info), timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
            yield client.scheduler.address
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in reversed(procs):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


# the column types of the steps, as the compiler puts them in the plan (plan_types)
STEP_TYPES = {"raw": COLUMNS, "big": {**COLUMNS, "w": {"type": "decimal", "scale": 2}},
              "by_g": {"g": {"type": "string"}, "n": {"type": "int"},
                       "total": {"type": "decimal", "scale": 2}}}


def test_a_chain_runs_on_two_worker_processes(project, dask_cluster, monkeypatch):
    (project / "data").mkdir()
    for i in range(4):
        ids = list(range(i * 5, i * 5 + 5))
        pq.write_table(pa.table({"id": ids, "g": [f"g{v % 3}" for v in ids],
                                 "v": pa.array([f"{v}.25" for v in ids]).cast(
                                     pa.decimal128(9, 2))}),
                       project / "data" / f"part-{i}.parquet")
    monkeypatch.setenv(cluster.ENV, dask_cluster)
    results = {}
    for engine in ("pandas", "dask"):
        plan = task_plan(STEPS, DATASETS, engine=engine, partitions=4)
        plan["types"] = plan_types.compact(list(STEP_TYPES), STEP_TYPES)
        result = executor.run_task(plan, {"run_id": f"r-{engine}"})
        assert result["rows"] == 3 and result["metrics"] == {"by_g": {"groups": 3}}
        results[engine] = pq.read_table(project / "out" / "res")
    assert_same(results["dask"], results["pandas"])
    # the work ran on both worker processes (each made task transitions)
    from distributed import Client
    with Client(dask_cluster, timeout=30) as client:
        counts = client.run(lambda dask_worker: dask_worker.state.transition_counter)
    assert len(counts) == 2 and all(n > 0 for n in counts.values()), counts
    kept = [i for i in range(20) if i + 0.25 > 1]
    want = pa.table({
        "g": [f"g{k}" for k in range(3)],
        "n": pa.array([len([i for i in kept if i % 3 == k]) for k in range(3)], pa.int64()),
        "total": pa.array([sum(2 * (Decimal(i) + Decimal("0.25")) for i in kept if i % 3 == k)
                           for k in range(3)], pa.decimal128(38, 2))})
    assert_same(results["dask"], want, ordered=True)
