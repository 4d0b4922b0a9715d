"""SIGKILL in the middle of an MLflow-tracked task, then the retry (issue 12): the DAG run
still has one MLflow run (one parent, one nested run for the task), finished, with the
metrics of a clean run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from rt_tracking_kill_worker import main

WORKER = Path(__file__).with_name("rt_tracking_kill_worker.py")
RUN_ID = "scheduled__2026-01-05T00:00:00+00:00"


def runs(root: Path) -> dict:
    """kind -> [(status, parent run id or None, {metric: value})] of RUN_ID's active runs."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{root / '.etlc' / 'mlruns' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("faults").experiment_id
    out: dict = {}
    for run in client.search_runs([experiment], f"tags.`etlc.run_id` = '{RUN_ID}'"):
        assert run.info.lifecycle_stage == "active"
        tags = run.data.tags
        out.setdefault(tags["etlc.kind"], []).append((
            run.info.status, tags.get("mlflow.parentRunId"), run.info.run_id,
            {k: v for k, v in run.data.metrics.items() if not k.endswith(".seconds")}))
    return out


def shape(found: dict):
    (parent,), (child,) = found["dag_run"], found["task"]      # exactly one of each
    assert child[1] == parent[2]                                # nested under the parent
    return parent[0], child[0], parent[3], child[3]


@pytest.fixture(scope="module")
def want(tmp_path_factory):
    """What a clean run of the task tracks."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        clean = tmp_path_factory.mktemp("clean")
        main(str(clean), RUN_ID)
        found = shape(runs(clean))
    assert found[:2] == ("FINISHED", "FINISHED") and found[2]["save.rows"] == 3
    return found


# killed: after the parent run is created, before any metric, before the status is set
@pytest.mark.parametrize("method, nth", [("create_run", 2), ("log_batch", 1),
                                         ("set_terminated", 2)])
def test_a_tracked_task_killed_then_retried_is_one_mlflow_run(tmp_path, monkeypatch, want,
                                                              method, nth):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    root = tmp_path / "killed"
    root.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    done = subprocess.run([sys.executable, str(WORKER), str(root), RUN_ID, method, str(nth)],
                          capture_output=True, text=True, timeout=300, check=False, env=env)
    assert done.returncode == -signal.SIGKILL, done.stderr
    main(str(root), RUN_ID)                                     # the retry
    assert shape(runs(root)) == want
