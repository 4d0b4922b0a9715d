"""A failed dask computation returns only when the tasks it started have stopped.

When one task fails, dask cancels the others, but a task already running keeps its thread
until it returns; a write task then adds a part to the commit protocol's hidden folder while
(or after) the failed attempt removes it. ``Cluster.compute`` waits for the workers to stop
before it raises, so the cleanup sees the last part written.
"""

from __future__ import annotations

import time
from pathlib import Path

import dask
import pytest
from etlc_runtime.engines.dask.cluster import Cluster


def _write_late(started: str, part: str) -> int:
    Path(started).touch()
    time.sleep(0.5)
    Path(part).write_text("late")
    return 1


def _fail(started: str) -> int:
    deadline = time.monotonic() + 10
    while not Path(started).exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    raise ValueError("a check's expression failed")


def test_the_error_comes_after_the_running_tasks_end(tmp_path):
    started, part = tmp_path / "started", tmp_path / "part-1.parquet"
    cluster = Cluster(address=None, threads=2)
    try:
        with pytest.raises(ValueError, match="expression failed"):
            cluster.compute(dask.delayed(_write_late)(str(started), str(part)),
                            dask.delayed(_fail)(str(started)))
        assert started.exists() and part.exists()
        assert cluster.quiesce(timeout=1) is True
        assert cluster.compute(dask.delayed(len)("abc")) == (3,)  # the cluster still works
    finally:
        cluster.close()
