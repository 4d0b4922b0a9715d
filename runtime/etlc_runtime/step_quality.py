"""A step's checks and metrics in the executor: run now, or deferred to the engine's next
computation.

Most engines check and measure where the step runs (a failed check stops the task before any
later step writes).  An engine with ``defer_quality`` (the dask engine: its relations are lazy
graphs, and computing the checks apart from the write would read and transform the input
twice, and could check other rows than those written when a source changes in between)
plans them instead and computes them with its next computation, the write or the staging
hand-off that follows as a rule, judging them before that commits.  The executor keeps the
engines that hold deferred ones (``TaskRun.deferred``) and :func:`settle` s them:

- before a step whose effect does not go through that engine's computations (an operator
  step; a call step, whose function may act on the world);
- after every step, without computing, to take the metric values a write computed;
- at the end of the task (after the staging hand-off), computing what is left.

A deferred check that fails raises its own step's CheckFailed, and :func:`failing_step`
finds that step for the error's place in the spec.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .errors import CheckFailed

if TYPE_CHECKING:
    from .engines.base import StepContext
    from .executor import TaskRun

log = logging.getLogger("etlc_runtime")


def quality(run: TaskRun, owner, rel, step: Mapping[str, Any], ctx: StepContext,
            extra: dict) -> None:
    """The step's checks and metrics over its rows: a data step's output, or the rows a
    write step is about to write (checked before the write commits, so a failure writes
    nothing)."""
    checks, metrics = step.get("checks"), step.get("metrics")
    if not (checks or metrics):
        return
    defer = getattr(owner, "defer_quality", None)
    if defer is not None:
        defer(rel, checks, metrics, ctx)
        if owner not in run.deferred:
            run.deferred.append(owner)
        return
    if checks:
        owner.check(rel, checks, ctx)
    if metrics:
        record(run, step.get("name"), owner.metrics(rel, metrics, ctx), extra)


def record(run: TaskRun, name: str | None, values: dict, extra: dict | None) -> None:
    """A step's metric values (plain) into the task's result, the log and ``extra`` (the
    step's event), when given."""
    run.metrics[name] = values
    log.info("etlc metrics of step %s: %s", name, values)
    if extra is not None:
        extra["metrics"] = values


def settle(run: TaskRun, compute: bool = True, step: str | None = None,
           extra: dict | None = None) -> None:
    """Judge the deferred checks and record the deferred metrics (``compute``: computing
    what no computation took along; else only taking what was computed).  ``step`` and
    ``extra``: the running step, whose event gets its own metrics; an earlier step's go to
    the task's result and its tracking only."""
    for engine in list(run.deferred):
        for name, values in engine.settle_quality(compute).items():
            own = name == step
            record(run, name, values, extra if own else None)
            if not own and run.tracker is not None:
                run.tracker.step({"step": name}, {"metrics": values})
    if compute:
        run.deferred.clear()


def settle_at_end(run: TaskRun) -> None:
    """:func:`settle` at the end of the task; a failure as the task's loop reports one: at
    its step in the spec, with the ``step_failed`` event."""
    from .step_failure import located

    try:
        settle(run)
    except Exception as exc:
        step = failing_step(run, (run.plan.get("steps") or [{}])[-1], exc)
        err = located(run, step, exc)
        run.emit("step_failed", step=step.get("name"), error=str(err))
        if err is exc:
            raise
        raise err from exc


def failing_step(run: TaskRun, step: Mapping[str, Any], exc: BaseException) -> Mapping[str, Any]:
    """The step an error raised while ``step`` ran belongs to: a deferred check's own step
    when it names another one of the task, else ``step``."""
    owner = exc.step if isinstance(exc, CheckFailed) else None
    if not owner or owner == step.get("name"):
        return step
    return next((s for s in run.plan.get("steps") or [] if s.get("name") == owner), step)
