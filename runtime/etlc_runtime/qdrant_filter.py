"""The part of a Qdrant read step's ``filter`` that Qdrant can apply to the payload itself.

Each top-level ``and`` term of the read step's own filter goes down as a Qdrant ``Filter``
condition when every part of it is

- ``= != in / not in`` of a payload column and constants or ``$params`` of its type, on
  ``string``, ``int``, ``bool`` and ``date`` columns (a date is matched as the ISO text the
  payload holds);
- ``< <= > >= between`` on ``int`` columns with constants strictly inside +-2**53 (a Qdrant
  server compares ranges as doubles: such a bound orders every 64-bit integer as etlc does);
- ``is [not] null``, a bool column alone, ``not``/``and``/``or`` of such terms.

Each pushed condition is exact wherever etlc's value is true or false (it may go either way
where etlc's is null, which a filter drops anyway), so ``not`` stays exact and the points
Qdrant returns always include every point the whole filter keeps. Equality on ints is a
closed range, so an int stored as 3.0 still matches 3. Floats, decimals, timestamps,
functions and arithmetic stay in the engine, which still applies the whole filter afterwards:
what went down only saves moving the points it would drop.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from .expr import ast as A
from .filter_terms import FLIP, NotPushable, constant, pushable_terms

KINDS = ("string", "int", "bool", "date")
_EXACT = 2 ** 53
_RANGE = {"<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}


def _fits(value: Any, kind: str) -> bool:
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool) \
            and -_EXACT < value < _EXACT
    if kind == "date":
        return isinstance(value, dt.date) and not isinstance(value, dt.datetime)
    return isinstance(value, {"string": str, "bool": bool}[kind])


class _Builder:
    def __init__(self, kinds: Mapping[str, str], params: Mapping[str, Any]):
        from qdrant_client import models

        self.m, self.kinds, self.params = models, kinds, params

    def column(self, e) -> str:
        if not isinstance(e, A.Column) or e.name not in self.kinds:
            raise NotPushable
        return e.name

    def constant(self, e, kind: str):
        value = constant(e, self.params, ("int", "string", "bool", "date"))
        if value is None or not _fits(value, kind):
            raise NotPushable
        return value.isoformat() if kind == "date" else value

    def equal(self, key: str, kind: str, values: Sequence[Any]):
        m = self.m
        if kind == "int":
            ranges = [m.FieldCondition(key=key, range=m.Range(gte=v, lte=v)) for v in values]
            return ranges[0] if len(ranges) == 1 else m.Filter(should=ranges)
        if len(values) == 1:
            return m.FieldCondition(key=key, match=m.MatchValue(value=values[0]))
        return m.FieldCondition(key=key, match=m.MatchAny(any=list(values)))

    def build(self, e):
        m = self.m
        if isinstance(e, A.Binary) and e.op == "and":
            return m.Filter(must=[self.build(e.left), self.build(e.right)])
        if isinstance(e, A.Binary) and e.op == "or":
            return m.Filter(should=[self.build(e.left), self.build(e.right)])
        if isinstance(e, A.Unary) and e.op == "not":
            return m.Filter(must_not=[self.build(e.operand)])
        if isinstance(e, A.Binary) and e.op in ("=", "!=", *_RANGE):
            left, right, op = e.left, e.right, e.op
            if not isinstance(left, A.Column):
                left, right, op = right, left, FLIP.get(op, op)
            key = self.column(left)
            kind = self.kinds[key]
            value = self.constant(right, kind)
            if op in _RANGE:
                if kind != "int":
                    raise NotPushable
                return m.FieldCondition(key=key, range=m.Range(**{_RANGE[op]: value}))
            cond = self.equal(key, kind, [value])
            return cond if op == "=" else m.Filter(must_not=[cond])
        if isinstance(e, A.InList) and e.items:
            key = self.column(e.operand)
            cond = self.equal(key, self.kinds[key],
                              [self.constant(i, self.kinds[key]) for i in e.items])
            return m.Filter(must_not=[cond]) if e.negated else cond
        if isinstance(e, A.Between):
            key = self.column(e.operand)
            if self.kinds[key] != "int":
                raise NotPushable
            cond = m.FieldCondition(key=key, range=m.Range(
                gte=self.constant(e.low, "int"), lte=self.constant(e.high, "int")))
            return m.Filter(must_not=[cond]) if e.negated else cond
        if isinstance(e, A.IsNull):
            # is_empty: the key is missing or null (scalar payloads are never [] here)
            cond = m.IsEmptyCondition(is_empty=m.PayloadField(key=self.column(e.operand)))
            return m.Filter(must_not=[cond]) if e.negated else cond
        if isinstance(e, A.Column) and self.kinds.get(e.name) == "bool":
            return self.equal(e.name, "bool", [True])
        raise NotPushable


def payload_kinds(dataset: Mapping[str, Any]) -> dict[str, str]:
    """The payload columns a filter may name in Qdrant, with their declared etlc type."""
    from .arrow_convert import spec_of

    declared = dataset.get("columns") or {}
    vector = dataset.get("vector")
    payload = dataset.get("payload") or [c for c in declared if c != vector]
    out = {}
    for name in payload:
        if name in declared and name != vector:
            kind = spec_of(declared[name]).get("type") or "string"
            if kind in KINDS:
                out[name] = kind
    return out


def payload_filter(text: str, params: Mapping[str, Any] | None,
                   dataset: Mapping[str, Any]) -> tuple[Any | None, list[str]]:
    """The Qdrant ``Filter`` of the terms that go down (None when none does) and their etlc
    text (for the log and the tests)."""
    builder = _Builder(payload_kinds(dataset), params or {})
    conditions, texts = pushable_terms(text, builder.build)
    if not conditions:
        return None, []
    return builder.m.Filter(must=conditions), texts
