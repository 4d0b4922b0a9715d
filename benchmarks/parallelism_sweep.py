"""Benchmark: the ETL parallelism experiment (issue 11): extract x transform x load partitions,
inside a task with Dask (`parallelism: dask`) against across tasks with Airflow's mapped task
instances (`parallelism: airflow`), each DAG run through a real Airflow scheduler.

For each data size and each configuration (e, t, l) in 1..3 (1..5 with --full) the sweep
writes the three-stage spec of sweep_pipeline.py for each mode, compiles them all with
`etlc compile` into one dags folder, brings up the native stack (scripts/stack.py:
LocalExecutor, 4 executor slots, its own state folder, metadata database and ports; no
MLflow; the stack's Dask scheduler and 2 workers of 2 threads, which the dask engine's tasks
connect to through ETLC_DASK_SCHEDULER, or with --dask-cluster task a LocalCluster each task
starts), and triggers every DAG through the REST API, one run at a time; per configuration
both sizes and both modes run back to back (which mode first alternates), so a sweep stopped
early still has comparable figures (results.csv is rewritten after every run).

Per run: wall seconds from Airflow's own clock (the run's end_date minus its queued_at: the
scheduler's latency is part of the price of a task), rows/s of input rows, the task instances
and the sum of their durations (what ran; the rest of the wall is scheduling); the loaded rows
are counted against pyarrow's count of the input (not etlc's), and a mismatch stops the sweep.
Best of --repeat; each run records the 1-minute load average at its end (`--shuffle SEED` runs
the configurations in a seeded random order, so a load that drifts does not follow e, t, l).
`--runner local` times `etlc run` of the same specs instead (no scheduler:
mapped instances run one after another), for a machine where the stack cannot start.

    python benchmarks/parallelism_sweep.py [--rows 20000 1000000] [--repeat 1] [--full]
        [--modes dask airflow] [--runner scheduler|local] [--dask-cluster stack|task]
        [--configs 111 333 ...] [--shuffle SEED] [--out DIR] [--project DIR]

Writes results.csv, results.md and heatmap-<mode>-r<rows>.png into --out (default
$ETLC_BENCH_DIR/sweep/results); the data and the project under --project (default
$ETLC_BENCH_DIR/sweep), never in the repository. Figures and what they show:
docs/engines-dask.md ("The parallelism sweep").
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import itertools
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import sweep_pipeline as sp
from throughput_data import bench_dir

STACK = ROOT / "scripts" / "stack.py"
AIRFLOW_DB = "etlc_airflow_sweep"
RUN_TIMEOUT = 900.0
FIELDS = ("mode", "rows", "e", "t", "l", "wall_s", "rows_per_s", "tasks", "task_s", "runs", "load")


def etlc() -> str:
    return str(Path(sys.executable).with_name("etlc"))


CHOSEN: list[tuple[int, int, int]] = []  # --configs: only these
SHUFFLE: list[int] = []  # --shuffle SEED: run the configurations in a seeded random order


def configurations(top: int) -> list[tuple[int, int, int]]:
    every = list(itertools.product(range(1, top + 1), repeat=3))
    return [c for c in CHOSEN if c in every] if CHOSEN else every  # in the order chosen


def prepare(project: Path, sizes: list[int], modes: list[str], top: int) -> None:
    """Data, specs and DAG files of every run of the sweep."""
    (project / "specs").mkdir(parents=True, exist_ok=True)
    (project / "pyproject.toml").write_text("[project]\nname = 'parallelism-sweep'\nversion = '0'\n")
    for old in (project / "specs").glob("sweep_*.yaml"):
        old.unlink()
    for rows in sizes:
        sp.generate(project, rows)
        for mode, (e, t, l) in itertools.product(modes, configurations(top)):
            (project / "specs" / f"{sp.pipeline_id(mode, rows, e, t, l)}.yaml").write_text(
                sp.spec_text(mode, rows, e, t, l))
    done = subprocess.run([etlc(), "compile", "specs", "-o", "dags"], cwd=project,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"etlc compile failed:\n{done.stdout}{done.stderr}")


# -- the stack and its REST API -------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stack_env(project: Path, dask_scheduler: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "_AIRFLOW"))
           and k not in ("AIRFLOW_HOME", "ETLC_STACK_DIR", "ETLC_DASK_SCHEDULER")}
    env["ETLC_STACK_PROJECT_ROOT"] = str(project)
    # a task's calls to the execution API time out after 5 s by default: on the loaded shared
    # machine the supervisor's first call timed out and it killed the task (SIGKILL)
    env["AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT"] = "60"
    if dask_scheduler:  # the dask engine's tasks connect to the stack's cluster (engines-dask.md)
        env["ETLC_DASK_SCHEDULER"] = dask_scheduler
    return env


def stack(project: Path, *args: str, timeout: float = 600,
          dask_scheduler: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(STACK), "--state-dir", str(project / "stack"), *args],
                          cwd=ROOT, env=stack_env(project, dask_scheduler), capture_output=True,
                          text=True, timeout=timeout, check=False)


class Airflow:
    """Airflow's REST API (v2) with the simple auth manager's admin."""

    def __init__(self, base: str, password: str):
        self.base, self.token = base, ""
        self.token = self.call("POST", "/auth/token", {"username": "admin", "password": password},
                               auth=False)["access_token"]

    def call(self, method: str, path: str, body: dict | None = None, auth: bool = True):
        req = urllib.request.Request(self.base + path, method=method,
                                     data=None if body is None else json.dumps(body).encode())
        req.add_header("Content-Type", "application/json")
        if auth:
            req.add_header("Authorization", f"Bearer {self.token}")
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read() or b"null")

    def wait_for_dags(self, dag_ids: list[str], timeout: float) -> None:
        deadline, missing = time.monotonic() + timeout, set(dag_ids)
        while missing and time.monotonic() < deadline:
            for offset in range(0, len(dag_ids) + 100, 100):  # the API's pages hold 100 at most
                listed = self.call("GET", f"/api/v2/dags?limit=100&offset={offset}&tags=parallelism-sweep")
                missing -= {d["dag_id"] for d in listed["dags"]}
            if missing:
                time.sleep(3)
        if missing:
            errors = self.call("GET", "/api/v2/importErrors")
            raise SystemExit(f"{len(missing)} DAGs never appeared (e.g. {sorted(missing)[:3]}): {errors}")
        for dag_id in dag_ids:
            self.call("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})

    def run(self, dag_id: str) -> dict:
        """Trigger a run and wait for it; its wall seconds, task instances and their seconds."""
        run_id = self.call("POST", f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": None})["dag_run_id"]
        deadline = time.monotonic() + RUN_TIMEOUT
        while time.monotonic() < deadline:
            body = self.call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")
            if body["state"] in ("success", "failed"):
                break
            time.sleep(0.5)
        tis = self.call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances?limit=100")
        tis = tis["task_instances"]
        if body["state"] != "success":
            failed = [f"{t['task_id']}[{t['map_index']}]: {t['state']}" for t in tis if t["state"] != "success"]
            raise SystemExit(f"{dag_id} run {run_id}: {body['state']}; {failed}")
        wall = _instant(body["end_date"]) - _instant(body["queued_at"])
        return {"wall_s": wall, "tasks": len(tis), "task_s": sum(t["duration"] or 0 for t in tis)}


def _instant(text: str) -> float:
    return dt.datetime.fromisoformat(text).timestamp()


def local_run(project: Path, dag_id: str) -> dict:
    t0 = time.perf_counter()
    done = subprocess.run([etlc(), "run", f"specs/{dag_id}.yaml", "--date", "2025-01-01"], cwd=project,
                          env={**os.environ, "ETLC_PROJECT_ROOT": str(project), "NO_COLOR": "1"},
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"etlc run {dag_id} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return {"wall_s": wall, "tasks": None, "task_s": None}


# -- the sweep ------------------------------------------------------------------------------

def loaded_rows(folder: Path) -> int:
    import pyarrow.csv as pv

    return sum(pv.read_csv(p).num_rows for p in sorted(folder.glob("*.csv")))


def sweep(project: Path, sizes: list[int], modes: list[str], top: int, repeat: int, runner,
          progress: Path | None = None) -> list[dict]:
    """Every configuration at every size in each mode, best of ``repeat``; sizes and modes
    interleave per configuration, so that a sweep stopped early has comparable figures, and
    ``progress`` (a CSV) is rewritten after each run."""
    best: dict[tuple, dict] = {}
    expected = {rows: sp.expected_rows(project, rows) for rows in sizes}
    for r in range(repeat):
        confs = configurations(top)
        if SHUFFLE:  # a load that drifts during the sweep then does not follow e, t or l
            random.Random(SHUFFLE[0] + r).shuffle(confs)
        for i, ((e, t, l), rows) in enumerate(itertools.product(confs, sizes)):
            order = modes if (i + r) % 2 == 0 else modes[::-1]  # neither mode always first
            for mode in order:
                dag_id = sp.pipeline_id(mode, rows, e, t, l)
                got = {**runner(dag_id), "load": round(os.getloadavg()[0], 1)}
                kept = loaded_rows(sp.output_dir(project, mode, rows, e, t, l))
                if kept != expected[rows]:
                    raise SystemExit(f"{dag_id} loaded {kept} rows, the input keeps {expected[rows]}")
                key = (mode, rows, e, t, l)
                prev = best.get(key)
                if prev is None or got["wall_s"] < prev["wall_s"]:
                    best[key] = {"mode": mode, "rows": rows, "e": e, "t": t, "l": l, **got,
                                 "rows_per_s": rows / got["wall_s"]}
                best[key]["runs"] = (prev["runs"] if prev else 0) + 1
                task_s = "-" if got["task_s"] is None else f"{got['task_s']:.1f}"
                print(f"{dag_id:40s} {got['wall_s']:7.2f} s  tasks {got['tasks']}  task seconds {task_s}  "
                      f"load {got['load']:.1f}", flush=True)
                if progress is not None:
                    write_csv(list(best.values()), progress)
    return list(best.values())


# -- reports --------------------------------------------------------------------------------

def write_csv(results: list[dict], path: Path) -> None:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        for row in results:
            w.writerow({k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items() if k in FIELDS})


def markdown(results: list[dict], sizes: list[int], modes: list[str], top: int) -> str:
    """Per size: one row per configuration, each mode's wall seconds and rows/s side by side."""
    at = {(r["mode"], r["rows"], r["e"], r["t"], r["l"]): r for r in results}
    out = []
    for rows in sizes:
        out.append(f"\n### {rows:,} rows\n")
        out.append("| e t l | " + " | ".join(f"{m}: s | {m}: rows/s" for m in modes)
                   + " | tasks (airflow) | load (" + " / ".join(modes) + ") |")
        out.append("|---|" + "---|---|" * len(modes) + "---|---|")
        for e, t, l in configurations(top):
            cells = []
            for m in modes:
                r = at.get((m, rows, e, t, l))
                cells += [f"{r['wall_s']:.1f}", f"{r['rows_per_s']:,.0f}"] if r else ["-", "-"]
            tasks = (at.get(("airflow", rows, e, t, l)) or {}).get("tasks")
            load = " / ".join(f"{r['load']:.1f}" if r and r.get("load") is not None else "-"
                              for r in (at.get((m, rows, e, t, l)) for m in modes))
            out.append(f"| {e} {t} {l} | " + " | ".join(cells)
                       + f" | {tasks if tasks is not None else '-'} | {load} |")
        for m in modes:
            rs = [r for r in results if r["mode"] == m and r["rows"] == rows]
            if rs:
                b = min(rs, key=lambda r: r["wall_s"])
                one = at.get((m, rows, 1, 1, 1))
                out.append(f"\n{m}: best {b['wall_s']:.1f} s at e={b['e']} t={b['t']} l={b['l']}"
                           + (f"; 1 1 1: {one['wall_s']:.1f} s" if one else "")
                           + f"; worst {max(r['wall_s'] for r in rs):.1f} s")
    return "\n".join(out) + "\n"


def heatmaps(results: list[dict], sizes: list[int], modes: list[str], top: int, out: Path) -> list[Path]:
    """One PNG per mode and size: a panel per load partition count, extract x transform."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    at = {(r["mode"], r["rows"], r["e"], r["t"], r["l"]): r["wall_s"] for r in results}
    written = []
    for rows in sizes:
        values = [v for (m, n, *_), v in at.items() if n == rows]
        if not values:
            continue
        lo, hi = min(values), max(values)  # one scale for both modes of a size
        for mode in modes:
            fig, axes = plt.subplots(1, top, figsize=(3.2 * top, 3.4), squeeze=False)
            for li, ax in enumerate(axes[0], start=1):
                grid = np.array([[at.get((mode, rows, e, t, li), np.nan) for t in range(1, top + 1)]
                                 for e in range(1, top + 1)])
                im = ax.imshow(grid, cmap="viridis_r", vmin=lo, vmax=hi, origin="lower")
                for (ei, ti), v in np.ndenumerate(grid):
                    if not np.isnan(v):
                        ax.text(ti, ei, f"{v:.1f}", ha="center", va="center", fontsize=8,
                                color="white" if v > (lo + hi) / 2 else "black")  # legible on both ends
                ax.set_xticks(range(top), [str(t) for t in range(1, top + 1)])
                ax.set_yticks(range(top), [str(e) for e in range(1, top + 1)])
                ax.set_xlabel("transform partitions")
                ax.set_title(f"load partitions = {li}", fontsize=9)
            axes[0][0].set_ylabel("extract partitions")
            fig.colorbar(im, ax=axes[0].tolist(), label="wall seconds (Airflow's clock)")
            fig.suptitle(f"parallelism: {mode}, {rows:,} rows", fontsize=10)
            path = out / f"heatmap-{mode}-r{rows}.png"
            fig.savefig(path, dpi=110, bbox_inches="tight")
            plt.close(fig)
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[20_000, 1_000_000])
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--full", action="store_true", help="1-5 partitions per stage (125 configurations)")
    ap.add_argument("--modes", nargs="+", choices=sp.MODES, default=list(sp.MODES))
    ap.add_argument("--runner", choices=("scheduler", "local"), default="scheduler")
    ap.add_argument("--project", type=Path, default=bench_dir() / "sweep")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--dask-cluster", choices=("stack", "task"), default="stack",
                    help="parallelism: dask on the stack's scheduler and 2 workers (2 threads each), "
                         "or on a LocalCluster each task starts")
    ap.add_argument("--configs", nargs="+", default=[], metavar="ETL",
                    help="only these configurations, as digits: 111 232")
    ap.add_argument("--shuffle", type=int, default=None, metavar="SEED",
                    help="run the configurations in a random order from SEED (tables keep e, t, l "
                         "order): a machine whose load drifts then does not bias large e")
    args = ap.parse_args(argv)
    top = 5 if args.full else 3
    CHOSEN[:] = [tuple(int(d) for d in c) for c in args.configs]
    SHUFFLE[:] = [] if args.shuffle is None else [args.shuffle]
    project = args.project.resolve()
    out = (args.out or project / "results").resolve()
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    prepare(project, args.rows, args.modes, top)
    print(f"data, specs and DAGs in {project} ({time.monotonic() - t0:.0f} s); load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
    if args.runner == "local":
        results = sweep(project, args.rows, args.modes, top, args.repeat, lambda d: local_run(project, d),
                        out / "results.csv")
    else:
        results = _on_the_stack(project, args, top, out / "results.csv")
    results.sort(key=lambda r: (r["rows"], r["mode"], r["e"], r["t"], r["l"]))
    write_csv(results, out / "results.csv")
    text = markdown(results, args.rows, args.modes, top)
    (out / "results.md").write_text(f"runner: {args.runner}, dask cluster: {args.dask_cluster}, "
                                    f"best of {args.repeat}\n" + text)
    pngs = heatmaps(results, args.rows, args.modes, top, out)
    print(text)
    print(f"wrote {out / 'results.csv'}, {out / 'results.md'}, {len(pngs)} heat maps; "
          f"{time.monotonic() - t0:.0f} s in all; load average now {os.getloadavg()[0]:.1f}")
    return 0


def _on_the_stack(project: Path, args, top: int, progress: Path) -> list[dict]:
    api_port, dask_port = free_port(), free_port()
    on_stack = args.dask_cluster == "stack"
    stack(project, "down", timeout=180)  # a stack a failed sweep left behind
    processor = 0
    up = stack(project, "up", "--dags-folder", str(project / "dags"), "--no-mlflow",
               "--dask-workers", "2" if on_stack else "0",
               "--api-port", str(api_port), "--dask-port", str(dask_port),
               "--dask-dashboard-port", str(free_port()), "--log-server-port", str(free_port()),
               "--scheduler-health-port", str(free_port()), "--airflow-db", AIRFLOW_DB, "--wait", "300",
               dask_scheduler=f"tcp://127.0.0.1:{dask_port}" if on_stack else None)
    try:
        if up.returncode != 0:
            raise SystemExit(f"the native stack did not come up:\n{up.stdout[-3000:]}{up.stderr[-3000:]}")
        password = json.loads((project / "stack" / "secrets.json").read_text())["admin_password"]
        api = Airflow(f"http://127.0.0.1:{api_port}", password)
        dag_ids = [sp.pipeline_id(m, n, *c) for n in args.rows for m in args.modes for c in configurations(top)]
        api.wait_for_dags(dag_ids, timeout=900)
        # Every DAG is in the database: the scheduler and the tasks need no DAG processor, whose
        # re-parsing of every file each 30 s would take a core from the runs; paused till down.
        processor = int((project / "stack" / "pids" / "airflow-dag-processor.pid").read_text())
        os.killpg(processor, signal.SIGSTOP)
        api.run(dag_ids[0])  # not counted: the first task of a fresh stack starts far slower
        return sweep(project, args.rows, args.modes, top, args.repeat, api.run, progress)
    finally:
        if processor:
            os.killpg(processor, signal.SIGCONT)
        stack(project, "down", timeout=180)


if __name__ == "__main__":
    sys.exit(main())
