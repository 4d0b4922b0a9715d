"""The runtime's seam to the expression language (``etlc_runtime.expr``).

Expressions in a task plan are strings; they are parsed once with the same parser the
compiler used (cached) and evaluated by the pandas back end of ``etlc_runtime.expr``.
"""

from __future__ import annotations

from functools import lru_cache


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


def evaluate(text: str, df, params):
    return backend().evaluate(parse(text), df, params)


def apply_filter(text: str, df, params):
    return backend().apply_filter(parse(text), df, params)


def aggregate(df, group_by, aggs: dict, params, having: str | None = None):
    parsed = {name: parse(text) for name, text in aggs.items()}
    return backend().aggregate(df, list(group_by or []), parsed, params,
                               having=parse(having) if having else None)


def metric(text: str, df, params):
    return backend().metric(parse(text), df, params)
