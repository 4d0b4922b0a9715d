"""R041 on the duckdb engine: which expression, row and value a DuckDB conversion error came from.

DuckDB stops a whole query at the first value it cannot convert and names neither the
expression nor the row. After such a failure :func:`explain` replays the expressions that
could have failed, each over the relation it ran on: a transform step's stage by stage over
the step's own inputs (:func:`step_stages`: the relation a ``filter`` saw, the one each
``derive`` entry saw, ...; the executor asks after a failed step), or a check's ``expect``
rows and the metrics over the step's output (:func:`quality_stages`; the engine asks after a
failed check or metric query). Every sub-expression that can fail at run
time (a cast from text, ``strptime``/``to_date``/``to_timestamp`` of text, text naming a time
zone read as a zone-less timestamp or date (``zone_text``), ``lpad``/``rpad`` with an empty
pad, a JSON function or cast of text that is not JSON, a cast of a JSON value that is no int,
float or bool) is tried on every row with DuckDB's
``TRY_`` forms (or the condition of the failure): the first row where its argument is not
null and it fails is the offending one; a constant that fails is no row's (row None). An
int ``sum`` (aggregate, metric or window) is summed again as HUGEINT: the first group or row
beyond 64 bits (int_sum_rows.py). Only the plans' SQL is built; the probe reads one row.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import duckdb

from ... import _expr
from ...expr import ast as A
from ...expr import zone_text
from ...expr.casts import number_text_sql, temporal_text_bad_sql, trim_sql
from ...expr.errors import EvalError, ExprError
from ...expr.functions import AGGREGATES
from ...expr.sql import quote_ident as q
from ...expr.sql import render, sql_literal, sql_type
from ...expr.typecheck import infer
from ...expr.types import param_type
from .int_sum_rows import is_int_sum, sum_error
from .sql_build import Builder, Rel

log = logging.getLogger(__name__)
# (context, expression text, the relation it runs over, group keys, aggregate or metric output)
Stage = tuple[str, str, Rel, list, str | None]

PARSES = ("strptime", "to_date", "to_timestamp")
JSON_READS = ("json_extract", "json_extract_string", "json_array_length", "json_type")
NUMBERS = {"int": "DOUBLE", "float": "DOUBLE", "decimal": "DOUBLE"}
JSON_VALUES = {"int": "BIGINT", "float": "DOUBLE", "bool": "BOOLEAN"}


def is_conversion_error(exc: BaseException) -> bool:
    """A DuckDB error of a value that did not convert (what an expression can raise)."""
    return type(exc).__module__.split(".")[0] in ("duckdb", "_duckdb") and type(exc).__name__ in (
        "ConversionException", "InvalidInputException", "OutOfRangeException")


def step_stages(b: Builder, step: Mapping[str, Any], inputs: Mapping[str, Rel], params
                ) -> Iterator[Stage]:
    """The stages of a transform step's expressions, in the step's order."""
    rel = b.apply({k: step[k] for k in ("from", "join", "union") if k in step}, inputs, params)
    if isinstance(step.get("filter"), str):
        yield "filter", step["filter"], rel, [], None
        rel = b.filter(rel, step["filter"], params)
    for name, text in (step.get("derive") or {}).items():
        yield "row", text, rel, [], None
        rel = b.derive(rel, {name: text}, params)
    if isinstance(step.get("qualify"), str):
        yield "qualify", step["qualify"], rel, [], None
        rel = b.qualify(rel, step["qualify"], params)
    keys = list(step.get("group_by") or [])
    for name, text in (step.get("aggregate") or {}).items():
        yield "aggregate", text, rel, keys, name


def _probe(node: A.Expr, types: Mapping[int, Any], sql) -> tuple[str, str, str] | None:
    """(what failed, SQL of the offending argument, SQL true on a row where the node fails)
    of a node that can fail on a value; None for any other node. ``sql`` renders a
    sub-expression."""
    def kind(e):
        return getattr(types.get(id(e)), "name", None)

    if isinstance(node, A.Cast) and kind(node.operand) == "string":
        a, target = sql(node.operand), node.target.name
        if target == "json":
            return "not JSON", a, f"NOT json_valid({a})"
        if target in NUMBERS:   # the table's number text (casts.py), DuckDB's reads more
            return (f"cannot cast to {target}", a, f"NOT {number_text_sql(a, target)} OR "
                    f"TRY_CAST({trim_sql(a)} AS DOUBLE) IS NULL")
        if target in ("date", "timestamp", "timestamptz"):
            what = f"cannot {'read' if target != 'timestamptz' else 'cast to'} {target}"
            return what, a, _not_temporal(a, target)
        if target == "bool":
            words = "'true', 't', 'yes', 'y', '1', 'on', 'false', 'f', 'no', 'n', '0', 'off'"
            return "cannot cast to bool", a, f"lower(trim({a})) NOT IN ({words})"
        return None
    if kind(node) == "int" and (isinstance(node, A.Binary) and node.op in ("+", "-", "*")
                                or isinstance(node, A.Unary) and node.op == "-"
                                or isinstance(node, A.Call) and node.name == "abs"):
        left = node.left if isinstance(node, A.Binary) else \
            node.operand if isinstance(node, A.Unary) else node.args[0]
        others = [node.right] if isinstance(node, A.Binary) else []
        return ("value out of range for int", sql(left), " AND ".join(
            [f"try({sql(node)}) IS NULL"] + [f"{sql(o)} IS NOT NULL" for o in others]))
    if isinstance(node, A.Cast) and kind(node.operand) in ("int", "float", "decimal") \
            and node.target.name in ("int", "decimal"):   # NaN, inf, beyond the digits
        a = sql(node.operand)
        return (f"value out of range for {node.target.name}", a,
                f"TRY_CAST({a} AS {sql_type(node.target)}) IS NULL")
    if isinstance(node, A.Cast) and kind(node.operand) == "json" \
            and node.target.name in JSON_VALUES:   # as expr/sql.py renders it; JSON null is null
        a, target = sql(node.operand), node.target.name
        return (f"cannot cast json to {target}", a,
                f"TRY_CAST(CAST({a} AS JSON) AS {JSON_VALUES[target]}) IS NULL AND "
                f"json_type(CAST({a} AS JSON)) <> 'NULL'")
    if isinstance(node, A.Call) and node.name in PARSES and node.args \
            and kind(node.args[0]) == "string":
        a = sql(node.args[0])
        what = "date" if node.name == "to_date" else "timestamp"
        fmt = node.args[1] if len(node.args) > 1 else None
        if fmt is None:
            return f"cannot read {what}", a, _not_temporal(a, what)
        if isinstance(fmt, A.Literal) and isinstance(fmt.value, str):
            return (f"cannot read {what} with format '{fmt.value}'", a,
                    f"try_strptime({a}, {sql_literal(fmt.value)}) IS NULL")
    if isinstance(node, A.Call) and node.name in JSON_READS and node.args \
            and kind(node.args[0]) in ("string", "json"):
        a = sql(node.args[0])
        return "not JSON", a, f"NOT json_valid({a})"
    if isinstance(node, A.Call) and node.name in ("lpad", "rpad") and len(node.args) == 3:
        a, n, pad = (sql(x) for x in node.args)
        return "an empty pad", a, f"{pad} = '' AND length({a}) < {n}"
    return None


def _not_temporal(a: str, target: str) -> str:
    """SQL true where the text ``a`` is no ``target`` by the one rule, as
    ``casts.text_temporal_sql`` (which raised) decides: the wrong shape, a zone but UTC
    where the type has none, no such day."""
    sql_t = {"date": "DATE", "timestamp": "TIMESTAMP", "timestamptz": "TIMESTAMPTZ"}[target]
    return (f"{temporal_text_bad_sql(a, target != 'timestamptz')} OR "
            f"TRY_CAST({trim_sql(a)} AS {sql_t}) IS NULL")


def quality_stages(rel: Rel, checks: Mapping[str, Any] | None,
                   metrics: Mapping[str, str] | None) -> list[Stage]:
    """The stages of a check's ``expect`` rows and of ``metrics``, over ``rel``."""
    expects = (checks or {}).get("expect") or []
    if isinstance(expects, str):
        expects = [expects]
    elif isinstance(expects, Mapping):
        expects = list(expects.values())
    stages: list[Stage] = [("filter", t, rel, [], None) for t in expects if isinstance(t, str)]
    return stages + [("metric", t, rel, [], n) for n, t in (metrics or {}).items()]


def explain(b: Builder, exc: BaseException, stages: Iterable[Stage], params
            ) -> EvalError | None:
    """The R041 (expression, row, value) the DuckDB error ``exc`` stands for: the first value
    an expression of ``stages`` cannot convert.  None when ``exc`` is no conversion error,
    when no expression fails on its rows, or when the replay itself fails: the original
    error is reported then."""
    if not is_conversion_error(exc):
        return None
    try:
        return _first(b, stages, params)
    except Exception:
        log.debug("explaining %s failed", type(exc).__name__, exc_info=True)
        return None


def _first(b: Builder, stages: Iterable[Stage], params) -> EvalError | None:
    p_types = {k: param_type(v) for k, v in (params or {}).items()}
    for context, text, rel, keys, output in stages:
        expr = _expr.parse(text)
        _, errors, types = infer(expr, dict(rel.types), p_types, context, keys)
        if errors:
            continue
        def sql(e, rel=rel):
            return render(e, params, types=dict(rel.types), column=q)[0]

        once = _once_per_group(expr) if context in ("aggregate", "metric") and not keys \
            else set()
        try:
            taken = _taken(expr, sql)
        except (ExprError, ValueError, TypeError):   # a condition that cannot stand alone
            taken = {}
        for node in reversed(list(A.walk(expr))):  # descendants before their ancestors
            try:
                if is_int_sum(node, types, context):   # beyond 64 bits: int_sum_rows
                    found_sum = sum_error(b.con, node, sql, rel, keys, text, output,
                                          lambda s, rel=rel: _with(rel, s))
                    if found_sum is not None:
                        return found_sum
                    continue
                probe = _probe(node, types, sql)
                if probe is None:
                    continue
                what, arg_sql, fails = probe
                # a constant outside the aggregates of a keyless aggregate is evaluated for
                # its one row, which exists over no input rows too
                rows = "(SELECT NULL AS __etlc_row)" if id(node) in once and not \
                    _of_rows(node) else (f"(SELECT row_number() OVER () - 1 AS __etlc_row, * "
                                         f"FROM {q(rel.name)})")
                where = f" AND {taken[id(node)]}" if id(node) in taken else ""
                sql_text = (f"SELECT __etlc_row, CAST({arg_sql} AS VARCHAR) FROM {rows} "
                            f"AS r WHERE {arg_sql} IS NOT NULL AND ({fails}){where} LIMIT 1")
                found = b.con.execute(_with(rel, sql_text)).fetchall()
            except (ExprError, duckdb.Error):  # a part that cannot stand alone: not this one
                continue
            if found:
                row, value = found[0]
                if what.startswith("cannot read ") and zone_text.zoned(value):
                    what = zone_text.row_message(what.split()[-1])
                err = EvalError(f"{what}: {value!r}", text, value,
                                row=int(row) if _of_rows(node) else None,
                                start=node.start, end=node.end)
                err.source = text
                return err
    return None


def _taken(expr: A.Expr, sql) -> dict[int, str]:
    """SQL true on the rows that take the branch of ``case``, ``if`` or ``coalesce`` each
    node lies in (absent: every row): DuckDB evaluates a branch for those rows only, so the
    failing row is one of them (the conditions themselves are evaluated on every row)."""
    out: dict[int, str] = {}

    def visit(e: A.Expr, cond: str | None) -> None:
        def under(*parts: str) -> str | None:
            both = ([cond] if cond else []) + [p for p in parts if p]
            return " AND ".join(both) if both else None

        if cond:
            out[id(e)] = cond
        if isinstance(e, A.Case):
            prior: list[str] = []
            for k in ([e.operand] if e.operand is not None else []):
                visit(k, cond)
            for w, r in e.whens:
                visit(w, cond)
                test = f"({sql(e.operand)} = {sql(w)})" if e.operand is not None else sql(w)
                visit(r, under(*prior, f"({test}) IS TRUE"))
                prior.append(f"({test}) IS NOT TRUE")
            if e.default is not None:
                visit(e.default, under(*prior))
        elif isinstance(e, A.Call) and e.name == "if" and len(e.args) == 3:
            test = sql(e.args[0])
            visit(e.args[0], cond)
            visit(e.args[1], under(f"({test}) IS TRUE"))
            visit(e.args[2], under(f"({test}) IS NOT TRUE"))
        elif isinstance(e, A.Call) and e.name == "coalesce":
            prior = []
            for a in e.args:
                visit(a, under(*prior))
                prior.append(f"({sql(a)}) IS NULL")
        else:
            for k in A.children(e):
                visit(k, cond)

    visit(expr, None)
    return out


def _once_per_group(expr: A.Expr) -> set[int]:
    """The ids of the nodes of an aggregate expression outside its aggregate calls."""
    inside = {id(n) for c in A.walk(expr) if isinstance(c, A.Call) and c.name in AGGREGATES
              for n in A.walk(c)}
    return {id(n) for n in A.walk(expr)} - inside


def _of_rows(node: A.Expr) -> bool:
    """Whether node's value can differ between rows (a constant's failure is no row's)."""
    return any(isinstance(n, A.Column | A.Window) or isinstance(n, A.Call)
               and n.name in AGGREGATES for n in A.walk(node))


def _with(rel: Rel, select_sql: str) -> str:
    head = ",\n".join(f"{q(n)} AS (\n{sql}\n)" for n, sql in rel.ctes)
    return f"WITH {head}\n{select_sql}"
