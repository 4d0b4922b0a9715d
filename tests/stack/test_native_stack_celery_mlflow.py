"""End to end: the native stack's Celery mode and its MLflow server.

One stack is brought up for the whole module (`scripts/stack.py up --celery` on free loopback
ports, its own state folder, metadata and MLflow databases, and Redis dbs 12/13 so that a
developer's stack on db 0/1 is not touched), and three tests share it:

- `test_celery_worker_runs_demo_sales`: generated_dags/demo_sales.py is triggered through the
  REST API and must succeed with every task executed by the stack's Celery worker: the worker's
  log names each task instance of the run, and the Celery result backend (Redis) holds a
  SUCCESS result for each of those Celery tasks;
- `test_mlflow_server_rest_api`: the MLflow tracking server answers its REST API (create an
  experiment and a run, log a metric at two steps, read the history back, upload and download
  an artifact through the server's proxy) and stores runs where `up` said;
- `test_down_stops_celery_worker_and_mlflow`: `down` stops every process group, the Celery
  worker and the MLflow server (and its uvicorn children) included, and closes their ports.

Each of the first two skips, with the reason, only when its package is absent
(apache-airflow-providers-celery, mlflow); the module skips when both are. About a minute and a
half here, on 2 cores: Airflow's and MLflow's start-up dominate. The LocalExecutor and Dask path
is tested by test_native_stack.py.
"""

from __future__ import annotations

import importlib.util
import json
import re
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import airflow  # noqa: F401 - required (dev extra): a missing package fails the run
import distributed  # noqa: F401
import pytest
from test_native_stack import (  # after the skips: it needs Airflow too
    DEMO_DAG,
    Api,
    _group_alive,
    check_demo_outputs,
    demo_project,
    drop_database,
    free_port,
    logs_tail,
    stack,
)

pytestmark = [pytest.mark.stack, pytest.mark.timeout(900)]


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


HAS_CELERY = _importable("airflow.providers.celery")
HAS_MLFLOW = _importable("mlflow")
NO_CELERY = ("apache-airflow-providers-celery is not installed "
             "(pip install 'etlc[celery]'): the CeleryExecutor mode cannot run")
NO_MLFLOW = "mlflow is not installed (pip install 'etlc[mlflow]'): no MLflow server to test"

if not (HAS_CELERY or HAS_MLFLOW):
    pytest.skip(f"{NO_CELERY}; {NO_MLFLOW}", allow_module_level=True)

AIRFLOW_DB = "etlc_airflow_e2e_celery"
MLFLOW_DB = "etlc_mlflow_e2e"
REDIS_DB = 12  # the broker; Celery's results go to 13


class Stack:
    def __init__(self, state: Path):
        self.state = state
        self.status: dict = {}
        self.settings: dict = {}
        self.pgids: dict[str, int] = {}
        self.down = None  # the `down` CompletedProcess, once run

    def service(self, name: str) -> dict:
        return {r["service"]: r for r in self.status["services"]}[name]

    def bring_down(self):
        if self.down is None:
            self.down = stack(self.state, "down", timeout=180)
        return self.down


@pytest.fixture(scope="module")
def native_stack(tmp_path_factory):
    state = tmp_path_factory.mktemp("celery-mlflow") / "stack"
    if DEMO_DAG.exists():
        dags = str(DEMO_DAG.parent)
    else:  # only the MLflow test has something to do then; keep the dags folder empty
        dags = str(state.parent / "dags")
    args = ["up", "--dags-folder", dags,
            "--api-port", str(free_port()), "--dask-port", str(free_port()),
            "--dask-dashboard-port", str(free_port()), "--dask-workers", "1",
            "--dask-memory", "1GiB", "--log-server-port", str(free_port()),
            "--scheduler-health-port", str(free_port()), "--wait", "300",
            "--airflow-db", AIRFLOW_DB]
    if HAS_CELERY:
        args += ["--celery", "--redis-db", str(REDIS_DB), "--celery-concurrency", "2"]
    if HAS_MLFLOW:
        args += ["--mlflow-port", str(free_port()), "--mlflow-db", MLFLOW_DB]
    else:
        args += ["--no-mlflow"]
    for db in (AIRFLOW_DB, MLFLOW_DB):
        drop_database(db)
    st = Stack(state)
    t0 = time.monotonic()
    try:
        up = stack(state, *args, project=demo_project(state.parent / "proj"))
        for p in (state / "pids").glob("*.pid") if (state / "pids").exists() else []:
            st.pgids[p.stem] = int(p.read_text())
        assert up.returncode == 0, f"stack up failed:\n{up.stdout}\n{up.stderr}\n{logs_tail(state)}"
        print(f"\nstack up (celery={HAS_CELERY}, mlflow={HAS_MLFLOW}) in {time.monotonic() - t0:.0f}s")
        status = stack(state, "status", "--json", timeout=60)
        assert status.returncode == 0, status.stdout + status.stderr
        st.status = json.loads(status.stdout)
        st.settings = st.status["settings"]
        yield st
    finally:
        st.bring_down()
        print(f"stack up + tests + down in {time.monotonic() - t0:.0f}s")
        for db in (AIRFLOW_DB, MLFLOW_DB):
            drop_database(db)


# --------------------------------------------------------------------------- Celery


def celery_results(settings: dict, task_ids: list[str]) -> dict[str, str]:
    """The state Celery's Redis result backend holds for each Celery task id."""
    import redis

    r = redis.Redis(host=settings["redis_host"], port=settings["redis_port"],
                    db=settings["redis_db"] + 1, socket_timeout=5)
    out = {}
    for tid in task_ids:
        raw = r.get(f"celery-task-meta-{tid}")
        out[tid] = json.loads(raw)["status"] if raw else "missing"
    return out


@pytest.mark.skipif(not HAS_CELERY, reason=NO_CELERY)
@pytest.mark.skipif(not DEMO_DAG.exists(), reason="generated_dags/demo_sales.py is missing: "
                    "run `etlc compile specs/demo_sales.yaml`")
def test_celery_worker_runs_demo_sales(native_stack):
    s = native_stack
    assert s.settings["executor"] == "CeleryExecutor"
    worker = s.service("airflow-celery-worker")
    assert worker["state"] == "running", worker
    node = worker["url"].split()[0]  # e.g. etlc-41234@host

    api = Api(f"http://127.0.0.1:{s.settings['api_port']}")
    api.login("admin", json.loads((s.state / "secrets.json").read_text())["admin_password"])
    health = api.call("GET", "/api/v2/monitor/health", auth=False)[1]
    assert health["scheduler"]["status"] == "healthy", health

    api.wait_for_dag("demo_sales", timeout=180)
    since = time.time()
    run_id = api.trigger("demo_sales", {})
    state = api.wait_for_run("demo_sales", run_id, timeout=300)
    tis = api.task_states("demo_sales", run_id)
    if state != "success":
        logs = {t: api.task_log("demo_sales", run_id, t) for t, v in tis.items() if v != "success"}
        pytest.fail(f"demo_sales run {run_id}: {state}; tasks {tis}\n{logs}\n{logs_tail(s.state)}")
    assert tis and set(tis.values()) == {"success"}, tis

    # Who ran them: the Celery worker logs each workload it executes, with its Celery task id.
    log = (s.state / "logs" / "airflow-celery-worker.log").read_text(errors="replace")
    assert f"{node} ready." in log
    celery_ids = {}
    for task_id in tis:
        m = re.search(r"\[([0-9a-f-]{36})\] Executing workload in Celery: .*?"
                      + re.escape(f"dag_id=demo_sales/run_id={run_id}/task_id={task_id}/"), log)
        assert m, f"the Celery worker's log does not show task {task_id} of {run_id}:\n{log[-3000:]}"
        celery_ids[task_id] = m.group(1)
    # ... and the broker's result backend saw each of those Celery tasks succeed. The task
    # instance is marked success (through the execution API) a moment before the Celery task
    # returns and its result is stored, so poll briefly.
    deadline = time.monotonic() + 30
    while True:
        results = celery_results(s.settings, list(celery_ids.values()))
        if set(results.values()) == {"SUCCESS"} or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert set(results.values()) == {"SUCCESS"}, results
    # The scheduler really loaded the CeleryExecutor (not a fallback).
    sched = (s.state / "logs" / "airflow-scheduler.log").read_text(errors="replace")
    assert "Loaded executor: :CeleryExecutor:" in sched

    check_demo_outputs(since, s.state.parent / "proj")


# --------------------------------------------------------------------------- MLflow


def mlflow_call(base: str, method: str, path: str, body: dict | None = None,
                raw: bytes | None = None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(base + path, data=data, method=method)
    if raw is None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            payload = r.read()
            return r.status, (payload if raw is not None or path.startswith("/api/2.0/mlflow-artifacts")
                              else json.loads(payload or b"null"))
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


@pytest.mark.skipif(not HAS_MLFLOW, reason=NO_MLFLOW)
def test_mlflow_server_rest_api(native_stack):
    s = native_stack
    row = s.service("mlflow")
    assert row["state"] == "running", row
    base = row["url"]
    assert base == f"http://127.0.0.1:{s.settings['mlflow_port']}"

    env = stack(s.state, "env", timeout=60)
    assert f"export MLFLOW_TRACKING_URI={base}" in env.stdout.splitlines(), env.stdout

    name = f"etlc-stack-test-{uuid.uuid4().hex[:8]}"
    st, body = mlflow_call(base, "POST", "/api/2.0/mlflow/experiments/create", {"name": name})
    assert st == 200, body
    exp_id = body["experiment_id"]
    st, body = mlflow_call(base, "POST", "/api/2.0/mlflow/runs/create",
                           {"experiment_id": exp_id, "run_name": "e2e",
                            "start_time": int(time.time() * 1000)})
    assert st == 200, body
    run_id = body["run"]["info"]["run_id"]
    for step, value in enumerate((42.0, 43.5)):
        st, body = mlflow_call(base, "POST", "/api/2.0/mlflow/runs/log-metric",
                               {"run_id": run_id, "key": "rows", "value": value,
                                "timestamp": int(time.time() * 1000), "step": step})
        assert st == 200, body

    st, body = mlflow_call(base, "GET", f"/api/2.0/mlflow/metrics/get-history?run_id={run_id}"
                           "&metric_key=rows")
    assert st == 200, body
    assert [(m["step"], m["value"]) for m in body["metrics"]] == [(0, 42.0), (1, 43.5)]
    st, body = mlflow_call(base, "GET", f"/api/2.0/mlflow/runs/get?run_id={run_id}")
    assert st == 200, body
    assert {m["key"]: m["value"] for m in body["run"]["data"]["metrics"]} == {"rows": 43.5}
    st, body = mlflow_call(base, "GET",
                           f"/api/2.0/mlflow/experiments/get-by-name?experiment_name={name}")
    assert st == 200 and body["experiment"]["experiment_id"] == exp_id, body

    # Artifacts go through the server (--artifacts-destination) into the stack's state folder.
    rel = f"{exp_id}/{run_id}/artifacts/hello.txt"
    st, _ = mlflow_call(base, "PUT", f"/api/2.0/mlflow-artifacts/artifacts/{rel}",
                        raw=b"hello from etlc")
    assert st == 200
    st, got = mlflow_call(base, "GET", f"/api/2.0/mlflow-artifacts/artifacts/{rel}")
    assert st == 200 and got == b"hello from etlc", got
    assert (s.state / "mlflow" / "artifacts" / rel).read_bytes() == b"hello from etlc"

    # The tracking store is where `up` put it: the stack's own database when Postgres is used.
    if s.settings["postgres"]:
        import psycopg
        with psycopg.connect(host=s.settings["pg_host"], port=s.settings["pg_port"],
                             user=s.settings["pg_user"], dbname=s.settings["mlflow_db"],
                             connect_timeout=5) as conn:
            rows = conn.execute("SELECT experiment_id FROM experiments WHERE name = %s",
                                (name,)).fetchall()
        assert [str(r[0]) for r in rows] == [exp_id]
    else:
        assert (s.state / "mlflow" / "mlflow.db").exists()


# --------------------------------------------------------------------------- down


def test_down_stops_celery_worker_and_mlflow(native_stack):
    s = native_stack
    assert s.pgids, "up wrote no pid files"
    if HAS_CELERY:
        assert "airflow-celery-worker" in s.pgids
    if HAS_MLFLOW:
        assert "mlflow" in s.pgids
    ports = {"airflow-api-server": s.settings["api_port"]}
    if HAS_MLFLOW:
        ports["mlflow"] = s.settings["mlflow_port"]

    t0 = time.monotonic()
    down = s.bring_down()
    assert down.returncode == 0, down.stdout + down.stderr
    print(f"\ndown in {time.monotonic() - t0:.0f}s\n{down.stdout}")
    for name in s.pgids:  # each one stopped (on SIGTERM) or killed (after the grace time)
        line = rf"^  {re.escape(name)}: (stopped|killed)"
        assert re.search(line, down.stdout, re.MULTILINE), down.stdout
    left = [name for name, pgid in s.pgids.items() if _group_alive(pgid)]
    assert not left, f"processes left after down: {left}"
    assert not list((s.state / "pids").glob("*.pid"))
    import socket

    for name, port in ports.items():
        with socket.socket() as sock:
            sock.settimeout(1)
            assert sock.connect_ex(("127.0.0.1", port)) != 0, f"{name} still listens on {port}"
    status = json.loads(stack(s.state, "status", "--json", timeout=60).stdout)
    states = {r["service"]: r["state"] for r in status["services"] if r["managed"]}
    for name in s.pgids:
        assert states.get(name) == "stopped", states
