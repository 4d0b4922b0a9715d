"""The step executor: runs a task plan's fused chain of steps, in order, on engines.

It dispatches on the step's kind only and never names an engine: each data step runs on
the engine the registry (:mod:`etlc_runtime.engines`) builds for the step's ``engine`` (else
the task plan's), and ``frames`` maps a step's name to ``(engine, relation)``.  A step whose
engine differs from its input's receives the input through Arrow.  Row counts, checks,
metrics, writes and the staging hand-off are engine methods (:mod:`.engines.base`); nothing
here imports a dataframe library.  A task plan carries its version under ``etlc``; a version
not in :data:`PLAN_VERSIONS` is refused (R030) before any work.  What a read, call or operator
step does is :mod:`.step_runs`; where a failure points in the spec, :mod:`.step_failure`;
a step's kind and inputs, :mod:`.step_shape`; its checks and metrics, now or deferred to the
engine's next computation, :mod:`.step_quality`.

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
     "metrics": {"step": {"name": value}},          # "metrics" only when a step has them
     "read_errors": {"dataset": {"column": {"nulled" | "skipped": n}}}}
                                     # only when a read's on_error (null | skip) let one by
"""

from __future__ import annotations

import datetime as _dt
import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from . import metrics as _metrics
from . import plan_types
from . import step_quality as _quality
from .commit import append_key
from .engines import capabilities, check_engine, get_engine
from .engines.base import StepContext, TaskResources
from .errors import NotAvailable, PlanVersionError, StepError
from .expr.types import LOGICAL_DATE_PARAM
from .paths import find_project_root
from .plain import plain
from .step_failure import located
from .step_runs import call_step, operator_step, read_step
from .step_shape import DATA_KINDS, joined, on_s3, sources, step_kind
from .templating import macros as _macros
from .templating import resolve_params

log = logging.getLogger("etlc_runtime")

# The task-plan versions this runtime runs (the plan's "etlc" key; compiler/etlc_compiler/
# plan.py writes it).  1 is today's plan; 2 is the next one, which the compiler may write
# once column types move from each step to once per task: accepted here ahead of it so that
# the compiler's bump needs no runtime release.  Anything else is refused with R030.
PLAN_VERSIONS = (1, 2)


def check_plan_version(plan: Mapping[str, Any]) -> int | None:
    """The plan's version, or PlanVersionError (R030).  A plan without data steps may come
    without one (an operator task that etlc run wraps as a one-step plan)."""
    version = plan.get("etlc")
    if version is None and not any(step_kind(s) in DATA_KINDS for s in plan.get("steps") or []):
        return None
    if isinstance(version, bool) or version not in PLAN_VERSIONS:
        raise PlanVersionError(version, PLAN_VERSIONS)
    return version


def local_run_id(when: _dt.datetime | None = None) -> str:
    when = when or _dt.datetime.now(_dt.UTC)
    return "local__" + when.strftime("%Y-%m-%dT%H:%M:%S.%f") + "+00:00"


class TaskRun:
    """One run of a task plan: its engines, the relations of its steps (``frames``) and what
    it reports."""

    def __init__(self, plan: Mapping[str, Any], context: Mapping[str, Any] | None,
                 on_event: Callable[[dict], None] | None):
        check_plan_version(plan)
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
        # expressions see the run's logical date (now(), today()), never the wall clock
        self.expr_params = {**self.params, LOGICAL_DATE_PARAM: self.macros["logical_date"]}
        self.engines: dict[str, Any] = {}
        self.frames: dict[str, tuple[Any, Any]] = {}      # step -> (engine, relation)
        self.converted: dict[tuple[str, str], Any] = {}   # (step, engine name) -> relation
        self.staged: dict[str, str] = {}                  # input step -> committed manifest
        self.stats: list[dict] = []
        self.metrics: dict[str, dict] = {}
        self.deferred: list = []   # engines holding deferred checks/metrics (step_quality)
        self.read_errors: dict[str, dict] = {}   # dataset -> {column: {"nulled"|"skipped": n}}
        self.tracker = None                               # MLflow, with the spec's tracking
        if plan.get("tracking") is not None:             # {} tracks with the defaults
            from .tracking import Tracker
            self.tracker = Tracker(plan, self.run_id, self.logical_date, self.params, self.root,
                                   self.ctx)
        self.s3 = None                                    # the task's s3:// datasets
        self.s3_stage = None                              # an s3:// staging root's view
        from .partition_tasks import partition_of
        self.partition = partition_of(plan)               # (index, count): a mapped instance

    def emit(self, event: str, **data):
        if self.on_event is None:
            return
        try:
            task = self.plan.get("task")
            if self.partition is not None:   # a mapped instance, as Airflow shows it: task[i]
                task = f"{task}[{self.partition[0]}]"
            self.on_event({"event": event, "pipeline": self.pipeline, "task": task, **data})
        except Exception:
            log.debug("on_event callback failed", exc_info=True)

    # -- engines ------------------------------------------------------------------------
    def stage_base(self):
        if self.s3_staging() is not None:     # the local mirror of an s3:// staging root
            return self.s3_staging().mirror
        from .staging import staging_root
        return staging_root(self.plan.get("staging"), self.root)

    def s3_staging(self):
        """The task's view of an ``s3://`` staging root (s3_staging); None when local."""
        from .s3_staging import S3Staging, is_s3_staging

        staging = self.plan.get("staging")
        if self.s3_stage is None and is_s3_staging(staging):
            if self.plan.get("partitioned") or self.partition is not None:
                raise NotAvailable("parallelism: airflow partitions are not staged on S3 yet; "
                                   "use a local staging path")
            self.s3_stage = S3Staging(staging, self.plan.get("connections"),
                                      self.s3_bridge().folder / "staging")
        return self.s3_stage

    def resources(self, engine: str) -> TaskResources:
        spill = None
        if "spill" in capabilities(engine):
            from .staging import safe_name, step_dir
            spill = step_dir(self.stage_base(), self.pipeline, self.run_id,
                             f"_spill-{safe_name(self.plan.get('task') or 'task')}")
        return TaskResources(partitions=int(self.plan.get("partitions") or 1), spill_dir=spill,
                             memory_limit=self.plan.get("memory_limit"),
                             threads=self.plan.get("threads"))

    def engine(self, name: str | None, step: str | None = None):
        """The task's instance of the named engine (built on first use)."""
        engine = check_engine(name or self.plan.get("engine"), step)
        if engine not in self.engines:
            self.engines[engine] = get_engine(engine, self.resources(engine))
        return self.engines[engine]

    def write_to(self, engine, rel, dataset: Mapping[str, Any], mode, ctx) -> dict:
        """A write step's write: Qdrant and S3 datasets through their modules."""
        if dataset.get("format") == "qdrant":
            from .qdrant_io import write_qdrant
            return write_qdrant(engine.to_arrow(rel), dataset, mode, ctx.macros,
                                ctx.connections, self.root)
        if on_s3(dataset):
            return self.s3_bridge().write(engine, rel, dataset, mode, ctx)
        return engine.write(rel, dataset, mode, ctx)

    def s3_bridge(self):
        if self.s3 is None:
            from .s3_bridge import S3Bridge
            self.s3 = S3Bridge(self.root, self.run_id, self.plan.get("connections"))
        return self.s3

    def close(self):
        if self.s3 is not None:
            self.s3.close()
        for engine in self.engines.values():
            try:
                engine.close()
            except Exception:  # closing never hides the task's own outcome
                log.warning("etlc: closing engine %s failed", engine.name, exc_info=True)

    def own(self, name: str, engine) -> tuple[Any, Any]:
        """(engine, relation) of step ``name``; a staged input is read by ``engine``, the
        first engine that asks for it."""
        if name not in self.frames and name in self.staged:
            try:
                self.frames[name] = (engine, engine.read_staged(self.staged[name]))
            except Exception as exc:
                raise StepError(name, f"cannot read the staged output of step '{name}': "
                                      f"{exc}", spec=self.spec, cause=exc) from exc
        return self.frames[name]

    def relation(self, name: str, engine) -> Any:
        """Step ``name``'s relation on ``engine`` (through Arrow if it lives on another)."""
        owner, rel = self.own(name, engine)
        if owner is engine:
            return rel
        key = (name, engine.name)
        if key not in self.converted:
            self.converted[key] = engine.from_arrow(owner.to_arrow(rel))
        return self.converted[key]

    def inputs(self, names, engine) -> dict[str, Any]:
        missing = [n for n in names if n not in self.frames and n not in self.staged]
        if missing:
            raise StepError(None, f"input step(s) {missing} are neither in this task nor "
                                  f"staged")
        return {n: self.relation(n, engine) for n in dict.fromkeys(names)}

    def step_context(self, step: Mapping[str, Any]) -> StepContext:
        types = plan_types.step_types(self.plan, step)   # plan 1: on the step; 2: per task
        return StepContext(root=self.root, params=self.expr_params, macros=self.macros,
                           connections=self.plan.get("connections") or {}, types=types,
                           append_key=self.append_key, step=step.get("name"))

    # -- data ---------------------------------------------------------------------------
    def check_param_text(self) -> None:
        """R041 before any work, whatever the engine: a ``$param`` whose value is time text
        with a UTC offset, read as a zone-less timestamp or date (``expr.zone_text``), or one
        that no engine casts where an expression casts it (``expr.const_casts``)."""
        if not self.params:
            return
        from . import _expr
        from .expr import const_casts, zone_text
        from .expr_location import expression_paths

        for step in self.plan.get("steps") or []:
            for _path, text in expression_paths(step):
                if "$" not in text:
                    continue
                tree = _expr.parse(text)
                err = (zone_text.param_error(tree, self.params, text)
                       or const_casts.param_error(tree, self.params, text))
                if err is not None:
                    raise located(self, step, err)

    def load_inputs(self):
        """Find the committed manifests of the staged inputs (their data is read when a
        step asks for it, by that step's engine)."""
        from .staging import MANIFEST, read_manifest, step_dir

        partitioned = self.plan.get("partitioned") or {}   # parallelism: airflow's parts
        for step_name in (self.plan.get("inputs") or {}):
            folder = step_dir(self.stage_base(), self.pipeline, self.run_id, step_name)
            try:
                if self.s3_staging() is not None:    # copied from S3 into the local mirror
                    self.staged[step_name] = str(self.s3_staging().fetch(
                        self.pipeline, self.run_id, step_name))
                    continue
                if partitioned.get(step_name):
                    from .partition_tasks import commit_partitions
                    self.staged[step_name] = commit_partitions(
                        folder, int(partitioned[step_name]),
                        {"pipeline": self.pipeline, "run_id": self.run_id, "step": step_name,
                         "task": self.plan.get("task")})["manifest"]
                    continue
                self.staged[step_name] = read_manifest(folder / MANIFEST)["manifest"]
            except Exception as exc:
                raise StepError(step_name, f"cannot read the staged output of step "
                                           f"'{step_name}': {exc}", spec=self.spec,
                                cause=exc) from exc

    def dataset(self, step: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        datasets = self.plan.get("datasets") or {}
        if step[key] not in datasets:
            raise StepError(step.get("name"), f"unknown dataset {step[key]!r}")
        return {"name": step[key], **datasets[step[key]]}   # errors name it (R040)

    def run_step(self, step: Mapping[str, Any]):
        name = step.get("name")
        kind = step_kind(step)
        engine = self.engine(step.get("engine"), name) if kind in DATA_KINDS else None
        ctx = self.step_context(step) if engine is not None else None
        if kind in ("operator", "call"):   # effects outside the engines' computations
            _quality.settle(self)
        started = time.perf_counter()
        self.emit("step_started", step=name, kind=kind)
        rows = None
        extra: dict[str, Any] = {}
        if kind == "read":
            self.frames[name] = (engine, read_step(self, step, engine, ctx, extra))
        elif kind == "transform":
            inputs = self.inputs(sources(step) + joined(step), engine)
            self.frames[name] = (engine, engine.transform(step, inputs, ctx))
        elif kind == "call":
            self.frames[name] = (engine, call_step(self, step, engine, ctx))
        elif kind == "write":
            dataset = self.dataset(step, "write")
            (src, *_) = sources(step) or [None]
            rel = self.inputs([src], engine)[src]
            _quality.quality(self, engine, rel, step, ctx, extra)   # a failed check writes nothing
            written = self.write_to(engine, rel, dataset, step.get("mode"), ctx)
            rows = written["rows"]
            extra.update(path=written["path"], partitions=written["partitions"],
                         bytes=written["bytes"])
        elif kind == "operator":
            operator_step(self, step, extra)
        else:
            raise StepError(name, f"unknown step kind {kind!r}")

        if name in self.frames and engine is not None:
            owner, rel = self.frames[name]
            rows = owner.count(rel)
            _quality.quality(self, owner, rel, step, ctx, extra)
        if self.deferred:   # the metrics a write of this step computed
            _quality.settle(self, compute=False, step=name, extra=extra)
        seconds = time.perf_counter() - started
        stat = {"step": name, "kind": kind, "rows": rows, "seconds": round(seconds, 6)}
        if "path" in extra:
            stat.update(path=extra["path"], partitions=extra["partitions"])
        self.stats.append(stat)
        if self.tracker is not None:
            self.tracker.step(stat, extra, checks=step.get("checks"))
        _metrics.emit_step(self.pipeline, name, rows=rows, seconds=seconds,
                           nbytes=extra.get("bytes"))
        self.emit("step_finished", step=name, kind=kind, rows=rows, seconds=seconds, **extra)

    def stage_output(self, output: str) -> dict:
        from .staging import read_manifest, step_dir

        if output not in self.frames and output in self.staged:  # committed partitions
            return read_manifest(self.staged[output])
        if output not in self.frames:
            raise StepError(output, "the task's output step produced no data", spec=self.spec)
        engine, rel = self.frames[output]
        folder = step_dir(self.stage_base(), self.pipeline, self.run_id, output)
        if self.partition is not None:
            from .partition_tasks import part_folder
            folder = part_folder(folder, self.partition[0])
        try:
            manifest = engine.stage(
                rel, Path(folder), partitions=int(self.plan.get("partitions") or 1),
                meta={"pipeline": self.pipeline, "run_id": self.run_id, "step": output,
                      "task": self.plan.get("task")},
                before_commit=self.ctx.get("_before_commit"),
                types=plan_types.step_types(self.plan, output))
            if self.s3_staging() is not None:
                return self.s3_staging().publish(manifest, self.pipeline, self.run_id, output)
            return manifest
        except Exception as exc:
            step = next((s for s in self.plan.get("steps") or []
                         if s.get("name") == output), {"name": output})
            raise located(self, _quality.failing_step(self, step, exc), exc) from exc

    def run(self) -> dict:
        try:
            result = self._run()
        except BaseException as exc:
            if self.tracker is not None:
                self.tracker.finish(error=exc)
            raise
        finally:
            self.close()
        if self.tracker is not None:
            self.tracker.finish(result)
        return result

    def _run(self) -> dict:
        started = time.perf_counter()
        self.check_param_text()
        self.load_inputs()
        for step in self.plan.get("steps") or []:
            try:
                self.run_step(step)
            except Exception as exc:
                step = _quality.failing_step(self, step, exc)   # a deferred check's own
                err = located(self, step, exc)
                self.emit("step_failed", step=step.get("name"), error=str(err))
                if err is exc:
                    raise
                raise err from exc
        output = self.plan.get("output")
        result = {"manifest": None, "rows": 0, "partitions": 0, "seconds": 0.0}
        if output:
            manifest = self.stage_output(output)
            result.update(manifest=manifest["manifest"], rows=manifest["rows"],
                          partitions=len(manifest["parts"]))
        elif self.stats:
            last = self.stats[-1]
            result["rows"] = int(last["rows"] or 0)
            result["partitions"] = last.get("partitions", 1 if last["rows"] is not None else 0)
        _quality.settle_at_end(self)
        result["seconds"] = round(time.perf_counter() - started, 6)
        result["steps"] = self.stats
        if self.metrics:
            result["metrics"] = self.metrics
        if self.read_errors:
            result["read_errors"] = plain(self.read_errors)
        return result


def run_task(task_plan: Mapping[str, Any], context: Mapping[str, Any] | None = None,
             on_event: Callable[[dict], None] | None = None) -> dict:
    """Run one task plan; return the small result dict (see the module doc)."""
    return TaskRun(task_plan, context, on_event).run()
