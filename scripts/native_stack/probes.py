"""What the native stack asks of the services around it, without starting anything: whether a
port, Redis or PostgreSQL answers (and creating the databases it needs there), Airflow's and
MLflow's health, whether the Celery worker is ready and whether the CeleryExecutor imports.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request

from .processes import log_file
from .settings import ROOT, Settings


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def redis_ping(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1) as s:
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def pg_password() -> str | None:
    return os.environ.get("ETLC_PG_PASSWORD") or os.environ.get("PGPASSWORD")


def pg_url(s: Settings, db: str, driver: str = "postgresql+psycopg") -> str:
    pw = pg_password()
    auth = s.pg_user + (f":{pw}" if pw else "")
    return f"{driver}://{auth}@{s.pg_host}:{s.pg_port}/{db}"


def pg_ensure_database(s: Settings, db: str) -> None:
    """Create database `db` when missing (psycopg when importable, else psql)."""
    try:
        import psycopg

        kw = {"host": s.pg_host, "port": s.pg_port, "user": s.pg_user, "dbname": "postgres"}
        if pg_password():
            kw["password"] = pg_password()
        with psycopg.connect(**kw, autocommit=True, connect_timeout=5) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,)).fetchone():
                return
            conn.execute(f'CREATE DATABASE "{db}"')
            print(f"  created database {db}")
        return
    except ImportError:
        pass
    env = dict(os.environ, PGCONNECT_TIMEOUT="5")
    if pg_password():
        env["PGPASSWORD"] = pg_password()
    base = ["psql", "-h", s.pg_host, "-p", str(s.pg_port), "-U", s.pg_user, "-d", "postgres", "-tAc"]
    out = subprocess.run(
        base + [f"SELECT 1 FROM pg_database WHERE datname = '{db}'"],
        capture_output=True, text=True, env=env, check=True,
    ).stdout
    if out.strip() != "1":
        subprocess.run(base + [f'CREATE DATABASE "{db}"'], env=env, check=True, capture_output=True)
        print(f"  created database {db}")


def pg_reachable(s: Settings) -> bool:
    if not port_open(s.pg_host, s.pg_port):
        return False
    try:
        pg_ensure_database(s, s.airflow_db)
        pg_ensure_database(s, s.warehouse_db)
        return True
    except Exception as exc:  # noqa: BLE001 - any failure means: fall back, say why
        print(f"  postgres at {s.pg_host}:{s.pg_port} answers but is not usable: {exc}")
        return False


def http_json(url: str, timeout: float = 3.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read())


def airflow_health(s: Settings) -> dict | None:
    try:
        return http_json(f"{s.api_url}/api/v2/monitor/health")
    except (OSError, ValueError, urllib.error.URLError):
        return None


def mlflow_healthy(s: Settings) -> bool:
    try:
        with urllib.request.urlopen(f"http://{s.host}:{s.mlflow_port}/health", timeout=3) as r:
            return r.status == 200
    except (OSError, urllib.error.URLError):
        return False


def celery_worker_name(s: Settings) -> str:
    return f"etlc-{s.api_port}@{socket.gethostname()}"


def celery_worker_ready(s: Settings) -> bool:
    """Celery logs `<name> ready.` once it consumes from the broker."""
    try:
        text = log_file(s, "airflow-celery-worker").read_text(errors="replace")
    except OSError:
        return False
    last_start = text.rfind("\n=== ")  # start() marks each start in the log
    return f"{celery_worker_name(s)} ready." in text[last_start:]


def celery_problem(env: dict[str, str]) -> str | None:
    """Why the CeleryExecutor cannot be loaded in this environment, or None.

    Imports the executor module in a child process: finding the provider is not enough (e.g.
    apache-airflow-providers-celery 3.26 imports `retry` from celery.backends.database, which
    celery 5.7 removed).
    """
    import importlib.util

    if importlib.util.find_spec("airflow.providers.celery") is None:
        return ("the Celery provider is not installed: "
                "pip install 'etlc[celery]' (apache-airflow-providers-celery, redis)")
    probe = subprocess.run(
        [sys.executable, "-c", "import airflow.providers.celery.executors.celery_executor, redis"],
        capture_output=True, text=True, check=False, cwd=str(ROOT), env=env,
    )
    if probe.returncode != 0:
        err = [ln for ln in probe.stderr.strip().splitlines() if ln.strip()]
        hint = ""
        if any("celery.backends.database" in ln for ln in err):
            hint = ("\n  (this provider does not work with celery 5.7: "
                    "pip install 'celery[redis]>=5.5,<5.7')")
        return ("the CeleryExecutor does not import: " + (err[-1] if err else "?") + hint)
    return None
