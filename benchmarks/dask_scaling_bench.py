"""Benchmark: one Dask worker against two, the same job by etlc's dask engine and by hand.

For each worker count a fresh cluster (``LocalCluster``: worker processes, one thread each,
started by this process) runs the throughput benchmark's job (throughput_jobs.py; data from
throughput_data.py, cached under $ETLC_BENCH_DIR) twice, each as its own process connected to
it: ``etlc run`` of the job's spec (``engine: dask, partitions: 8``, the cluster named by
ETLC_DASK_SCHEDULER) and the hand-written Dask job (``throughput_jobs.py dask-address``).
Reported per run: wall seconds of the process, the CPU seconds the workers spent
(``process_time`` on each worker before and after) and the load average, so that a run slowed by
other work on the machine shows as wall time well above the workers' CPU time divided by the
workers.  Speed-up: best wall of one worker over best wall of two.  Not a test.

``--measure compute`` times the computation alone (issue 11's 1-worker 3.4-3.9 s against
2-worker 2.2 s at 6 M rows were that): each process (``dask_compute.py``, whose docstring says
exactly what is in and out of the timed region) imports, checks the spec and runs the job once
untimed, then times ``--runs`` more runs of the computation alone, reading the workers' CPU
seconds around each; the cluster is up before the process starts.

    python benchmarks/dask_scaling_bench.py [--rows 2000000] [--repeat 3] [--jobs q1]
        [--workers 1 2] [--measure process|compute] [--runs 2] [--out DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from throughput_bench import (
    DASK_PARTITIONS,
    clear,
    clear_staging,
    machine,
    output_path,
    run_process,
)
from throughput_data import bench_dir
from throughput_jobs import etlc_spec

IMPLS = ("etlc-dask", "dask-address")


def _worker_cpu(client) -> dict[str, float]:
    """Each worker's process's CPU seconds so far, by worker address."""
    return client.run(time.process_time)


def _spec(root: Path, job: str, rows: int) -> Path:
    out = output_path(root, job, "etlc-dask-scaling", rows).relative_to(root)
    spec = etlc_spec(job, rows, "dask", str(out)).replace(
        "defaults: {engine: dask}", f"defaults: {{engine: dask, partitions: {DASK_PARTITIONS}}}")
    path = root / "specs" / f"{job}-etlc-dask-scaling-{rows}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(spec)
    return path


def _command(root: Path, impl: str, job: str, rows: int, spec: Path, args) -> list[str]:
    out = output_path(root, job, "dask-scaling", rows)
    if args.measure == "compute":
        return [sys.executable, str(HERE / "dask_compute.py"), impl, job, "--root", str(root),
                "--rows", str(rows), "--spec", str(spec), "--out", str(out),
                "--runs", str(args.runs)]
    if impl == "etlc-dask":
        etlc = Path(sys.executable).with_name("etlc")
        return [str(etlc), "run", str(spec.relative_to(root)), "--date", "2025-01-01"]
    return [sys.executable, str(HERE / "throughput_jobs.py"), impl, job, "--root", str(root),
            "--rows", str(rows), "--out", str(out)]


def _timed_runs(log: Path) -> list[dict]:
    """The JSON lines dask_compute.py printed (one per timed run)."""
    return [json.loads(line) for line in log.read_text(errors="replace").splitlines()
            if line.startswith("{")]


def run(args) -> list[dict]:
    import dask
    from distributed import Client, LocalCluster

    # the workers' sampling profiler costs CPU in proportion to wall time, which a loaded
    # machine stretches: off, so that the workers' CPU seconds are the job's
    dask.config.set({"distributed.worker.profile.enabled": False})

    root = bench_dir()
    (root / "logs").mkdir(parents=True, exist_ok=True)
    if not (root / "pyproject.toml").exists():
        (root / "pyproject.toml").write_text('[project]\nname = "etlc-bench"\nversion = "0"\n')
    subprocess.run([sys.executable, str(HERE / "throughput_data.py"), "--rows",
                    str(args.rows)], check=True)
    specs = {job: _spec(root, job, args.rows) for job in args.jobs}
    for job in args.jobs:   # the hand-written job writes its result file there
        output_path(root, job, "dask-scaling", args.rows).parent.mkdir(parents=True,
                                                                      exist_ok=True)
    samples = []
    for repeat in range(args.repeat):
        for workers in args.workers:
            shape = ({"n_workers": workers, "threads_per_worker": 1} if args.mode == "processes"
                     else {"n_workers": 1, "threads_per_worker": workers,
                           "protocol": "tcp"})   # not inproc: the jobs are other processes
            with LocalCluster(processes=args.mode == "processes", dashboard_address=":0",
                              **shape) as cluster, Client(cluster) as client:
                env = {**os.environ, "ETLC_DASK_SCHEDULER": cluster.scheduler_address}
                for job in args.jobs:
                    for impl in IMPLS:
                        clear(output_path(root, job, "etlc-dask-scaling", args.rows))
                        clear_staging(root / ".etlc")
                        cpu0, load0 = _worker_cpu(client), os.getloadavg()[0]
                        log = root / "logs" / f"scaling-{job}-{impl}-{workers}.log"
                        wall, own_cpu, _peak, code = run_process(
                            _command(root, impl, job, args.rows, specs[job], args), root, log,
                            args.timeout, env=env)
                        cpu1 = _worker_cpu(client)
                        spent = [cpu1[w] - cpu0[w] for w in cpu0]
                        load = round((load0 + os.getloadavg()[0]) / 2, 1)
                        base = {"job": job, "impl": impl, "workers": workers, "mode": args.mode,
                                "measure": args.measure, "repeat": repeat, "load": load,
                                "exit": code}
                        runs = [{"wall_s": round(wall, 3),
                                 "workers_cpu_s": round(sum(spent), 3),
                                 "busiest_worker_cpu_s": round(max(spent), 3),
                                 "client_cpu_s": round(own_cpu, 3)}]
                        if args.measure == "compute":
                            runs = _timed_runs(log) or [dict(runs[0], wall_s=None)]
                            base["exit"] = code or (0 if runs[0]["wall_s"] else 1)
                        for one in runs:
                            sample = base | one
                            samples.append(sample)
                            print(f"  {job} {impl:13} {workers} worker(s): {sample['wall_s']} s "
                                  f"wall, workers {sample['workers_cpu_s']:5.2f} s CPU, load "
                                  f"{load}" + (f", FAILED (see {log})" if base["exit"] else ""),
                                  flush=True)
    return samples


def summary(samples: list[dict], workers: list[int]) -> list[str]:
    """Per job and implementation: for each worker count the best run's wall seconds (its
    workers' CPU seconds, the busiest worker's, the load) and the median wall; speed-up from
    the first worker count to the last by best and by median wall, and by the busiest worker's
    CPU seconds of the best runs (what load slows least)."""
    lines = ["| job | implementation | " + " | ".join(f"{w} worker(s): best wall s (workers' "
                                                     f"CPU s), median wall s" for w in workers)
             + f" | speed-up {workers[0]} -> {workers[-1]} |",
             "|---|---|" + "---|" * (len(workers) + 1)]
    for job in dict.fromkeys(s["job"] for s in samples):
        for impl in IMPLS:
            best, median = {}, {}
            for w in workers:
                runs = [s for s in samples if (s["job"], s["impl"], s["workers"]) == (job, impl, w)
                        and not s["exit"]]
                best[w] = min(runs, key=lambda s: s["wall_s"]) if runs else None
                median[w] = statistics.median(s["wall_s"] for s in runs) if runs else None
            cells = [f"{b['wall_s']:.2f} ({b['workers_cpu_s']:.2f}, busiest "
                     f"{b['busiest_worker_cpu_s']:.2f}, load {b['load']}), {median[w]:.2f}"
                     if b else "failed" for w, b in best.items()]
            first, last = best[workers[0]], best[workers[-1]]
            ratio = "-"
            if first and last:
                ratio = (f"{first['wall_s'] / last['wall_s']:.2f}x best wall, "
                         f"{median[workers[0]] / median[workers[-1]]:.2f}x median wall, "
                         f"{first['busiest_worker_cpu_s'] / last['busiest_worker_cpu_s']:.2f}x "
                         f"busiest worker CPU")
            lines.append(f"| {job} | {impl} | " + " | ".join(cells) + f" | {ratio} |")
    return lines


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--jobs", nargs="+", choices=("q1", "join"), default=["q1"])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--mode", choices=("processes", "threads"), default="processes",
                    help="workers as processes of one thread, or threads of one worker in "
                    "this process (etlc's own LocalCluster is the latter)")
    ap.add_argument("--measure", choices=("process", "compute"), default="process",
                    help="time whole processes (imports, spec check and all), or the "
                    "computation alone after an untimed warm-up run (dask_compute.py)")
    ap.add_argument("--runs", type=int, default=2,
                    help="--measure compute: timed runs per process after the warm-up")
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--out", type=Path, help="JSON and Markdown; default <bench folder>/results")
    args = ap.parse_args(argv)
    meta = machine()
    samples = run(args)
    what = ("the computation alone, after an untimed warm-up run in the same process "
            "(dask_compute.py)" if args.measure == "compute" else "whole processes")
    head = (f"{meta['date_utc']}, commit {meta['commit']}, {args.rows:,} rows, workers as "
            f"{args.mode}, timed: {what}; load at start {meta['load_average_at_start'][0]:.1f}")
    table = [head, "", *summary(samples, args.workers)]
    print("\n".join(table))
    out = args.out or bench_dir() / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "dask_scaling.json").write_text(json.dumps({"meta": meta, "args": vars(args) | {
        "out": str(out)}, "samples": samples}, indent=1))
    (out / "dask_scaling.md").write_text("\n".join(table) + "\n")


if __name__ == "__main__":
    main()
