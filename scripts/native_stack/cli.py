"""The native stack's command line: `up`, `status`, `down` and `env` (scripts/stack.py).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from . import __doc__ as PACKAGE_DOC
from .environment import base_env
from .processes import stop
from .settings import DEFAULT_STATE, ROOT, SERVICE_ORDER, load_settings
from .status import cmd_status
from .up import cmd_up


def cmd_down(args: argparse.Namespace) -> int:
    s = load_settings(Path(args.state_dir).resolve())
    if s is None:
        print(f"no stack state in {args.state_dir}: nothing to stop")
        return 0
    for name in reversed(SERVICE_ORDER):
        stop(s, name)
    print("stack down (PostgreSQL and Redis, which `up` did not start, are left running)")
    return 0


def cmd_env(args: argparse.Namespace) -> int:
    s = load_settings(Path(args.state_dir).resolve())
    if s is None:
        print(f"no stack state in {args.state_dir}: run `up` first", file=sys.stderr)
        return 1
    for k, v in sorted(base_env(s).items()):
        if k.startswith(("AIRFLOW_CONN_", "ETLC_", "DASK_", "MLFLOW_")):
            print(f"export {k}={shlex.quote(v)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="stack", description=PACKAGE_DOC.split("\n\n")[0])
    p.add_argument("--state-dir", default=os.environ.get("ETLC_STACK_DIR", str(DEFAULT_STATE)),
                   help="where pids, logs, secrets and AIRFLOW_HOME live (default .etlc/stack)")
    sub = p.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="start the stack")
    up.add_argument("--dags-folder", default=str(ROOT / "generated_dags"))
    up.add_argument("--extra-dags", action="append", default=[], metavar="DIR",
                    help="another folder of DAG files, as a DAG bundle of its own (repeatable)")
    up.add_argument("--celery", action="store_true",
                    help="CeleryExecutor on Redis with a Celery worker (default: LocalExecutor)")
    up.add_argument("--sqlite", action="store_true", help="SQLite metadata DB even if Postgres runs")
    up.add_argument("--no-mlflow", action="store_true")
    up.add_argument("--api-port", type=int, default=int(os.environ.get("ETLC_STACK_API_PORT", "8080")))
    up.add_argument("--dask-port", type=int, default=int(os.environ.get("ETLC_STACK_DASK_PORT", "8786")))
    up.add_argument("--dask-dashboard-port", type=int,
                    default=int(os.environ.get("ETLC_STACK_DASK_DASHBOARD_PORT", "8787")))
    up.add_argument("--dask-workers", type=int, default=2)
    up.add_argument("--dask-memory", default="2GiB", help="memory limit per Dask worker")
    up.add_argument("--mlflow-port", type=int,
                    default=int(os.environ.get("ETLC_STACK_MLFLOW_PORT", "5000")))
    up.add_argument("--mlflow-db", default=os.environ.get("ETLC_STACK_MLFLOW_DB", "etlc_mlflow"),
                    help="Postgres database of MLflow's tracking store (created when missing)")
    up.add_argument("--mlflow-jobs", action="store_true",
                    help="let the MLflow server run its job runner (off: ~8 processes less)")
    up.add_argument("--pg-host", default=os.environ.get("ETLC_PG_HOST", "127.0.0.1"))
    up.add_argument("--pg-port", type=int, default=int(os.environ.get("ETLC_PG_PORT", "5432")))
    up.add_argument("--pg-user", default=os.environ.get("ETLC_PG_USER", "postgres"))
    up.add_argument("--airflow-db", default=os.environ.get("ETLC_STACK_AIRFLOW_DB", "etlc_airflow"),
                    help="Postgres database for Airflow's metadata (created when missing)")
    up.add_argument("--redis-host", default=os.environ.get("ETLC_REDIS_HOST", "127.0.0.1"))
    up.add_argument("--redis-port", type=int, default=int(os.environ.get("ETLC_REDIS_PORT", "6379")))
    up.add_argument("--redis-db", type=int, default=int(os.environ.get("ETLC_REDIS_DB", "0")),
                    help="Redis db of the Celery broker; results go to the next one (default 0)")
    up.add_argument("--celery-concurrency", type=int, default=4,
                    help="task slots of the Celery worker (default 4)")
    up.add_argument("--log-server-port", type=int,
                    default=int(os.environ.get("ETLC_STACK_LOG_SERVER_PORT", "8793")),
                    help="Airflow's worker log server (default 8793)")
    up.add_argument("--scheduler-health-port", type=int,
                    default=int(os.environ.get("ETLC_STACK_SCHEDULER_HEALTH_PORT", "8974")),
                    help="the scheduler's health check server (default 8974)")
    up.add_argument("--statsd-host", default=os.environ.get("ETLC_STATSD_HOST"),
                    help="send Airflow's and the runtime's StatsD metrics there")
    up.add_argument("--statsd-port", type=int, default=int(os.environ.get("ETLC_STATSD_PORT", "9125")))
    up.add_argument("--wait", type=float, default=240.0,
                    help="seconds to wait for Airflow to be healthy (0: do not wait)")
    st = sub.add_parser("status", help="print each service's state and port")
    st.add_argument("--json", action="store_true")
    sub.add_parser("down", help="stop everything `up` started")
    sub.add_parser("env", help="print shell exports of the stack's connections")
    args = p.parse_args(argv)
    return {"up": cmd_up, "status": cmd_status, "down": cmd_down, "env": cmd_env}[args.cmd](args)
