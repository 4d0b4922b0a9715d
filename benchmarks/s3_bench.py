"""S3 speed (issue 12): 1 M rows to and from S3 (moto's server on loopback) with etlc's tasks
against hand-written DuckDB and pyarrow on the same endpoint, in one run.

The rows (``--rows``, default 1,000,000): id bigint, name text, amount decimal(14, 2), day
date, score double; one local Parquet file written before the clock starts.

- **up** (local Parquet -> S3 Parquet, ``overwrite``): etlc's duckdb task (read, write to an
  ``s3://`` dataset: parts, manifest); DuckDB's ``COPY (SELECT * FROM read_parquet(local))
  TO 's3://...'`` through the same s3fs filesystem registered with the connection (no httpfs
  for DuckDB 2.0 here); pyarrow's own ``pyarrow.fs.S3FileSystem`` (C++) reading the file
  and writing one object.
- **down** (S3 Parquet -> local Parquet): etlc's duckdb task (read in place, write a local
  dataset); DuckDB's ``COPY (SELECT * FROM read_parquet(['s3://...'])) TO local``; pyarrow's
  ``read_table`` on its S3 filesystem and ``write_table`` to a local file.  All three read
  the same objects, the parts etlc's up wrote (the hand-written ways get their list off the
  clock).

For reference, **local** (local Parquet -> local Parquet, etlc's task and DuckDB's COPY) shows
what the engine's own read (every declared column converted and checked) costs without S3.
Each is run ``--repeat`` times, interleaved, and the best and median wall times kept.  Target: etlc within 1.3x of the
faster hand-written way each direction.

    python benchmarks/s3_bench.py --rows 200000     # while the machine is shared
    python benchmarks/s3_bench.py --rows 1000000 --repeat 3
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

KEY, SECRET = "AKIDBENCH", "bench-secret"
COLUMNS = {"id": {"type": "int"}, "name": {"type": "string"},
           "amount": {"type": "decimal", "precision": 14, "scale": 2}, "day": {"type": "date"},
           "score": {"type": "float"}}


def rows(n: int) -> pa.Table:
    import numpy as np

    i = np.arange(n, dtype=np.int64)
    return pa.table({
        "id": pa.array(i),
        "name": pa.array([f"name-{k % 1000}" for k in range(n)]),
        "amount": pa.array([f"{(k * 7919) % 10_000_000 - 5_000_000}.{k % 100:02d}"
                            for k in range(n)]).cast(pa.decimal128(14, 2)),
        "day": pa.array((i % 20000).astype("int32"), pa.int32()).cast(pa.date32()),
        "score": pa.array((i % 1000) / 7.0)})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _plan(steps: list[dict], datasets: dict, task: str) -> dict:
    for i, step in enumerate(steps):
        step.update(line=10 + i, kind=next((k for k in ("read", "write") if k in step),
                                           "transform"))
        if isinstance(step.get("from"), str):
            step["from"] = [step["from"]]
    return {"etlc": 1, "pipeline": "bench", "task": task, "spec": "specs/bench.yaml",
            "engine": "duckdb", "partitions": 1, "parallelism": "dask",
            "staging": {"connection": None, "path": ".etlc/staging"}, "params": {},
            "tracking": None, "connections": {"lake": "bench_s3"}, "datasets": datasets,
            "inputs": {}, "steps": steps, "output": None}


def _timed(fn) -> tuple[float, float]:
    """Wall seconds and the process's CPU seconds (moto's server included: it runs here)."""
    start, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - start, time.process_time() - cpu


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--profile", choices=["up", "down"], help="cProfile etlc's task")
    args = ap.parse_args(argv)

    import boto3
    import duckdb
    from moto.server import ThreadedMotoServer
    from pyarrow import fs as pafs

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    import logging
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=KEY,
                 aws_secret_access_key=SECRET, region_name="us-east-1").create_bucket(
        Bucket="bench")
    os.environ["AIRFLOW_CONN_BENCH_S3"] = json.dumps({
        "conn_type": "aws", "login": KEY, "password": SECRET,
        "extra": {"endpoint_url": endpoint, "region_name": "us-east-1"}})
    root = Path(tempfile.mkdtemp(prefix="etlc-s3-bench-"))
    (root / "specs").mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'bench'\n")
    os.environ["ETLC_PROJECT_ROOT"] = str(root)
    local = root / "in.parquet"
    pq.write_table(rows(args.rows), local)

    from etlc_runtime import executor
    from etlc_runtime import object_store as ob
    from etlc_runtime.s3_read import duckdb_filesystem, filesystem

    options = ob.S3Options(key=KEY, secret=SECRET, endpoint_url=endpoint, region="us-east-1")
    fsspec_s3 = filesystem(options)
    duckdb_fs = duckdb_filesystem(options)   # the fastest way DuckDB 2.0 has here
    arrow_s3 = pafs.S3FileSystem(access_key=KEY, secret_key=SECRET, endpoint_override=endpoint,
                                 scheme="http", region="us-east-1")
    lake = {"format": "parquet", "path": "s3://bench/etlc/t/", "connection": "lake",
            "columns": COLUMNS}
    datasets = {"src": {"format": "parquet", "path": str(local), "columns": COLUMNS},
                "lake": lake, "back": {"format": "parquet", "path": "out/back/"}}

    def etlc_up():
        executor.run_task(_plan([{"name": "raw", "read": "src"},
                                 {"name": "up", "from": "raw", "write": "lake",
                                  "mode": "overwrite"}], datasets, "up"), {"run_id": "b"})

    def etlc_down():
        executor.run_task(_plan([{"name": "get", "read": "lake"},
                                 {"name": "save", "from": "get", "write": "back",
                                  "mode": "overwrite"}], datasets, "down"), {"run_id": "b"})

    def duck(sql: str):
        con = duckdb.connect()
        con.register_filesystem(duckdb_fs)
        con.execute(sql)
        con.close()

    def duck_up():
        duck(f"COPY (SELECT * FROM read_parquet('{local}')) TO 's3://bench/duck/t.parquet' "
             f"(FORMAT parquet)")

    def etlc_parts() -> list[str]:   # the objects etlc's down reads, listed off the clock
        return [ob.split(u) for u in ob.current_parts(fsspec_s3, lake["path"])]

    def duck_down(parts):
        duck(f"COPY (SELECT * FROM read_parquet({[f's3://{p}' for p in parts]})) TO "
             f"'{root / 'duck.parquet'}' (FORMAT parquet)")

    def arrow_up():
        pq.write_table(pq.read_table(local), "bench/arrow/t.parquet", filesystem=arrow_s3)

    def arrow_down(parts):
        pq.write_table(pq.read_table(parts, filesystem=arrow_s3), root / "arrow.parquet")

    def etlc_local():       # the same task with a local source: what the engine itself costs
        executor.run_task(_plan([{"name": "get", "read": "src"},
                                 {"name": "save", "from": "get", "write": "back",
                                  "mode": "overwrite"}], datasets, "local"), {"run_id": "b"})

    def duck_local():
        duck(f"COPY (SELECT * FROM read_parquet('{local}')) TO '{root / 'duck.parquet'}' "
             f"(FORMAT parquet)")

    runs = {"etlc local": etlc_local, "duckdb local": duck_local, "etlc up": etlc_up, "duckdb up": duck_up, "pyarrow up": arrow_up,
            "etlc down": etlc_down, "duckdb down": duck_down, "pyarrow down": arrow_down}
    setup = {"duckdb down": etlc_parts, "pyarrow down": etlc_parts}
    times: dict[str, list[float]] = {name: [] for name in runs}
    cpus: dict[str, list[float]] = {name: [] for name in runs}
    if args.profile:
        import cProfile
        import pstats
        etlc_up()
        prof = cProfile.Profile()
        prof.runcall(runs[f"etlc {args.profile}"])
        pstats.Stats(prof).sort_stats("cumulative").print_stats(30)
    try:
        for _ in range(args.repeat):
            for name, fn in runs.items():
                given = setup[name]() if name in setup else None
                wall, cpu = _timed(fn if given is None else functools.partial(fn, given))
                times[name].append(wall)
                cpus[name].append(cpu)
        best = {name: min(t) for name, t in times.items()}
        cpu_best = {name: min(t) for name, t in cpus.items()}
        median = {name: statistics.median(t) for name, t in times.items()}
        back = pq.read_table(root / "out" / "back").sort_by("id")
        assert back.num_rows == args.rows and back.column("id").equals(
            pq.read_table(local).column("id")), "etlc's round trip lost rows"
        size = fsspec_s3.size("bench/arrow/t.parquet")
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
    print(f"{args.rows:,} rows ({size / 2**20:.1f} MiB of Parquet) to and from S3 on moto "
          f"(best and median of {args.repeat}, load average {os.getloadavg()[0]:.1f}):")
    print(f"  {'':14s} {'best':>9s} {'median':>9s} {'CPU best':>9s}")
    for name in runs:
        print(f"  {name:14s} {best[name]:7.2f} s {median[name]:7.2f} s {cpu_best[name]:7.2f} s")
    ratios = {}
    for way in ("up", "down"):
        hand = min(best[f"duckdb {way}"], best[f"pyarrow {way}"])
        ratios[way] = best[f"etlc {way}"] / hand
        middle = median[f"etlc {way}"] / min(median[f"duckdb {way}"], median[f"pyarrow {way}"])
        cpu = cpu_best[f"etlc {way}"] / min(cpu_best[f"duckdb {way}"],
                                            cpu_best[f"pyarrow {way}"])
        print(f"  etlc {way}: {ratios[way]:.2f}x the faster hand-written way, best of each "
              f"({middle:.2f}x by medians, {cpu:.2f}x in CPU; "
              f"{'met' if ratios[way] <= 1.3 else 'NOT MET'}: within 1.3x)")
    print(json.dumps({"rows": args.rows, "seconds": {k: round(v, 3) for k, v in best.items()},
                      "median": {k: round(v, 3) for k, v in median.items()},
                      "cpu": {k: round(v, 3) for k, v in cpu_best.items()},
                      "ratios": {k: round(v, 2) for k, v in ratios.items()}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
