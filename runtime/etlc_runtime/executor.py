"""The step executor: runs a task plan's fused chain of steps, in memory, in order.

``run_task(task_plan, context)`` is what ``etlc run`` calls for each task (and what
``etlc_runtime.airflow.run_task`` calls inside Airflow).  ``context`` is a plain dict:

=================  ==============================================================
``run_id``         the run's id (staging is keyed by it); default ``local__<now>``
``logical_date``   datetime or ISO text; default now (UTC)
``params``         run-time param values; they override the plan's defaults
``project_root``   optional: the project root (else ``ETLC_PROJECT_ROOT`` / search)
``dag_file``       optional: where the search for the project root may start
anything else      passed on to operator steps' ``execute(context)``
=================  ==============================================================

It returns the small dict that goes to XCom::

    {"manifest": "<path of the committed staging manifest>" | None, "rows": n,
     "partitions": p, "seconds": s, "steps": [{"step", "kind", "rows", "seconds"}, ...],
     "metrics": {"step": {"name": value}}}          # "metrics" only when a step has them
"""

from __future__ import annotations

import datetime as _dt
import logging
import math
import time
from collections.abc import Callable, Mapping
from typing import Any

from . import metrics as _metrics
from .commit import append_key
from .engines import check_engine
from .errors import EtlcRuntimeError, NotAvailable, StepError
from .paths import find_project_root
from .templating import macros as _macros
from .templating import resolve_params

log = logging.getLogger("etlc_runtime")

DATA_KINDS = ("read", "transform", "write", "call")


def local_run_id(when: _dt.datetime | None = None) -> str:
    when = when or _dt.datetime.now(_dt.UTC)
    return "local__" + when.strftime("%Y-%m-%dT%H:%M:%S.%f") + "+00:00"


def step_kind(step: Mapping[str, Any]) -> str:
    if step.get("kind"):
        return step["kind"]
    for kind in ("read", "write", "call", "operator"):
        if step.get(kind):
            return kind
    return "transform"


def _sources(step: Mapping[str, Any]) -> list[str]:
    src = step.get("from") or []
    return [src] if isinstance(src, str) else list(src)


def _plain(value: Any) -> Any:
    """A JSON-friendly version of a metric value."""
    try:
        import pandas as pd
        if value is None or (not isinstance(value, (list, tuple, dict)) and pd.isna(value)):
            return None
    except (TypeError, ValueError):
        pass
    if hasattr(value, "item"):
        try:
            value = value.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (int, float, str, bool)):
        return value
    try:
        import decimal
        if isinstance(value, decimal.Decimal):
            return float(value)
    except ImportError:
        pass
    return str(value)


class _Run:
    def __init__(self, plan: Mapping[str, Any], context: Mapping[str, Any] | None,
                 on_event: Callable[[dict], None] | None):
        self.plan = plan
        self.ctx = dict(context or {})
        self.on_event = on_event or self.ctx.pop("on_event", None)
        self.run_id = str(self.ctx.get("run_id") or local_run_id())
        self.logical_date = self.ctx.get("logical_date")
        self.spec = plan.get("spec")
        self.pipeline = plan.get("pipeline") or "pipeline"
        self.root = find_project_root(self.spec, root=self.ctx.get("project_root"),
                                      starts=[self.ctx.get("dag_file")])
        self.params = resolve_params(plan.get("params"), self.ctx.get("params"), self.run_id,
                                     self.logical_date)
        extra = {k: self.ctx.get(k) for k in ("dag_run", "ti", "task_instance", "dag")}
        self.macros = _macros(self.run_id, self.logical_date, self.params, extra)
        # append parts are keyed by the logical date (today, UTC, when none is given), so that
        # re-running a date (a retry, or a new run of the interval) replaces its rows
        self.append_key = append_key(self.macros["ds"] if self.logical_date is None
                                     else self.logical_date)
        if self.logical_date is None:
            self.logical_date = self.macros["logical_date"]
        self.frames: dict[str, Any] = {}
        self.stats: list[dict] = []
        self.metrics: dict[str, dict] = {}

    def emit(self, event: str, **data):
        if self.on_event is None:
            return
        try:
            self.on_event({"event": event, "pipeline": self.pipeline,
                           "task": self.plan.get("task"), **data})
        except Exception:
            log.debug("on_event callback failed", exc_info=True)

    def fail(self, step: Mapping[str, Any], exc: BaseException) -> StepError:
        name, line = step.get("name"), step.get("line")
        if isinstance(exc, StepError):
            return exc.with_location(name, self.spec, line)
        if isinstance(exc, (NotAvailable, EtlcRuntimeError)):
            message = str(exc)
        else:
            message = f"{type(exc).__name__}: {exc}"
        return StepError(name, message, spec=self.spec, line=line, cause=exc)

    # -- data ---------------------------------------------------------------------------
    def stage_base(self):
        from .staging import staging_root
        return staging_root(self.plan.get("staging"), self.root)

    def load_inputs(self):
        from .staging import MANIFEST, read_stage, step_dir

        for step_name in (self.plan.get("inputs") or {}):
            folder = step_dir(self.stage_base(), self.pipeline, self.run_id, step_name)
            try:
                self.frames[step_name] = read_stage(folder / MANIFEST)
            except Exception as exc:
                raise StepError(step_name, f"cannot read the staged output of step "
                                           f"'{step_name}': {exc}", spec=self.spec,
                                cause=exc) from exc

    def run_step(self, step: Mapping[str, Any]):
        from . import steps as _steps

        name = step.get("name")
        kind = step_kind(step)
        if kind in DATA_KINDS:
            check_engine(step.get("engine") or self.plan.get("engine"), name)
        started = time.perf_counter()
        self.emit("step_started", step=name, kind=kind)
        rows = None
        extra: dict[str, Any] = {}
        datasets = self.plan.get("datasets") or {}
        if kind == "read":
            from .io_read import read_dataset
            ds_name = step["read"]
            if ds_name not in datasets:
                raise StepError(name, f"unknown dataset {ds_name!r}")
            pushdown = step.get("select") if not (step.get("filter") or step.get("derive")) \
                else None
            df = read_dataset(datasets[ds_name], self.macros, self.root, select=pushdown,
                              connections=self.plan.get("connections"))
            df = _steps.apply_transform(step, self.frames, self.params, base=df)
            self.frames[name] = df
        elif kind == "transform":
            missing = [s for s in _sources(step) if s not in self.frames]
            if missing:
                raise StepError(name, f"input step(s) {missing} are neither in this task nor "
                                      f"staged")
            self.frames[name] = _steps.apply_transform(step, self.frames, self.params)
        elif kind == "call":
            from .call import run_call
            inputs = [self.frames[s] for s in _sources(step)]
            df = run_call(step, inputs, self.macros)
            self.frames[name] = _steps.apply_transform(
                {k: v for k, v in step.items() if k in _steps.ORDER or k == "group_by"},
                self.frames, self.params, base=df)
        elif kind == "write":
            from .io_write import write_dataset
            ds_name = step["write"]
            if ds_name not in datasets:
                raise StepError(name, f"unknown dataset {ds_name!r}")
            src = _sources(step)
            df = self.frames[src[0]]
            written = write_dataset(df, datasets[ds_name], step.get("mode"), self.macros,
                                    self.root, self.append_key,
                                    connections=self.plan.get("connections"))
            rows = written["rows"]
            extra = {"path": written["path"], "partitions": written["partitions"],
                     "bytes": written["bytes"]}
        elif kind == "operator":
            from .call import run_operator
            ctx = dict(self.ctx)
            ctx.setdefault("run_id", self.run_id)
            ctx.setdefault("logical_date", self.logical_date)
            ctx["params"] = dict(self.params)
            result = run_operator(step, ctx, self.macros)
            if result is not None:
                extra["result"] = _plain(result)
        else:
            raise StepError(name, f"unknown step kind {kind!r}")

        if name in self.frames:
            df = self.frames[name]
            rows = len(df)
            if step.get("checks"):
                from .checks import run_checks
                run_checks(df, step["checks"], self.params, step=name)
            if step.get("metrics"):
                from . import _expr
                values = {m: _plain(_expr.metric(text, df, self.params))
                          for m, text in step["metrics"].items()}
                self.metrics[name] = values
                log.info("etlc metrics of step %s: %s", name, values)
                if self.plan.get("tracking"):
                    log.warning("etlc: MLflow tracking arrives with the services issue; the metrics of "
                                "step %s are in the task result (XCom) and the log only", name)
                extra["metrics"] = values
        seconds = time.perf_counter() - started
        stat = {"step": name, "kind": kind, "rows": rows, "seconds": round(seconds, 6)}
        if "path" in extra:
            stat.update(path=extra["path"], partitions=extra["partitions"])
        self.stats.append(stat)
        _metrics.emit_step(self.pipeline, name, rows=rows, seconds=seconds,
                           nbytes=extra.get("bytes"))
        self.emit("step_finished", step=name, kind=kind, rows=rows, seconds=seconds, **extra)

    def run(self) -> dict:
        started = time.perf_counter()
        self.load_inputs()
        for step in self.plan.get("steps") or []:
            try:
                from . import _expr

                with _expr.step_types(step.get("types")):
                    self.run_step(step)
            except Exception as exc:
                err = self.fail(step, exc)
                self.emit("step_failed", step=step.get("name"), error=str(err))
                if err is exc:
                    raise
                raise err from exc
        output = self.plan.get("output")
        result = {"manifest": None, "rows": 0, "partitions": 0, "seconds": 0.0}
        if output:
            from .staging import step_dir, write_stage
            if output not in self.frames:
                raise StepError(output, "the task's output step produced no data",
                                spec=self.spec)
            partitions = self.plan.get("partitions") or 1
            folder = step_dir(self.stage_base(), self.pipeline, self.run_id, output)
            try:
                manifest = write_stage(
                    self.frames[output], folder, partitions=partitions,
                    meta={"pipeline": self.pipeline, "run_id": self.run_id, "step": output,
                          "task": self.plan.get("task")},
                    before_commit=self.ctx.get("_before_commit"))
            except Exception as exc:
                step = next((s for s in self.plan.get("steps") or []
                             if s.get("name") == output), {"name": output})
                raise self.fail(step, exc) from exc
            result.update(manifest=manifest["manifest"], rows=manifest["rows"],
                          partitions=len(manifest["parts"]))
        elif self.stats:
            last = self.stats[-1]
            result["rows"] = int(last["rows"] or 0)
            result["partitions"] = last.get("partitions", 1 if last["rows"] is not None else 0)
        result["seconds"] = round(time.perf_counter() - started, 6)
        result["steps"] = self.stats
        if self.metrics:
            result["metrics"] = self.metrics
        return result


def run_task(task_plan: Mapping[str, Any], context: Mapping[str, Any] | None = None,
             on_event: Callable[[dict], None] | None = None) -> dict:
    """Run one task plan; return the small result dict (see the module doc)."""
    return _Run(task_plan, context, on_event).run()
