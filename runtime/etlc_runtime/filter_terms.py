"""The parts of a read step's filter that a source can apply itself, shared by every pushdown
(pg_pushdown for PostgreSQL, qdrant_filter for Qdrant, partition_prune for Hive folders).

A filter is split into its top-level ``and`` terms (:func:`conjuncts`); a term goes down whole
or not at all, so what the source keeps always includes every row the whole filter keeps
(the engine still applies it).  A term's constants are literals or ``$params``
(:func:`constant`), compared only with columns of their family (:func:`literal_family`).
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable, Collection, Mapping
from typing import Any, TypeVar

from .expr import ast as A
from .expr import parse

T = TypeVar("T")

# a comparison read from the other side: `3 < x` is `x > 3`
FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}


class NotPushable(Exception):
    """A term (or a part of it) that the source cannot apply or decide exactly."""


def conjuncts(e: A.Expr) -> list[A.Expr]:
    """The top-level ``and`` terms of ``e``, left to right."""
    if isinstance(e, A.Binary) and e.op == "and":
        return conjuncts(e.left) + conjuncts(e.right)
    return [e]


def literal_family(value: Any) -> str | None:
    """The family a constant compares in (``number``, ``string``, ``bool``, ``date``,
    ``timestamp``), or None (a NaN or infinite decimal, a zoned timestamp, anything else)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, decimal.Decimal)):
        return "number" if not (isinstance(value, decimal.Decimal)
                                and not value.is_finite()) else None
    if isinstance(value, str):
        return "string"
    if isinstance(value, dt.datetime):
        return None if value.tzinfo else "timestamp"
    if isinstance(value, dt.date):
        return "date"
    return None


def constant(e: A.Expr, params: Mapping[str, Any], kinds: Collection[str]) -> Any:
    """The value of ``e`` when it is a literal of one of ``kinds`` (a number may be negated)
    or a ``$param`` given in ``params``; else NotPushable."""
    if isinstance(e, A.Unary) and e.op == "-" and isinstance(e.operand, A.Literal) \
            and e.operand.kind in ("int", "decimal") and e.operand.kind in kinds:
        return -e.operand.value
    if isinstance(e, A.Literal) and e.kind in kinds:
        return e.value
    if isinstance(e, A.Param) and e.name in params:
        return params[e.name]
    raise NotPushable


def pushable_terms(text: str, build: Callable[[A.Expr], T]) -> tuple[list[T], list[str]]:
    """``build`` of each top-level term of filter ``text`` that it accepts (those raising
    NotPushable are left to the engine), and those terms' etlc text (for the log and the
    tests)."""
    built, texts = [], []
    for term in conjuncts(parse(text)):
        try:
            built.append(build(term))
        except NotPushable:
            continue
        texts.append(A.unparse(term))
    return built, texts
