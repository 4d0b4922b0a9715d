"""`etlc convert dag-factory`: what converts becomes a valid etlc spec; what does not is named
with its file position, and the spec is still written without it."""

from __future__ import annotations

from pathlib import Path

from etlc_compiler.api import check_file
from etlc_compiler.convert import convert_file, dump

SOURCE = """\
default:
  default_args:
    owner: team
    start_date: 2024-01-01
    retry_delay_sec: 90
my-dag:
  schedule: "@daily"
  dagrun_timeout_sec: 7200
  params: {limit: 5, ratio: 0.5, flag: true, name: x}
  tasks:
    - task_id: a
      operator: airflow.providers.standard.operators.empty.EmptyOperator
    - task_id: b
      operator: airflow.providers.standard.operators.python.PythonOperator
      python_callable_name: fn
      python_callable_file: /opt/fn.py
      dependencies: [a]
      execution_timeout: {__type__: datetime.timedelta, hours: 1}
"""


def test_convert_reports_what_it_cannot_and_writes_a_valid_spec(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\nversion = '0'\n")
    src = tmp_path / "dags.yml"
    src.write_text(SOURCE)
    specs, notes = convert_file(src)
    assert list(specs) == ["my_dag"]
    spec = specs["my_dag"]
    assert spec["owner"] == "team" and spec["start_date"] == "2024-01-01"
    assert spec["defaults"] == {"retry_delay": "90s"} and spec["dagrun_timeout"] == "2h"
    assert spec["params"] == {"limit": {"type": "integer", "default": 5}, "ratio": {"type": "number", "default": 0.5},
                              "flag": {"type": "boolean", "default": True}, "name": {"type": "string", "default": "x"}}
    assert spec["steps"]["b"]["after"] == ["a"]
    where = sorted(n.split(": not converted")[0].removeprefix(str(src) + ":") for n in notes)
    # the renamed DAG (6:1), python_callable_file that is no file (16:29); the Python object converts
    assert where == ["16:29", "6:1"], notes
    assert spec["steps"]["b"]["args"]["execution_timeout"] == {"__type__": "datetime.timedelta", "hours": 1}
    out = tmp_path / "specs"
    out.mkdir()
    (out / "my_dag.yaml").write_text(dump(spec, "dags.yml"))
    checked = check_file(out / "my_dag.yaml")
    assert [d.code for d in checked.diagnostics if d.is_error] == []


SCHEDULES = """\
tt:
  schedule:
    __type__: airflow.timetables.trigger.MultipleCronTriggerTimetable
    __args__: ["0 6 * * *", "0 18 * * *"]
    timezone: UTC
every:
  schedule: {__type__: datetime.timedelta, hours: 6}
custom:
  schedule: {__type__: my_pkg.timetables.Workdays, cutoff: 18}
nested:
  schedule:
    __or__:
      - {__type__: airflow.sdk.Asset, uri: "s3://b/x"}
      - __and__: [{__type__: airflow.sdk.Asset, name: "y"}, {__type__: airflow.sdk.Asset, __args__: ["z"]}]
or_time:
  schedule:
    __type__: airflow.timetables.assets.AssetOrTimeSchedule
    timetable: {__type__: airflow.timetables.trigger.CronTriggerTimetable, cron: "0 1 * * *", timezone: UTC}
    assets: {__type__: builtins.list, items: [{__type__: airflow.sdk.Asset, uri: "s3://b/x"}]}
nothing:
  schedule: None
relative:
  schedule: {__type__: dateutil.relativedelta.relativedelta, hour: 18}
extra:
  schedule:
    __or__:
      - {__type__: airflow.sdk.Asset, uri: "s3://b/x", extra: {a: 1}}
      - {__type__: airflow.sdk.Asset, uri: "s3://b/y"}
plain:
  schedule: {__and__: ["s3://b/x", "s3://b/y"]}
typed_kwarg:
  schedule:
    __type__: airflow.timetables.trigger.DeltaTriggerTimetable
    delta: {__type__: datetime.timedelta, hours: 1}
"""


def test_schedule_objects_become_etlc_schedules_or_are_reported_at_their_place(tmp_path: Path):
    src = tmp_path / "dags.yml"
    src.write_text(SCHEDULES)
    specs, notes = convert_file(src)
    got = {name: spec.get("schedule", "-") for name, spec in specs.items()}
    assert got["tt"] == {"timetable": "MultipleCronTriggerTimetable", "args": ["0 6 * * *", "0 18 * * *"],
                         "kwargs": {"timezone": "UTC"}}
    assert got["every"] == {"every": "6h"}
    assert got["custom"] == {"timetable": "my_pkg.timetables:Workdays", "kwargs": {"cutoff": 18}}
    assert got["nested"] == {"assets": {"or": ["s3://b/x", {"and": ["y", "z"]}]}, "external": True}
    assert got["or_time"] == {"assets": ["s3://b/x"], "external": True, "cron": "0 1 * * *", "timezone": "UTC"}
    assert got["nothing"] is None
    where = sorted(n.split(": not converted")[0].removeprefix(str(src) + ":") for n in notes)
    # relativedelta (23:13), the asset's extra (27:63), a plain string in __and__ (30:24),
    # a __type__ object as a timetable argument (34:12); each of those DAGs is written without it
    assert where == ["23:13", "27:63", "30:24", "34:12"], notes
    assert [got[n] for n in ("relative", "extra", "plain", "typed_kwarg")] == ["-"] * 4


def test_converted_schedules_pass_etlc_checks(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\nversion = '0'\n")
    src = tmp_path / "dags.yml"
    src.write_text(SCHEDULES)
    specs, _ = convert_file(src)
    out = tmp_path / "specs"
    out.mkdir()
    for name in ("tt", "every", "nested", "or_time", "nothing"):
        spec = {**specs[name], "steps": {"a": {"operator": "airflow.providers.standard.operators.empty:EmptyOperator"}}}
        (out / f"{name}.yaml").write_text(dump(spec, "dags.yml"))
        checked = check_file(out / f"{name}.yaml")
        assert [d.code for d in checked.diagnostics if d.is_error] == [], (name, checked.diagnostics)


CALLABLE = """\
d:
  tasks:
    inside:
      operator: airflow.providers.standard.operators.python.PythonOperator
      python_callable_file: {inside}
      python_callable_name: fn
    outside:
      operator: airflow.providers.standard.operators.python.PythonOperator
      python_callable_file: {outside}
      python_callable_name: fn
    relative:
      operator: airflow.providers.standard.operators.python.PythonOperator
      python_callable_file: pkg/jobs.py
      python_callable_name: fn
    dashed:
      operator: airflow.providers.standard.operators.python.PythonOperator
      python_callable_file: $PROJ/my-jobs.py
      python_callable_name: fn
"""


def test_callable_files_under_the_project_root_become_module_function(tmp_path: Path, monkeypatch):
    root, elsewhere = tmp_path / "proj", tmp_path / "elsewhere"
    (root / "pkg").mkdir(parents=True)
    elsewhere.mkdir()
    for f in (root / "pkg" / "jobs.py", elsewhere / "jobs.py", root / "my-jobs.py"):
        f.write_text("def fn():\n    return 1\n")
    monkeypatch.setenv("PROJ", str(root))
    src = tmp_path / "dags.yml"
    src.write_text(CALLABLE.format(inside="$PROJ/pkg/jobs.py", outside=elsewhere / "jobs.py"))
    specs, notes = convert_file(src, root)
    steps = specs["d"]["steps"]
    assert steps["inside"]["args"] == {"python_callable": "pkg.jobs:fn"}
    assert all("args" not in steps[s] for s in ("outside", "relative", "dashed"))
    where = sorted(n.split(": not converted")[0].removeprefix(str(src) + ":") for n in notes)
    assert where == ["13:29", "17:29", "9:29"], notes  # relative, my-jobs (no module name), outside
    assert any("outside the project root" in n for n in notes)


def test_callbacks_by_file_and_name_convert_at_each_level(tmp_path: Path):
    (tmp_path / "cb.py").write_text("def notify(context):\n    return None\n")
    src = tmp_path / "dags.yml"
    src.write_text(f"""\
d:
  on_success_callback_file: {tmp_path}/cb.py
  on_success_callback_name: notify
  default_args:
    on_failure_callback_file: {tmp_path}/cb.py
    on_failure_callback_name: notify
  tasks:
    t:
      operator: airflow.providers.standard.operators.empty.EmptyOperator
      on_retry_callback_file: /elsewhere/cb.py
      on_retry_callback_name: notify
""")
    specs, notes = convert_file(src, tmp_path)
    spec = specs["d"]
    assert spec["on_success_callback"] == "cb:notify"
    assert spec["defaults"] == {"on_failure_callback": "cb:notify"}
    assert spec["steps"]["t"] == {"operator": "airflow.providers.standard.operators.empty:EmptyOperator"}
    assert [n.split(": not converted")[0].removeprefix(str(src) + ":") for n in notes] == ["10:31"], notes
