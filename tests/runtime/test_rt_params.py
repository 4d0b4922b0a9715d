"""Params are checked against their declared type, enum, minimum/maximum and pattern by one
function (etlc_runtime.params.check_param): `etlc run --param` refuses a bad value as a usage
error (exit 2), and a task inside Airflow fails naming the param before any task work."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from etlc_runtime import params as params_mod
from etlc_runtime import templating
from etlc_runtime.airflow import run_task as airflow_run_task
from etlc_runtime.errors import ParamError

DEFS = {
    "region": {"type": "string", "default": "north", "enum": ["north", "south"]},
    "n": {"type": "integer", "default": 1, "minimum": 0, "maximum": 10},
    "ratio": {"type": "number", "default": 0.5, "minimum": 0, "maximum": 1},
    "code": {"type": "string", "default": "AB12", "pattern": "^[A-Z]{2}[0-9]{2}$"},
    "flag": {"type": "boolean", "default": False},
    "tags": {"type": "array", "default": []},
    "level": {"type": "integer", "default": 1, "enum": [1, 2, 3]},
}

ACCEPTED = [("region", "south"), ("n", 0), ("n", 10), ("n", 3.0), ("ratio", 1), ("ratio", 0.25),
            ("code", "ZZ99"), ("flag", True), ("tags", ["a"]), ("level", 2), ("level", 2.0)]
REFUSED = [("region", "../../other"), ("region", "North"), ("n", -1), ("n", 11), ("n", 2.5),
           ("n", True), ("n", "3"), ("ratio", 1.5), ("ratio", float("nan")), ("code", "ab12"),
           ("code", "AB123"), ("code", 12), ("flag", 1), ("tags", "a"), ("level", True),
           ("level", 4)]


@pytest.mark.parametrize("name,value", ACCEPTED)
def test_accepted_values(name, value):
    assert params_mod.check_param(name, value, DEFS[name]) == value


@pytest.mark.parametrize("name,value", REFUSED)
def test_refused_values_name_the_param(name, value):
    with pytest.raises(ParamError) as caught:
        params_mod.check_param(name, value, DEFS[name])
    assert caught.value.code == "R011" and caught.value.name == name
    assert f"param '{name}'" in str(caught.value)


def test_a_bad_pattern_is_reported_not_raised_raw():
    with pytest.raises(ParamError, match="not a valid regular expression"):
        params_mod.check_param("p", "x", {"type": "string", "pattern": "("})


def test_resolve_params_checks_overrides_and_defaults():
    out = templating.resolve_params(DEFS, {"n": "7", "code": "QQ11"}, "r", "2025-01-02")
    assert out["n"] == 7 and out["code"] == "QQ11" and out["region"] == "north"
    with pytest.raises(ParamError, match="region"):
        templating.resolve_params(DEFS, {"region": "../../other"}, "r", "2025-01-02")
    with pytest.raises(ParamError, match="n"):
        templating.resolve_params(DEFS, {"n": "11"}, "r", "2025-01-02")
    bad_default = {"day": {"type": "string", "default": "{{ ds }}", "pattern": "^[0-9]{8}$"}}
    with pytest.raises(ParamError, match="day"):
        templating.resolve_params(bad_default, None, "r", "2025-01-02")


@pytest.mark.parametrize("pair", ["region=../../other", "n=-1", "n=11", "n=2.5", "n=x",
                                  "ratio=2", "code=ab12", "flag=maybe", "tags=[1"])
def test_parse_params_refuses_as_usage_error(pair):
    from etlc_compiler.run import UsageError, parse_params

    with pytest.raises(UsageError, match=pair.split("=")[0]):
        parse_params([pair], DEFS)


def test_parse_params_types_good_values():
    from etlc_compiler.run import parse_params

    got = parse_params(["n=4", "ratio=0.75", "flag=yes", "tags=[\"a\"]", "region=south"], DEFS)
    assert got == {"n": 4, "ratio": 0.75, "flag": True, "tags": ["a"], "region": "south"}


SPEC = textwrap.dedent("""\
    etlc: 1
    pipeline: regional
    params:
      region: {type: string, default: north, enum: [north, south]}
      limit: {type: integer, default: 5, minimum: 1, maximum: 100}
      tag: {type: string, default: abc, pattern: "^[a-z]+$"}
    datasets:
      src:
        format: csv
        path: in/rows.csv
        columns: {region: {type: string}, amount: {type: float}}
      out:
        format: csv
        path: "out/{{ params.region }}/"
    steps:
      raw:
        read: src
      some:
        from: raw
        limit: 1000
      save:
        from: some
        write: out
        mode: overwrite
    """)


@pytest.fixture
def cli_project(tmp_path) -> Path:
    root = tmp_path / "proj"
    (root / "in").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (root / "in" / "rows.csv").write_text("region,amount\nnorth,1\nsouth,2\n")
    (root / "regional.yaml").write_text(SPEC)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keep.txt").write_text("precious")
    return root


def etlc_run(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETLC_")}
    return subprocess.run([sys.executable, "-m", "etlc_compiler.cli", "run",
                           str(project / "regional.yaml"), *args], check=False,
                          capture_output=True, text=True, cwd=project, env=env, timeout=120)


def tree(folder: Path) -> list:
    """Every path and its bytes, less etlc's own check cache (`etlc run` caches the spec's
    check before it reads the params: that is no data of the project's)."""
    return sorted((rel, p.read_bytes() if p.is_file() else None)
                  for p in folder.rglob("*")
                  if not _etlc_cache(rel := p.relative_to(folder).as_posix()))


def _etlc_cache(rel: str) -> bool:
    return rel.endswith(".etlc") or "/.etlc/cache" in f"/{rel}"


def test_param_enum_enforced_in_etlc_run(cli_project):
    before = tree(cli_project.parent)
    r = etlc_run(cli_project, "--param", "region=../../other")
    assert r.returncode == 2, r.stderr
    assert "R011" in r.stderr and "region" in r.stderr and "Traceback" not in r.stderr
    assert tree(cli_project.parent) == before
    ok = etlc_run(cli_project, "--param", "region=south")
    assert ok.returncode == 0, ok.stderr
    assert (cli_project / "out" / "south").is_dir()


@pytest.mark.parametrize("pair", ["limit=0", "limit=101", "limit=ten", "tag=ABC", "region=east"])
def test_bounds_pattern_and_type_enforced_in_etlc_run(cli_project, pair):
    before = tree(cli_project)
    r = etlc_run(cli_project, "--param", pair)
    assert r.returncode == 2, r.stderr
    assert "R011" in r.stderr and pair.split("=")[0] in r.stderr
    assert tree(cli_project) == before


class _Params(dict):
    """What Airflow hands a task as context["params"] (a ParamsDict with dump())."""

    def dump(self):
        return dict(self)


def _task_plan(project: Path) -> dict:
    from etlc_compiler import api
    from etlc_compiler.compile import plan_checked

    checked = api.check_file(project / "regional.yaml")
    assert checked.ok, checked.diagnostics
    payload = plan_checked(checked, project).pipeline_payload()
    (task,) = [t for t in payload["tasks"] if any(s.get("write") for s in t["steps"])]
    return task


@pytest.mark.parametrize("bad", [{"region": "../../other"}, {"limit": 0}, {"limit": "x"},
                                 {"tag": "A-B"}])
def test_airflow_task_fails_naming_the_param_before_any_work(cli_project, monkeypatch, bad):
    """The generated EtlcOperator's execute() is `run_task(self.task_plan, **context)`."""
    monkeypatch.setenv("ETLC_PROJECT_ROOT", str(cli_project))
    plan = _task_plan(cli_project)
    (cli_project / "in" / "rows.csv").unlink()   # any step work would fail on this instead
    before = tree(cli_project.parent)
    params = _Params({"region": "north", "limit": 5, "tag": "abc"} | bad)
    with pytest.raises(ParamError) as caught:
        airflow_run_task(plan, run_id="manual__2025-01-02T00:00:00+00:00",
                         logical_date=None, params=params)
    assert caught.value.name == next(iter(bad)) and "R011" in str(caught.value)
    assert tree(cli_project.parent) == before


def test_airflow_task_runs_with_good_params(cli_project, monkeypatch):
    monkeypatch.setenv("ETLC_PROJECT_ROOT", str(cli_project))
    out = airflow_run_task(_task_plan(cli_project), run_id="manual__1", logical_date=None,
                           params=_Params(region="south", limit=5, tag="abc"))
    assert out["rows"] == 2 and (cli_project / "out" / "south").is_dir()
