"""`stack up`: check the ports, use PostgreSQL and Redis where they answer, then start Dask,
MLflow and Airflow (migrating its metadata database first) and wait until they are healthy.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

from .environment import airflow_env, base_env
from .probes import (
    airflow_health,
    celery_problem,
    celery_worker_name,
    celery_worker_ready,
    mlflow_healthy,
    pg_ensure_database,
    pg_reachable,
    pg_url,
    port_open,
    redis_ping,
)
from .processes import alive, log_file, read_pid, start, wait_until
from .settings import (
    ADMIN_USER,
    ROOT,
    SERVICE_ORDER,
    Settings,
    find_bin,
    load_secrets,
    load_settings,
    settings_path,
)
from .status import print_status


def cmd_up(args: argparse.Namespace) -> int:
    state = Path(args.state_dir).resolve()
    prev = load_settings(state)
    if prev and any(alive(read_pid(prev, n)) for n in SERVICE_ORDER):
        print(f"the stack in {state} is already (partly) running; `down` it first, or see `status`")
        return 1
    s = Settings(
        state_dir=str(state),
        dags_folder=str(Path(args.dags_folder).resolve()),
        executor="CeleryExecutor" if args.celery else "LocalExecutor",
        api_port=args.api_port, dask_port=args.dask_port,
        dask_dashboard_port=args.dask_dashboard_port, dask_workers=args.dask_workers,
        mlflow_port=args.mlflow_port, mlflow_db=args.mlflow_db, mlflow_jobs=args.mlflow_jobs,
        pg_host=args.pg_host, pg_port=args.pg_port, pg_user=args.pg_user,
        airflow_db=args.airflow_db,
        redis_host=args.redis_host, redis_port=args.redis_port, redis_db=args.redis_db,
        celery_concurrency=args.celery_concurrency, log_server_port=args.log_server_port,
        scheduler_health_port=args.scheduler_health_port,
        statsd_host=args.statsd_host or "", statsd_port=args.statsd_port,
        extra={"extra_dags": [str(Path(d).resolve()) for d in args.extra_dags]},
    )
    for sub in ("pids", "logs", "airflow"):
        (state / sub).mkdir(parents=True, exist_ok=True)
    Path(s.dags_folder).mkdir(parents=True, exist_ok=True)

    wanted_ports = {"airflow api-server": s.api_port, "dask scheduler": s.dask_port,
                    "dask dashboard": s.dask_dashboard_port,
                    "airflow log server": s.log_server_port,
                    "scheduler health check": s.scheduler_health_port}
    if not args.no_mlflow:
        wanted_ports["mlflow"] = s.mlflow_port
    busy = [f"{k} ({p})" for k, p in wanted_ports.items() if port_open(s.host, p)]
    if busy:
        print("error: ports already in use: " + ", ".join(busy)
              + "\n  stop what holds them, or pick others (--api-port, --dask-port, ...)")
        return 1

    print("PostgreSQL:")
    if args.sqlite:
        print("  not used (--sqlite)")
    elif pg_reachable(s):
        s.postgres = True
        print(f"  using {s.pg_host}:{s.pg_port} (databases {s.airflow_db}, {s.warehouse_db})")
    else:
        print(f"  not reachable at {s.pg_host}:{s.pg_port}: Airflow falls back to SQLite, and the\n"
              "  postgres_dwh connection points at nothing. To use PostgreSQL, start one, e.g.\n"
              "    sudo systemctl start postgresql      (Debian/Ubuntu package)\n"
              "    pg_ctlcluster 15 main start          (Debian, without systemd)\n"
              "    brew services start postgresql       (macOS)\n"
              "    docker compose -f docker/docker-stack-compose.yml up -d postgres\n"
              "  (set ETLC_PG_PASSWORD when it needs a password), then `down` and `up` again.")
    if s.postgres:
        s.sql_alchemy_conn = pg_url(s, s.airflow_db)
    else:
        s.sql_alchemy_conn = f"sqlite:///{state / 'airflow' / 'airflow.db'}"

    print("Redis:")
    s.redis = redis_ping(s.redis_host, s.redis_port)
    if s.redis:
        print(f"  using {s.redis_host}:{s.redis_port}")
    else:
        how = ("    sudo systemctl start redis-server    (Debian/Ubuntu package)\n"
               "    redis-server --port 6379 --save '' --daemonize yes\n"
               "    docker compose -f docker/docker-stack-compose.yml up -d redis")
        if args.celery:
            print(f"error: --celery needs Redis at {s.redis_host}:{s.redis_port}; start it, e.g.\n{how}")
            return 1
        print(f"  not reachable at {s.redis_host}:{s.redis_port} (only needed with --celery); e.g.\n{how}")
    if args.celery:
        print("Celery:")
        problem = celery_problem(airflow_env(s))
        if problem:
            print(f"error: --celery cannot work here: {problem}")
            return 1
        print(f"  broker redis://{s.redis_host}:{s.redis_port}/{s.redis_db}, results "
              f"db {s.redis_db + 1}, a worker with concurrency {s.celery_concurrency}")

    settings_path(state).write_text(json.dumps(asdict(s), indent=2))
    env = base_env(s)

    print("Dask:")
    dask = find_bin("dask")
    start(s, "dask-scheduler", [dask, "scheduler", "--host", s.host, "--port", str(s.dask_port),
                                "--dashboard-address", f"{s.host}:{s.dask_dashboard_port}"], env)
    wait_until(lambda: port_open(s.host, s.dask_port), 60, "the Dask scheduler", s, ["dask-scheduler"])
    for i in range(1, s.dask_workers + 1):
        start(s, f"dask-worker-{i}", [dask, "worker", f"tcp://{s.host}:{s.dask_port}",
                                      "--host", s.host, "--nworkers", "1", "--nthreads", "2",
                                      "--memory-limit", args.dask_memory, "--no-dashboard",
                                      "--name", f"etlc-worker-{i}",
                                      "--local-directory", str(state / "dask")], env)

    print("MLflow:")
    if args.no_mlflow:
        s.mlflow = "skipped: --no-mlflow"
    elif importlib.util.find_spec("mlflow") is None:
        s.mlflow = "skipped: mlflow is not installed (pip install 'etlc[mlflow]')"
    else:
        store = (pg_url(s, s.mlflow_db) if s.postgres
                 else f"sqlite:///{state / 'mlflow' / 'mlflow.db'}")
        (state / "mlflow" / "artifacts").mkdir(parents=True, exist_ok=True)
        if s.postgres:
            pg_ensure_database(s, s.mlflow_db)
        # MLflow 3's server also starts a job runner (GenAI scoring, trace archival) of about
        # eight processes of ~300 MB each; the pipelines only track runs, so it stays off
        # unless --mlflow-jobs.
        menv = dict(env, MLFLOW_SERVER_ENABLE_JOB_EXECUTION=str(s.mlflow_jobs).lower())
        start(s, "mlflow", [find_bin("mlflow"), "server", "--host", s.host,
                            "--port", str(s.mlflow_port), "--backend-store-uri", store,
                            "--artifacts-destination", str(state / "mlflow" / "artifacts"),
                            "--workers", "1"], menv)
        s.mlflow = "running"
    print(f"  {s.mlflow}")
    settings_path(state).write_text(json.dumps(asdict(s), indent=2))

    print("Airflow:")
    aenv = airflow_env(s)
    sec = load_secrets(state)
    pw_file = Path(aenv["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
    pw_file.write_text(json.dumps({ADMIN_USER: sec["admin_password"]}) + "\n")
    os.chmod(pw_file, 0o600)
    airflow = [sys.executable, "-m", "airflow"]
    print(f"  migrating the metadata database ({'postgres' if s.postgres else 'sqlite'}) ...")
    t0 = time.monotonic()
    mig = subprocess.run(airflow + ["db", "migrate"], env=aenv, cwd=str(ROOT),
                         capture_output=True, text=True, check=False)
    with open(log_file(s, "airflow-db-migrate"), "a") as f:
        f.write(mig.stdout + mig.stderr)
    if mig.returncode != 0:
        print(f"error: airflow db migrate failed (log {log_file(s, 'airflow-db-migrate')}):\n"
              + "\n".join(mig.stderr.splitlines()[-20:]))
        return 1
    print(f"  migrated in {time.monotonic() - t0:.0f}s")
    start(s, "airflow-api-server", airflow + ["api-server", "--host", s.host,
                                              "--port", str(s.api_port), "--workers", "1"], aenv)
    start(s, "airflow-scheduler", airflow + ["scheduler"], aenv)
    start(s, "airflow-dag-processor", airflow + ["dag-processor"], aenv)
    start(s, "airflow-triggerer", airflow + ["triggerer"], aenv)
    airflow_names = ["airflow-api-server", "airflow-scheduler", "airflow-dag-processor",
                     "airflow-triggerer"]
    if args.celery:
        # -H names the worker (celery@<name>) so that its log and `celery inspect` tell it from
        # the workers of another stack on the same broker host.
        start(s, "airflow-celery-worker",
              airflow + ["celery", "worker", "--concurrency", str(s.celery_concurrency),
                         "--celery-hostname", celery_worker_name(s),
                         "--without-gossip", "--without-mingle"], aenv)
        airflow_names.append("airflow-celery-worker")
    if args.wait:
        def healthy() -> bool:
            h = airflow_health(s)
            return bool(h) and all(
                (h.get(k) or {}).get("status") == "healthy"
                for k in ("metadatabase", "scheduler", "dag_processor", "triggerer"))
        wait_until(healthy, args.wait, "Airflow to report healthy", s, airflow_names)
        if args.celery:
            wait_until(lambda: celery_worker_ready(s), args.wait,
                       "the Celery worker to connect to the broker", s, ["airflow-celery-worker"])
        if s.mlflow == "running":
            wait_until(lambda: mlflow_healthy(s), args.wait, "the MLflow server", s, ["mlflow"])
        wait_until(lambda: port_open(s.host, s.dask_port), 30, "Dask", s, ["dask-scheduler"])
    print()
    print_status(s)
    print(f"\nAirflow UI/API: {s.api_url}  user '{ADMIN_USER}', password in "
          f"{state / 'secrets.json'} (admin_password)")
    return 0
