"""The computation alone of one throughput job on a running Dask cluster: the child process of
``dask_scaling_bench.py --measure compute``.

    python benchmarks/dask_compute.py IMPL JOB --root DIR --rows N --spec SPEC [--runs 2]

with ``ETLC_DASK_SCHEDULER`` naming the cluster's scheduler.  IMPL is ``etlc-dask`` or
``dask-address``.  What is outside the timed region, in this process, before the first timed
run: the imports (Python, pandas, Dask, distributed, etlc), for etlc the spec's check and plan
(``check_cache.check_file``, ``plan_checked``: what ``etlc run`` does before it runs
anything), and one whole untimed warm-up run of the same computation (it imports what the
workers need, fills their caches of the functions' pickles and pyarrow's, and the file cache).
The cluster was started by the parent.  What is timed, per run: for etlc, ``run_pipeline`` of
the compiled plan (the engine connects its Client to the scheduler, builds the graph, computes
and writes the result through the commit protocol, closes the Client); by hand, the same: a
Client connected, ``throughput_jobs.dask_job`` (graph build, compute, the pandas write of the
small result), the Client closed.  Around each timed run, an open monitoring Client reads each
worker's ``process_time`` (outside the timed region).  One JSON object per timed run on stdout.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from throughput_bench import clear_staging
from throughput_jobs import _paths, dask_job


def _etlc_runner(spec: Path, root: Path):
    from etlc_compiler import check_cache
    from etlc_compiler.compile import plan_checked
    from etlc_compiler.run import logical_date
    from etlc_runtime.local import run_pipeline

    checked, _cached = check_cache.check_file(str(spec), root)
    if not checked.ok:
        sys.exit(f"{spec} does not check: {checked.diagnostics}")
    payload = plan_checked(checked, root).pipeline_payload() | {"project_root": str(root)}
    when = logical_date(dt.date(2025, 1, 1))

    def once() -> None:
        summary = run_pipeline(payload, logical_date=when, project_root=str(root))
        if summary["status"] != "success":
            sys.exit(f"etlc run failed: {summary.get('error')}")
        clear_staging(root / ".etlc")   # this run's staging; the check cache stays
    return once


def _dask_runner(job: str, root: Path, rows: int, out: Path):
    from distributed import Client
    paths = _paths(root, rows)

    def once() -> None:
        with Client(os.environ["ETLC_DASK_SCHEDULER"]):
            dask_job(job, paths, out)
    return once


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("impl", choices=("etlc-dask", "dask-address"))
    ap.add_argument("job", choices=("q1", "join"))
    ap.add_argument("--root", type=Path, required=True)
    ap.add_argument("--rows", type=int, required=True)
    ap.add_argument("--spec", type=Path, required=True, help="etlc-dask: the job's spec")
    ap.add_argument("--out", type=Path, required=True, help="dask-address: the result file")
    ap.add_argument("--runs", type=int, default=2, help="timed runs after the warm-up")
    args = ap.parse_args(argv)
    from distributed import Client
    once = (_etlc_runner(args.spec, args.root) if args.impl == "etlc-dask"
            else _dask_runner(args.job, args.root, args.rows, args.out))
    once()   # warm-up, untimed
    with Client(os.environ["ETLC_DASK_SCHEDULER"], set_as_default=False) as monitor:
        for _ in range(args.runs):
            cpu0 = monitor.run(time.process_time)
            own0, t0 = time.process_time(), time.perf_counter()
            once()
            wall, own = time.perf_counter() - t0, time.process_time() - own0
            cpu1 = monitor.run(time.process_time)
            spent = [cpu1[w] - cpu0[w] for w in cpu0]
            print(json.dumps({"wall_s": round(wall, 3), "workers_cpu_s": round(sum(spent), 3),
                              "busiest_worker_cpu_s": round(max(spent), 3),
                              "client_cpu_s": round(own, 3)}), flush=True)


if __name__ == "__main__":
    main()
