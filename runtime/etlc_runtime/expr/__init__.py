"""etlc's expression language: grammar, AST, type rules and evaluators.

Compile-time API (no dataframe library imported)::

    parse(text) -> Expr                       # cached, on disk too (ast_cache); E401 on bad syntax
    check(expr, columns, params, context, group_keys=()) -> (Type, [ExprError])
    columns_used(expr), params_used(expr), is_aggregate(expr)

Run-time API (pandas; imported on first use)::

    evaluate(expr, df, params), apply_filter(expr, df, params),
    aggregate(df, group_by, aggs, params, having=None), metric(expr, df, params)

and the same on Dask in ``etlc_runtime.expr.dask_eval``; ``etlc_runtime.expr.sql.to_sql``
renders an expression as DuckDB SQL.
"""
from __future__ import annotations

from .ast import Expr, unparse
from .ast_cache import parse  # the trees parser.parse gave earlier processes; lark on a miss
from .errors import EvalError, ExprError
from .functions import FUNCTIONS
from .typecheck import check, columns_used, is_aggregate, params_used
from .types import Type

__all__ = [
    "FUNCTIONS",
    "EvalError",
    "Expr",
    "ExprError",
    "Type",
    "aggregate",
    "apply_filter",
    "check",
    "columns_used",
    "evaluate",
    "is_aggregate",
    "metric",
    "params_used",
    "parse",
    "unparse",
]

_LAZY = {"evaluate", "apply_filter", "aggregate", "metric"}


def __getattr__(name: str):
    if name in _LAZY:
        from . import pandas_eval
        return getattr(pandas_eval, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
