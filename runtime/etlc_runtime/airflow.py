"""The thin module generated DAG files import.

It must import in milliseconds: nothing heavy (pandas, pyarrow, jinja2) is imported at module
level; the executor and the engines load inside the task, at run time.

    from etlc_runtime.airflow import EtlcOperator
    EtlcOperator(task_id="daily", task_plan=PLAN)
    EtlcOperator.partial(task_id="load_parts", task_plan=PLAN).expand(partition=[0, 1, 2])

`EtlcOperator` has no template fields. A PythonOperator would Jinja-render its `op_kwargs`,
and so every string of the plan: spec text such as `'{{ k }}'` in a filter literal or `{%` in a
description would break the task, and Airflow's Jinja is not sandboxed. The runtime renders
the macros it allows (dataset paths, tables) itself, in a sandbox. `run_task` stays for
hand-written DAGs (`PythonOperator(python_callable=run_task, ...)`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

log = logging.getLogger("etlc_runtime")

XCOM_KEYS = ("manifest", "rows", "partitions", "seconds")


def _logical_date(context: Mapping[str, Any]):
    for key in ("logical_date", "data_interval_start"):
        value = context.get(key)
        if value is not None:
            return value
    dag_run = context.get("dag_run")
    for attr in ("logical_date", "run_after", "start_date"):
        value = getattr(dag_run, attr, None) if dag_run is not None else None
        if value is not None:
            return value
    return None


def _dag_file(context: Mapping[str, Any]):
    dag = context.get("dag")
    return getattr(dag, "fileloc", None) if dag is not None else None


def build_context(context: Mapping[str, Any]) -> dict:
    """The executor's context from Airflow's task context."""
    params = context.get("params") or {}
    try:
        params = dict(params.dump()) if hasattr(params, "dump") else dict(params)
    except Exception:  # noqa: BLE001
        params = dict(params)
    run_id = context.get("run_id")
    dag_run = context.get("dag_run")
    if run_id is None and dag_run is not None:
        run_id = getattr(dag_run, "run_id", None)
    out = dict(context)
    out.update(run_id=run_id, logical_date=_logical_date(context), params=params,
               dag_file=_dag_file(context))
    return out


def run_task(task_plan: Mapping[str, Any], **context) -> dict:
    """Run a task plan inside Airflow; return the small dict that goes to XCom
    (the staging manifest's address and counts, never data)."""
    from .executor import run_task as _run

    result = _run(task_plan, build_context(context))
    for stat in result.get("steps", []):
        log.info("etlc step %s (%s): %s rows in %.3f s", stat["step"], stat["kind"],
                 stat["rows"], stat["seconds"])
    out = {k: result.get(k) for k in XCOM_KEYS}
    if result.get("metrics"):
        out["metrics"] = result["metrics"]
    return out


# the name DESIGN.md used first
run_step = run_task

_OPERATOR = None


def _operator_class():
    global _OPERATOR
    if _OPERATOR is None:
        from airflow.sdk import BaseOperator

        class EtlcOperator(BaseOperator):
            """Runs one etlc task plan; nothing in it is a template for Airflow."""

            template_fields = ()
            ui_color = "#e8f4ea"

            def __init__(self, *, task_plan: Mapping[str, Any], partition: int | None = None,
                         **kwargs):
                super().__init__(**kwargs)
                self.task_plan = task_plan
                self.partition = partition   # parallelism: airflow: `.expand(partition=[...])`

            def execute(self, context):
                plan = self.task_plan if self.partition is None \
                    else {**self.task_plan, "partition": self.partition}
                return run_task(plan, **context)

        EtlcOperator.__module__ = __name__
        _OPERATOR = EtlcOperator
    return _OPERATOR


def __getattr__(name: str):
    # built on first use, so that run_task imports without Airflow
    if name == "EtlcOperator":
        return _operator_class()
    raise AttributeError(name)
