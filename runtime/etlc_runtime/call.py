"""``call`` and ``operator`` steps: user code named "package.module:attribute".

The contract of a ``call`` step: its function receives a pandas DataFrame (a list of them
for several ``from`` steps) and returns one, whatever engine runs the chain around it.  The
executor hands it the input through :func:`frame_for_call` and takes the result back with
:func:`result_from_call`: Arrow in between, or the engine's own ``to_pandas`` /
``from_pandas`` where it has them (the pandas engine passes its frame unchanged).  The chain
continues on the step's engine; a step that declares ``returns`` has the frame checked
against it and held in the declared types first (:mod:`etlc_runtime.call_returns`).  With
``per_partition: true`` the dask engines call it on each partition, on the workers, instead
(:mod:`etlc_runtime.engines.dask.partition_call`).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from .errors import StepError
from .templating import render


def load_object(ref: str, what: str = "call"):
    module_name, sep, attr = str(ref).partition(":")
    if not sep or not module_name or not attr:
        raise StepError(None, f"{what} must be 'package.module:name', got {ref!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise StepError(None, f"cannot import module {module_name!r} for {what} {ref!r}: {exc}",
                        cause=exc) from exc
    obj = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            raise StepError(None, f"module {module_name!r} has no attribute {attr!r}",
                            cause=exc) from exc
    return obj


def render_args(args: Any, macros: Mapping[str, Any]) -> Any:
    """Render templated strings anywhere inside ``args`` (plain data)."""
    if isinstance(args, str):
        return render(args, macros)
    if isinstance(args, Mapping):
        return {k: render_args(v, macros) for k, v in args.items()}
    if isinstance(args, (list, tuple)):
        return [render_args(v, macros) for v in args]
    return args


def frame_for_call(engine, rel):
    """The pandas DataFrame a call function receives for ``rel`` (a relation of ``engine``)."""
    to_pandas = getattr(engine, "to_pandas", None)
    if to_pandas is not None:
        return to_pandas(rel)
    return engine.to_arrow(rel).to_pandas()


def result_from_call(engine, df, step: Mapping[str, Any] | None = None):
    """``engine``'s relation over the DataFrame a call function returned: with the step's
    ``returns``, checked and held in the declared types (call_returns, R042)."""
    if step is not None and step.get("returns") is not None:
        from .call_returns import conform_result
        return engine.from_arrow(conform_result(df, step["returns"], step.get("name")))
    from_pandas = getattr(engine, "from_pandas", None)
    if from_pandas is not None:
        return from_pandas(df)
    import pyarrow as pa

    return engine.from_arrow(pa.Table.from_pandas(df, preserve_index=False))


def user_function(step: Mapping[str, Any], macros: Mapping[str, Any]):
    """(the call step's function, its ``args`` rendered with ``macros``)."""
    return callable_of(step["call"]), render_args(dict(step.get("args") or {}), macros)


def callable_of(ref: str):
    func = load_object(ref, "call")
    if not callable(func):
        raise StepError(None, f"call {ref!r} is not callable")
    return func


def called(ref: str, func, data, args: Mapping[str, Any]):
    """``func(data, **args)``, which must be a pandas DataFrame (its index dropped)."""
    import pandas as pd

    result = func(data, **args)
    if not isinstance(result, pd.DataFrame):
        raise StepError(None, f"call {ref!r} returned {type(result).__name__}, "
                              f"not a pandas DataFrame")
    return result.reset_index(drop=True)


def run_call(step: Mapping[str, Any], inputs: list, macros: Mapping[str, Any]):
    """Call the user function with the input DataFrame(s) and ``args``.

    One ``from`` step: ``func(df, **args)``; several: ``func([df1, df2, ...], **args)``.
    On the pandas and duckdb engines ``per_partition: true`` calls the function once, on the
    whole DataFrame (their only partition); the dask engines map it over their partitions
    (engines/dask/partition_call.py).
    """
    func, args = user_function(step, macros)
    return called(step["call"], func, inputs[0] if len(inputs) == 1 else list(inputs), args)


def run_operator(step: Mapping[str, Any], context: Mapping[str, Any],
                 macros: Mapping[str, Any]):
    """Instantiate the operator with ``args`` and ``task_id`` and call ``execute(context)``.

    Used by ``etlc run`` outside Airflow (inside Airflow the generated DAG instantiates the
    operator class itself).  Templated strings in ``args`` are rendered with the run's macros
    first, as Airflow would render the operator's template fields.
    """
    cls = load_object(step["operator"], "operator")
    args = render_args(dict(step.get("args") or {}), macros)
    if isinstance(args.get("python_callable"), str):  # as the DAG file imports it
        args["python_callable"] = load_object(args["python_callable"], "python_callable")
    args.setdefault("task_id", step.get("name") or "operator")
    try:
        operator = cls(**args)
    except TypeError as exc:
        raise StepError(None, f"cannot build operator {step['operator']!r} with args "
                              f"{sorted(args)}: {exc}", cause=exc) from exc
    op_context = dict(context)
    op_context.update({k: v for k, v in macros.items() if k not in op_context})
    op_context.setdefault("task", operator)
    return operator.execute(op_context)
