"""A Qdrant write that kills itself with SIGKILL (for test_qdrant_faults.py).

``python rt_qdrant_kill_worker.py ROOT MODE VERSION KILL_AFTER``: writes the points of
``points(VERSION)`` into the ``docs`` collection of ROOT's local mode with ``write_qdrant``
in batches of 10; with KILL_AFTER > 0 the process sends itself SIGKILL right after that many
batches were upserted, in the middle of the write.
"""

from __future__ import annotations

import os
import signal
import sys

import pyarrow as pa
from etlc_runtime.qdrant_io import write_qdrant
from qdrant_client import QdrantClient

DATASET = {"format": "qdrant", "collection": "docs", "key": ["doc_id"], "vector": "embedding",
           "payload": ["doc_id", "version"], "options": {"batch_size": 10},
           "columns": {"doc_id": {"type": "string"}, "version": {"type": "int"},
                       "embedding": {"type": "vector", "size": 2}}}
COUNT = 60


def points(version: int) -> pa.Table:
    return pa.table({
        "doc_id": pa.array([f"d{i:03d}" for i in range(COUNT)], pa.string()),
        "version": pa.array([version] * COUNT, pa.int64()),
        "embedding": pa.array([[float(i), float(version)] for i in range(COUNT)],
                              pa.list_(pa.float32()))})


def main(root: str, mode: str, version: int, kill_after: int) -> None:
    if kill_after > 0:
        upsert = QdrantClient.upsert
        done = []

        def dying(self, *args, **kwargs):
            result = upsert(self, *args, **kwargs)
            done.append(1)
            if len(done) == kill_after:
                os.kill(os.getpid(), signal.SIGKILL)
            return result

        QdrantClient.upsert = dying
    write_qdrant(points(version), DATASET, mode, {}, {}, root)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
