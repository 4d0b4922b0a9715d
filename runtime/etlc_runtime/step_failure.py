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
    cast = cast_place(run, exc) if isinstance(exc, DataError) else None
    if cast is not None:   # R040 of a `cast:` step: at its entry for the column
        exc, name, line, col = cast
    elif isinstance(exc, DataError):   # R040: at the column's declaration in the spec
        at = declared_at(run.plan, step, exc)
        reading = None if at else read_step(run.plan, exc)
        if reading is not None:   # else at the step that read the dataset
            name, line = reading.get("name"), reading.get("line")
        line, col = at or (line, None)
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


def cast_place(run: TaskRun, err: DataError
               ) -> tuple[DataError, str | None, int | None, int | None] | None:
    """(the R040, step name, line, column) of a value a ``cast:`` step refused: an R040
    naming a column but no dataset or file, raised by a transform step of the task that
    casts that column (the pandas and dask engines name the step: ``steps.cast``; the
    duckdb engine, which raised it in a later step's query, finds the step and the row
    again: ``cast_error``); at the step's ``cast:`` entry for the column.  None for any
    other R040 (a write's)."""
    if err.file or err.dataset or not err.column:
        return None
    casting = [s for s in run.plan.get("steps") or [] if step_kind(s) == "transform"
               and isinstance(s.get("cast"), Mapping) and err.column in s["cast"]]
    named = [s for s in casting if s.get("name") == err.step]
    if named:
        found = named[0]
    else:
        for found in casting:
            refused = _cast_row(run, found, err)
            if refused is not None:
                refused.__cause__, err = err, refused
                break
        else:
            return None
    from .expr_location import key_at
    at = key_at(run.spec, run.root, ("steps", found.get("name"), "cast", err.column))
    line, col = at or (found.get("line"), None)
    err.step = found.get("name")
    return err, found.get("name"), line, col


def _cast_row(run: TaskRun, step: Mapping[str, Any], err: DataError) -> DataError | None:
    """The R040 with its row of the first value ``step``'s cast refuses, found again by its
    engine (``cast_error``); None where it has none or finds none."""
    return _ask(run, step, "cast_error", err)


def _ask(run: TaskRun, step: Mapping[str, Any], method: str, exc: BaseException) -> Any:
    """What the engine that ran transform ``step`` finds about ``exc`` over the step's inputs
    again (its ``method``: ``explain_error``, ``cast_error``); None where it has no such
    method, the inputs are gone, it finds nothing or fails (the original error is reported
    then)."""
    name = step.get("name")
    if step_kind(step) != "transform" or name not in run.frames:
        return None
    engine = run.frames[name][0]
    find = getattr(engine, method, None)
    names = sources(step)[:1] + joined(step)
    if find is None or any(n not in run.frames and n not in run.staged for n in names):
        return None
    try:
        return find(exc, step, run.inputs(names, engine), run.expr_params)
    except Exception:  # the original error is reported then
        log.debug("%s of %s failed", method, type(exc).__name__, exc_info=True)
        return None


def read_step(plan: Mapping[str, Any], err: DataError) -> Mapping[str, Any] | None:
    """The step reading the dataset of an R040 that names no declared column (a CSV row with
    more or fewer fields than the header), where one step of the task reads it: the duckdb
    and dask engines raise a read's error when a later step runs the query."""
    reads = [s for s in plan.get("steps") or []
             if err.dataset and s.get("read") == err.dataset and s.get("line")]
    return reads[0] if len(reads) == 1 else None


def explained(run: TaskRun, exc: BaseException) -> BaseException | None:
    """The R041 an engine's error stands for (a value one of the task's expressions
    could not convert, found again by the engine: ``explain_error``), or None."""
    for step in run.plan.get("steps") or []:
        found = _ask(run, step, "explain_error", exc)
        if found is not None:
            found.__cause__ = exc
            return found
    return None
