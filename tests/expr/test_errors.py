"""One test per error code, with exact 0-based [start, end) offsets, plus run-time errors."""
from __future__ import annotations

import pandas as pd
import pytest
from etlc_runtime.expr import EvalError, ExprError, Type, check, parse
from etlc_runtime.expr.pandas_eval import evaluate

COLS = {"ticker": Type("string"), "close": Type("decimal", 2), "volume": Type("int"),
        "trade_date": Type("date"), "flag": Type("bool")}
PARAMS = {"min_volume": Type("float")}


def errors_of(text, context="row", group_keys=(), columns=COLS):
    _, errs = check(parse(text), columns, PARAMS, context, group_keys)
    return errs


def one(text, **kw):
    errs = errors_of(text, **kw)
    assert len(errs) == 1, errs
    return errs[0]


@pytest.mark.parametrize("text,start,end,message", [
    ("close +", 7, 7, "unexpected end of expression"),
    ("close + * 2", 8, 9, "unexpected '*'"),
    ("ticker == 'PETR4", 10, 16, "unterminated string"),
    ('ticker == "PETR4"', 10, 11, "unexpected '\"'"),
    ("(close", 6, 6, "unexpected end of expression"),
    ("close # 2", 6, 7, "unexpected character '#'"),
    ("", 0, 0, "empty expression"),
    ("date '2025-13-01'", 5, 17, "invalid date literal '2025-13-01'"),
    ("cast(close as money)", 14, 19, "unknown type 'money' in cast"),
    ("a = 1 = 2", 6, 7, "unexpected '='"),
    ("amount > 0\nand and region = 'n'", 15, 18, "unexpected 'and'"),
    ("x in (null, or)", 12, 14, "unexpected 'or'"),
])
def test_e401_syntax(text, start, end, message):
    with pytest.raises(ExprError) as info:
        parse(text)
    e = info.value
    assert (e.code, e.start, e.end, e.message) == ("E401", start, end, message)


def test_e401_double_quotes_help():
    with pytest.raises(ExprError) as info:
        parse('ticker == "x"')
    assert "single quotes" in info.value.help


def test_e402_unknown_column_with_suggestion():
    e = one("tickr == 'PETR4'", context="filter")
    assert (e.code, e.start, e.end) == ("E402", 0, 5)
    assert e.message == "unknown column 'tickr'"
    assert e.help == "did you mean 'ticker'?"


def test_e402_backticked_and_no_suggestion():
    e = one("close + `zzz qq`")
    assert (e.code, e.start, e.end, e.help) == ("E402", 8, 16, None)


def test_e403_unknown_function_spans_the_name():
    e = one("lenght(ticker) > 3", context="filter")
    assert (e.code, e.start, e.end) == ("E403", 0, 6)
    assert e.help == "did you mean 'length'?"


def test_e404_unknown_param():
    e = one("volume >= $min_volum", context="filter")
    assert (e.code, e.start, e.end) == ("E404", 10, 20)
    assert e.help == "did you mean '$min_volume'?"


def test_e405_string_times_int_points_at_the_string():
    e = one("ticker * 2")
    assert (e.code, e.start, e.end) == ("E405", 0, 6)
    assert "needs numbers" in e.message


def test_e405_right_operand():
    e = one("volume + upper(ticker)")
    assert (e.code, e.start, e.end) == ("E405", 9, 22)


def test_e405_compare_and_function_argument():
    e = one("close > 'abc'")
    assert (e.code, e.start, e.end) == ("E405", 8, 13)
    e = one("abs(ticker)")
    assert (e.code, e.start, e.end) == ("E405", 4, 10)
    assert e.message == "abs(): argument 1 must be a number, got string"


def test_e405_filter_must_be_bool():
    e = one("volume + 1", context="filter")
    assert (e.code, e.start, e.end) == ("E405", 0, 10)


def test_e405_bad_date_string_comparison():
    e = one("trade_date > 'yesterday'")
    assert (e.code, e.start, e.end) == ("E405", 13, 24)
    assert errors_of("trade_date > '2025-01-02'") == []


def test_e406_arity():
    e = one("substr(ticker)")
    assert (e.code, e.start, e.end) == ("E406", 0, 14)
    assert e.message == "substr() takes 2 to 3 arguments, got 1"
    e = one("round(close, 1, 2)")
    assert (e.code, e.start, e.end) == ("E406", 0, 18)
    e = one("sum(*)", context="aggregate")
    assert e.code == "E406"


def test_e407_aggregate_outside_aggregate():
    e = one("sum(volume) > 10", context="filter")
    assert (e.code, e.start, e.end) == ("E407", 0, 11)
    e = one("close - mean(close)")
    assert (e.code, e.start, e.end) == ("E407", 8, 19)


def test_e407_nested_aggregate():
    e = one("sum(max(volume))", context="aggregate")
    assert (e.code, e.start, e.end) == ("E407", 4, 15)


def test_e408_bare_column_in_aggregate():
    e = one("sum(volume) / close", context="aggregate", group_keys=["ticker"])
    assert (e.code, e.start, e.end) == ("E408", 14, 19)
    assert errors_of("ticker || '!'", context="aggregate", group_keys=["ticker"]) == []
    e = one("close", context="metric")
    assert (e.code, e.start, e.end) == ("E408", 0, 5)


def test_several_errors_are_all_reported_in_order():
    errs = errors_of("tickr * 2 + foo(1) + $nope")
    assert [e.code for e in errs] == ["E402", "E403", "E404"]


def test_unknown_columns_defer_checks():
    t, errs = check(parse("anything * 2 > 1"), None, PARAMS, "filter")
    assert errs == [] and t == Type("bool")
    t, errs = check(parse("anything + 1"), None, PARAMS, "row")
    assert t == Type("unknown")
    # what does not depend on columns is still checked
    assert [e.code for e in check(parse("'a' * 2"), None, PARAMS, "row")[1]] == ["E405"]
    # E408 needs only the group keys
    assert [e.code for e in check(parse("x"), None, {}, "aggregate", ["k"])[1]] == ["E408"]


# -- run-time errors ---------------------------------------------------------------------

def test_cast_failure_names_expression_and_value():
    df = pd.DataFrame({"n": pd.array(["1", "x2", None], dtype="string")})
    with pytest.raises(EvalError) as info:
        evaluate("cast(n as int) + 1", df, {})
    e = info.value
    assert e.value == "x2" and e.expression == "cast(n as int) + 1"
    assert "'x2'" in str(e) and "cast(n as int) + 1" in str(e)
    assert "step 'load'" in str(e.with_step("load"))


def test_date_parse_failure():
    df = pd.DataFrame({"s": pd.array(["2020-01-01", "2020-02-30"], dtype="string")})
    with pytest.raises(EvalError) as info:
        evaluate("to_date(s)", df, {})
    assert info.value.value == "2020-02-30"
    with pytest.raises(EvalError) as info:
        evaluate("to_date(s, '%Y%m%d')", df, {})
    assert info.value.value == "2020-01-01"


def test_runtime_type_error_when_columns_were_unknown():
    df = pd.DataFrame({"s": pd.array(["a"], dtype="string")})
    with pytest.raises(EvalError, match="E405"):
        evaluate("s * 2", df, {})
    with pytest.raises(EvalError, match="E402"):
        evaluate("nope + 1", df, {})
