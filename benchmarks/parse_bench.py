"""DagBag parse time: etlc-generated DAG files vs the same DAGs hand-written vs dag-factory.

For a four-task pipeline (read -> filter/derive -> group_by -> partitioned Parquet write, every
step its own task), N copies of the DAG (N = 1, 100, 500 by default) are written three ways:

- generated:    N specs compiled by the real `etlc compile` (one file per spec);
- hand-written: N files written by this script with the Airflow 3 API, a PythonOperator per
                step, the callables defined in the file (pandas imported inside them), the same
                DAG arguments, params, default_args, doc_md and Asset inlets/outlets;
- dag-factory:  N YAML configs and N small loader .py files calling
                `dagfactory.load_yaml_dags(globals_dict=globals(), config_filepath=...)`, as the
                dag-factory 1.x docs show; the callables live in a module on PYTHONPATH.

Each measurement runs in a fresh interpreter that has already imported airflow.sdk and the
DagBag class (what a DAG processor has loaded before it parses anything); the time measured is
`DagBag(dag_folder=...)`, i.e. importing every file and collecting its DAG. Rounds interleave
the three variants; per variant the least disturbed of --repeat rounds (min; --stat median) of
the parsing process's CPU time (--clock seconds for wall clock) is reported, in ms per DAG,
with the ratio to hand-written. CPU time and min keep the figures stable on a shared machine. --profile N prints a cProfile of parsing N generated files.

    python benchmarks/parse_bench.py                 # N = 1 100 500, 5 rounds
    python benchmarks/parse_bench.py --n 100 --repeat 5 --plot parse.png --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = ("generated", "hand-written", "dag-factory")

SPEC = """\
etlc: 1
pipeline: {dag_id}
description: |
  Daily revenue per customer from the order exports ({dag_id}).
  Four steps, each its own Airflow task, for the parse-time benchmark.
owner: bench
tags: [bench, orders]
schedule: "@daily"
start_date: 2025-01-01
catchup: false
defaults:
  engine: pandas
  retries: 1
  retry_delay: 5m
  timeout: 30m
params:
  min_amount: {{type: number, default: 0, description: "Smallest order amount kept."}}
datasets:
  orders:
    format: csv
    path: data/in/orders_{{{{ ds_nodash }}}}.csv
    columns:
      order_id: {{type: int, nullable: false}}
      customer_id: {{type: int}}
      order_date: {{type: date, format: "%Y-%m-%d"}}
      amount: {{type: decimal, scale: 2}}
      status: {{type: string}}
  daily:
    format: parquet
    path: data/out/{dag_id}/daily/
    partition_by: [order_date]
steps:
  extract:
    read: orders
    task: own
  clean:
    from: extract
    filter: "status == 'paid' and amount >= $min_amount"
    derive:
      amount_cents: "round(amount * 100, 0)"
    task: own
  summarise:
    from: clean
    group_by: [order_date, customer_id]
    aggregate:
      orders: "count(*)"
      revenue: "sum(amount)"
    task: own
  load:
    from: summarise
    write: daily
    mode: overwrite_partitions
    task: own
"""

HAND = '''\
"""{dag_id}: daily revenue per customer from the order exports (hand-written)."""

from __future__ import annotations

import datetime

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, Asset, Param

DOC_MD = """Daily revenue per customer from the order exports ({dag_id}).
Four steps, each its own Airflow task, for the parse-time benchmark.

```mermaid
flowchart LR
  extract --> clean --> summarise --> load
```
"""

STAGING = "/tmp/staging/{dag_id}"


def extract(path, ds_nodash, run_id, **_):
    import pandas as pd

    df = pd.read_csv(path.format(ds_nodash=ds_nodash), parse_dates=["order_date"])
    out = f"{{STAGING}}/{{run_id}}/extract.parquet"
    df.to_parquet(out)
    return out


def clean(min_amount, run_id, ti, **_):
    import pandas as pd

    df = pd.read_parquet(ti.xcom_pull(task_ids="extract"))
    df = df[(df["status"] == "paid") & (df["amount"] >= min_amount)]
    df = df.assign(amount_cents=(df["amount"] * 100).round(0))
    out = f"{{STAGING}}/{{run_id}}/clean.parquet"
    df.to_parquet(out)
    return out


def summarise(run_id, ti, **_):
    import pandas as pd

    df = pd.read_parquet(ti.xcom_pull(task_ids="clean"))
    df = df.groupby(["order_date", "customer_id"], as_index=False).agg(
        orders=("order_id", "size"), revenue=("amount", "sum"))
    out = f"{{STAGING}}/{{run_id}}/summarise.parquet"
    df.to_parquet(out)
    return out


def load(target, ti, **_):
    import pandas as pd

    df = pd.read_parquet(ti.xcom_pull(task_ids="summarise"))
    df.to_parquet(target, partition_cols=["order_date"])
    return len(df)


with DAG(
    dag_id="{dag_id}",
    description="Daily revenue per customer from the order exports ({dag_id}).",
    doc_md=DOC_MD,
    schedule="@daily",
    start_date=datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc),
    catchup=False,
    tags=["bench", "orders"],
    params={{"min_amount": Param(0, type="number", description="Smallest order amount kept.")}},
    default_args={{"owner": "bench", "retries": 1, "retry_delay": datetime.timedelta(minutes=5),
                  "execution_timeout": datetime.timedelta(minutes=30)}},
) as dag:
    t_extract = PythonOperator(
        task_id="extract", python_callable=extract,
        op_kwargs={{"path": "data/in/orders_{{ds_nodash}}.csv", "ds_nodash": "{{{{ ds_nodash }}}}"}},
        inlets=[Asset("{dag_id}.orders")],
    )
    t_clean = PythonOperator(task_id="clean", python_callable=clean,
                             op_kwargs={{"min_amount": "{{{{ params.min_amount }}}}"}})
    t_summarise = PythonOperator(task_id="summarise", python_callable=summarise)
    t_load = PythonOperator(
        task_id="load", python_callable=load, op_kwargs={{"target": "data/out/{dag_id}/daily/"}},
        outlets=[Asset("{dag_id}.daily")],
    )
    t_extract >> t_clean >> t_summarise >> t_load
'''

FACTORY_YAML = """\
{dag_id}:
  default_args:
    owner: bench
    start_date: 2025-01-01
    retries: 1
    retry_delay:
      __type__: datetime.timedelta
      minutes: 5
    execution_timeout:
      __type__: datetime.timedelta
      minutes: 30
  description: "Daily revenue per customer from the order exports ({dag_id})."
  doc_md: |
    Daily revenue per customer from the order exports ({dag_id}).
    Four steps, each its own Airflow task, for the parse-time benchmark.
  schedule: "@daily"
  catchup: false
  tags: [bench, orders]
  params:
    min_amount: 0
  tasks:
    - task_id: extract
      operator: airflow.providers.standard.operators.python.PythonOperator
      python_callable: bench_callables.extract
      op_kwargs:
        path: "data/in/orders_{{ds_nodash}}.csv"
        ds_nodash: "{{{{ ds_nodash }}}}"
      inlets: ["{dag_id}.orders"]
    - task_id: clean
      operator: airflow.providers.standard.operators.python.PythonOperator
      python_callable: bench_callables.clean
      op_kwargs:
        min_amount: "{{{{ params.min_amount }}}}"
      dependencies: [extract]
    - task_id: summarise
      operator: airflow.providers.standard.operators.python.PythonOperator
      python_callable: bench_callables.summarise
      dependencies: [clean]
    - task_id: load
      operator: airflow.providers.standard.operators.python.PythonOperator
      python_callable: bench_callables.load
      op_kwargs:
        target: "data/out/{dag_id}/daily/"
      outlets: ["{dag_id}.daily"]
      dependencies: [summarise]
"""

FACTORY_LOADER = '''\
"""Loads the dag-factory config {dag_id}.yml (next to the configs folder) into Airflow."""

from pathlib import Path

from dagfactory import load_yaml_dags

load_yaml_dags(globals_dict=globals(), config_filepath=str(Path(__file__).parent / "configs" / "{dag_id}.yml"))
'''

PROBE = """
import json, sys, time
from airflow.dag_processing.dagbag import DagBag
import airflow.sdk  # noqa: F401  (loaded before any DAG file, as in a DAG processor)
t, c = time.perf_counter(), time.process_time()
bag = DagBag(dag_folder=sys.argv[1])
seconds, cpu = time.perf_counter() - t, time.process_time() - c
print(json.dumps({"seconds": seconds, "cpu": cpu, "dags": len(bag.dags), "errors": {k: v[-400:] for k, v in bag.import_errors.items()}}))
"""


def dag_ids(n: int) -> list[str]:
    return [f"bench_{i:04d}" for i in range(n)]


def write_generated(folder: Path, n: int, work: Path) -> None:
    proj = work / f"proj_{n}"
    shutil.rmtree(proj, ignore_errors=True)
    (proj / "specs").mkdir(parents=True)
    (proj / "pyproject.toml").write_text("[project]\nname = 'parse-bench'\nversion = '0'\n")
    for d in dag_ids(n):
        (proj / "specs" / f"{d}.yaml").write_text(SPEC.format(dag_id=d))
    etlc = Path(sys.executable).with_name("etlc")
    cmd = [str(etlc)] if etlc.is_file() else [sys.executable, "-m", "etlc_compiler.cli"]
    r = subprocess.run([*cmd, "compile", "specs", "-o", str(folder)], cwd=proj, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        raise SystemExit(f"etlc compile failed:\n{r.stdout}\n{r.stderr}")


def write_hand(folder: Path, n: int) -> None:
    folder.mkdir(parents=True)
    for d in dag_ids(n):
        (folder / f"{d}.py").write_text(HAND.format(dag_id=d))


def write_factory(folder: Path, n: int) -> None:
    (folder / "configs").mkdir(parents=True)
    for d in dag_ids(n):
        (folder / "configs" / f"{d}.yml").write_text(FACTORY_YAML.format(dag_id=d))
        (folder / f"{d}.py").write_text(FACTORY_LOADER.format(dag_id=d))


CALLABLES = ('"""The callables of the dag-factory variant (the same bodies as the hand-written DAGs)."""\n\n'
             'STAGING = "/tmp/staging/bench"\n'
             + HAND.split("STAGING = ")[1].split("\nwith DAG(")[0].split("\n", 1)[1].replace("{{", "{").replace("}}", "}"))


def env_for(home: Path, folder: Path, lib: Path, warm: bool = False) -> dict:
    env = dict(os.environ)
    env.update(AIRFLOW_HOME=str(home), AIRFLOW__CORE__LOAD_EXAMPLES="False",
               AIRFLOW__CORE__DAGS_FOLDER=str(folder), AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT="600",
               AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home}/airflow.db",
               PYTHONPATH=os.pathsep.join([str(lib), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
               STAGING="/tmp")
    if warm:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def measure(folder: Path, n: int, home: Path, lib: Path, cpu: int | None, warm: bool = False) -> dict:
    """One parse of the folder in a fresh interpreter. cold: no bytecode (every file compiled
    from source, as for a changed file); warm: the files' .pyc written by an earlier parse."""
    if not warm:
        for cache in folder.rglob("__pycache__"):
            shutil.rmtree(cache, ignore_errors=True)
    cmd = [sys.executable, "-c", PROBE, str(folder)]
    if cpu is not None and shutil.which("taskset"):
        cmd = ["taskset", "-c", str(cpu), *cmd]
    r = subprocess.run(cmd, env=env_for(home, folder, lib, warm), capture_output=True, text=True, timeout=1800,
                       check=False)
    if r.returncode != 0:
        raise SystemExit(f"parse probe failed for {folder}:\n{r.stderr[-4000:]}")
    out = json.loads(r.stdout.strip().splitlines()[-1])
    if out["errors"] or out["dags"] != n:
        raise SystemExit(f"{folder}: {out['dags']} of {n} DAGs, import errors: {out['errors']}")
    return out


def profile(n: int, work: Path, home: Path, lib: Path) -> None:
    folder = work / f"profile_{n}"
    shutil.rmtree(folder, ignore_errors=True)
    write_generated(folder, n, work)
    code = PROBE.replace("bag = DagBag(dag_folder=sys.argv[1])",
                         "import cProfile, pstats\npr = cProfile.Profile(); pr.enable()\n"
                         "bag = DagBag(dag_folder=sys.argv[1])\npr.disable()\n"
                         "pstats.Stats(pr, stream=sys.stderr).sort_stats('cumulative').print_stats(35)\n"
                         "pstats.Stats(pr, stream=sys.stderr).sort_stats('tottime').print_stats(25)")
    r = subprocess.run([sys.executable, "-c", code, str(folder)], env=env_for(home, folder, lib),
                       capture_output=True, text=True, check=False)
    print(r.stderr[-20000:])


def plot(results: dict, path: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, ax = plt.subplots(figsize=(6, 4))
    ns = sorted(results)
    for v in VARIANTS:
        ax.plot(ns, [results[n][v] * 1000 / n for n in ns], marker="o", label=v)
    ax.set_xscale("log")
    ax.set_xlabel("DAG files parsed (N)")
    ax.set_ylabel("ms per DAG")
    ax.set_title("DagBag parse time, four-task DAG")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, nargs="+", default=[1, 100, 500])
    ap.add_argument("--repeat", type=int, default=5, help="rounds per N")
    ap.add_argument("--stat", choices=("min", "median"), default="min",
                    help="how rounds combine (default min: the least disturbed round)")
    ap.add_argument("--clock", choices=("cpu", "seconds"), default="cpu",
                    help="process CPU time (default; robust on a shared machine) or wall-clock seconds")
    ap.add_argument("--cpu", type=int, default=None, help="pin the probes to this CPU (taskset)")
    ap.add_argument("--bytecode", choices=("cold", "warm", "both"), default="both",
                    help="cold: files compiled from source each parse; warm: .pyc present (default: both)")
    ap.add_argument("--plot", metavar="PNG", help="write a chart (skipped quietly without matplotlib)")
    ap.add_argument("--json", metavar="PATH", help="write the raw timings as JSON")
    ap.add_argument("--profile", type=int, metavar="N", help="print a cProfile of parsing N generated DAGs")
    ap.add_argument("--keep", metavar="DIR", help="build the DAG folders here and keep them")
    args = ap.parse_args(argv)

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="etlc-parse-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    home = work / "airflow_home"
    home.mkdir(exist_ok=True)
    lib = work / "lib"
    lib.mkdir(exist_ok=True)
    (lib / "bench_callables.py").write_text(CALLABLES)
    try:
        if args.profile:
            profile(args.profile, work, home, lib)
            return 0
        modes = ("cold", "warm") if args.bytecode == "both" else (args.bytecode,)
        results: dict[str, dict[int, dict[str, float]]] = {m: {} for m in modes}
        raw: dict[str, dict[str, dict[str, list[dict]]]] = {m: {} for m in modes}
        pick = min if args.stat == "min" else statistics.median
        for n in args.n:
            folders = {v: work / f"{v}_{n}" for v in VARIANTS}
            for f in folders.values():
                shutil.rmtree(f, ignore_errors=True)
            write_generated(folders["generated"], n, work)
            write_hand(folders["hand-written"], n)
            write_factory(folders["dag-factory"], n)
            for mode in modes:
                warm = mode == "warm"
                if warm:                                         # write the .pyc files once
                    for v in VARIANTS:
                        measure(folders[v], n, home, lib, args.cpu, warm=True)
                times: dict[str, list[dict]] = {v: [] for v in VARIANTS}
                for r in range(args.repeat):
                    order = VARIANTS[r % 3:] + VARIANTS[:r % 3]      # rotate, so drift hits all alike
                    for v in order:
                        times[v].append(measure(folders[v], n, home, lib, args.cpu, warm=warm))
                results[mode][n] = {v: pick(m[args.clock] for m in t) for v, t in times.items()}
                raw[mode][str(n)] = times
                print(f"N={n} {mode}: " + ", ".join(f"{v} {results[mode][n][v] * 1000 / n:.2f} ms/DAG"
                                                    for v in VARIANTS), file=sys.stderr, flush=True)
        worst = 0.0
        for mode in modes:
            res = results[mode]
            print()
            print(f"DagBag parse time, four-task DAG, {mode} bytecode, {args.stat} of {args.repeat} rounds, "
                  f"{'process CPU time' if args.clock == 'cpu' else 'wall clock'} (ms per DAG; ratio to hand-written)")
            print(f"{'N':>5} | {'generated':>18} | {'hand-written':>12} | {'dag-factory':>18}")
            print(f"{'-' * 5}-+-{'-' * 18}-+-{'-' * 12}-+-{'-' * 18}")
            for n in sorted(res):
                hand = res[n]["hand-written"]
                cells = [f"{res[n][v] * 1000 / n:7.2f} ({res[n][v] / hand:4.2f}x)" for v in VARIANTS]
                print(f"{n:>5} | {cells[0]:>18} | {hand * 1000 / n:>12.2f} | {cells[2]:>18}")
            worst = max([worst] + [res[n]["generated"] / res[n]["hand-written"] for n in res])
        print(f"\ntarget: generated within 1.1x of hand-written at every N: "
              f"{'met' if worst <= 1.1 else 'NOT met'} (worst {worst:.2f}x)")
        if args.json:
            Path(args.json).write_text(json.dumps({"stat": args.stat, "clock": args.clock, "seconds": {
                m: {str(k): v for k, v in r.items()} for m, r in results.items()}, "rounds": raw}, indent=1))
        if args.plot:
            plot(results[modes[0]], args.plot)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
