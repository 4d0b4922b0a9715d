"""MLflow tracking (issue 12): a real ``mlflow server`` on loopback (sqlite backend and
artifacts under tmp_path), a local SQLite store, and the executor's tasks writing to them."""

from __future__ import annotations

import decimal
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from etlc_runtime import executor
from etlc_runtime.errors import CheckFailed, StepError
from etlc_runtime.tracking import TrackingError, metric_value
from mlflow.tracking import MlflowClient
from rt_service_helpers import free_port, service_plan

ROWS = "id,region,amount\n1,north,10.5\n2,south,3.25\n3,north,7\n4,east,0.1\n"
COLUMNS = {"id": {"type": "int"}, "region": {"type": "string"},
           "amount": {"type": "decimal", "scale": 2}}
PARAMS = {"min_id": {"type": "integer", "default": 1}, "label": {"type": "string",
                                                                 "default": "x"}}
SECRET = "s3cr3t-Pa55-word"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A real MLflow tracking server on a free loopback port."""
    base = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    log = open(base / "server.log", "wb")  # noqa: SIM115 - open while the server runs
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("mlflow")), "server", "--host", "127.0.0.1",
         "--port", str(port), "--workers", "1",
         "--backend-store-uri", f"sqlite:///{base / 'mlflow.db'}",
         "--artifacts-destination", str(base / "artifacts")],
        cwd=base, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600          # a start-up limit, not an assertion on speed
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail("mlflow server exited:\n" + (base / "server.log").read_text()[-3000:])
            try:
                with urllib.request.urlopen(url + "/health", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("mlflow server did not start")
            time.sleep(1)
        yield {"url": url, "port": port, "base": base}
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture
def data(project, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    (project / "data").mkdir()
    (project / "data" / "in.csv").write_text(ROWS)
    (project / "specs" / "p.yaml").write_text("etlc: 1\npipeline: p  # the spec text\n")
    return project


def plan(steps, task, tracking, *, connections=None):
    return service_plan(steps, {"src": {"format": "csv", "path": "data/in.csv",
                                        "columns": COLUMNS},
                                "out": {"format": "parquet", "path": "out/t/"}},
                        task, tracking=tracking, connections=connections, params=PARAMS)


def load_plan(tracking, **kw):
    return plan([{"name": "raw", "read": "src", "filter": "id >= $min_id",
                  "checks": {"not_null": ["id", "region"], "unique": ["id"]},
                  "metrics": {"n": "count(*)", "regions": "count_distinct(region)",
                              "top": "max(id)"}},
                 {"name": "save", "from": "raw", "write": "out", "mode": "overwrite"}],
                "load", tracking, **kw)


def report_plan(tracking, **kw):
    return plan([{"name": "back", "read": "out", "group_by": ["region"],
                  "aggregate": {"k": "count(*)"},
                  "metrics": {"groups": "count(*)", "biggest": "max(k)"}}],
                "report", tracking, **kw)


def parents(client, experiment: str, run_id: str):
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None
    runs = client.search_runs([exp.experiment_id], f"tags.`etlc.run_id` = '{run_id}'")
    top = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    kids = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    return top, kids


def test_one_dag_run_is_one_mlflow_run_on_a_server(data, server, duck, monkeypatch):
    """Two tasks of one DAG run and a retry of the first: one parent run holding every
    task's metrics (equal to DuckDB's), params, tags and artifacts; one nested run per task;
    the retry adds no metric entry; the connection's password is nowhere in MLflow."""
    monkeypatch.setenv("AIRFLOW_CONN_MLFLOW_T", f"http://etlc:{SECRET}@127.0.0.1:{server['port']}")
    tracking = {"connection": "tr", "experiment": "exp_server"}
    conns = {"tr": "mlflow_t"}
    ctx = {"run_id": "scheduled__2026-01-02T00:00:00+00:00", "logical_date": "2026-01-02",
           "params": {"min_id": 2}}
    first = executor.run_task(load_plan(tracking, connections=conns), dict(ctx))
    executor.run_task(report_plan(tracking, connections=conns), dict(ctx))
    again = executor.run_task(load_plan(tracking, connections=conns), dict(ctx))   # a retry
    assert first["metrics"] == again["metrics"]

    client = MlflowClient(server["url"])
    top, kids = parents(client, "exp_server", ctx["run_id"])
    assert len(top) == 1 and len(kids) == 2
    parent = top[0]
    assert {k.data.tags["etlc.task"] for k in kids} == {"load", "report"}
    assert all(k.data.tags["mlflow.parentRunId"] == parent.info.run_id for k in kids)
    assert parent.data.tags["etlc.pipeline"] == "p"
    assert parent.data.tags["airflow.dag_id"] == "p"
    assert parent.data.tags["etlc.logical_date"].startswith("2026-01-02")
    assert parent.data.params == {"min_id": "2", "label": "x"}
    assert parent.info.status == "FINISHED"

    src = data / "data" / "in.csv"
    n, regions, top_id = duck.sql(f"select count(*), count(distinct region), max(id) from "
                                  f"read_csv('{src}') where id >= 2").fetchall()[0]
    groups, biggest = duck.sql(f"select count(*), max(k) from (select region, count(*) k "
                               f"from read_csv('{src}') where id >= 2 group by region)"
                               ).fetchall()[0]
    m = parent.data.metrics
    assert (m["raw.n"], m["raw.regions"], m["raw.top"]) == (n, regions, top_id)
    assert (m["back.groups"], m["back.biggest"]) == (groups, biggest)
    # rows of every step the engine counted (a fused duckdb chain counts its writes)
    assert m["save.rows"] == n and m.get("raw.rows", n) == n and m["raw.checks"] == 3
    assert m["save.bytes"] > 0 and m["save.seconds"] >= 0
    load = next(k for k in kids if k.data.tags["etlc.task"] == "load")
    assert load.data.metrics["raw.n"] == n and "back.groups" not in load.data.metrics
    # the retry logged nothing twice
    assert len(client.get_metric_history(parent.info.run_id, "raw.n")) == 1
    assert len(client.get_metric_history(load.info.run_id, "raw.top")) == 1

    names = {a.path for a in client.list_artifacts(parent.info.run_id, "etlc/plans")}
    assert names == {"etlc/plans/load.json", "etlc/plans/report.json"}
    spec = Path(client.download_artifacts(parent.info.run_id, "etlc/spec/p.yaml",
                                          str(data / "dl")))
    assert spec.read_text() == (data / "specs" / "p.yaml").read_text()

    # secrets: never in params, tags, metrics' keys, artifacts or the server's files
    for run in [parent, *kids]:
        text = repr(run.data.params) + repr(run.data.tags) + repr(run.data.metrics)
        assert SECRET not in text
    for path in server["base"].rglob("*"):
        if path.is_file() and path.name != "server.log":
            assert SECRET.encode() not in path.read_bytes(), path
    assert "MLFLOW_TRACKING_PASSWORD" not in os.environ


def test_local_store_by_default_and_env_uri(data, monkeypatch):
    """No connection and no MLFLOW_TRACKING_URI: the SQLite store under .etlc/mlruns;
    MLFLOW_TRACKING_URI set: that store instead."""
    tracking = {"experiment": "exp_local"}
    executor.run_task(load_plan(tracking), {"run_id": "manual__a"})
    store = data / ".etlc" / "mlruns" / "mlflow.db"
    assert store.is_file()
    top, kids = parents(MlflowClient(f"sqlite:///{store}"), "exp_local", "manual__a")
    assert len(top) == 1 and len(kids) == 1 and top[0].data.metrics["raw.n"] == 4
    assert (data / ".etlc" / "mlruns" / "artifacts").is_dir()

    other = data.parent / "elsewhere.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{other}")
    executor.run_task(load_plan({}), {"run_id": "manual__b"})  # experiment: the pipeline id
    top, _ = parents(MlflowClient(f"sqlite:///{other}"), "p", "manual__b")
    assert len(top) == 1 and top[0].data.metrics["raw.regions"] == 3
    top, _ = parents(MlflowClient(f"sqlite:///{store}"), "exp_local", "manual__b")
    assert top == []


def test_failed_task_marks_its_run_failed_and_keeps_its_error(data, monkeypatch):
    uri = f"sqlite:///{data.parent / 'f.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    bad = load_plan({"experiment": "exp_fail"})
    bad["steps"][0]["checks"] = {"expect": ["amount > 5"]}
    with pytest.raises(StepError) as info:
        executor.run_task(bad, {"run_id": "manual__f"})
    assert isinstance(info.value, CheckFailed) or isinstance(info.value.__cause__, CheckFailed)
    top, kids = parents(MlflowClient(uri), "exp_fail", "manual__f")
    assert len(top) == 1 and len(kids) == 1
    assert kids[0].info.status == "FAILED" and top[0].info.status == "FAILED"
    assert "etlc.error" in kids[0].data.tags
    exp = MlflowClient(uri).get_experiment_by_name("exp_fail")
    assert exp.artifact_location == (data / ".etlc" / "mlruns" / "artifacts").as_uri()
    # a successful retry of the same DAG run continues the same runs, now FINISHED
    executor.run_task(load_plan({"experiment": "exp_fail"}), {"run_id": "manual__f"})
    top2, kids2 = parents(MlflowClient(uri), "exp_fail", "manual__f")
    assert [r.info.run_id for r in top2] == [top[0].info.run_id]
    assert [r.info.run_id for r in kids2] == [kids[0].info.run_id]
    assert kids2[0].info.status == "FINISHED" and top2[0].data.metrics["raw.n"] == 4


def test_unreachable_server_is_r310_without_the_password(data, monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    monkeypatch.setenv("AIRFLOW_CONN_MLFLOW_X",
                       f"http://etlc:{SECRET}@127.0.0.1:{free_port()}")
    with pytest.raises(TrackingError) as info:
        executor.run_task(load_plan({"connection": "x"}, connections={"x": "mlflow_x"}),
                          {"run_id": "manual__u"})
    assert info.value.code == "R310"
    assert info.value.uri.startswith("http://127.0.0.1:")
    assert SECRET not in str(info.value) and SECRET not in info.value.uri


@pytest.mark.parametrize("value, number, text", [
    (7, 7.0, None), (2 ** 53 + 1, float(2 ** 53 + 1), str(2 ** 53 + 1)), (0.5, 0.5, None),
    (decimal.Decimal("0.1"), 0.1, "0.1"), (decimal.Decimal("2.50"), 2.5, None),
    ("abc", None, "abc"), (None, None, None), (True, None, "true"),
])
def test_metric_values_keep_what_a_double_cannot(value, number, text):
    assert metric_value(value) == (number, text)


def test_no_tracking_never_imports_mlflow(data):
    code = ("import json, sys; from etlc_runtime import executor\n"
            "executor.run_task(json.loads(sys.argv[1]), {'run_id': 'manual__n'})\n"
            "assert 'mlflow' not in sys.modules, 'mlflow imported'")
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, ETLC_PROJECT_ROOT=str(data))
    done = subprocess.run([sys.executable, "-c", code, json.dumps(load_plan(None))],
                          cwd=root, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (data / "out" / "t").is_dir()
