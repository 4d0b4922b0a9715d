"""Rendering expressions as DuckDB SQL with etlc's semantics.

The result computes exactly what the pandas evaluator computes (the differential tests
hold the two together): division and modulo by zero give null (``NULLIF``), ``/``
always gives a DOUBLE, ``sqrt``/``ln`` outside their domain give null, ``first``/``last``
skip nulls.  Used by the DuckDB engine and as the reference in tests.
"""
from __future__ import annotations

import datetime as dt
import decimal as _decimal
import math
from collections.abc import Callable, Mapping
from typing import Any

from . import ast as A
from .errors import ExprError
from .functions import AGGREGATES
from .sql_funcs import call_sql
from .typecheck import infer
from .types import Type, param_type

__all__ = ["quote_ident", "render", "sql_literal", "sql_type", "to_sql"]


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_type(t: Type | A.TypeSpec) -> str:
    if t.name == "decimal":
        p = getattr(t, "precision", None) or 18
        return f"DECIMAL({p}, {t.scale or 0})"
    if t.name == "json":
        return "JSON"
    return {"int": "BIGINT", "float": "DOUBLE", "string": "VARCHAR", "bool": "BOOLEAN",
            "date": "DATE", "timestamp": "TIMESTAMP", "timestamptz": "TIMESTAMPTZ"}[t.name]


def _str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def sql_literal(v: Any) -> str:
    """A Python value as a typed DuckDB literal."""
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int):
        return f"CAST({v} AS BIGINT)"
    if isinstance(v, float):
        if not math.isfinite(v):   # nan, inf, -inf: text DuckDB reads as the DOUBLE
            return f"CAST('{v!r}' AS DOUBLE)"
        return f"CAST({v!r} AS DOUBLE)"
    if isinstance(v, _decimal.Decimal):
        return str(v)
    if isinstance(v, str):
        return _str(v)
    if isinstance(v, dt.datetime):
        return f"TIMESTAMP '{v.isoformat(sep=' ')}'"
    if isinstance(v, dt.date):
        return f"DATE '{v.isoformat()}'"
    raise TypeError(f"no SQL literal for {v!r}")


class _Renderer:
    def __init__(self, params, column, node_types, order_by, outputs=None):
        self.params = params or {}
        self.column = column
        self.T = node_types
        self.order_by = order_by
        self.outputs = outputs or {}  # having: output name -> its SQL, outside aggregates
        self.in_aggregate = False

    def typ(self, e) -> Type | None:
        return self.T.get(id(e))

    def r(self, e: A.Expr) -> str:
        if isinstance(e, A.Literal):
            if e.kind in ("int", "decimal"):
                return e.text if not e.text.startswith("-") else f"({e.text})"
            if e.kind == "float":
                return f"CAST({e.text} AS DOUBLE)"
            if e.kind == "interval":
                v = e.value
                return (f"(to_months({v.months}) + to_days({v.days}) + "
                        f"to_microseconds({v.micros}))")
            return sql_literal(e.value)
        if isinstance(e, A.Column):
            if not self.in_aggregate and e.name in self.outputs:
                return self.outputs[e.name]
            return self.column(e.name)
        if isinstance(e, A.Param):
            if e.name not in self.params:
                raise ExprError("E404", f"unknown parameter '${e.name}'", e.start, e.end)
            return sql_literal(self.params[e.name])
        if isinstance(e, A.Unary):
            if e.op == "not":
                return f"(NOT {self.r(e.operand)})"
            return f"(-{self.r(e.operand)})"
        if isinstance(e, A.Binary):
            a, b = self.r(e.left), self.r(e.right)
            op = e.op
            if op == "/":
                return f"(CAST({a} AS DOUBLE) / NULLIF(CAST({b} AS DOUBLE), 0))"
            if op == "%":
                return f"({a} % NULLIF({b}, 0))"
            if op == "//":
                return f"({a} // NULLIF({b}, 0))"
            if op in ("+", "-"):
                ta, tb = self.typ(e.left), self.typ(e.right)
                if ta is not None and tb is not None and "date" in (ta.name, tb.name) \
                        and "int" in (ta.name, tb.name):
                    # DuckDB adds days to a DATE only as INTEGER
                    if ta.name == "int":
                        a = f"CAST({a} AS INTEGER)"
                    else:
                        b = f"CAST({b} AS INTEGER)"
            sop = {"!=": "<>", "and": "AND", "or": "OR"}.get(op, op)
            return f"({a} {sop} {b})"
        if isinstance(e, A.IsNull):
            return f"({self.r(e.operand)} IS {'NOT ' if e.negated else ''}NULL)"
        if isinstance(e, A.InList):
            items = ", ".join(self.r(i) for i in e.items)
            return f"({self.r(e.operand)} {'NOT ' if e.negated else ''}IN ({items}))"
        if isinstance(e, A.Between):
            return (f"({self.r(e.operand)} {'NOT ' if e.negated else ''}BETWEEN "
                    f"{self.r(e.low)} AND {self.r(e.high)})")
        if isinstance(e, A.Cast):
            src = self.typ(e.operand)
            if src is not None and (src.name, e.target.name) in (
                    ("string", "int"), ("float", "string"), ("string", "timestamptz")):
                from .casts import step_sql  # number text as the table reads and writes it
                return step_sql(self.r(e.operand), src.name, e.target.name)
            if src is not None and src.name == "string" and e.target.name in ("float",
                                                                              "decimal"):
                from .casts import text_number_sql  # DuckDB reads '1_000', '0x10': errors
                return text_number_sql(self.r(e.operand), e.target.name, sql_type(e.target))
            if e.target.name == "json":  # canonical text, as every json value (json_text)
                return f"json({self.r(e.operand)})"
            if src is not None and src.name == "json":  # a VARCHAR column may hold it
                return f"CAST(CAST({self.r(e.operand)} AS JSON) AS {sql_type(e.target)})"
            if src is not None and src.name == "string" and e.target.name in ("date",
                                                                              "timestamp"):
                from .casts import text_temporal_sql  # the one rule of date text
                return text_temporal_sql(self.r(e.operand), e.target.name)
            return f"CAST({self.r(e.operand)} AS {sql_type(e.target)})"
        if isinstance(e, A.Call):
            return self.call(e)
        if isinstance(e, A.Window):
            return self.window(e)
        if isinstance(e, A.Case):
            head = "CASE" if e.operand is None else f"CASE {self.r(e.operand)}"
            whens = " ".join(f"WHEN {self.r(w)} THEN {self.r(r)}" for w, r in e.whens)
            tail = f" ELSE {self.r(e.default)}" if e.default is not None else ""
            return f"({head} {whens}{tail} END)"
        raise TypeError(f"not an expression node: {e!r}")  # pragma: no cover

    def window(self, e: A.Window) -> str:
        f = e.func
        args = [self.r(a) for a in f.args]
        name = {"mean": "avg"}.get(f.name, f.name)
        inner = "*" if f.star else ", ".join(args)
        if f.name in ("lag", "lead") and len(args) == 3:
            inner = f"{args[0]}, {args[1]}, CAST({args[2]} AS {sql_type(self.typ(e))})"
        spec = []
        if e.partition:
            spec.append("PARTITION BY " + ", ".join(self.r(p) for p in e.partition))
        if e.order:
            spec.append("ORDER BY " + ", ".join(
                f"{self.r(o)} {'DESC' if d else 'ASC'} NULLS LAST" for o, d in e.order))
        sql = f"{name}({inner}) OVER ({' '.join(spec)})"
        t = self.typ(e)
        if f.name == "sum" and t is not None and t.name in ("int", "decimal"):
            sql = f"CAST({sql} AS {sql_type(t)})"  # DuckDB sums ints as HUGEINT
        return sql

    def call(self, e: A.Call) -> str:
        n = e.name
        outer, self.in_aggregate = self.in_aggregate, self.in_aggregate or n in AGGREGATES
        try:
            args = [self.r(a) for a in e.args]
        finally:
            self.in_aggregate = outer
        if n in ("now", "today"):
            from .types import LOGICAL_DATE_PARAM, logical_date
            v = logical_date(self.params.get(LOGICAL_DATE_PARAM))
            if v is None:
                raise ExprError("E404", f"{n}() needs the run's logical date", e.start, e.end,
                                "run it through the executor, which passes the logical date")
            return sql_literal(v.date() if n == "today" else v)
        if n == "count":
            return "count(*)" if e.star else f"count({args[0]})"
        if n == "count_distinct":
            return f"count(DISTINCT {args[0]})"
        if n == "mean":
            return f"avg({args[0]})"
        if n == "std":
            return f"stddev_samp({args[0]})"
        if n == "var":
            return f"var_samp({args[0]})"
        if n in ("first", "last"):
            order = f" ORDER BY {self.order_by}" if self.order_by else ""
            return f"{n}({args[0]}{order}) FILTER (WHERE {args[0]} IS NOT NULL)"
        if n == "sqrt":
            return f"sqrt(CASE WHEN {args[0]} >= 0 THEN {args[0]} END)"
        if n == "ln":
            return f"ln(CASE WHEN {args[0]} > 0 THEN {args[0]} END)"
        more = call_sql(n, args, [self.typ(a) for a in e.args])
        if more is not None:
            return more
        if n == "substr":
            return f"substring({', '.join(args)})"
        if n == "if":
            return f"(CASE WHEN {args[0]} THEN {args[1]} ELSE {args[2]} END)"
        if n in ("floor", "ceil"):
            t = self.typ(e.args[0])
            if t is not None and t.name == "int":
                return args[0]  # etlc: int stays int (DuckDB would give a DOUBLE)
        if n == "round" and len(args) == 1:
            return f"round({args[0]}, 0)"
        if n in ("to_date", "to_timestamp"):
            target = "DATE" if n == "to_date" else "TIMESTAMP"
            if len(args) == 2:
                return f"CAST(strptime({args[0]}, {args[1]}) AS {target})"
            t = self.typ(e.args[0])
            if t is not None and t.name in ("int", "float", "decimal"):
                ts = f"make_timestamp(CAST(round({args[0]} * 1000000) AS BIGINT))"
                return f"CAST({ts} AS {target})"
            if t is not None and t.name == "string":
                from .casts import text_temporal_sql  # the one rule of date text
                return text_temporal_sql(args[0], n[3:])
            return f"CAST({args[0]} AS {target})"
        return f"{n}({', '.join(args)})"


def render(expr: A.Expr, params: Mapping[str, Any] | None, *, types: Mapping[str, Type],
           column: Callable[[str], str] = quote_ident, order_by: str | None = None,
           context: str = "row", group_keys=(),
           outputs: Mapping[str, tuple[str, Type]] | None = None) -> tuple[str, Type]:
    """SQL and etlc type of a checked expression (the engines' entry point).  Raises the
    first :class:`ExprError` the type checker reports for ``context`` (``row``, ``filter``,
    ``aggregate``, ``having``, ``metric``).  ``outputs`` (``having``): the step's aggregate
    outputs, name -> (SQL, type); outside an aggregate function they win over input columns."""
    p_types = {k: param_type(v) for k, v in (params or {}).items()}
    out_types = {k: t for k, (_, t) in (outputs or {}).items()} or None
    t, errors, node_types = infer(expr, types, p_types, context, group_keys, out_types)
    if errors:
        raise min(errors, key=lambda x: (x.start, x.end))
    out_sql = {k: sql for k, (sql, _) in (outputs or {}).items()}
    return _Renderer(params, column, node_types, order_by, out_sql).r(expr), t


def to_sql(expr: A.Expr | str, params: Mapping[str, Any] | None = None, *,
           types: Mapping[str, Type] | None = None,
           column: Callable[[str], str] = quote_ident, order_by: str | None = None) -> str:
    """DuckDB SQL for an expression.  ``params`` values are inlined as typed literals;
    ``types`` (the column types) lets the renderer resolve type-dependent functions;
    ``column`` renders a column reference; ``order_by`` (SQL) orders first/last."""
    from .parser import parse

    if isinstance(expr, str):
        expr = parse(expr)
    node_types = {}
    if types is not None:
        p_types = {k: param_type(v) for k, v in (params or {}).items()}
        # the context only affects which errors are reported; types are the same
        _, _, node_types = infer(expr, types, p_types, "row")
    return _Renderer(params, column, node_types, order_by).r(expr)
