"""The environment of the native stack's processes: the connections the specs use
(``AIRFLOW_CONN_*``), what etlc and Dask clients need, and Airflow's configuration.

Airflow's configuration is of two kinds.  The wiring (ports, URLs, databases, keys, the
dags folder, the executor) follows the stack's settings and always wins, since the other
components and `status` rely on it.  The tuning (:data:`AIRFLOW_TUNING`: parallelism, the DAG
processor's intervals, the execution API timeout) are defaults: an ``AIRFLOW__...`` variable
already set in the environment wins.
"""

from __future__ import annotations

import json
import os

from .probes import pg_password
from .settings import ADMIN_USER, ROOT, Settings, load_secrets

# Airflow settings the stack only suggests: the environment's value wins
AIRFLOW_TUNING = {
    "AIRFLOW__CORE__PARALLELISM": "4",
    "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
    "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "30",
    "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
    # a task's calls to the execution API time out after 5 s by default; on a loaded
    # machine the supervisor's first call timed out and it killed the task (SIGKILL)
    "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "60",
}
# with the CeleryExecutor: a task may run longer than an hour; the broker redelivers after
# this many seconds
CELERY_TUNING = {"AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": "21600"}


def tuned(defaults: dict[str, str]) -> dict[str, str]:
    """``defaults`` where the environment sets none of them, else the environment's value."""
    return {k: os.environ.get(k, v) for k, v in defaults.items()}


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
    """This process's environment with the connections and the stack's addresses."""
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
    """The environment of every Airflow component (base_env, the wiring, the tuning)."""
    sec = load_secrets(s.state)
    home = s.state / "airflow"
    env = base_env(s)
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": s.dags_folder,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": s.executor,
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
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(s.scheduler_health_port),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(s.log_server_port),
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        **tuned(AIRFLOW_TUNING),
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
            **tuned(CELERY_TUNING),
        })
    return env
