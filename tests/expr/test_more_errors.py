"""Compile-time errors of the issue-13 functions: codes and spans (never wording)."""
from __future__ import annotations

import pytest
from etlc_runtime.expr import ExprError, Type, check, parse

COLS = {"i": Type("int"), "f": Type("float"), "s": Type("string"), "ts": Type("timestamp"),
        "dt": Type("date"), "k": Type("string")}

# (text, context, code, the text the error points at)
CASES = [
    ("i // f", "row", "E405", "f"),
    ("case when i then 1 end", "row", "E405", "i"),
    ("case when i > 0 then 1 else 'x' end", "row", "E405", "'x'"),
    ("case i when 'a' then 1 end", "row", "E405", "'a'"),
    ("date_trunc('fortnight', ts)", "row", "E405", "'fortnight'"),
    ("date_trunc(s, ts)", "row", "E405", "s"),
    ("date_diff('day', i, ts)", "row", "E405", "i"),
    ("strftime(ts, '%Q')", "row", "E405", "'%Q'"),
    ("strftime(ts, s)", "row", "E405", "s"),
    ("regexp_matches(s, '(')", "row", "E405", "'('"),
    ("regexp_matches(s, 'a(?=b)')", "row", "E405", "'a(?=b)'"),
    ("regexp_replace(s, '(a)\\1', 'x')", "row", "E405", "'(a)\\1'"),
    ("regexp_matches(s, k)", "row", "E405", "k"),
    ("regexp_replace(s, 'a', 'b', 'x')", "row", "E405", "'x'"),
    ("lpad(s, 's', 'x')", "row", "E405", "'s'"),
    ("concat(s, i)", "row", "E405", "i"),
    ("s like 1", "row", "E405", "1"),
    ("greatest(i, s)", "row", "E405", "s"),
    ("nullif(i, s)", "row", "E405", "s"),
    ("ts - ts", "row", "E405", "ts - ts"),
    ("ts + interval '1 day' - i", "row", "E405", "ts + interval '1 day'"),
    ("row_number()", "row", "E407", "row_number()"),
    ("row_number() over (order by i) > 1", "filter", "E407", "row_number() over (order by i)"),
    ("upper(s) over ()", "row", "E403", "upper"),
    ("lag(i, i) over (order by i)", "row", "E405", "i"),
    ("max(s) over (order by i)", "row", "E405", "max(s) over (order by i)"),
    ("sum(i) over ()", "aggregate", "E407", "sum(i) over ()"),
]


@pytest.mark.parametrize("text,context,code,at", CASES, ids=[c[0] for c in CASES])
def test_compile_errors(text, context, code, at):
    _, errors = check(parse(text), COLS, {}, context)
    assert errors, text
    first = errors[0]
    assert first.code == code, errors
    assert text[first.start:first.end] == at, (text[first.start:first.end], errors)


@pytest.mark.parametrize("text", ["interval '2 fortnights'", "interval 'two hours'",
                                  "interval ''"])
def test_bad_interval_literal_is_a_syntax_error(text):
    with pytest.raises(ExprError) as info:
        parse(text)
    assert info.value.code == "E401"
    assert info.value.start >= text.index("'")


def test_window_words_stay_column_names():
    cols = {"order": Type("int"), "desc": Type("int"), "partition": Type("int"),
            "by": Type("int"), "over": Type("int")}
    t, errors = check(parse("order + desc * partition - by + over"), cols, {})
    assert not errors and t == Type("int")
