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

# every name is imported on first use (PEP 562), so that importing one submodule (the
# executor's ``expr.types``, the duckdb engine's ``expr.ast``) does not load the function
# table, the type checker and difflib
_WHERE = {
    "Expr": "ast", "unparse": "ast",
    "parse": "ast_cache",   # the trees parser.parse gave earlier processes; lark on a miss
    "EvalError": "errors", "ExprError": "errors",
    "FUNCTIONS": "functions",
    "check": "typecheck", "columns_used": "typecheck", "is_aggregate": "typecheck",
    "params_used": "typecheck",
    "Type": "types",
    "evaluate": "pandas_eval", "apply_filter": "pandas_eval", "aggregate": "pandas_eval",
    "metric": "pandas_eval",
}

__all__ = ["FUNCTIONS", "EvalError", "Expr", "ExprError", "Type", "aggregate", "apply_filter",
           "check", "columns_used", "evaluate", "is_aggregate", "metric", "params_used",
           "parse", "unparse"]


def __getattr__(name: str):
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module
    value = getattr(import_module(f"{__name__}.{where}"), name)
    globals()[name] = value
    return value
