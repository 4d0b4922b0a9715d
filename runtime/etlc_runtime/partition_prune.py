"""Partition pruning: the ``col=value/`` folders of a dataset that a read step's filter keeps.

A read of a partitioned dataset on an object store (s3_read) lists the parts of the current
version with their Hive values; a part whose values make a top-level ``and`` term of the
step's filter false or null (a row there can never pass the filter) is not read at all.  The
terms that decide are those pg_pushdown would send to a server, on partition columns only:
comparisons, ``in``, ``between`` of a column and constants or ``$params`` of its kind,
``is [not] null``, a bool column, and ``not``/``and``/``or`` of these, in SQL's three-valued
logic.  A folder value decides only when it is the canonical text of the column's declared
type (``int``, ``decimal``, ``string``, ``bool``, ``date``; an undeclared column is a
string): a value the engine would refuse (R040) or read differently keeps its part, so the
engine, which still applies the whole filter, sees it.  Pruning never changes a result.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .expr import ast as A
from .expr import columns_used, parse
from .filter_terms import FLIP, NotPushable, conjuncts, constant, literal_family

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}
_FAMILY = {"int": "number", "decimal": "number", "string": "string", "bool": "bool",
           "date": "date"}


class _Unknown(Exception):
    """The term cannot be decided for this partition (or at all)."""


def _typed(text: str, kind: str) -> Any:
    """The value of a folder's text when it is the canonical text of ``kind``."""
    if kind == "int":
        value: Any = int(text)
    elif kind == "decimal":
        value = decimal.Decimal(text)
        if not value.is_finite():
            raise ValueError(text)
    elif kind == "date":
        value = dt.date.fromisoformat(text)
        if value.isoformat() != text:
            raise ValueError(text)
        return value
    elif kind == "bool":
        if text not in ("true", "false"):
            raise ValueError(text)
        return text == "true"
    else:
        return text
    if str(value) != text:
        raise ValueError(text)
    return value


class _Term:
    def __init__(self, kinds: Mapping[str, str], params: Mapping[str, Any]):
        self.kinds, self.params = kinds, params

    def column(self, e, row: Mapping[str, str | None]) -> tuple[Any, str]:
        if not isinstance(e, A.Column) or e.name not in self.kinds:
            raise _Unknown
        kind = self.kinds[e.name]
        text = row.get(e.name)
        try:
            return (None if text is None else _typed(text, kind)), _FAMILY[kind]
        except (ValueError, ArithmeticError) as exc:
            raise _Unknown from exc

    def constant(self, e, family: str) -> Any:
        try:
            value = constant(e, self.params, ("int", "decimal", "string", "bool", "date"))
        except NotPushable as exc:
            raise _Unknown from exc
        if value is None or literal_family(value) != family or isinstance(value, dt.datetime):
            raise _Unknown
        return value

    def value(self, e, row) -> bool | None:
        """True, False or None (null) of the term for the partition's values."""
        if isinstance(e, A.Binary) and e.op in ("and", "or"):
            left, right = self.value(e.left, row), self.value(e.right, row)
            if e.op == "and":
                return False if False in (left, right) else (
                    None if None in (left, right) else True)
            return True if True in (left, right) else (None if None in (left, right)
                                                       else False)
        if isinstance(e, A.Unary) and e.op == "not":
            inner = self.value(e.operand, row)
            return None if inner is None else not inner
        if isinstance(e, A.Binary) and e.op in _COMPARE:
            left, right, op = e.left, e.right, e.op
            if not isinstance(left, A.Column):
                left, right, op = right, left, FLIP.get(op, op)
            v, family = self.column(left, row)
            const = self.constant(right, family)
            return None if v is None else _COMPARE[op](v, const)
        if isinstance(e, A.IsNull):
            v, _ = self.column(e.operand, row)
            return (v is not None) if e.negated else (v is None)
        if isinstance(e, A.InList) and e.items:
            v, family = self.column(e.operand, row)
            items = [self.constant(i, family) for i in e.items]
            return None if v is None else ((v in items) != bool(e.negated))
        if isinstance(e, A.Between):
            v, family = self.column(e.operand, row)
            low, high = self.constant(e.low, family), self.constant(e.high, family)
            return None if v is None else ((low <= v <= high) != bool(e.negated))
        if isinstance(e, A.Column):
            v, family = self.column(e, row)
            if family == "bool":
                return v
        raise _Unknown


def partition_filter(step: Mapping[str, Any], dataset: Mapping[str, Any],
                     params: Mapping[str, Any] | None
                     ) -> Callable[[Mapping[str, str | None]], bool] | None:
    """A test of a part's Hive values (``{col: text or None}``): False when the read step's
    filter drops every row of it.  None when no term of the filter can decide."""
    text = step.get("filter")
    keys: Sequence[str] = dataset.get("partition_by") or ()
    if not text or not keys or step.get("join") or step.get("union"):
        return None
    declared = dataset.get("columns") or {}
    kinds = {}
    for key in keys:
        spec = declared.get(key, "string")
        kind = (spec.get("type") if isinstance(spec, Mapping) else spec) or "string"
        if kind in _FAMILY:
            kinds[key] = kind
    terms = [t for t in conjuncts(parse(text)) if columns_used(t) <= set(kinds)]
    if not terms:
        return None
    judge = _Term(kinds, dict(params or {}))

    def keep(row: Mapping[str, str | None]) -> bool:
        for term in terms:
            try:
                if judge.value(term, row) is not True:
                    return False
            except _Unknown:
                continue
        return True

    return keep
