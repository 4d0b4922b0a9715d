"""End to end: the native stack runs DAGs for real.

`scripts/stack.py up` brings up Dask (a scheduler and two workers) and Airflow 3 (api-server,
scheduler, dag-processor, triggerer, LocalExecutor) on free loopback ports, with its state in a
temporary folder. The test then logs in to the REST API with the simple auth manager's admin
(a JWT from /auth/token), triggers DAGs through /api/v2, waits for their runs to succeed,
checks what they wrote, and brings the stack down, checking that no process is left.

Two DAGs run:

- `etlc_stack_e2e`, written here into a temporary DAG bundle: it reads the `dask_cluster`
  connection through Airflow's connection API (so the AIRFLOW_CONN_* wiring is tested), runs a
  computation on the stack's Dask cluster, and writes a JSON file;
- `demo_sales`, from generated_dags/demo_sales.py (the compiled specs/demo_sales.yaml) when
  that file exists: it reads examples/data/sales.csv and writes data/out/; the test checks
  the written files against the CSV.

It takes about 1 to 2 minutes (Airflow's start-up dominates). PostgreSQL is used for Airflow's
metadata when reachable on 127.0.0.1:5432, else SQLite.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STACK = ROOT / "scripts" / "stack.py"
DEMO_DAG = ROOT / "generated_dags" / "demo_sales.py"

import airflow  # noqa: F401 - required (dev extra): a missing package fails the run
import distributed  # noqa: F401

pytestmark = [pytest.mark.stack, pytest.mark.timeout(900)]

SMOKE_DAG = '''
"""A hand-written DAG for the native stack's end-to-end test."""
import json

import pendulum
from airflow.sdk import Connection, dag, task


@dag(dag_id="etlc_stack_e2e", schedule=None, catchup=False, tags=["etlc-test"],
     start_date=pendulum.datetime(2025, 1, 1, tz="UTC"))
def etlc_stack_e2e():
    @task
    def on_dask(dag_run=None):
        import dask.array as da
        from distributed import Client

        address = Connection.get("dask_cluster").extra_dejson["address"]
        with Client(address, timeout=60) as client:
            workers = len(client.scheduler_info()["workers"])
            total = int((da.arange(1, 100_001, chunks=10_000, dtype="int64") ** 2).sum().compute())
        result = {"address": address, "workers": workers, "total": total}
        with open(dag_run.conf["out"], "w") as f:
            json.dump(result, f)
        return result

    @task
    def check(result):
        assert result["total"] == sum(i * i for i in range(1, 100_001)), result

    check(on_dask())


etlc_stack_e2e()
'''


AIRFLOW_DB = "etlc_airflow_e2e"


def drop_database(name: str) -> None:
    """Drop the test's own metadata database in the local Postgres, when there is one."""
    try:
        import psycopg
    except ImportError:
        return
    try:
        with psycopg.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres",
                             autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except psycopg.OperationalError:
        pass  # no Postgres here: the stack used SQLite under tmp_path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Api:
    """A few calls of Airflow's public REST API (v2), authenticated with a JWT."""

    def __init__(self, base: str):
        self.base = base
        self.token = ""

    def call(self, method: str, path: str, body: dict | None = None, auth: bool = True):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if auth:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(errors="replace")

    def login(self, user: str, password: str) -> None:
        status, body = self.call("POST", "/auth/token",
                                 {"username": user, "password": password}, auth=False)
        assert status in (200, 201), f"login failed: {status} {body}"
        self.token = body["access_token"]

    def wait_for_dag(self, dag_id: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = self.call("GET", f"/api/v2/dags/{dag_id}")
            if last[0] == 200:
                return
            time.sleep(2)
        errors = self.call("GET", "/api/v2/importErrors")
        pytest.fail(f"DAG {dag_id} never appeared: {last}; import errors: {errors}")

    def trigger(self, dag_id: str, conf: dict) -> str:
        status, body = self.call("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})
        assert status == 200, f"unpause {dag_id}: {status} {body}"
        status, body = self.call("POST", f"/api/v2/dags/{dag_id}/dagRuns",
                                 {"logical_date": None, "conf": conf})
        assert status == 200, f"trigger {dag_id}: {status} {body}"
        return body["dag_run_id"]

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        state = None
        while time.monotonic() < deadline:
            status, body = self.call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")
            assert status == 200, body
            state = body["state"]
            if state in ("success", "failed"):
                return state
            time.sleep(2)
        return f"timed out in state {state}"

    def task_states(self, dag_id: str, run_id: str) -> dict:
        status, body = self.call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances")
        if status != 200:
            return {"error": body}
        return {ti["task_id"]: ti["state"] for ti in body["task_instances"]}

    def task_log(self, dag_id: str, run_id: str, task_id: str) -> str:
        status, body = self.call(
            "GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/1")
        return json.dumps(body)[-4000:] if status == 200 else str(body)[-2000:]


def clean_env() -> dict[str, str]:
    """The environment without Airflow settings that other tests may have left in it."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_", "_AIRFLOW"))
            and k not in ("AIRFLOW_HOME", "ETLC_STACK_DIR")}


def stack(state: Path, *args: str, timeout: float = 600,
          project: Path | None = None) -> subprocess.CompletedProcess:
    env = clean_env()
    if project is not None:  # the DAGs' relative paths resolve there, not in the repository
        env["ETLC_STACK_PROJECT_ROOT"] = str(project)
    return subprocess.run([sys.executable, str(STACK), "--state-dir", str(state), *args],
                          capture_output=True, text=True, timeout=timeout, cwd=str(ROOT),
                          env=env, check=False)


def demo_project(folder: Path) -> Path:
    """What demo_sales reads, copied into a project folder of its own, so that its outputs
    (data/out) and staging land there and never in the repository."""
    (folder / "pyproject.toml").parent.mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    for rel in ("specs/demo_sales.yaml", "examples/data/sales.csv"):
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / rel, folder / rel)
    return folder


def logs_tail(state: Path) -> str:
    out = []
    for log in sorted((state / "logs").glob("*.log")):
        lines = log.read_text(errors="replace").splitlines()[-25:]
        out.append(f"--- {log.name}\n" + "\n".join(lines))
    return "\n".join(out)


def expected_demo_totals() -> tuple[float, list[tuple[str, float]]]:
    """Total revenue and the top 5 products, computed straight from the CSV."""
    total = 0.0
    by_product: dict[str, float] = {}
    with open(ROOT / "examples" / "data" / "sales.csv", newline="") as f:
        for row in csv.DictReader(f):
            if not row["quantity"] or not row["unit_price"]:
                continue
            q, p = int(row["quantity"]), float(row["unit_price"])
            d = float(row["discount"] or 0)
            if q >= 1 and p > 0:
                rev = round(q * p * (1 - d), 2)
                total += rev
                by_product[row["product"]] = by_product.get(row["product"], 0.0) + rev
    top = sorted(by_product.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    return total, top


def check_demo_outputs(since: float, project: Path) -> None:
    out = project / "data" / "out"
    top_csv = out / "top_products.csv"
    assert top_csv.exists(), f"demo_sales wrote no {top_csv}"
    assert top_csv.stat().st_mtime >= since - 1, "top_products.csv was not rewritten by this run"
    with open(top_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 5, rows
    total, top = expected_demo_totals()
    assert [r["product"] for r in rows] == [p for p, _ in top]
    for r, (_, rev) in zip(rows, top):
        assert float(r["revenue"]) == pytest.approx(rev, abs=0.05)

    parts = out / "sales_by_region"
    files = [p for p in parts.rglob("*.parquet")]
    assert files, f"demo_sales wrote no Parquet under {parts}"
    assert {p.parent.name.split("=")[0] for p in files} == {"region"}, files
    import pandas as pd
    frames = []
    for p in files:
        df = pd.read_parquet(p)
        df["region"] = p.parent.name.split("=", 1)[1]
        frames.append(df)
    got = pd.concat(frames)
    assert float(got["revenue"].astype(float).sum()) == pytest.approx(total, abs=0.5)


@pytest.mark.stack
def test_native_stack_runs_dags_end_to_end(tmp_path):
    state = tmp_path / "stack"
    bundle = tmp_path / "dags"
    bundle.mkdir()
    (bundle / "etlc_stack_e2e.py").write_text(SMOKE_DAG)
    out_file = tmp_path / "e2e_result.json"

    use_demo = DEMO_DAG.exists()
    if use_demo:  # the real dags folder, plus the hand-written DAG as a bundle of its own
        dag_args = ["--dags-folder", str(DEMO_DAG.parent), "--extra-dags", str(bundle)]
    else:
        dag_args = ["--dags-folder", str(bundle)]
    api_port = free_port()
    args = ["up", *dag_args, "--api-port", str(api_port), "--dask-port", str(free_port()),
            "--dask-dashboard-port", str(free_port()), "--log-server-port", str(free_port()),
            "--scheduler-health-port", str(free_port()),
            # MLflow (and the CeleryExecutor) are tested by test_native_stack_celery_mlflow.py
            "--no-mlflow", "--dask-memory", "1GiB", "--wait", "300",
            # a metadata database of its own, so that a developer's running stack is not touched
            "--airflow-db", AIRFLOW_DB]
    drop_database(AIRFLOW_DB)
    t0 = time.monotonic()
    try:
        up = stack(state, *args, project=demo_project(tmp_path / "proj"))
        assert up.returncode == 0, f"stack up failed:\n{up.stdout}\n{up.stderr}\n{logs_tail(state)}"
        print(f"stack up in {time.monotonic() - t0:.0f}s")

        status = stack(state, "status", "--json", timeout=60)
        assert status.returncode == 0, status.stderr
        services = {r["service"]: r for r in json.loads(status.stdout)["services"]}
        for name in ("dask-scheduler", "dask-worker-1", "dask-worker-2", "airflow-api-server",
                     "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"):
            assert services[name]["state"] == "running", services[name]
        assert services["airflow-api-server"]["port"] == api_port

        secrets = json.loads((state / "secrets.json").read_text())
        api = Api(f"http://127.0.0.1:{api_port}")
        # Unauthenticated calls are refused: the simple auth manager is really on.
        assert api.call("GET", "/api/v2/dags", auth=False)[0] == 401
        api.login("admin", secrets["admin_password"])

        runs = [("etlc_stack_e2e", {"out": str(out_file)})]
        if use_demo:
            runs.append(("demo_sales", {}))
        started = {}
        for dag_id, conf in runs:
            api.wait_for_dag(dag_id, timeout=180)
            started[dag_id] = (time.time(), api.trigger(dag_id, conf))
        for dag_id, (_, run_id) in started.items():
            state_ = api.wait_for_run(dag_id, run_id, timeout=420)
            if state_ != "success":
                tis = api.task_states(dag_id, run_id)
                logs = {t: api.task_log(dag_id, run_id, t) for t, s in tis.items() if s != "success"}
                pytest.fail(f"{dag_id} run {run_id}: {state_}; tasks {tis}\n{logs}\n"
                            f"{logs_tail(state)}")
            assert set(api.task_states(dag_id, run_id).values()) == {"success"}

        result = json.loads(out_file.read_text())
        assert result["workers"] == 2, result
        assert result["total"] == sum(i * i for i in range(1, 100_001))
        assert result["address"] == f"tcp://127.0.0.1:{services['dask-scheduler']['port']}"
        if use_demo:
            check_demo_outputs(started["demo_sales"][0], tmp_path / "proj")
    finally:
        pids = {}
        for p in (state / "pids").glob("*.pid") if (state / "pids").exists() else []:
            pids[p.stem] = int(p.read_text())
        down = stack(state, "down", timeout=180)
        print(f"stack up + run + down in {time.monotonic() - t0:.0f}s")
    drop_database(AIRFLOW_DB)
    assert down.returncode == 0, down.stdout + down.stderr
    left = [name for name, pid in pids.items() if _group_alive(pid)]
    assert not left, f"processes left after down: {left}"
    assert not list((state / "pids").glob("*.pid"))


def _group_alive(pgid: int) -> bool:
    """True while a live (non-zombie) process is in process group `pgid`."""
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-s", *sys.argv[1:]]))
