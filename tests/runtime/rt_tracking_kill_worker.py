"""An MLflow-tracked task that kills itself with SIGKILL (for test_tracking_faults.py).

``python rt_tracking_kill_worker.py ROOT RUN_ID METHOD N``: runs a task (csv -> parquet,
``tracking`` to ROOT's local SQLite store) as DAG run RUN_ID; with METHOD (an
``MlflowClient`` method) the process sends itself SIGKILL when that method is called the
N-th time, before it runs: in the middle of writing the task's MLflow runs.
"""

from __future__ import annotations

import os
import signal
import sys

from etlc_runtime import executor
from rt_service_helpers import service_plan

ROWS = "id,region\n1,north\n2,south\n3,north\n4,east\n"


def plan() -> dict:
    steps = [{"name": "got", "read": "src", "filter": "id > 1"},
             {"name": "save", "from": "got", "write": "out", "mode": "overwrite"}]
    return service_plan(steps, {"src": {"format": "csv", "path": "in.csv",
                                        "columns": {"id": {"type": "int"},
                                                    "region": {"type": "string"}}},
                                "out": {"format": "parquet", "path": "out/t/"}},
                        "save", tracking={"experiment": "faults"})


def main(root: str, run_id: str, method: str = "", nth: int = 0) -> dict:
    if method:
        from mlflow.tracking import MlflowClient

        real = getattr(MlflowClient, method)
        calls = []

        def dying(self, *args, **kwargs):
            calls.append(1)
            if len(calls) == nth:
                os.kill(os.getpid(), signal.SIGKILL)
            return real(self, *args, **kwargs)

        setattr(MlflowClient, method, dying)
    with open(os.path.join(root, "in.csv"), "w", encoding="utf-8") as fh:
        fh.write(ROWS)
    return executor.run_task(plan(), {"run_id": run_id, "project_root": root})


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
