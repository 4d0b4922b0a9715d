"""Path resolution, engines, templating of macros and params, StatsD metrics."""

from __future__ import annotations

import datetime as dt
import socket

import pytest
from etlc_runtime import metrics, paths, templating
from etlc_runtime.engines import check_engine
from etlc_runtime.errors import EngineNotAvailable, NotAvailable


def test_env_root_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("ETLC_PROJECT_ROOT", str(tmp_path))
    assert paths.find_project_root("specs/x.yaml", root="/elsewhere") == tmp_path.resolve()


def test_root_is_nearest_pyproject_above_the_spec(tmp_path, monkeypatch):
    monkeypatch.delenv("ETLC_PROJECT_ROOT", raising=False)
    outer = tmp_path / "outer"
    inner = outer / "proj"
    (inner / "specs").mkdir(parents=True)
    (outer / "pyproject.toml").write_text("")
    (inner / "pyproject.toml").write_text("")
    spec = inner / "specs" / "a.yaml"
    spec.write_text("")
    assert paths.find_project_root(spec) == inner.resolve()
    # a project-relative spec path: searched from the current directory and its parents
    monkeypatch.chdir(inner / "specs")
    assert paths.find_project_root("specs/a.yaml") == inner.resolve()
    # or from a DAG file's folder (inside Airflow), whatever the current directory is
    monkeypatch.chdir(tmp_path)
    dags = inner / "generated_dags"
    dags.mkdir()
    (dags / "a.py").write_text("")
    assert paths.find_project_root("specs/a.yaml", starts=[dags / "a.py"]) == inner.resolve()
    # an explicit root (etlc run) beats the search
    assert paths.find_project_root("specs/a.yaml", root=outer) == outer.resolve()


def test_local_paths_and_file_urls(tmp_path):
    root = tmp_path
    assert paths.local_path("data/x.csv", root) == tmp_path / "data/x.csv"
    assert paths.local_path("file:data/x.csv", root) == tmp_path / "data/x.csv"
    assert paths.local_path("file:.etlc/staging", root) == tmp_path / ".etlc/staging"
    assert str(paths.local_path("file:///abs/x.csv", root)) == "/abs/x.csv"
    assert str(paths.local_path("file://localhost/abs/x.csv", root)) == "/abs/x.csv"
    assert str(paths.local_path("file:/abs/x%20y.csv", root)) == "/abs/x y.csv"
    assert str(paths.local_path("/abs/x.csv", root)) == "/abs/x.csv"
    assert paths.local_path("a/../b/./c", root) == tmp_path / "b/c"


@pytest.mark.parametrize("url", ["s3://bucket/key", "gs://b/k", "http://h/x"])
def test_remote_paths_are_not_available_yet(url, tmp_path):
    with pytest.raises(NotAvailable, match="services issue"):
        paths.local_path(url, tmp_path)


def test_engines():
    assert check_engine("pandas") == "pandas"
    assert check_engine(None) == "duckdb"   # engines.DEFAULT
    assert check_engine("dask", "daily") == "dask"   # tests/runtime/test_dask_engine.py
    with pytest.raises(EngineNotAvailable, match="unknown engine"):
        check_engine("spark")


def test_macros_and_render():
    values = templating.macros("manual__1", dt.date(2025, 1, 2), {"x": "a"})
    assert values["ds"] == "2025-01-02" and values["ds_nodash"] == "20250102"
    assert values["ts"].startswith("2025-01-02T00:00:00")
    assert templating.render("in/{{ ds_nodash }}/{{ params.x }}-{{ run_id }}.csv", values) \
        == "in/20250102/a-manual__1.csv"
    assert templating.render("no template", values) == "no template"
    with pytest.raises(templating.TemplateError):
        templating.render("{{ nope }}", values)
    # the sandbox refuses attribute games
    with pytest.raises(templating.TemplateError):
        templating.render("{{ ''.__class__.__mro__[1].__subclasses__() }}", values)


def test_params_defaults_overrides_and_types():
    defs = {"n": {"type": "integer", "default": 1}, "x": {"type": "number", "default": 0},
            "flag": {"type": "boolean", "default": False},
            "day": {"type": "string", "default": "{{ ds }}"}}
    out = templating.resolve_params(defs, {"n": "5", "flag": "true", "x": "2.5"}, "r",
                                    "2025-03-04")
    assert out == {"n": 5, "x": 2.5, "flag": True, "day": "2025-03-04"}
    assert templating.resolve_params(defs, None, "r", "2025-03-04")["n"] == 1
    with pytest.raises(templating.TemplateError):
        templating.resolve_params(defs, {"n": "five"}, "r", None)


def test_statsd_metrics(monkeypatch):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(2)
    port = sock.getsockname()[1]
    monkeypatch.setenv("ETLC_STATSD_HOST", "127.0.0.1")
    monkeypatch.setenv("ETLC_STATSD_PORT", str(port))
    assert metrics.emit_step("p", "daily", rows=10, seconds=0.5, nbytes=100)
    data = sock.recv(4096).decode()
    sock.close()
    assert "etlc.step.rows:10|c" in data
    assert "etlc.step.seconds:500.000|ms" in data
    assert "etlc.step.bytes:100|c" in data
    # a broken target never raises
    monkeypatch.setenv("ETLC_STATSD_HOST", "host.invalid")
    assert metrics.emit_step("p", "daily", rows=1) is False
    monkeypatch.delenv("ETLC_STATSD_HOST")
    assert metrics.emit_step("p", "daily", rows=1) is False
