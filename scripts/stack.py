#!/usr/bin/env python3
"""The native etlc stack: the services of docker/ without Docker.

    python scripts/stack.py up [--celery] [--sqlite] [--no-mlflow] [--dags-folder DIR]  (--help)
    python scripts/stack.py status [--json]
    python scripts/stack.py down
    python scripts/stack.py env          # shell exports for `etlc run` against the stack

What it runs, all on loopback, as plain processes of the current Python environment:

- PostgreSQL and Redis: used when reachable (they are never started here; `up` says how
  to start them when they are not). Postgres holds Airflow's metadata database
  (``etlc_airflow``, created when missing) and the warehouse database (``etlc_warehouse``);
  without Postgres, Airflow falls back to SQLite.
- a Dask scheduler and two Dask workers (``dask scheduler`` / ``dask worker``);
- an MLflow tracking server when ``mlflow`` is importable (else reported as skipped), without
  MLflow 3's job runner unless ``--mlflow-jobs``;
- Airflow 3: api-server, scheduler, dag-processor and triggerer, with the LocalExecutor,
  or with ``--celery`` the CeleryExecutor on Redis (broker db ``--redis-db``, results the next
  db) plus a Celery worker (apache-airflow-providers-celery; celery < 5.7 for provider 3.26).

State lives under ``.etlc/stack/`` (``--state-dir`` or ``ETLC_STACK_DIR``): ``stack.json``
(the settings `up` used), ``pids/*.pid``, ``logs/*.log``, ``secrets.json`` (generated keys and
the admin password, mode 0600) and ``airflow/`` (AIRFLOW_HOME). Every process is started in a
session of its own and stopped by its process group, so `down` also ends the children
(LocalExecutor workers, uvicorn workers, Dask nannies).

Only the standard library is needed to run this file; psycopg is used when importable to
create databases (else ``psql``).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from base64 import urlsafe_b64encode
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STATE = ROOT / ".etlc" / "stack"
BIN = Path(sys.executable).parent
ADMIN_USER = "admin"

# Order matters: `up` starts in this order, `down` stops in reverse.
SERVICE_ORDER = [
    "dask-scheduler",
    "dask-worker-1",
    "dask-worker-2",
    "mlflow",
    "airflow-api-server",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-celery-worker",
]


@dataclass
class Settings:
    state_dir: str
    dags_folder: str
    executor: str = "LocalExecutor"
    host: str = "127.0.0.1"
    api_port: int = 8080
    dask_port: int = 8786
    dask_dashboard_port: int = 8787
    dask_workers: int = 2
    mlflow_port: int = 5000
    mlflow_db: str = "etlc_mlflow"
    mlflow_jobs: bool = False
    pg_host: str = "127.0.0.1"
    pg_port: int = 5432
    pg_user: str = "postgres"
    airflow_db: str = "etlc_airflow"
    warehouse_db: str = "etlc_warehouse"
    redis_host: str = "127.0.0.1"
    redis_port: int = 6379
    redis_db: int = 0  # the Celery broker's db; results go to redis_db + 1
    celery_concurrency: int = 4
    log_server_port: int = 8793  # Airflow's worker log server (scheduler or Celery worker)
    scheduler_health_port: int = 8974
    s3_endpoint: str = "http://127.0.0.1:9000"
    qdrant_url: str = "http://127.0.0.1:6333"
    sql_alchemy_conn: str = ""
    postgres: bool = False
    redis: bool = False
    mlflow: str = "skipped"  # "running" | "skipped: <why>"
    statsd_host: str = ""
    statsd_port: int = 9125
    extra: dict = field(default_factory=dict)

    @property
    def state(self) -> Path:
        return Path(self.state_dir)

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.api_port}"


# --------------------------------------------------------------------------- helpers


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


def load_secrets(state: Path) -> dict:
    """Keys that must be the same for every Airflow component, made once per state dir."""
    path = state / "secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    data = {
        "fernet_key": urlsafe_b64encode(os.urandom(32)).decode(),
        "jwt_secret": secrets.token_urlsafe(32),
        "api_secret_key": secrets.token_urlsafe(32),
        "admin_password": os.environ.get("ETLC_STACK_ADMIN_PASSWORD") or secrets.token_urlsafe(12),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)
    return data


def connections(s: Settings) -> dict[str, str]:
    """AIRFLOW_CONN_* variables: the connection ids the specs use, wired to this stack.

    The same ids are wired in docker/airflow/airflow-compose.yml; only the addresses differ.
    """
    pw = pg_password()
    pg = {"conn_type": "postgres", "host": s.pg_host, "port": s.pg_port,
          "login": s.pg_user, "schema": s.warehouse_db}
    if pw:
        pg["password"] = pw
    s3 = {"conn_type": "aws",
          "extra": {"endpoint_url": s.s3_endpoint, "region_name": "us-east-1"}}
    if os.environ.get("ETLC_S3_ACCESS_KEY"):
        s3["login"] = os.environ["ETLC_S3_ACCESS_KEY"]
        s3["password"] = os.environ.get("ETLC_S3_SECRET_KEY", "")
    conns = {
        "minio_s3": s3,
        "postgres_dwh": pg,
        "mlflow_tracking": {"conn_type": "http", "host": s.host, "port": s.mlflow_port,
                            "schema": "http"},
        "qdrant_vectors": {"conn_type": "qdrant", "host": s.qdrant_url.split("://")[-1].split(":")[0],
                           "port": int(s.qdrant_url.rsplit(":", 1)[-1]),
                           "extra": {"url": s.qdrant_url}},
        "dask_cluster": {"conn_type": "generic", "host": s.host, "port": s.dask_port,
                         "extra": {"address": f"tcp://{s.host}:{s.dask_port}"}},
    }
    return {f"AIRFLOW_CONN_{cid.upper()}": json.dumps(c, sort_keys=True) for cid, c in conns.items()}


def base_env(s: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(connections(s))
    env["ETLC_PROJECT_ROOT"] = os.environ.get("ETLC_STACK_PROJECT_ROOT") or str(ROOT)  # tests: a copy
    env["DASK_SCHEDULER_ADDRESS"] = f"tcp://{s.host}:{s.dask_port}"
    if s.mlflow == "running":
        env["MLFLOW_TRACKING_URI"] = f"http://{s.host}:{s.mlflow_port}"
    if s.statsd_host:
        env["ETLC_STATSD_HOST"] = s.statsd_host
        env["ETLC_STATSD_PORT"] = str(s.statsd_port)
    return env


def airflow_env(s: Settings) -> dict[str, str]:
    sec = load_secrets(s.state)
    home = s.state / "airflow"
    env = base_env(s)
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": s.dags_folder,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": s.executor,
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__FERNET_KEY": sec["fernet_key"],
        "AIRFLOW__CORE__AUTH_MANAGER":
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{s.api_url}/execution/",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": s.sql_alchemy_conn,
        # psycopg 3 serves both; Airflow's own derivation would ask for asyncpg.
        **({"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": s.sql_alchemy_conn} if s.postgres else {}),
        "AIRFLOW__API__HOST": s.host,
        "AIRFLOW__API__PORT": str(s.api_port),
        "AIRFLOW__API__BASE_URL": s.api_url,
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API__SECRET_KEY": sec["api_secret_key"],
        "AIRFLOW__API_AUTH__JWT_SECRET": sec["jwt_secret"],
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "30",
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(s.scheduler_health_port),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(s.log_server_port),
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        # a task's calls to the execution API time out after 5 s by default; on a loaded
        # machine the supervisor's first call timed out and it killed the task (SIGKILL)
        "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT":
            os.environ.get("AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT", "60"),
    })
    extra_dags = s.extra.get("extra_dags") or []
    if extra_dags:
        local = "airflow.dag_processing.bundles.local.LocalDagBundle"
        bundles = [{"name": "dags-folder", "classpath": local, "kwargs": {"path": s.dags_folder}}]
        bundles += [{"name": f"extra-dags-{i}", "classpath": local, "kwargs": {"path": d}}
                    for i, d in enumerate(extra_dags, 1)]
        env["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"] = json.dumps(bundles)
    if s.statsd_host:
        env.update({
            "AIRFLOW__METRICS__STATSD_ON": "True",
            "AIRFLOW__METRICS__STATSD_HOST": s.statsd_host,
            "AIRFLOW__METRICS__STATSD_PORT": str(s.statsd_port),
            "AIRFLOW__METRICS__STATSD_PREFIX": "airflow",
        })
    if s.executor == "CeleryExecutor":
        redis = f"redis://{s.redis_host}:{s.redis_port}"
        env.update({
            "AIRFLOW__CELERY__BROKER_URL": f"{redis}/{s.redis_db}",
            "AIRFLOW__CELERY__RESULT_BACKEND": f"{redis}/{s.redis_db + 1}",
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(s.celery_concurrency),
            # A task may run longer than an hour; the broker redelivers after this many seconds.
            "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": "21600",
        })
    return env


def find_bin(name: str) -> str:
    cand = BIN / name
    if cand.exists():
        return str(cand)
    found = shutil.which(name)
    if not found:
        raise SystemExit(f"error: '{name}' not found next to {sys.executable} nor on PATH")
    return found


# --------------------------------------------------------------------------- processes


def pid_file(s: Settings, name: str) -> Path:
    return s.state / "pids" / f"{name}.pid"


def log_file(s: Settings, name: str) -> Path:
    return s.state / "logs" / f"{name}.log"


def read_pid(s: Settings, name: str) -> int | None:
    try:
        return int(pid_file(s, name).read_text().strip())
    except (OSError, ValueError):
        return None


def alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours counts as dead.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def start(s: Settings, name: str, argv: list[str], env: dict[str, str]) -> int:
    if alive(read_pid(s, name)):
        print(f"  {name}: already running (pid {read_pid(s, name)})")
        return read_pid(s, name)  # type: ignore[return-value]
    log = open(log_file(s, name), "ab")  # noqa: SIM115 - handed to the child
    log.write(f"\n=== {time.strftime('%F %T')} {' '.join(argv)}\n".encode())
    log.flush()
    proc = subprocess.Popen(
        argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        env=env, cwd=str(ROOT), start_new_session=True,
    )
    log.close()
    pid_file(s, name).write_text(str(proc.pid))
    print(f"  {name}: started (pid {proc.pid}, log {log_file(s, name)})")
    return proc.pid


def stop(s: Settings, name: str, grace: float = 20.0) -> None:
    pid = read_pid(s, name)
    if not alive(pid):
        pid_file(s, name).unlink(missing_ok=True)
        return
    assert pid is not None
    try:
        os.killpg(pid, signal.SIGTERM)  # the child leads its own session and process group
    except ProcessLookupError:
        pass
    t0 = time.monotonic()
    deadline = t0 + grace
    while time.monotonic() < deadline and group_alive(pid):
        time.sleep(0.2)
    if group_alive(pid):
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        print(f"  {name}: killed (did not stop within {grace:.0f}s)")
    else:
        print(f"  {name}: stopped ({time.monotonic() - t0:.1f}s)")
    pid_file(s, name).unlink(missing_ok=True)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # only zombies left?
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def wait_until(check, timeout: float, what: str, s: Settings | None = None,
               watch: list[str] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        for name in watch or []:
            if s is not None and not alive(read_pid(s, name)):
                tail = tail_log(s, name)
                raise SystemExit(f"error: {name} exited while waiting for {what}\n{tail}")
        time.sleep(1)
    raise SystemExit(f"error: timed out after {timeout:.0f}s waiting for {what}")


def tail_log(s: Settings, name: str, lines: int = 30) -> str:
    try:
        text = log_file(s, name).read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(f"    | {line}" for line in text[-lines:])


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


# --------------------------------------------------------------------------- commands


def settings_path(state: Path) -> Path:
    return state / "stack.json"


def load_settings(state: Path) -> Settings | None:
    p = settings_path(state)
    if not p.exists():
        return None
    return Settings(**json.loads(p.read_text()))


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
    import importlib.util

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
    import shlex

    for k, v in sorted(base_env(s).items()):
        if k.startswith(("AIRFLOW_CONN_", "ETLC_", "DASK_", "MLFLOW_")):
            print(f"export {k}={shlex.quote(v)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="stack", description=__doc__.split("\n\n")[0])
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


if __name__ == "__main__":
    sys.exit(main())
