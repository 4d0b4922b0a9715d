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

    python benchmarks/dask_scaling_bench.py [--rows 2000000] [--repeat 3] [--jobs q1]
        [--workers 1 2] [--out DIR]
"""
from __future__ import annotations

import argparse
import json
import os
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


def _command(root: Path, impl: str, job: str, rows: int, spec: Path) -> list[str]:
    if impl == "etlc-dask":
        etlc = Path(sys.executable).with_name("etlc")
        return [str(etlc), "run", str(spec.relative_to(root)), "--date", "2025-01-01"]
    return [sys.executable, str(HERE / "throughput_jobs.py"), impl, job, "--root", str(root),
            "--rows", str(rows), "--out", str(output_path(root, job, "dask-scaling", rows))]


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
                            _command(root, impl, job, args.rows, specs[job]), root, log,
                            args.timeout, env=env)
                        cpu1 = _worker_cpu(client)
                        spent = [cpu1[w] - cpu0[w] for w in cpu0]
                        sample = {"job": job, "impl": impl, "workers": workers,
                                  "mode": args.mode, "repeat": repeat, "wall_s": round(wall, 3),
                                  "workers_cpu_s": round(sum(spent), 3),
                                  "busiest_worker_cpu_s": round(max(spent), 3),
                                  "client_cpu_s": round(own_cpu, 3),
                                  "load": round((load0 + os.getloadavg()[0]) / 2, 1),
                                  "exit": code}
                        samples.append(sample)
                        print(f"  {job} {impl:13} {workers} worker(s): {wall:6.2f} s wall, "
                              f"workers {sample['workers_cpu_s']:5.2f} s CPU, load "
                              f"{sample['load']}" + (f", FAILED (see {log})" if code else ""),
                              flush=True)
    return samples


def summary(samples: list[dict], workers: list[int]) -> list[str]:
    lines = ["| job | implementation | " + " | ".join(f"{w} worker(s): best wall s (workers' "
                                                     f"CPU s)" for w in workers)
             + f" | speed-up {workers[0]} -> {workers[-1]} |",
             "|---|---|" + "---|" * (len(workers) + 1)]
    for job in dict.fromkeys(s["job"] for s in samples):
        for impl in IMPLS:
            best = {}
            for w in workers:
                runs = [s for s in samples if (s["job"], s["impl"], s["workers"]) == (job, impl, w)
                        and not s["exit"]]
                best[w] = min(runs, key=lambda s: s["wall_s"]) if runs else None
            cells = [f"{b['wall_s']:.2f} ({b['workers_cpu_s']:.2f}, busiest "
                     f"{b['busiest_worker_cpu_s']:.2f}, load {b['load']})" if b else "failed"
                     for b in best.values()]
            first, last = best[workers[0]], best[workers[-1]]
            ratio = "-"
            if first and last:   # wall, and the busiest worker's CPU (what load cannot slow)
                ratio = (f"{first['wall_s'] / last['wall_s']:.2f}x wall, "
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
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--out", type=Path, help="JSON and Markdown; default <bench folder>/results")
    args = ap.parse_args(argv)
    meta = machine()
    samples = run(args)
    table = summary(samples, args.workers)
    print("\n".join(table))
    out = args.out or bench_dir() / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "dask_scaling.json").write_text(json.dumps({"meta": meta, "args": vars(args) | {
        "out": str(out)}, "samples": samples}, indent=1))
    (out / "dask_scaling.md").write_text("\n".join(table) + "\n")


if __name__ == "__main__":
    main()
