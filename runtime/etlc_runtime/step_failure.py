"""Where a failed step's error points, for ``etlc run`` and Airflow's log: a StepError
carrying the spec, line and column.

An R040 (a value that would change) points at its column's declaration in the spec (the
plan's ``declared_at``); an engine's own error that one of the task's expressions caused is
found again by that engine (``explain_error``) and becomes the R041 it stands for, which
points at the failing expression (expr_location); anything else points at the step.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import _expr
from .errors import DataError, EtlcRuntimeError, NotAvailable, StepError
from .step_shape import joined, sources, step_kind

if TYPE_CHECKING:
    from .executor import TaskRun

log = logging.getLogger("etlc_runtime")


def located(run: TaskRun, step: Mapping[str, Any], exc: BaseException) -> StepError:
    """``exc``, raised by ``step`` of ``run``, as a StepError at its place in the spec."""
    name, line = step.get("name"), step.get("line")
    if isinstance(exc, StepError):
        return exc.with_location(name, run.spec, line)
    exc = DataError.from_exception(exc) or exc  # R040 raised inside DuckDB's SQL too
    col = None
    if isinstance(exc, DataError):   # R040: at the column's declaration in the spec
        line, col = declared_at(run.plan, step, exc) or (line, None)
    if not isinstance(exc, (EtlcRuntimeError, *_expr.eval_error_types())):
        exc = explained(run, exc) or exc  # a DuckDB conversion error: which expression
    if isinstance(exc, _expr.eval_error_types()):  # R041: where the expression failed
        from .expr_location import locate
        steps = run.plan.get("steps") or []
        if locate(exc, run.spec, run.root, [step, *(s for s in steps if s is not step)]):
            line, col = exc.line, exc.column
    if isinstance(exc, (NotAvailable, EtlcRuntimeError)):
        message = str(exc)
    else:
        message = f"{type(exc).__name__}: {exc}"
    return StepError(name, message, spec=run.spec, line=line, col=col, cause=exc)


def declared_at(plan: Mapping[str, Any], step: Mapping[str, Any],
                err: DataError) -> tuple[int, int] | None:
    """[line, col] of the declaration of the R040's column (the plan's ``declared_at``):
    in the dataset the error names, else the failing step's dataset, else the one
    dataset of the task that declares the column (the duckdb engine raises a read's
    R040 when a later step runs the query, and its SQL does not name the dataset)."""
    at = plan.get("declared_at") or {}
    if not err.column:
        return None
    own = [d for d in (err.dataset, step.get("read"), step.get("write")) if d in at]
    holding = [d for d in at if err.column in at[d]]
    for d in own + (holding if len(holding) == 1 else []):
        if err.column in at[d]:
            line, col = at[d][err.column]
            return int(line), int(col)
    return None


def explained(run: TaskRun, exc: BaseException) -> BaseException | None:
    """The R041 an engine's error stands for (a value one of the task's expressions
    could not convert, found again by the engine: ``explain_error``), or None."""
    for step in run.plan.get("steps") or []:
        name = step.get("name")
        if step_kind(step) != "transform" or name not in run.frames:
            continue
        engine = run.frames[name][0]
        explain = getattr(engine, "explain_error", None)
        names = sources(step)[:1] + joined(step)
        if explain is None or any(n not in run.frames and n not in run.staged
                                  for n in names):
            continue
        try:
            found = explain(exc, step, run.inputs(names, engine), run.expr_params)
        except Exception:  # the original error is reported then
            log.debug("explaining %s failed", type(exc).__name__, exc_info=True)
            continue
        if found is not None:
            found.__cause__ = exc
            return found
    return None
