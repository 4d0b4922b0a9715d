"""dag-factory's features compiled by etlc and imported in one real Airflow DagBag: schedules
(cron in a time zone, timedelta, timetables with arguments, asset conditions, assets or time),
task settings, task groups. One DagBag for the whole module (imports are slow)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from codegen_support import load_dagbag, make_project, run_etlc

BASE = """\
etlc: 1
pipeline: {name}
start_date: 2025-01-01
schedule: {schedule}
datasets:
  src: {{format: csv, path: data/in.csv, columns: {{x: {{type: int}}}}}}
  dst: {{format: csv, path: data/out_{name}.csv}}
steps:
  raw:
    read: src
  save:
    from: raw
    write: dst
    mode: overwrite
"""

SCHEDULES = {
    "s_tz": '{cron: "30 6 * * 1-5", timezone: Europe/Paris}',
    "s_every": "{every: 6h}",
    "s_multi": ('{timetable: MultipleCronTriggerTimetable, args: ["0 6 * * *", "0 18 * * *"], '
                "kwargs: {timezone: America/Sao_Paulo}}"),
    "s_module": ('{timetable: "airflow.sdk:CronDataIntervalTimetable", args: ["0 1 * * *"], '
                 "kwargs: {timezone: Asia/Tokyo}}"),
    "s_or": "{assets: {or: [s_tz.dst, {and: [s_every.dst, s_multi.dst]}]}}",
    "s_list": "{assets: [s_tz.dst, s_every.dst]}",
    "s_aot": '{assets: [s_tz.dst, s_every.dst], cron: "0 0 * * *", timezone: UTC}',
    "s_preset": '"@daily"',
}

SETTINGS = """\
etlc: 1
pipeline: settings_demo
owner: data-eng
start_date: 2025-01-01
schedule: "@daily"
max_active_tasks: 4
is_paused_upon_creation: true
render_template_as_native_obj: true
owner_links: {data-eng: "mailto:data@example.com"}
on_failure_callback: dfhooks.alerts:notify
defaults:
  retries: 2
  depends_on_past: true
  email: [ops@example.com]
  email_on_failure: true
  on_retry_callback: {function: dfhooks.alerts:notify, args: {channel: "#retries"}}
datasets:
  src: {format: csv, path: data/in.csv, columns: {x: {type: int}}}
  dst: {format: csv, path: data/out.csv}
steps:
  raw:
    read: src
  save:
    from: raw
    write: dst
    mode: overwrite
    owner: loader
    trigger_rule: all_done
    depends_on_past: false
    max_active_tis_per_dag: 1
    on_success_callback: [dfhooks.alerts:notify]
  tell:
    operator: airflow.providers.standard.operators.empty:EmptyOperator
    after: [save]
    trigger_rule: one_failed
    priority_weight: 5
    weight_rule: absolute
    max_retry_delay: 1h
"""
HOOKS = """\
def notify(context, channel="#data"):
    return channel


def double(n: int, label: str = "x"):
    return {"label": label, "value": n * 2}


def shout(text):
    return str(text).upper()
"""
PYTHON = """\
etlc: 1
pipeline: python_demo
start_date: 2025-01-01
macros: {twice: dfhooks.alerts:double}
filters: {shout: dfhooks.alerts:shout}
steps:
  templated:
    operator: airflow.providers.standard.operators.bash:BashOperator
    args:
      bash_command: "echo {{ var.value.x }} {{ conn.pg.host }} {{ twice(1) }} {{ ds | shout }} {{ task.task_id }}"
  compute:
    python: dfhooks.alerts:double
    args: {n: 21, label: "{{ ds }}"}
  legacy:
    operator: airflow.providers.standard.operators.python:PythonOperator
    args:
      python_callable: dfhooks.alerts:double
      op_kwargs: {n: 1}
    after: [compute]
"""

GROUPS = """\
etlc: 1
pipeline: groups_demo
start_date: 2025-01-01
groups:
  extract: {tooltip: "Reads the sources"}
  transform: {tooltip: "Cleans", after: [extract]}
  inner: {group: transform, tooltip: nested}
  load: {after: transform, prefix: false}
datasets:
  a: {format: csv, path: data/a.csv, columns: {x: {type: int}}}
  b: {format: csv, path: data/b.csv, columns: {x: {type: int}}}
  out: {format: csv, path: data/out.csv}
steps:
  ra: {read: a, group: extract, task: own}
  rb: {read: b, group: extract, task: own}
  both: {from: ra, union: [rb], group: transform, task: own}
  keep: {from: both, filter: "x > 1", group: inner, task: own}
  save: {from: keep, write: out, mode: overwrite, group: load}
  side:
    operator: airflow.providers.standard.operators.empty:EmptyOperator
    group: transform
    after: [extract]
  tell:
    operator: airflow.providers.standard.operators.empty:EmptyOperator
    after: [transform]
"""

MAPPED = """\
etlc: 1
pipeline: mapped_demo
start_date: 2025-01-01
steps:
  echo:
    operator: airflow.providers.standard.operators.bash:BashOperator
    args: {env: {A: "1"}}
    expand: {bash_command: ["echo 1", "echo 2", "echo 3"]}
    map_index_template: "{{ task.bash_command }}"
  make_list:
    python: dfhooks.alerts:double
    args: {n: 2}
  each:
    python: dfhooks.alerts:double
    expand_kwargs: [{op_kwargs: {n: 1}}, {op_kwargs: {n: 2}}]
  over_xcom:
    operator: airflow.providers.standard.operators.python:PythonOperator
    args: {python_callable: dfhooks.alerts:double}
    expand: {op_args: {from: make_list}}
"""

OBJECTS = """\
etlc: 1
pipeline: objects_demo
start_date: 2025-01-01
steps:
  wait:
    operator: airflow.providers.standard.sensors.time_delta:TimeDeltaSensor
    args:
      delta: {__type__: datetime.timedelta, hours: 1, minutes: 30}
      timeout: {__type__: "datetime:timedelta", __args__: [0, 600]}
      poke_interval: 30
"""

EXTRA: dict[str, str] = {"settings_demo": SETTINGS, "groups_demo": GROUPS, "python_demo": PYTHON,
                         "mapped_demo": MAPPED, "objects_demo": OBJECTS}


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory):
    root = tmp_path_factory.mktemp("dagfactory")
    specs = {name: BASE.format(name=name, schedule=s) for name, s in SCHEDULES.items()} | EXTRA
    make_project(root, specs)
    (root / "dfhooks").mkdir()
    (root / "dfhooks" / "__init__.py").write_text("")
    (root / "dfhooks" / "alerts.py").write_text(HOOKS)
    res = run_etlc("compile", "specs", "-o", "dags", cwd=root)
    assert res.returncode == 0, res.stdout + res.stderr
    sys.path.insert(0, str(root))  # as Airflow's DAG folder or plugins folder would hold them
    try:
        bag = load_dagbag(Path(root / "dags"))
    finally:
        sys.path.remove(str(root))
    assert bag.import_errors == {}
    return bag


def condition(c) -> object:
    """An Airflow asset condition as nested ('and'|'or', [...]) tuples of asset names."""
    kind = type(c).__name__
    if kind == "Asset":
        return c.name
    return ({"AssetAll": "and", "AssetAny": "or"}[kind], [condition(o) for o in c.objects])


def test_cron_in_a_time_zone(dagbag):
    tt = dagbag.dags["s_tz"].timetable
    assert type(tt).__name__ == "CronTriggerTimetable"
    assert (tt.expression, str(tt.timezone)) == ("30 6 * * 1-5", "Europe/Paris")


def test_timedelta_and_preset(dagbag):
    assert dagbag.dags["s_every"].timetable.delta.total_seconds() == 6 * 3600
    assert dagbag.dags["s_preset"].timetable.expression == "0 0 * * *"


def test_timetables_by_class_with_arguments(dagbag):
    multi = dagbag.dags["s_multi"].timetable
    assert type(multi).__name__ == "MultipleCronTriggerTimetable"
    assert [(t.expression, str(t.timezone)) for t in multi.timetables] == [
        ("0 6 * * *", "America/Sao_Paulo"), ("0 18 * * *", "America/Sao_Paulo")]
    module = dagbag.dags["s_module"].timetable
    assert type(module).__name__ == "CronDataIntervalTimetable"
    assert str(module.timezone) == "Asia/Tokyo"


def test_asset_conditions_nest(dagbag):
    assert condition(dagbag.dags["s_or"].timetable.asset_condition) == (
        "or", ["s_tz.dst", ("and", ["s_every.dst", "s_multi.dst"])])
    assert condition(dagbag.dags["s_list"].timetable.asset_condition) == ("and", ["s_tz.dst", "s_every.dst"])


def test_assets_or_time(dagbag):
    tt = dagbag.dags["s_aot"].timetable
    assert type(tt).__name__ == "AssetOrTimeSchedule"
    assert tt.timetable.expression == "0 0 * * *"
    assert condition(tt.asset_condition) == ("and", ["s_tz.dst", "s_every.dst"])


def test_task_settings_from_defaults_and_steps(dagbag):
    dag = dagbag.dags["settings_demo"]
    save, tell = dag.get_task("save"), dag.get_task("tell")
    assert (save.owner, save.trigger_rule, save.depends_on_past, save.max_active_tis_per_dag) == (
        "loader", "all_done", False, 1)
    assert (tell.owner, tell.trigger_rule, tell.depends_on_past, tell.priority_weight) == (
        "data-eng", "one_failed", True, 5)
    assert str(tell.weight_rule).lower().endswith("absolute") or "Absolute" in type(tell.weight_rule).__name__
    assert tell.max_retry_delay.total_seconds() == 3600
    assert (tell.retries, list(tell.email), tell.email_on_failure) == (2, ["ops@example.com"], True)


def test_callbacks_are_the_imported_functions(dagbag):
    dag = dagbag.dags["settings_demo"]
    save, tell = dag.get_task("save"), dag.get_task("tell")
    notify = sys.modules["dfhooks.alerts"].notify
    assert list(save.on_success_callback) == [notify]
    retry = tell.on_retry_callback[0] if isinstance(tell.on_retry_callback, list) else tell.on_retry_callback
    assert (retry.func, retry.keywords) == (notify, {"channel": "#retries"})


def test_dag_settings(dagbag):
    dag = dagbag.dags["settings_demo"]
    assert (dag.max_active_tasks, dag.is_paused_upon_creation, dag.render_template_as_native_obj) == (4, True, True)
    assert dag.owner_links == {"data-eng": "mailto:data@example.com"}


def test_task_groups_nest_prefix_and_depend(dagbag):
    dag = dagbag.dags["groups_demo"]
    assert sorted(dag.task_ids) == ["extract.ra", "extract.rb", "save", "tell", "transform.both",
                                    "transform.inner.keep", "transform.side"]
    groups = dag.task_group.get_task_group_dict()
    assert groups["extract"].tooltip == "Reads the sources"
    assert groups["transform.inner"].parent_group.group_id == "transform"
    assert dag.get_task("save").task_group.group_id == "load"
    # after: [extract] on a step waits for the group's leaves; after: [transform] for its leaves
    assert dag.get_task("transform.side").upstream_task_ids == {"extract.ra", "extract.rb"}
    assert dag.get_task("tell").upstream_task_ids == {"transform.inner.keep", "transform.side"}
    assert dag.get_task("transform.both").upstream_task_ids == {"extract.ra", "extract.rb"}


def test_python_steps_and_python_callable_import_the_function(dagbag):
    dag = dagbag.dags["python_demo"]
    double = sys.modules["dfhooks.alerts"].double
    compute, legacy = dag.get_task("compute"), dag.get_task("legacy")
    assert type(compute).__name__ == type(legacy).__name__ == "PythonOperator"
    assert compute.python_callable is double and legacy.python_callable is double
    assert compute.op_kwargs == {"n": 21, "label": "{{ ds }}"}
    assert compute.python_callable(**{**compute.op_kwargs, "label": "x"}) == {"label": "x", "value": 42}


def test_dynamic_task_mapping(dagbag):
    dag = dagbag.dags["mapped_demo"]
    echo, each, over = dag.get_task("echo"), dag.get_task("each"), dag.get_task("over_xcom")
    assert type(echo).__name__ == type(each).__name__ == "MappedOperator"
    assert echo.expand_input.value == {"bash_command": ["echo 1", "echo 2", "echo 3"]}
    assert echo.partial_kwargs["env"] == {"A": "1"}
    assert echo.partial_kwargs["map_index_template"] == "{{ task.bash_command }}"
    assert each.expand_input.value == [{"op_kwargs": {"n": 1}}, {"op_kwargs": {"n": 2}}]
    xcom = over.expand_input.value["op_args"]
    assert (type(xcom).__name__, xcom.operator.task_id) == ("PlainXComArg", "make_list")
    assert over.upstream_task_ids == {"make_list"}


def test_user_defined_macros_and_filters_are_the_imported_functions(dagbag):
    dag = dagbag.dags["python_demo"]
    alerts = sys.modules["dfhooks.alerts"]
    assert dag.user_defined_macros == {"twice": alerts.double}
    assert dag.user_defined_filters == {"shout": alerts.shout}
    assert "{{ twice(1) }}" in dag.get_task("templated").bash_command


def test_typed_objects_in_operator_args(dagbag):
    wait = dagbag.dags["objects_demo"].get_task("wait")
    assert wait.delta.total_seconds() == 5400
    assert wait.timeout == 600
