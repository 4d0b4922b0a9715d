"""The runtime's seam to the expression language (``etlc_runtime.expr``).

Expressions in a task plan are strings; they are parsed once with the same parser the
compiler used (cached) and evaluated by the pandas back end of ``etlc_runtime.expr``.
A step's declared column types come in as an explicit ``types`` argument (:func:`types_of`
of the plan's ``types``), never through ambient state.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import contextmanager
from functools import lru_cache
from typing import Any


def backend():
    from .expr import pandas_eval

    return pandas_eval


def eval_error_types() -> tuple[type, ...]:
    out = []
    try:
        from .expr.errors import EvalError, ExprError
        out += [EvalError, ExprError]
    except ImportError:
        pass
    return tuple(out)


@lru_cache(maxsize=4096)
def parse(text: str):
    from .expr import parse as _parse
    return _parse(text)


def types_of(spec_types: Mapping[str, Any] | None) -> dict | None:
    """Declared column types of a step ({col: {"type", "scale"}} from the plan) as the
    evaluator's types: a dtype alone cannot tell a decimal's scale or a date."""
    if not spec_types:
        return None
    from .expr import Type

    return {col: Type.from_spec(t) for col, t in spec_types.items()}


def _types(df, types: Mapping[str, Any] | None) -> dict:
    if not types:
        return {}
    return {"types": {c: t for c, t in types.items() if c in df.columns}}


@contextmanager
def source(text: str):
    """An EvalError raised inside names ``text``, the expression as the spec wrote it (its
    offsets point into it)."""
    try:
        yield
    except eval_error_types() as err:
        if getattr(err, "source", False) is None:
            err.source = text
        raise


def evaluate(text: str, df, params, types: Mapping[str, Any] | None = None):
    with source(text):
        return backend().evaluate(parse(text), df, params, **_types(df, types),
                                  dates_as_dates=True)


def apply_filter(text: str, df, params, types: Mapping[str, Any] | None = None,
                 context: str = "filter"):
    with source(text):
        return backend().apply_filter(parse(text), df, params, **_types(df, types),
                                      context=context)


def aggregate(df, group_by, aggs: dict, params, having: str | None = None,
              types: Mapping[str, Any] | None = None):
    parsed = {name: parse(text) for name, text in aggs.items()}
    try:
        return backend().aggregate(df, list(group_by or []), parsed, params,
                                   having=parse(having) if having else None,
                                   **_types(df, types), dates_as_dates=True)
    except eval_error_types() as err:  # which of the texts: the one holding the failing part
        if getattr(err, "source", False) is None:
            from .expr_location import holds
            err.source = next((t for t in [*aggs.values(), having] if t and holds(t, err)),
                              None)
        raise


def metric(text: str, df, params, types: Mapping[str, Any] | None = None):
    with source(text):
        return backend().metric(parse(text), df, params, **_types(df, types))
