"""What the read, call and operator steps of a task do (transforms and writes are one engine
call each and stay in the executor).

A read resolves its dataset (an ``s3://`` view, the columns the task uses, a PostgreSQL or
Qdrant filter pushed down), reads it on the step's engine (one partition's share in a mapped
instance), counts what ``on_error: null | skip`` let through, then applies the step's own
transform keys.  A call step hands its inputs to the user's function as pandas DataFrames
(with ``per_partition: true`` on the dask engines, each partition on the workers).
An operator step runs an Airflow operator (mapped over an earlier result when it says so).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .engines.base import TRANSFORM_KEYS, StepContext
from .errors import StepError, merge_read_errors
from .plain import plain
from .step_shape import joined, on_s3, sources

if TYPE_CHECKING:
    from .executor import TaskRun

log = logging.getLogger("etlc_runtime")


def read_step(run: TaskRun, step: Mapping[str, Any], engine, ctx: StepContext,
              extra: dict) -> Any:
    """The relation of a read step; its read errors go to ``run`` and ``extra``."""
    name = step.get("name")
    dataset = run.dataset(step, "read")
    if on_s3(dataset):
        dataset = run.s3_bridge().read_view(dataset, ctx.macros, step, ctx.params, engine)
    from .column_use import used_columns  # the columns the task uses, else None
    pushdown = used_columns(run.plan.get("steps") or [], name, dataset, run.plan.get("output"))
    if dataset.get("format") in ("postgres", "qdrant"):   # the filter goes down too
        from .pg_pushdown import with_pushdown
        dataset = with_pushdown(step, dataset, ctx.params)
    if dataset.get("format") == "qdrant":
        from .qdrant_io import read_qdrant
        rel = engine.from_arrow(read_qdrant(dataset, ctx.macros, ctx.connections, run.root,
                                            pushdown))
    elif run.partition is not None:   # parallelism: airflow, one partition's share
        from .partition_tasks import read_partition
        rel = read_partition(engine, dataset, ctx, pushdown, *run.partition)
    else:
        rel = engine.read(dataset, ctx, columns=pushdown)
    tally = engine.read_errors(rel)
    if tally:   # on_error: null | skip let values through: counted in the result
        run.read_errors[step["read"]] = merge_read_errors(
            run.read_errors.get(step["read"], {}), tally)
        extra["read_errors"] = {step["read"]: tally}
        log.warning("etlc read of dataset %s (on_error: %s): %s", step["read"],
                    (dataset.get("options") or {}).get("on_error"), tally)
    return engine.transform(step, run.inputs(joined(step), engine), ctx, base=rel)


def call_step(run: TaskRun, step: Mapping[str, Any], engine, ctx: StepContext) -> Any:
    """The relation of a call step: the function's result, then the step's transform keys."""
    from .call import frame_for_call, result_from_call, run_call
    missing = [s for s in sources(step) if s not in run.frames and s not in run.staged]
    if missing:
        raise StepError(step.get("name"), f"input step(s) {missing} are neither in this task "
                                          f"nor staged")
    per_partition = getattr(engine, "call_partitions", None) if step.get("per_partition") \
        else None
    if per_partition is not None:   # the dask engines: on the workers, a call per partition
        rel = per_partition([run.relation(s, engine) for s in sources(step)], step, run.macros)
    else:   # one call on the whole frame(s), here (the only partition of pandas and duckdb)
        frames = [frame_for_call(*run.own(s, engine)) for s in sources(step)]
        rel = result_from_call(engine, run_call(step, frames, run.macros), step)
    rest = {k: v for k, v in step.items() if k in TRANSFORM_KEYS}
    return engine.transform(rest, run.inputs(joined(step), engine), ctx, base=rel)


def operator_step(run: TaskRun, step: Mapping[str, Any], extra: dict) -> None:
    """Run an operator step; its result (as plain data) goes to ``extra``."""
    from .call import run_operator
    from .operator_map import is_mapped, run_mapped
    op_ctx = dict(run.ctx)
    op_ctx.setdefault("run_id", run.run_id)
    op_ctx.setdefault("logical_date", run.logical_date)
    op_ctx["params"] = dict(run.params)
    returned = op_ctx.pop("_returned", None)   # etlc run: earlier operator steps' results
    if is_mapped(step):
        result = run_mapped(step, returned or {},
                            lambda one: run_operator(one, op_ctx, run.macros))
    else:
        result = run_operator(step, op_ctx, run.macros)
    if isinstance(returned, dict):
        returned[step.get("name")] = result
    if result is not None:
        extra["result"] = plain(result)
