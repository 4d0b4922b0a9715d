"""``etlc run``: run a whole pipeline plan locally, without Airflow.

``run_pipeline(pipeline_plan, params=None, logical_date=None, on_event=None)`` runs the
pipeline's task plans in the (topological) order given, as one run with a run id like
``local__2025-01-02T06:00:00.000000+00:00``, and reports progress to ``on_event`` with dicts:

- ``{"event": "run_started", "pipeline", "run_id", "tasks": [ids]}``
- ``{"event": "task_started", "task"}``
- ``{"event": "step_started" | "step_finished" | "step_failed", "task", "step", ...}``
  (``step_finished`` carries ``rows``, ``seconds`` and, for writes, ``path``/``partitions``)
- ``{"event": "task_finished", "task", "rows", "partitions", "seconds", "manifest"}``
- ``{"event": "task_failed", "task", "error": StepError, "message": str}``
- ``{"event": "task_skipped", "task"}`` (downstream of a failed task; tasks carry
  ``upstream``, else everything after a failure is skipped)
- ``{"event": "run_finished", "status", "seconds"}``

It returns the summary: ``{"pipeline", "run_id", "status": "success" | "failed", "seconds",
"tasks": [{"task", "status", "rows", "partitions", "seconds", "manifest", "steps"}],
"error": StepError | None}``.  A failure skips the tasks downstream of it; the CLI
prints ``summary["error"]`` (its ``spec``/``line``/``step`` point into the YAML) and exits
non-zero.
"""

from __future__ import annotations

import datetime as _dt
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from .errors import StepError
from .executor import local_run_id, run_task
from .operator_map import KEYS as MAP_KEYS
from .partition_tasks import run_in_order

log = logging.getLogger("etlc_runtime")


def _as_datetime(value) -> _dt.datetime:
    if value is None:
        return _dt.datetime.now(_dt.UTC)
    if isinstance(value, _dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=_dt.UTC)
    if isinstance(value, _dt.date):
        return _dt.datetime(value.year, value.month, value.day, tzinfo=_dt.UTC)
    parsed = _dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=_dt.UTC)


def task_payload(plan: Mapping[str, Any], pipeline_plan: Mapping[str, Any],
                 index: int = 0) -> dict:
    """The executor's task plan for one entry of ``pipeline_plan["tasks"]``.

    Operator tasks may come as ``{"kind": "operator", "operator": "pkg.mod:Class",
    "args": {...}}`` (and ``expand`` or ``expand_kwargs`` when mapped) without steps: they
    become a one-step plan here.
    """
    plan = dict(plan)
    plan.setdefault("pipeline", pipeline_plan.get("pipeline"))
    plan.setdefault("spec", pipeline_plan.get("spec"))
    task_id = plan.get("task") or plan.get("task_id") or f"task_{index}"
    plan["task"] = task_id
    if not plan.get("steps") and plan.get("operator"):
        plan["steps"] = [{"name": task_id, "line": plan.get("line"), "kind": "operator",
                          "operator": plan["operator"], "args": dict(plan.get("args") or {}),
                          **{k: plan[k] for k in MAP_KEYS if k in plan}}]
        plan.setdefault("output", None)
    return plan


def run_pipeline(pipeline_plan: Mapping[str, Any], params: Mapping[str, Any] | None = None,
                 logical_date=None, on_event: Callable[[dict], None] | None = None, *,
                 run_id: str | None = None, project_root=None) -> dict:
    started = time.perf_counter()
    now = _dt.datetime.now(_dt.UTC)
    when = _as_datetime(logical_date) if logical_date is not None else now
    run_id = run_id or local_run_id(now)
    pipeline = pipeline_plan.get("pipeline")
    tasks = list(pipeline_plan.get("tasks") or [])

    def emit(event: str, **data):
        if on_event is not None:
            try:
                on_event({"event": event, "pipeline": pipeline, "run_id": run_id, **data})
            except Exception:  # a display never fails a run
                log.debug("on_event callback failed", exc_info=True)

    def forward(event: dict):
        if on_event is not None:
            data = dict(event)
            data.setdefault("run_id", run_id)
            try:
                on_event(data)
            except Exception:
                log.debug("on_event callback failed", exc_info=True)

    context = {"run_id": run_id, "logical_date": when, "params": dict(params or {}),
               "project_root": project_root or pipeline_plan.get("project_root"),
               "_returned": {}}   # operator steps' return values, for {from: step} mapping
    summary: dict[str, Any] = {"pipeline": pipeline, "run_id": run_id, "status": "success",
                               "seconds": 0.0, "tasks": [], "error": None,
                               "logical_date": when.isoformat()}
    emit("run_started", tasks=[t.get("task") for t in tasks])
    not_ok: set[str] = set()
    for index, plan in enumerate(tasks):
        plan = task_payload(plan, pipeline_plan, index)
        task_id = plan.get("task")
        upstream = plan.get("upstream")
        blocked = (bool(not_ok & set(upstream)) if upstream is not None else bool(not_ok))
        if blocked:
            not_ok.add(task_id)
            summary["tasks"].append({"task": task_id, "status": "skipped"})
            emit("task_skipped", task=task_id)
            continue
        emit("task_started", task=task_id)
        t0 = time.perf_counter()
        try:
            result = run_in_order(run_task, plan, context, forward)  # mapped: each partition
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            err = exc if isinstance(exc, StepError) else StepError(
                None, f"{type(exc).__name__}: {exc}", spec=plan.get("spec"), cause=exc)
            not_ok.add(task_id)
            summary["status"] = "failed"
            summary["error"] = summary["error"] or err
            summary["tasks"].append({"task": task_id, "status": "failed",
                                     "seconds": round(time.perf_counter() - t0, 6),
                                     "error": str(err)})
            emit("task_failed", task=task_id, error=err, message=str(err))
            continue
        entry = {"task": task_id, "status": "success", "rows": result["rows"],
                 "partitions": result["partitions"], "seconds": result["seconds"],
                 "manifest": result["manifest"], "steps": result.get("steps", [])}
        for key in ("metrics", "read_errors"):
            if result.get(key):
                entry[key] = result[key]
        summary["tasks"].append(entry)
        emit("task_finished", task=task_id, rows=result["rows"],
             partitions=result["partitions"], seconds=result["seconds"],
             manifest=result["manifest"])
    from .retention import finish_run  # marks the run's staging; removes what has expired
    finish_run(pipeline_plan, run_id, summary["status"] == "success", context["project_root"])
    summary["seconds"] = round(time.perf_counter() - started, 6)
    emit("run_finished", status=summary["status"], seconds=summary["seconds"])
    return summary
