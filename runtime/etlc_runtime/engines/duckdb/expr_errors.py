"""R041 on the duckdb engine: which expression, row and value a DuckDB conversion error came from.

DuckDB stops a whole query at the first value it cannot convert and names neither the
expression nor the row. After such a failure the executor asks here: each transform step's
expressions are replayed stage by stage over the step's own inputs (the relation a ``filter``
saw, the one each ``derive`` entry saw, ...), and every sub-expression that can fail at run
time (a cast from text, ``strptime``/``to_date``/``to_timestamp`` of text) is tried on every
row with DuckDB's ``TRY_`` forms: the first row where its argument is not null and the try
gives null is the offending one. Only the plans' SQL is built; the probe reads one row.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ... import _expr
from ...expr import ast as A
from ...expr.errors import EvalError
from ...expr.sql import quote_ident as q
from ...expr.sql import render, sql_literal
from ...expr.typecheck import infer
from ...expr.types import param_type
from .sql_build import Builder, Rel

PARSES = ("strptime", "to_date", "to_timestamp")
NUMBERS = {"int": "DOUBLE", "float": "DOUBLE", "decimal": "DOUBLE"}


def is_conversion_error(exc: BaseException) -> bool:
    """A DuckDB error of a value that did not convert (what an expression can raise)."""
    return type(exc).__module__.split(".")[0] in ("duckdb", "_duckdb") and type(exc).__name__ in (
        "ConversionException", "InvalidInputException")


def _stages(b: Builder, step: Mapping[str, Any], inputs: Mapping[str, Rel], params
            ) -> Iterator[tuple[str, str, Rel]]:
    """(context, expression text, the relation it runs over) in the step's order."""
    rel = b.apply({k: step[k] for k in ("from", "join", "union") if k in step}, inputs, params)
    if isinstance(step.get("filter"), str):
        yield "filter", step["filter"], rel
        rel = b.filter(rel, step["filter"], params)
    for name, text in (step.get("derive") or {}).items():
        yield "row", text, rel
        rel = b.derive(rel, {name: text}, params)
    if isinstance(step.get("qualify"), str):
        yield "qualify", step["qualify"], rel


def _probe(node: A.Expr, types: Mapping[int, Any]) -> tuple[str, Any] | None:
    """(what failed, a function of the argument's SQL giving the try form) of a node that
    can fail on a text value; None for any other node."""
    if isinstance(node, A.Cast) and types.get(id(node.operand)) is not None \
            and types[id(node.operand)].name == "string":
        target = node.target.name
        if target in NUMBERS:
            return f"cannot cast to {target}", lambda a: f"TRY_CAST(trim({a}) AS DOUBLE)"
        if target in ("date", "timestamp"):
            return f"cannot read {target}", lambda a: f"TRY_CAST(trim({a}) AS TIMESTAMP)"
        if target == "bool":
            words = "'true', 't', 'yes', 'y', '1', 'on', 'false', 'f', 'no', 'n', '0', 'off'"
            return "cannot cast to bool", \
                lambda a: f"(CASE WHEN lower(trim({a})) IN ({words}) THEN 1 END)"
        return None
    if isinstance(node, A.Call) and node.name in PARSES and node.args \
            and getattr(types.get(id(node.args[0])), "name", None) == "string":
        what = "date" if node.name == "to_date" else "timestamp"
        fmt = node.args[1] if len(node.args) > 1 else None
        if fmt is None:
            return f"cannot read {what}", lambda a: f"TRY_CAST({a} AS TIMESTAMP)"
        if isinstance(fmt, A.Literal) and isinstance(fmt.value, str):
            return (f"cannot read {what} with format '{fmt.value}'",
                    lambda a: f"try_strptime({a}, {sql_literal(fmt.value)})")
    return None


def explain(b: Builder, step: Mapping[str, Any], inputs: Mapping[str, Rel], params
            ) -> EvalError | None:
    """The R041 a failed query of ``step`` stands for, or None when no expression of the
    step fails on its inputs."""
    p_types = {k: param_type(v) for k, v in (params or {}).items()}
    for context, text, rel in _stages(b, step, inputs, params):
        expr = _expr.parse(text)
        _, errors, types = infer(expr, dict(rel.types), p_types, context)
        if errors:
            continue
        for node in reversed(list(A.walk(expr))):  # descendants before their ancestors
            probe = _probe(node, types)
            if probe is None:
                continue
            what, tried = probe
            arg = node.operand if isinstance(node, A.Cast) else node.args[0]
            arg_sql, _ = render(arg, params, types=dict(rel.types), column=q)
            sql = (f"SELECT __etlc_row, CAST({arg_sql} AS VARCHAR) FROM (SELECT "
                   f"row_number() OVER () - 1 AS __etlc_row, * FROM {q(rel.name)}) AS r "
                   f"WHERE {arg_sql} IS NOT NULL AND {tried(arg_sql)} IS NULL LIMIT 1")
            found = b.con.execute(_with(rel, sql)).fetchall()
            if found:
                row, value = found[0]
                err = EvalError(f"{what}: {value!r}", text, value, row=int(row),
                                start=node.start, end=node.end)
                err.source = text
                return err
    return None


def _with(rel: Rel, select_sql: str) -> str:
    head = ",\n".join(f"{q(n)} AS (\n{sql}\n)" for n, sql in rel.ctes)
    return f"WITH {head}\n{select_sql}"
