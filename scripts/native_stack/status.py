"""`stack status`: each service's state, pid, port and address, and Airflow's health.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from .probes import airflow_health, celery_worker_name, port_open, redis_ping
from .processes import alive, read_pid
from .settings import SERVICE_ORDER, Settings, load_settings


def service_rows(s: Settings) -> list[dict]:
    rows = []
    pg_state = ("up" if port_open(s.pg_host, s.pg_port) else "down") if s.postgres else "not used"
    rows.append({"service": "postgres", "state": pg_state, "pid": None,
                 "port": s.pg_port, "url": f"postgresql://{s.pg_host}:{s.pg_port}",
                 "managed": False})
    rs = "up" if redis_ping(s.redis_host, s.redis_port) else "down"
    rows.append({"service": "redis", "state": rs if (s.redis or s.executor == "CeleryExecutor")
                 else f"{rs} (not used)", "pid": None, "port": s.redis_port,
                 "url": f"redis://{s.redis_host}:{s.redis_port}", "managed": False})
    ports = {
        "dask-scheduler": (s.dask_port, (f"tcp://{s.host}:{s.dask_port}  dashboard "
                                         f"http://{s.host}:{s.dask_dashboard_port}/status")),
        "mlflow": (s.mlflow_port, f"http://{s.host}:{s.mlflow_port}"),
        "airflow-api-server": (s.api_port, s.api_url),
        "airflow-celery-worker": (None, (f"{celery_worker_name(s)}  broker redis://{s.redis_host}:"
                                         f"{s.redis_port}/{s.redis_db}")),
    }
    for name in SERVICE_ORDER:
        if name.startswith("dask-worker-") and int(name.rsplit("-", 1)[1]) > s.dask_workers:
            continue
        if name == "airflow-celery-worker" and s.executor != "CeleryExecutor":
            continue
        pid = read_pid(s, name)
        if name == "mlflow" and s.mlflow != "running":
            rows.append({"service": name, "state": s.mlflow, "pid": None, "port": None,
                         "url": "", "managed": True})
            continue
        port, url = ports.get(name, (None, ""))
        if alive(pid):
            st = "running"
            if port and not port_open(s.host, port):
                st = "starting"
        else:
            st = "stopped" if pid is None else "dead (see log)"
        rows.append({"service": name, "state": st, "pid": pid if alive(pid) else None,
                     "port": port, "url": url, "managed": True})
    return rows


def print_status(s: Settings) -> None:
    rows = service_rows(s)
    print(f"{'SERVICE':24} {'STATE':34} {'PID':>7} {'PORT':>6}  URL")
    for r in rows:
        print(f"{r['service']:24} {r['state']:34} {r['pid'] or '-':>7} {r['port'] or '-':>6}  {r['url']}")
    h = airflow_health(s)
    if h:
        parts = [f"{k}={(v or {}).get('status')}" for k, v in h.items() if isinstance(v, dict)]
        print(f"airflow health: {' '.join(parts)}")
    print(f"executor: {s.executor}   metadata db: "
          f"{'postgres/' + s.airflow_db if s.postgres else 'sqlite'}   dags: "
          + " ".join([s.dags_folder, *(s.extra.get("extra_dags") or [])]))
    print(f"state: {s.state_dir}")


def cmd_status(args: argparse.Namespace) -> int:
    s = load_settings(Path(args.state_dir).resolve())
    if s is None:
        print(f"no stack state in {args.state_dir}: run `up` first")
        return 1
    if args.json:
        print(json.dumps({"services": service_rows(s), "health": airflow_health(s),
                          "settings": asdict(s)}, indent=2))
    else:
        print_status(s)
    return 0
