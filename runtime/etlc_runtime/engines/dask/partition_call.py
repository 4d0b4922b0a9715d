"""A ``call`` step with ``per_partition: true`` on the dask engines: the user's function runs on
the workers, once per partition (a pandas DataFrame of the runtime's representation), and its
results are the partitions of a Dask DataFrame the chain goes on with.  No partition's rows,
and never the whole frame, come to the task process.

Dask needs the result's columns and dtypes (its meta) before anything runs:

- with ``returns``, the declared columns in their declared types; each partition's result is
  checked and held in them on its worker, as the whole frame is on the other engines
  (:func:`etlc_runtime.call_returns.conform_result`): R042 names the partition and the row
  within that partition's result;
- without, the function's result on the first partition, or on the first one whose
  result has rows (the partitions before it give none, and an empty result says nothing of
  the dtypes a computed column takes).  Those calls are made on the cluster when the step
  is built and their results stay there as the result's partitions (the function runs once
  per partition, never on made-up or empty rows: Dask's own meta inference calls it on fake
  rows, which user functions often refuse); the task process receives the empty head and
  column types of one result only.  Every other partition's result must have the same
  columns in the same order and, where both have rows, the same dtypes (for object
  columns, the same kind of value): else R043 naming the partition and the column.
  Nothing is reordered or cast; a result without rows takes the meta's dtypes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ...call import callable_of, called, user_function
from ...errors import CallResultError, PartitionCallError, StepError


def map_call(cluster, inputs: list, step: Mapping[str, Any], macros: Mapping[str, Any],
             hold: Callable[[Any], Any]) -> tuple[Any, dict]:
    """The Dask DataFrame of the function's results per partition of the one relation in
    ``inputs``, and the etlc types of its columns.  ``hold`` keeps a Future the graph uses."""
    import dask
    import dask.dataframe as dd

    from ... import _expr

    name = step.get("name")
    if len(inputs) != 1:
        raise PartitionCallError(name, f"{len(inputs)} inputs: a function applied per "
                                       f"partition takes one (drop per_partition, or join or "
                                       f"union the inputs in a step before)")
    _, args = user_function(step, macros)   # the function imports here, or the step fails now
    call = (step["call"], args, name, step.get("line"))   # what each partition's task gets
    parts = inputs[0].to_delayed()
    returns = step.get("returns")
    if returns is not None:
        outs = [dask.delayed(conformed, pure=False)(p, i, call, dict(returns))
                for i, p in enumerate(parts)]
        return (dd.from_delayed(outs, meta=declared_meta(returns), verify_meta=False),
                _expr.types_of(dict(returns)) or {})
    made: list = []   # the results computed for the meta: the empty ones, then one with rows
    for i, part in enumerate(parts):
        made.append(cluster.submit(dask.delayed(one_call, pure=False)(part, i, call)))
        hold(made[-1])
        ((meta, kinds, rows, types),) = cluster.compute(dask.delayed(shape_of)(made[-1]))
        if rows:
            break
    like = (meta, kinds, rows)
    outs = [*(dask.delayed(fitted, pure=True)(f, i, call, like) for i, f in enumerate(made[:-1])),
            made[-1], *(dask.delayed(one_call, pure=False)(p, i, call, like)
                        for i, p in enumerate(parts[len(made):], len(made)))]
    return dd.from_delayed(outs, meta=meta, verify_meta=False), types


def one_call(part, number: int, call: tuple, like: tuple | None = None):
    """The function's result on partition ``number`` (on a worker); with ``like`` (the shape
    of the result that gave the meta), fitted to it (:func:`fitted`)."""
    ref, args, name, _ = call
    try:
        out = called(ref, callable_of(ref), part, args)
        return out if like is None else fitted(out, number, call, like)
    except StepError as err:
        raise _at(err, call) from None
    except Exception as exc:   # the user's function: this step failed, not the one computing
        raise _at(StepError(name, f"call {ref!r} failed on partition {number}: "
                                  f"{type(exc).__name__}: {exc}", cause=exc), call) from exc


def fitted(out, number: int, call: tuple, like: tuple):
    """``out`` checked against the meta's shape (:func:`same_shape`); a result without rows
    takes the meta's dtypes (no value changes: there is none), so that no empty partition
    turns a column into another type where partitions are put together."""
    meta, kinds, rows = like
    try:
        same_shape(out, meta, kinds, rows, call[2], number)
    except StepError as err:
        raise _at(err, call) from None
    if len(out) or not rows:
        return out
    return out.astype(meta.dtypes.to_dict())


def conformed(part, number: int, call: tuple, returns: Mapping[str, Any]):
    """Partition ``number``'s result held in the declared ``returns`` (R042 names the
    partition)."""
    from ...call_returns import conform_result
    from ..pandas_engine import PandasEngine

    out = one_call(part, number, call)
    try:
        table = conform_result(out, returns, call[2])
    except CallResultError as err:
        raise _at(CallResultError(call[2], err.reason, column=err.column, row=err.row,
                                  value=err.value, partition=number), call) from None
    return PandasEngine().from_arrow(table)


def _at(err: StepError, call: tuple) -> StepError:
    """``err`` at the call step: the graph fails later, in the step that computes it."""
    err.step, err.line = err.step or call[2], err.line or call[3]
    err.args = (str(err),)
    return err


def declared_meta(returns: Mapping[str, Any]):
    """An empty frame of the declared columns, as a conformed partition holds them."""
    import pyarrow as pa

    from ...arrow_convert import arrow_type
    from ..pandas_engine import PandasEngine

    schema = pa.schema([(c, arrow_type(t)) for c, t in returns.items()])
    return PandasEngine().from_arrow(schema.empty_table())


def shape_of(frame) -> tuple:
    """(empty head, kind of value per object column, whether it has rows, etlc types) of the
    first partition's result, made on the worker that holds it."""
    from ...expr.pandas_columns import frame_types

    return frame.iloc[:0], _kinds(frame), len(frame) > 0, frame_types(frame) if len(frame) else {}


def _kinds(frame) -> dict[str, str]:
    import pandas as pd

    return {str(c): pd.api.types.infer_dtype(frame[c], skipna=True)
            for c in frame.columns if frame[c].dtype == object}


def same_shape(out, meta, kinds: Mapping[str, str], rows: bool, step: str | None,
               number: int) -> None:
    """R043 where ``out`` has other columns (names, order) than ``meta`` or, both having rows,
    another dtype or kind of object value in a column."""
    have, want = [str(c) for c in out.columns], [str(c) for c in meta.columns]
    if have != want:
        missing = [c for c in want if c not in have]
        extra = [c for c in have if c not in want]
        if missing:
            column, reason = missing[0], "a column of the first partition's result is missing"
        elif extra:
            column, reason = extra[0], "a column the first partition's result does not have"
        else:
            column = next(h for h, w in zip(have, want) if h != w)
            reason = (f"the columns come in another order ({', '.join(have)}) than in the "
                      f"first partition's result ({', '.join(want)})")
        raise PartitionCallError(step, reason + " (declare `returns` to fix the columns)",
                                 partition=number, column=column)
    if not rows or not len(out):
        return
    mine = _kinds(out)
    for column in want:
        got, first = out[column].dtype, meta[column].dtype
        if got != first:
            reason = f"dtype {got} where the first partition's result has {first}"
        elif column in kinds and {mine[column], kinds[column]}.isdisjoint({"empty"}) \
                and mine[column] != kinds[column]:
            reason = (f"{mine[column]} values where the first partition's result has "
                      f"{kinds[column]} values")
        else:
            continue
        raise PartitionCallError(step, reason + " (declare `returns` to hold every partition "
                                                "in one type)", partition=number,
                                 column=column)
