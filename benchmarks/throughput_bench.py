"""Benchmark: `etlc run` on each engine against the same jobs hand-written, whole processes.

Three jobs over a lineitem-like table (throughput_data.py; 8 Parquet files, cached by size
under $ETLC_BENCH_DIR, default /tmp/etlc-bench):

    q1    TPC-H Q1 style: read the 8 files, filter l_shipdate <= date '1998-09-02', derive
          disc_price and charge, group by l_returnflag, l_linestatus, eight aggregates, sort,
          write Parquet
    join  the fact joined with a 100 k-row part and a 1 k-row supplier dimension, then
          aggregated by brand and region, sorted, written to Parquet
    csv   a typed read of the fact as one CSV file (16 declared columns), written to Parquet

Each implementation runs as its own process: `etlc run` of a generated spec (`engine: pandas`,
`engine: duckdb`; validated with `etlc validate` first) and the same job hand-written with
DuckDB, Polars, pandas and Dask (throughput_jobs.py).  One interleaved run: every repeat goes
through every size, job and implementation (the order of implementations rotates), best of
--repeat.  Wall seconds, rows/s and peak memory (the child's ru_maxrss from wait4).  From two
sizes it reports the per-row cost and the fixed overhead (extrapolated to 0 rows) of each
implementation, checks the targets of issue 9 for the duckdb engine, and checks that every
output equals hand-written DuckDB's (printed; not a test).  With ``etlc-dask`` and a
hand-written Dask run it also gives the dask engine's ratios to ``dask-cluster`` (the same
LocalCluster) and to ``dask`` (threaded), best and median, wall and CPU (dask_ratios.py).

    python benchmarks/throughput_bench.py [--rows 2000000 12000000] [--repeat 3]
        [--jobs q1 join csv] [--engines etlc-duckdb etlc-pandas etlc-dask duckdb polars
        pandas dask dask-cluster etlc-dask-cuda]
        [--out DIR]
"""
from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import dask_ratios
from throughput_data import bench_dir
from throughput_jobs import JOIN_KEYS, Q1_KEYS, etlc_spec

IMPLS = ("etlc-duckdb", "etlc-pandas", "etlc-dask", "duckdb", "polars", "pandas", "dask", "dask-cluster",
         "etlc-dask-cuda")
DASK_PARTITIONS = 8  # etlc-dask*: one partition per file of the fact table
LABELS = {"etlc-duckdb": "etlc run, engine: duckdb", "etlc-pandas": "etlc run, engine: pandas",
          "etlc-dask": f"etlc run, engine: dask ({DASK_PARTITIONS} partitions)",
          "etlc-dask-cuda": f"etlc run, engine: dask-cuda ({DASK_PARTITIONS} partitions)",
          "duckdb": "hand-written DuckDB", "polars": "hand-written Polars",
          "pandas": "hand-written pandas", "dask": "hand-written Dask",
          "dask-cluster": "hand-written Dask on a LocalCluster (etlc-dask's kind)"}
LIBRARY = {"duckdb": "duckdb", "polars": "polars", "pandas": "pandas", "dask": "dask",
           "dask-cluster": "distributed"}
KEYS = {"q1": Q1_KEYS, "join": JOIN_KEYS}
TOLERANCE = 1e-6  # relative: float sums against DuckDB's exact decimal sums
TARGETS = {"per_row": 1.3, "fixed_s": 0.3, "memory": 2.0}
SMALL = 100_000  # a third, smallest size up to this measures the fixed overhead directly


# -- running one process -------------------------------------------------------------------

def output_path(root: Path, job: str, impl: str, rows: int) -> Path:
    folder = impl.startswith("dask") and job == "csv"  # Dask writes a folder of parts
    return root / "out" / job / f"{impl}-{rows}{'' if folder else '.parquet'}"


def command(root: Path, job: str, impl: str, rows: int) -> list[str]:
    if impl.startswith("etlc-"):
        etlc = Path(sys.executable).with_name("etlc")
        return [str(etlc), "run", f"specs/{job}-{impl}-{rows}.yaml", "--date", "2025-01-01"]
    return [sys.executable, str(HERE / "throughput_jobs.py"), impl, job, "--root", str(root),
            "--rows", str(rows), "--out", str(output_path(root, job, impl, rows))]


def child_env(root: Path) -> dict:
    """The environment of every timed process: Python bytecode cached under the bench folder
    (``PYTHONPYCACHEPREFIX``), written even where ``PYTHONDONTWRITEBYTECODE`` is set, as an
    installed package has it.  Without it each `etlc run` compiled its ~150 modules from
    source (about 0.15 s of its fixed overhead on the 2-core VM) while a hand-written script
    compiles one file; the repository itself stays free of ``__pycache__``."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(root / "pycache")
    return env


def compile_sources(root: Path) -> None:
    """Bytecode of etlc's packages and of the hand-written jobs, before any timed run (else the
    first repeat of each pays for compiling them)."""
    folders = [str(HERE)]
    for package in ("etlc_compiler", "etlc_runtime"):
        spec = importlib.util.find_spec(package)
        folders += list(spec.submodule_search_locations or []) if spec else []
    subprocess.run([sys.executable, "-m", "compileall", "-q", *folders], env=child_env(root),
                   check=False, stdout=subprocess.DEVNULL)


def run_process(cmd: list[str], cwd: Path, log: Path, timeout: float,
                env: dict | None = None) -> tuple[float, float, int, int]:
    """(wall seconds, CPU seconds, peak resident bytes, exit code) of one child process;
    past ``timeout`` seconds its process group is killed (exit code -9)."""
    with open(log, "wb") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, env=env)
        timer = threading.Timer(timeout, os.killpg, (proc.pid, signal.SIGKILL))
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, proc.returncode


def failure(log: Path) -> str:
    lines = [ln.strip() for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    text = next((ln for ln in reversed(lines) if "error" in ln.lower()), lines[-1] if lines else "")
    if "EngineNotAvailable" in text or "later release" in text or "provides the pandas" in text:
        return "not available"
    text = re.sub(r"^\S+\.yaml:\d+:\d+: ", "", text).replace("|", "/")  # drop spec position
    return "failed: " + (text[:150] + "..." if len(text) > 150 else text)


def clear(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def clear_staging(folder: Path) -> None:
    """Everything etlc left under ``folder`` (staging, spill, temporaries) except ``cache``:
    the check verdict `etlc validate` cached is what a user's runs reuse (removing it made
    every run after the first check its spec again, about 0.2 s of the fixed overhead)."""
    if folder.is_dir():
        for child in folder.iterdir():
            if child.name != "cache":
                clear(child)


# -- the interleaved run -------------------------------------------------------------------

def prepare(root: Path, args) -> None:
    (root / "specs").mkdir(parents=True, exist_ok=True)
    (root / "logs").mkdir(exist_ok=True)
    if not (root / "pyproject.toml").exists():
        (root / "pyproject.toml").write_text('[project]\nname = "etlc-bench"\nversion = "0"\n')
    # in a child: generating would grow this process, and every child's peak memory (ru_maxrss)
    # starts from its parent's resident size at fork
    subprocess.run([sys.executable, str(HERE / "throughput_data.py"), "--rows",
                    *map(str, args.rows), *(["--csv"] if "csv" in args.jobs else [])], check=True)
    specs = []
    for rows in args.rows:
        for job in args.jobs:
            for impl in args.engines:
                if impl.startswith("etlc-"):
                    out = output_path(root, job, impl, rows).relative_to(root)
                    engine = impl.removeprefix("etlc-")
                    spec = etlc_spec(job, rows, engine, str(out))
                    if engine.startswith("dask"):
                        spec = spec.replace(f"defaults: {{engine: {engine}}}", f"defaults: "
                                            f"{{engine: {engine}, partitions: {DASK_PARTITIONS}}}")
                    specs.append(f"specs/{job}-{impl}-{rows}.yaml")
                    (root / specs[-1]).write_text(spec)
    compile_sources(root)
    if specs:
        etlc = Path(sys.executable).with_name("etlc")
        check = subprocess.run([str(etlc), "validate", *specs], cwd=root, check=False,
                               capture_output=True, text=True, env=child_env(root))
        said = (check.stdout + check.stderr).strip().splitlines()
        print(f"etlc validate: {said[-1] if said else ''}", flush=True)
        if check.returncode:
            sys.exit(f"the generated specs do not validate:\n{check.stdout}{check.stderr}")


def skipped(broken: dict, impl: str, job: str, rows: int) -> str | None:
    """Why (impl, job) has no run at this size: failed (at every size) or stopped (here and
    above)."""
    if (impl, job) in broken and rows >= broken[impl, job][0]:
        return broken[impl, job][1]
    return None


def measure(root: Path, args, saved=lambda samples, broken: None) -> tuple[list[dict], dict]:
    """Samples, and ``broken``: (impl, job) -> (from which size, why) for failed or stopped;
    ``saved`` is called after every run (a partial JSON, for a run cut short)."""
    samples, broken, once = [], {}, set()
    impls = list(args.engines)
    for rep in range(args.repeat):
        order = impls[rep % len(impls):] + impls[:rep % len(impls)]
        for rows in args.rows:
            for job in args.jobs:
                for impl in order:
                    if skipped(broken, impl, job, rows) or (impl, job, rows) in once:
                        continue
                    out = output_path(root, job, impl, rows)
                    clear(out)
                    out.parent.mkdir(parents=True, exist_ok=True)
                    log = root / "logs" / f"{job}-{impl}-{rows}.log"
                    secs, cpu, peak, rc = run_process(command(root, job, impl, rows), root, log,
                                                      args.timeout, child_env(root))
                    if impl.startswith("etlc-"):  # staging of this run; not timed
                        clear_staging(root / ".etlc")
                    if rc == -signal.SIGKILL and secs >= args.timeout:
                        broken[impl, job] = (rows, (f"stopped after {args.timeout:.0f} s "
                                             f"({peak / 2**20:,.0f} MB by then)"))
                    elif rc:
                        broken[impl, job] = (0, failure(log))
                    if rc:
                        print(f"  {job:4} {rows:>11,} {impl:12} {broken[impl, job][1]}",
                              flush=True)
                        saved(samples, broken)
                        continue
                    if secs > args.slow:
                        once.add((impl, job, rows))  # slow: this one run is its best
                    samples.append({"repeat": rep, "rows": rows, "job": job, "impl": impl,
                                    "seconds": secs, "cpu_seconds": cpu, "peak_bytes": peak})
                    print(f"  {job:4} {rows:>11,} {impl:12} {secs:8.2f} s {cpu:8.2f} s CPU "
                          f"{peak / 2**20:8.0f} MB", flush=True)
                    saved(samples, broken)
    return samples, broken


# -- correctness: every output against hand-written DuckDB's ------------------------------

def _fingerprint(con, path: Path, job: str):
    src = f"read_parquet('{path}/*.parquet')" if path.is_dir() else f"read_parquet('{path}')"
    if job == "csv":
        return con.execute(
            "SELECT count(*), sum(l_orderkey), sum(l_quantity::DOUBLE), "
            "sum(l_extendedprice::DOUBLE), sum(l_tax::DOUBLE), min(l_shipdate::DATE), "
            "max(l_receiptdate::DATE), count(DISTINCT l_comment), "
            f"count(DISTINCT l_shipmode || l_returnflag) FROM {src}").fetchall()
    keys = ", ".join(KEYS[job])
    return con.execute(f"SELECT * FROM {src} ORDER BY {keys}").fetchall()


def _same(a, b) -> float | None:
    """Largest relative difference of two result sets; None when shapes or keys differ."""
    if len(a) != len(b) or any(len(x) != len(y) for x, y in zip(a, b)):
        return None
    worst = 0.0
    for x, y in zip(a, b):
        for u, v in zip(x, y):
            if isinstance(u, (str, dt.date)) or u is None:
                if u != v:
                    return None
                continue
            u, v = float(u), float(v)
            worst = max(worst, abs(u - v) / max(abs(u), abs(v), 1e-300))
    return worst


def check_outputs(root: Path, args, broken) -> dict:
    import duckdb
    con, verdicts = duckdb.connect(), {}
    for job in args.jobs:
        for rows in args.rows:
            ref_path = output_path(root, job, "duckdb", rows)
            if not ref_path.exists():
                continue
            ref = _fingerprint(con, ref_path, job)
            for impl in args.engines:
                path = output_path(root, job, impl, rows)
                if impl == "duckdb" or skipped(broken, impl, job, rows) or not path.exists():
                    continue
                diff = _same(_fingerprint(con, path, job), ref)
                ok = diff is not None and diff <= TOLERANCE
                verdicts[f"{job}/{impl}/{rows}"] = {"equal": ok, "max_rel_diff": diff}
                print(f"  {job:4} {rows:>11,} {impl:12} "
                      + ("equal" if ok else "DIFFERS") + f" (max relative difference {diff})")
    return verdicts


# -- summary, targets, report --------------------------------------------------------------

def summarise(samples: list[dict]) -> dict:
    groups: dict = {}
    for s in samples:
        groups.setdefault((s["job"], s["impl"], s["rows"]), []).append(s)
    out = {}
    for key, runs in groups.items():
        secs = sorted(r["seconds"] for r in runs)
        out[key] = {"best": secs[0], "median": statistics.median(secs), "worst": secs[-1],
                    "runs": len(secs), "cpu": min(r["cpu_seconds"] for r in runs),
                    "peak_bytes": max(r["peak_bytes"] for r in runs)}
    return out


def scaling(best: dict, job: str, impl: str, sizes: list[int]) -> dict | None:
    """Per-row cost from the two largest sizes; fixed overhead = the line's value at 0 rows."""
    have = [n for n in sizes if (job, impl, n) in best]
    if len(have) < 2:
        return None
    n1, n2 = have[-2], have[-1]
    t1, t2 = best[job, impl, n1]["best"], best[job, impl, n2]["best"]
    c1, c2 = best[job, impl, n1]["cpu"], best[job, impl, n2]["cpu"]
    per_row, cpu_per_row = (t2 - t1) / (n2 - n1), (c2 - c1) / (n2 - n1)
    out = {"per_row_ns": per_row * 1e9, "fixed_s": t1 - per_row * n1, "from": [n1, n2],
           "cpu_per_row_ns": cpu_per_row * 1e9, "cpu_fixed_s": c1 - cpu_per_row * n1}
    if len(have) > 2 and have[0] <= SMALL:
        out["small_rows"], out["small_s"] = have[0], best[job, impl, have[0]]["best"]
    return out


def targets(best: dict, scale: dict, broken: dict, jobs: list[str],
            sizes: list[int]) -> list[dict]:
    rows = []
    for job in jobs:
        ours, ref = scale.get((job, "etlc-duckdb")), scale.get((job, "duckdb"))
        if ref is None:
            continue
        both = [n for n in sizes if (job, "etlc-duckdb", n) in best and (job, "duckdb", n) in best]
        top = both[-1] if both else sizes[-1]
        if ours is None:
            why = broken.get(("etlc-duckdb", job), (0, "no runs"))[1]
            for what in ("per-row cost", "fixed overhead", "peak memory"):
                rows.append({"job": job, "target": f"duckdb engine {what}",
                             "value": f"no figures: {why}", "met": None})
        else:
            ratio = ours["per_row_ns"] / ref["per_row_ns"]
            cpu_ratio = ours["cpu_per_row_ns"] / ref["cpu_per_row_ns"]
            pairs = "" if ours["from"] == ref["from"] else (
                f"; sizes differ: {ours['from']} against {ref['from']}")
            extra = ours["fixed_s"] - ref["fixed_s"]
            value = f"{extra:+.2f} s extrapolated"
            if "small_s" in ours and "small_s" in ref:  # the verdict goes by the measured one
                extra = ours["small_s"] - ref["small_s"]
                value += f", {extra:+.2f} s measured at {ours['small_rows']:,} rows"
            mem = (best[job, "etlc-duckdb", top]["peak_bytes"]
                   / best[job, "duckdb", top]["peak_bytes"])
            rows += [
                {"job": job, "target": "duckdb engine per-row cost <= 1.3x hand-written DuckDB",
                 "value": f"{ratio:.2f}x (CPU time: {cpu_ratio:.2f}x){pairs}",
                 # a slope below zero is noise larger than the work between the sizes
                 "met": ratio <= TARGETS["per_row"] if min(ours["per_row_ns"],
                                                           ref["per_row_ns"]) > 0 else None},
                {"job": job, "target": "duckdb engine fixed overhead < 0.3 s more",
                 "value": value, "met": extra < TARGETS["fixed_s"]},
                {"job": job, "target": f"duckdb engine peak memory at {top:,} rows <= 2x",
                 "value": f"{mem:.2f}x", "met": mem <= TARGETS["memory"]},
            ]
        top = sizes[-1]
        if (job, "etlc-pandas", top) in best and (job, "pandas", top) in best:
            ratio = best[job, "etlc-pandas", top]["best"] / best[job, "pandas", top]["best"]
            rows.append({"job": job, "target": f"pandas engine at {top:,} rows <= hand-written "
                         "pandas", "value": f"{ratio:.2f}x", "met": ratio <= 1.0})
    return rows


def machine() -> dict:
    from importlib.metadata import PackageNotFoundError, version
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text()
                .splitlines() if ln.startswith("model name")), platform.processor())
    mem = next((int(ln.split()[1]) // 2**20 for ln in Path("/proc/meminfo").read_text()
                .splitlines() if ln.startswith("MemTotal")), 0)

    def git(*a):
        return subprocess.run(["git", *a], cwd=HERE, capture_output=True, text=True,
                              check=False).stdout.strip()

    dirty = len(git("status", "--porcelain", "--untracked-files=no").splitlines())
    libs = {}
    for name in ("duckdb", "polars", "pandas", "pyarrow", "dask", "numpy"):
        try:
            libs[name] = version(name)
        except PackageNotFoundError:
            libs[name] = None
    return {"date_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "host": platform.node(), "cpu": cpu, "cores": os.cpu_count(), "memory_gib": mem,
            "load_average_at_start": os.getloadavg(), "python": platform.python_version(),
            "harness_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "commit": git("rev-parse", "--short", "HEAD"),
            "tracked_files_modified": dirty, "libraries": libs}


def markdown(meta, best, scale, goals, verdicts, broken, args) -> str:
    sizes, lines = args.rows, []
    lines.append(f"Measured {meta['date_utc']} on {meta['cpu']} ({meta['cores']} cores, "
                 f"{meta['memory_gib']} GiB), commit {meta['commit']} "
                 f"({meta['tracked_files_modified']} tracked files modified in the tree), "
                 f"load average at start {meta['load_average_at_start'][0]:.1f}; best of up to "
                 f"{args.repeat} runs (runs per cell in the tables), whole processes, interleaved, warm file cache, "
                 f"bytecode cached (PYTHONPYCACHEPREFIX under the bench folder); peak memory "
                 f"is each process's ru_maxrss (at least the harness's "
                 f"{meta['harness_peak_mb']:.0f} MB, which it starts from).")
    lines.append("Libraries: " + ", ".join(f"{k} {v or 'not installed'}"
                                            for k, v in meta["libraries"].items()) + ".")
    for job in args.jobs:
        lines += ["", f"### {job}", "",
                  ("| rows | implementation | best s | median s | spread (runs) | rows/s | CPU s "
                   "| peak MB | vs DuckDB |"), "|---|---|---|---|---|---|---|---|---|"]
        for n in sizes:
            ref = best.get((job, "duckdb", n))
            for impl in args.engines:
                b = best.get((job, impl, n))
                if b is None:
                    why = skipped(broken, impl, job, n) or (
                        "not installed" if importlib.util.find_spec(
                            LIBRARY.get(impl, "etlc_runtime")) is None else "no run")
                    lines.append(f"| {n:,} | {LABELS[impl]} | {why} | | | | | | |")
                    continue
                spread = b["worst"] / b["best"] - 1
                vs = f"{b['best'] / ref['best']:.2f}x" if ref else ""
                lines.append(f"| {n:,} | {LABELS[impl]} | {b['best']:.2f} | {b['median']:.2f} "
                             f"| {spread:.0%} ({b['runs']}) | {n / b['best']:,.0f} "
                             f"| {b['cpu']:.2f} "
                             f"| {b['peak_bytes'] / 2**20:,.0f} | {vs} |")
        rows = [(impl, scale[job, impl]) for impl in args.engines if (job, impl) in scale]
        if rows:
            lines += ["", ("Per-row cost (between the two largest sizes with runs) and fixed "
                      "overhead:"), "",
                      ("| implementation | sizes | ns per row | fixed overhead s (extrapolated) "
                       "| s at the smallest size | CPU ns per row | CPU fixed s |"),
                      "|---|---|---|---|---|---|---|"]
            lines += [f"| {LABELS[i]} | {s['from'][0]:,} -> {s['from'][1]:,} "
                      f"| {s['per_row_ns']:.1f} | {s['fixed_s']:.2f} | "
                      + (f"{s['small_s']:.2f} ({s['small_rows']:,} rows)" if "small_s" in s
                         else "") + f" | {s['cpu_per_row_ns']:.1f} | {s['cpu_fixed_s']:.2f} |"
                      for i, s in rows]
    if goals:
        lines += ["", "### Targets (issue 9)", "", "| job | target | value | met |",
                  "|---|---|---|---|"]
        lines += [f"| {g['job']} | {g['target']} | {g['value']} | "
                  f"{'n/a' if g['met'] is None else 'met' if g['met'] else 'not met'} |"
                  for g in goals]
    if verdicts:
        bad = [k for k, v in verdicts.items() if not v["equal"]]
        lines += ["", f"Outputs equal to hand-written DuckDB's (relative {TOLERANCE:g}): "
                  f"{len(verdicts) - len(bad)} of {len(verdicts)}"
                  + (f"; differ: {', '.join(bad)}" if bad else "") + "."]
    return "\n".join(lines) + "\n"


def plot(best, args, path: Path) -> bool:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, axes = plt.subplots(len(args.jobs), 2, figsize=(11, 2.2 + 1.6 * len(args.jobs)),
                             squeeze=False)
    impls = list(args.engines)
    height = 0.8 / len(args.rows)
    for row, job in enumerate(args.jobs):
        for col, (field, scale_, label) in enumerate(
                (("best", 1, "seconds (lower is better)"),
                 ("peak_bytes", 2**20, "peak memory, MB"))):
            ax = axes[row][col]
            for k, n in enumerate(args.rows):
                vals = [best[job, i, n][field] / scale_ if (job, i, n) in best else 0
                        for i in impls]
                ax.barh([y + k * height for y in range(len(impls))], vals, height,
                        label=f"{n:,} rows")
            for y, impl in enumerate(impls):
                if not any((job, impl, n) in best for n in args.rows):
                    ax.text(0, y + height * (len(args.rows) - 1) / 2, " not available or failed",
                            va="center", fontsize=7, color="gray")
            ax.set_yticks([y + height * (len(args.rows) - 1) / 2 for y in range(len(impls))])
            ax.set_yticklabels([LABELS[i] for i in impls], fontsize=8)
            ax.invert_yaxis()
            ax.set_title(f"{job}: {label}", fontsize=9)
            if row == 0 and col == 0:
                ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return True


def run_args(args) -> dict:
    return {k: getattr(args, k) for k in ("rows", "repeat", "jobs", "engines")}


def report(meta, samples, verdicts, broken, args, out: Path) -> dict:
    best = summarise(samples)
    scale = {(j, i): s for j in args.jobs for i in args.engines
             if (s := scaling(best, j, i, args.rows))}
    goals = targets(best, scale, broken, args.jobs, args.rows)
    versus_dask = dask_ratios.ratios(samples, args.jobs, args.rows)
    text = markdown(meta, best, scale, goals, verdicts, broken, args)
    text += "\n".join(dask_ratios.markdown(versus_dask, LABELS)) + ("\n" if versus_dask else "")
    print("\n" + text)
    (out / "throughput.md").write_text(text)
    result = {"meta": meta, "args": run_args(args),
              "samples": samples,
              "best": [{"job": j, "impl": i, "rows": n, **v} for (j, i, n), v in best.items()],
              "scaling": [{"job": j, "impl": i, **v} for (j, i), v in scale.items()],
              "targets": goals, "dask_ratios": versus_dask, "correctness": verdicts,
              "unavailable": {f"{j}/{i}": list(why) for (i, j), why in broken.items()}}
    (out / "throughput.json").write_text(json.dumps(result, indent=1, default=str))
    drawn = plot(best, args, out / "throughput.png")
    print(f"written: {out}/throughput.md, throughput.json"
          + (", throughput.png" if drawn else " (no plot: matplotlib is not installed)"))
    return result


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000, 2_000_000, 12_000_000],
                    help="sizes; per-row cost from the two largest, a smallest size up to "
                    f"{SMALL:,} rows measures the fixed overhead directly")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--jobs", nargs="+", choices=("q1", "join", "csv"),
                    default=["q1", "join", "csv"])
    ap.add_argument("--engines", nargs="+", choices=IMPLS,
                    default=[i for i in IMPLS if i != "etlc-dask-cuda"],  # needs a GPU
                    help="etlc engines (etlc-duckdb, etlc-pandas) and hand-written versions")
    ap.add_argument("--timeout", type=float, default=900,
                    help="seconds; a process still running is killed and not run at that size "
                    "or above (default 900)")
    ap.add_argument("--slow", type=float, default=120,
                    help="seconds; a run longer than this is not repeated (default 120)")
    ap.add_argument("--out", type=Path, help="tables (Markdown, JSON) and PNG; default "
                    "<bench folder>/results")
    ap.add_argument("--from-json", type=Path, metavar="JSON",
                    help="run nothing: redo the tables and plot of a saved throughput.json")
    args = ap.parse_args(argv)
    root = bench_dir()
    out = args.out or root / "results"
    out.mkdir(parents=True, exist_ok=True)
    if args.from_json:
        saved = json.loads(args.from_json.read_text())
        vars(args).update(saved["args"])
        broken = {tuple(reversed(k.split("/"))): tuple(v)
                  for k, v in saved["unavailable"].items()}
        verdicts = saved["correctness"] or check_outputs(root, args, broken)
        return report(saved["meta"], saved["samples"], verdicts, broken, args, out)
    args.rows = sorted(set(args.rows))
    missing = [i for i in args.engines if i in LIBRARY and importlib.util.find_spec(LIBRARY[i]) is None]
    if missing:
        print(f"not installed, skipped: {', '.join(missing)} (pip install -e '.[bench]')")
    args.engines = [i for i in args.engines if i not in missing]
    meta = machine()
    print(f"bench folder {root}; commit {meta['commit']}; {meta['cores']} cores; "
          f"load {meta['load_average_at_start'][0]:.1f}", flush=True)
    prepare(root, args)
    def saved(samples, broken):
        (out / "throughput-partial.json").write_text(json.dumps({
            "meta": meta, "args": run_args(args), "samples": samples, "correctness": {},
            "unavailable": {f"{j}/{i}": list(w) for (i, j), w in broken.items()}}))

    samples, broken = measure(root, args, saved)
    print("correctness (against hand-written DuckDB):", flush=True)
    verdicts = check_outputs(root, args, broken)
    return report(meta, samples, verdicts, broken, args, out)


if __name__ == "__main__":
    main()
