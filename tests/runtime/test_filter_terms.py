"""filter_terms, the split of a filter into the terms a source may apply (shared by the
PostgreSQL, Qdrant and partition pushdowns): which terms, which constants, which families."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest

from etlc_runtime.expr import ast as A
from etlc_runtime.expr import parse
from etlc_runtime.filter_terms import (
    NotPushable,
    conjuncts,
    constant,
    literal_family,
    pushable_terms,
)


def test_conjuncts_are_the_top_level_and_terms_in_order():
    terms = conjuncts(parse("a = 1 and (b = 2 or c = 3) and not d"))
    assert [A.unparse(t) for t in terms] == [A.unparse(parse(x)) for x in
                                             ("a = 1", "b = 2 or c = 3", "not d")]
    assert len(conjuncts(parse("a = 1 or b = 2"))) == 1


def test_pushable_terms_keeps_what_the_builder_accepts():
    def build(term):
        if "b" in A.unparse(term):
            raise NotPushable
        return A.unparse(term)

    built, texts = pushable_terms("a = 1 and b > 2 and c < 3", build)
    assert built == texts == [A.unparse(parse("a = 1")), A.unparse(parse("c < 3"))]
    assert pushable_terms("b = 1", build) == ([], [])


@pytest.mark.parametrize("text, kinds, value", [
    ("-3", ("int",), -3),
    ("-1.5", ("decimal",), -decimal.Decimal("1.5")),
    ("'x'", ("string",), "x"),
    ("$p", (), 7),
])
def test_constant(text, kinds, value):
    assert constant(parse(text), {"p": 7}, kinds) == value


@pytest.mark.parametrize("text, kinds", [
    ("-1.5", ("int",)), ("'x'", ("int",)), ("$q", ("int",)), ("a", ("int",)),
    ("1 + 2", ("int",)),
])
def test_no_constant(text, kinds):
    with pytest.raises(NotPushable):
        constant(parse(text), {"p": 7}, kinds)


@pytest.mark.parametrize("value, family", [
    (True, "bool"), (3, "number"), (decimal.Decimal("1.5"), "number"),
    (decimal.Decimal("NaN"), None), ("x", "string"), (dt.date(2024, 1, 2), "date"),
    (dt.datetime(2024, 1, 2, 3), "timestamp"),
    (dt.datetime(2024, 1, 2, tzinfo=dt.UTC), None), (1.5, None), (None, None),
])
def test_literal_family(value, family):
    assert literal_family(value) == family
