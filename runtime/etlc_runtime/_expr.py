"""The runtime's seam to the expression language (``etlc_runtime.expr``).

Expressions in a task plan are strings; they are parsed once with the same parser the
compiler used (cached) and evaluated by the pandas back end of ``etlc_runtime.expr``.
"""

from __future__ import annotations

import importlib
from functools import lru_cache

_BACKEND = None
_NAMES = ("evaluate", "apply_filter", "aggregate", "metric")
_CANDIDATES = ("etlc_runtime.expr", "etlc_runtime.expr.pandas_eval",
               "etlc_runtime.expr.pandas_backend", "etlc_runtime.expr.eval_pandas",
               "etlc_runtime.expr.pandas")


def backend():
    global _BACKEND
    if _BACKEND is None:
        for name in _CANDIDATES:
            try:
                mod = importlib.import_module(name)
            except ImportError:
                continue
            if all(hasattr(mod, n) for n in _NAMES):
                _BACKEND = mod
                break
        else:
            raise ImportError("etlc_runtime.expr provides no pandas evaluator "
                              f"({', '.join(_NAMES)})")
    return _BACKEND


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
