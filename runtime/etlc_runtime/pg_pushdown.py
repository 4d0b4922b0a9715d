"""What a read step of a ``format: postgres`` dataset asks of the server besides its columns
(``column_use.used_columns``, as for every read): the part of its filter that PostgreSQL
computes exactly as etlc does.

Filter (:func:`render_filter`): each top-level ``and`` term of the step's filter goes down
when every part of it is one of

- a comparison (``= != < <= > >=``), ``in (...)``, ``between`` of a column and constants or
  ``$params`` of the column's kind, ``is [not] null``, a bool column, ``not``/``and``/``or``
  of such terms;
- on a column whose PostgreSQL type and etlc type agree: int2/int4/int8/numeric with
  ``int``/``decimal``, text/varchar with ``string`` (compared ``COLLATE "C"``: code point
  order, as etlc compares), bool, date, timestamp (without time zone).

Floats (NaN orders above every number in PostgreSQL), time zones, functions and
arithmetic never go down.  Constants are rendered by psycopg's ``sql.Literal`` (escaped by
libpq), identifiers by ``sql.Identifier``.  The engine still applies the whole filter
afterwards, so a term that went down only saves the transfer of rows it would drop.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .expr import ast as A
from .filter_terms import FLIP, NotPushable, constant, literal_family, pushable_terms

PUSHDOWN = "_etlc_pushdown"   # the key the executor adds to a read's dataset (filter, params)
FAMILY = {"int2": "number", "int4": "number", "int8": "number", "numeric": "number",
          "text": "string", "varchar": "string", "bool": "bool", "date": "date",
          "timestamp": "timestamp"}
ETLC_FAMILY = {"int": "number", "decimal": "number", "string": "string", "bool": "bool",
               "date": "date", "timestamp": "timestamp"}
COMPARE = {"=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


class _Renderer:
    def __init__(self, families: Mapping[str, str], params: Mapping[str, Any]):
        self.families = families
        self.params = params

    def column(self, e) -> tuple[Any, str]:
        from psycopg import sql

        if not isinstance(e, A.Column) or e.name not in self.families:
            raise NotPushable
        family = self.families[e.name]
        ident = sql.Identifier(e.name)
        if family == "string":
            ident = sql.SQL('{} COLLATE "C"').format(ident)
        return ident, family

    def constant(self, e, family: str):
        from psycopg import sql

        value = constant(e, self.params, ("int", "decimal", "string", "bool", "date",
                                          "timestamp"))
        if value is None or literal_family(value) != family:
            raise NotPushable
        return sql.SQL("({})").format(sql.Literal(value))

    def r(self, e):
        from psycopg import sql

        if isinstance(e, A.Binary) and e.op in ("and", "or"):
            return sql.SQL("({} {} {})").format(self.r(e.left), sql.SQL(e.op.upper()),
                                                self.r(e.right))
        if isinstance(e, A.Unary) and e.op == "not":
            return sql.SQL("(NOT {})").format(self.r(e.operand))
        if isinstance(e, A.Binary) and e.op in COMPARE:
            left, right, op = e.left, e.right, e.op
            if not isinstance(left, A.Column):
                left, right = right, left
                op = FLIP.get(op, op)
            col, family = self.column(left)
            return sql.SQL("({} {} {})").format(col, sql.SQL(COMPARE[op]),
                                                self.constant(right, family))
        if isinstance(e, A.IsNull):
            col, _ = self.column(e.operand)
            return sql.SQL("({} IS {}NULL)").format(col, sql.SQL("NOT " if e.negated else ""))
        if isinstance(e, A.InList) and e.items:
            col, family = self.column(e.operand)
            return sql.SQL("({} {}IN ({}))").format(
                col, sql.SQL("NOT " if e.negated else ""),
                sql.SQL(", ").join(self.constant(i, family) for i in e.items))
        if isinstance(e, A.Between):
            col, family = self.column(e.operand)
            return sql.SQL("({} {}BETWEEN {} AND {})").format(
                col, sql.SQL("NOT " if e.negated else ""), self.constant(e.low, family),
                self.constant(e.high, family))
        if isinstance(e, A.Column):
            col, family = self.column(e)
            if family == "bool":
                return sql.SQL("({})").format(col)
        raise NotPushable


def families(pg_types: Mapping[str, str], declared: Mapping[str, Any] | None) -> dict[str, str]:
    """Columns whose PostgreSQL type (``typname``) and etlc type agree, with their family."""
    from .arrow_convert import spec_of

    out = {}
    for name, typname in pg_types.items():
        family = FAMILY.get(typname)
        if family is None:
            continue
        if declared is not None:
            if name not in declared:
                continue
            if ETLC_FAMILY.get(spec_of(declared[name]).get("type") or "string") != family:
                continue
        out[name] = family
    return out


def render_filter(text: str, params: Mapping[str, Any] | None,
                  column_families: Mapping[str, str]) -> tuple[Any | None, list[str]]:
    """The SQL of the filter's terms that go down (None when none does) and their etlc
    text (for the log and the tests)."""
    from psycopg import sql

    parts, texts = pushable_terms(text, _Renderer(column_families, params or {}).r)
    if not parts:
        return None, []
    return sql.SQL(" AND ").join(parts), texts


def with_pushdown(step: Mapping[str, Any], dataset: Mapping[str, Any],
                  params: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """The dataset a read step hands its engine: with the step's filter and params under
    :data:`PUSHDOWN`, for the reader to push down what it can."""
    if step.get("filter") and not (step.get("join") or step.get("union")):
        dataset = {**dataset, PUSHDOWN: {"filter": step["filter"], "params": dict(params or {})}}
    return dataset
