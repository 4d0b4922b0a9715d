"""Qdrant load speed (issue 12): etlc's Qdrant write against the client's own
``upload_points``, both into Qdrant's local mode, from the same Arrow table.

The table (``--vectors``, default 100,000): doc_id text (the key), title text, n int and a
``--dim``-float32 vector (default 384, as all-MiniLM-L6-v2's). Each side starts from that
table in memory and a fresh local-mode folder, and the clock covers turning rows into points
and loading them:

- ``client``: hand-written code: ``table.to_pylist()``, one ``PointStruct`` per row (uuid5 id
  of the key, payload title and n), ``QdrantClient(path=...).upload_points(..., batch_size)``
  into a collection created beforehand inside the clock;
- ``client-wal``: the same with the collection's SQLite file switched by hand to WAL and
  ``synchronous=NORMAL`` and one ``FULL`` checkpoint at the end (what etlc's qdrant_local
  does: the client's default commits and syncs the disk once per point);
- ``etlc``: ``qdrant_io.write_qdrant(table, dataset, "upsert")`` (collection created, uuid5
  ids, payload, R230 checks, batches of ``batch_size``, one sync, the alias).

Each is run ``--repeat`` times (fresh folders) and the best wall time is kept. Target: etlc
within 1.3x of the fastest hand-written way (``--skip-client`` leaves the slow default out).

    python benchmarks/qdrant_bench.py --vectors 100000 --repeat 3
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import shutil
import tempfile
import time
import uuid
from pathlib import Path


def table(count: int, dim: int):
    import numpy as np
    import pyarrow as pa

    rnd = np.random.default_rng(7)
    flat = rnd.standard_normal(count * dim, dtype=np.float32)
    vectors = pa.FixedSizeListArray.from_arrays(pa.array(flat), dim).cast(
        pa.list_(pa.float32()))
    words = random.Random(7)
    return pa.table({
        "doc_id": pa.array([f"doc-{i:07d}" for i in range(count)], pa.string()),
        "title": pa.array([f"title {words.randrange(10**6)}" for _ in range(count)]),
        "n": pa.array(range(count), pa.int64()),
        "embedding": vectors})


def dataset(dim: int, batch: int) -> dict:
    return {"format": "qdrant", "collection": "bench", "key": ["doc_id"], "vector": "embedding",
            "distance": "cosine", "payload": ["title", "n"], "options": {"batch_size": batch},
            "columns": {"doc_id": {"type": "string"}, "title": {"type": "string"},
                        "n": {"type": "int"}, "embedding": {"type": "vector", "size": dim}}}


def run_client(data, root: Path, dim: int, batch: int, wal: bool = False) -> float:
    from etlc_runtime.qdrant_io import NAMESPACE
    from qdrant_client import QdrantClient, models

    started = time.perf_counter()
    client = QdrantClient(path=str(root / "data" / "qdrant"))
    client.create_collection("bench", vectors_config=models.VectorParams(
        size=dim, distance=models.Distance.COSINE))
    if wal:         # by hand, what etlc's qdrant_local does: sync once, at the end
        con = client._client.collections["bench"].storage.storage
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
    points = [models.PointStruct(id=str(uuid.uuid5(NAMESPACE, json.dumps([r["doc_id"]]))),
                                 vector=r["embedding"], payload={"title": r["title"],
                                                                 "n": r["n"]})
              for r in data.to_pylist()]
    client.upload_points("bench", points, batch_size=batch, wait=True)
    if wal:
        con.execute("PRAGMA wal_checkpoint(FULL)")
    client.close()
    return time.perf_counter() - started


def run_etlc(data, root: Path, dim: int, batch: int) -> float:
    from etlc_runtime.qdrant_io import write_qdrant

    started = time.perf_counter()
    write_qdrant(data, dataset(dim, batch), "upsert", {}, {}, root)
    return time.perf_counter() - started


def count(root: Path) -> int:
    from qdrant_client import QdrantClient

    client = QdrantClient(path=str(root / "data" / "qdrant"))
    try:
        return client.count("bench").count
    finally:
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectors", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-client", action="store_true",
                        help="leave out the client's default way (a disk sync per point)")
    args = parser.parse_args()
    data = table(args.vectors, args.dim)
    runs = {"client": run_client, "client-wal": functools.partial(run_client, wal=True),
            "etlc": run_etlc}
    if args.skip_client:
        del runs["client"]
    best = {name: float("inf") for name in runs}
    for _ in range(args.repeat):
        for name, fn in runs.items():
            root = Path(tempfile.mkdtemp(prefix="etlc-qdrant-bench-"))
            try:
                seconds = fn(data, root, args.dim, args.batch)
                assert count(root) == args.vectors, name
            finally:
                shutil.rmtree(root, ignore_errors=True)
            best[name] = min(best[name], seconds)
            print(f"{name:6s} {seconds:8.2f} s", flush=True)
    ratio = best["etlc"] / min(best.values())
    print(json.dumps({"vectors": args.vectors, "dim": args.dim, "batch": args.batch,
                      "seconds": {k: round(v, 2) for k, v in best.items()},
                      "ms_per_point": {k: round(1000 * v / args.vectors, 3)
                                       for k, v in best.items()},
                      "ratio_to_fastest": round(ratio, 3), "target": 1.3, "met": ratio <= 1.3}))


if __name__ == "__main__":
    main()
