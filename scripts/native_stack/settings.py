"""The native stack's settings and fixed facts: where its state lives, the services it runs in
start order, the :class:`Settings` that `up` stores in ``stack.json`` (read back by `status`,
`down` and `env`), the keys every Airflow component shares, and where its programs are.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sys
from base64 import urlsafe_b64encode
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
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


def settings_path(state: Path) -> Path:
    return state / "stack.json"


def load_settings(state: Path) -> Settings | None:
    p = settings_path(state)
    if not p.exists():
        return None
    return Settings(**json.loads(p.read_text()))


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


def find_bin(name: str) -> str:
    cand = BIN / name
    if cand.exists():
        return str(cand)
    found = shutil.which(name)
    if not found:
        raise SystemExit(f"error: '{name}' not found next to {sys.executable} nor on PATH")
    return found
