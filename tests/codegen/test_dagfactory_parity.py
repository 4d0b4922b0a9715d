"""Parity with dag-factory: each YAML of tests/codegen/dagfactory_corpus is converted by
`etlc convert dag-factory`, compiled by `etlc compile`, imported in one real DagBag, and compared
structurally with the DAG dag-factory itself builds from the same YAML in the same Airflow:
task ids, groups (tooltips, parents), dependencies, operator classes and arguments, mapped
tasks, schedule (the timetable as Airflow serializes it: class, cron, time zone, asset
condition), params, callbacks and default args, with dag-factory's shared defaults.yml
(converted to etlc's specs/defaults.yaml) applying to every DAG. Skipped where dag-factory (the `bench`
extra) is not installed."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from codegen_support import load_dagbag, make_project, run_etlc

CORPUS = Path(__file__).parent / "dagfactory_corpus"
SHARED = CORPUS / "defaults.yml"   # dag-factory's cascading defaults; converted to specs/defaults.yaml
FILES = sorted(f for f in CORPUS.glob("*.yml") if f != SHARED)
ARGS = ("bash_command", "op_kwargs", "env")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from dagfactory.dagfactory import _DagFactory

    root = tmp_path_factory.mktemp("parity")
    make_project(root, {})
    shutil.copy(CORPUS / "dfc_funcs.py", root / "dfc_funcs.py")
    env = {"DFC_ROOT": str(root)}  # python_callable_file: $DFC_ROOT/dfc_funcs.py (both expand it)
    res = run_etlc("convert", "dag-factory", *map(str, FILES), str(SHARED), "-o", "specs", cwd=root, env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    res = run_etlc("compile", "specs", "-o", "dags", cwd=root)
    assert res.returncode == 0, res.stdout + res.stderr
    sys.path.insert(0, str(root))
    os.environ.update(env)
    try:
        ours = load_dagbag(root / "dags")
        theirs = {}
        for f in FILES:
            theirs.update(_DagFactory(config_filepath=str(f), defaults_config_path=str(CORPUS)).build_dags())
    finally:
        sys.path.remove(str(root))
        os.environ.pop("DFC_ROOT")
    assert ours.import_errors == {}
    return ours.dags, theirs


def _callbacks(value) -> list[str]:
    funcs = value if isinstance(value, list) else [value] if value else []
    return [getattr(f, "__name__", repr(f)) for f in funcs]


def shape(dag) -> dict:
    """What both DAGs must agree on (doc_md and etlc's own task docs aside)."""
    tasks = {}
    for t in dag.tasks:
        mapped = type(t).__name__ == "MappedOperator"
        cls = t.operator_class.__name__ if mapped else type(t).__name__
        kwargs = t.partial_kwargs if mapped else {a: getattr(t, a, None) for a in ARGS}
        expand = None
        if mapped:
            expand = {k: (v.operator.task_id if hasattr(v, "operator") else v)
                      for k, v in t.expand_input.value.items()}
        tasks[t.task_id] = {
            "class": cls, "upstream": sorted(t.upstream_task_ids), "mapped": expand,
            "group": t.task_group.group_id if t.task_group else None,
            "args": {a: kwargs.get(a) if mapped else kwargs[a] for a in ARGS},
            "callable": getattr(t.partial_kwargs.get("python_callable"), "__name__", None) if mapped
            else getattr(getattr(t, "python_callable", None), "__name__", None),
            "owner": t.owner, "retries": t.retries,
            "retry_delay": t.retry_delay.total_seconds() if hasattr(t.retry_delay, "total_seconds") else t.retry_delay,
            "trigger_rule": str(getattr(t.trigger_rule, "value", t.trigger_rule)),
            "depends_on_past": t.depends_on_past, "priority_weight": t.priority_weight,
            "execution_timeout": t.execution_timeout.total_seconds() if t.execution_timeout else None,
            "email": list(t.email or []) if not isinstance(t.email, str) else [t.email],
            "on_success": _callbacks(t.on_success_callback), "on_retry": _callbacks(t.on_retry_callback),
        }
    groups = {g: (tg.tooltip, tg.parent_group.group_id if tg.parent_group else None)
              for g, tg in dag.task_group.get_task_group_dict().items() if g}
    from airflow.serialization.encoders import encode_timetable

    return {
        "tasks": tasks, "groups": groups, "schedule": encode_timetable(dag.timetable),
        "catchup": dag.catchup, "tags": sorted(set(dag.tags) - {"dagfactory"}),  # dag-factory tags its own
        "max_active_runs": dag.max_active_runs,
        "max_active_tasks": dag.max_active_tasks, "params": {k: dag.params[k] for k in dag.params},
        "start_date": sorted({t.start_date.date().isoformat() for t in dag.tasks if t.start_date}),
        "dagrun_timeout": dag.dagrun_timeout.total_seconds() if dag.dagrun_timeout else None,
        "on_failure": _callbacks(dag.on_failure_callback),
        "description": dag.description,
    }


@pytest.mark.parametrize("dag_id", ["df_groups", "df_python", "df_settings", "df_lists", "df_cron_tz",
                                    "df_multi_cron", "df_asset_list", "df_asset_conditions",
                                    "df_assets_or_time", "df_every", "df_callable_file"])
def test_converted_dag_matches_dag_factory(built, dag_id):
    ours, theirs = built
    mine, reference = shape(ours[dag_id]), shape(theirs[dag_id])
    for task in reference["tasks"]:
        assert mine["tasks"].get(task) == reference["tasks"][task], task
    assert mine == reference
