"""The runtime's seam to the expression language (``etlc_runtime.expr``).

Expressions in a task plan are strings; they are parsed once with the same parser the
compiler used (cached) and evaluated by the pandas back end of ``etlc_runtime.expr``.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache

_TYPES: ContextVar = ContextVar("etlc_step_types", default=None)


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


@contextmanager
def step_types(spec_types):
    """Declared column types of the running step ({col: {"type", "scale"}} from the plan),
    handed to the evaluator: a dtype alone cannot tell a decimal's scale or a date."""
    types = None
    if spec_types:
        from .expr import Type

        types = {col: Type.from_spec(t) for col, t in spec_types.items()}
    token = _TYPES.set(types)
    try:
        yield
    finally:
        _TYPES.reset(token)


def _types(df) -> dict:
    types = _TYPES.get()
    if not types:
        return {}
    return {"types": {c: t for c, t in types.items() if c in df.columns}}


def evaluate(text: str, df, params):
    return backend().evaluate(parse(text), df, params, **_types(df))


def apply_filter(text: str, df, params):
    return backend().apply_filter(parse(text), df, params, **_types(df))


def aggregate(df, group_by, aggs: dict, params, having: str | None = None):
    parsed = {name: parse(text) for name, text in aggs.items()}
    return backend().aggregate(df, list(group_by or []), parsed, params,
                               having=parse(having) if having else None, **_types(df))


def metric(text: str, df, params):
    return backend().metric(parse(text), df, params, **_types(df))
