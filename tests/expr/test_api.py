"""The interface the rest of etlc relies on, and input dtype handling."""
from __future__ import annotations

import dataclasses
import datetime as dt
import subprocess
import sys
from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from etlc_runtime import expr as X
from etlc_runtime.expr import Type, columns_used, is_aggregate, params_used, parse, unparse
from etlc_runtime.expr import ast as A
from etlc_runtime.expr.pandas_eval import aggregate, apply_filter, evaluate, metric


def test_parse_is_cached_and_immutable():
    a = parse("x + 1")
    assert parse("x + 1") is a
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.op = "-"  # frozen


def test_ast_spans():
    e = parse("price * (1 - disc)")
    assert isinstance(e, A.Binary) and (e.start, e.end) == (0, 18)
    assert (e.left.start, e.left.end) == (0, 5)
    assert (e.right.start, e.right.end) == (9, 17)
    c = parse("  round( x , 2 )")
    assert (c.start, c.end, c.name_end) == (2, 16, 7)


def test_keywords_are_case_insensitive_and_not_prefixes():
    e = parse("android > 1 AND NOT orbit IS NULL OR x IN (1) and notes BETWEEN 1 And 2")
    assert columns_used(e) == {"android", "orbit", "x", "notes"}
    assert parse("COUNT(*)").name == "count"


def test_helpers():
    e = parse("sum(a * $k) / count(*) + b")
    assert columns_used(e) == {"a", "b"}
    assert params_used(e) == {"k"}
    assert is_aggregate(e) and not is_aggregate(parse("a + b"))


def test_unparse_keeps_meaning():
    for text in ["(a + b) * c", "a - (b - c)", "not (a and b)", "-(-a)", "`x y` || 'q''r'",
                 "a in (1, 2) and b not between 1 and 2", "cast(a as decimal(10, 2))",
                 "date '2020-01-02' < timestamp '2020-01-02 03:04:05'", "-2 * -a"]:
        assert unparse(parse(unparse(parse(text)))) == unparse(parse(text))
    assert unparse(parse("(a + b) * c")) == "(a + b) * c"
    assert unparse(parse("a - (b - c)")) == "a - (b - c)"


def test_type_from_spec():
    assert Type.from_spec({"type": "decimal", "scale": 2}) == Type("decimal", 2)
    assert Type.from_spec({"type": "vector", "size": 3}) == Type("vector", None, 3)
    assert Type.from_spec({"type": "int"}) == Type("int")
    assert Type.from_spec("string") == Type("string")
    with pytest.raises(ValueError):
        Type("money")


def test_check_contexts():
    cols = {"a": Type("int"), "s": Type("string")}
    assert X.check(parse("a > 1"), cols, {}, "filter") == (Type("bool"), [])
    assert X.check(parse("sum(a) > 1"), cols, {}, "having", ["s"]) == (Type("bool"), [])
    assert X.check(parse("mean(a)"), cols, {}, "metric")[0] == Type("float")
    with pytest.raises(ValueError):
        X.check(parse("a"), cols, {}, "select")


def test_compile_time_import_is_light():
    code = ("import sys; import etlc_runtime.expr as x; x.check(x.parse('a+1'), None, {}, 'row');"
            "print('pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_lazy_pandas_names():
    assert X.evaluate is evaluate and X.aggregate is aggregate


# -- input dtypes --------------------------------------------------------------------------

def test_numpy_and_object_inputs():
    df = pd.DataFrame({
        "i": np.array([1, 2, 3]), "f": np.array([1.5, np.nan, 3.0]),
        "s": np.array(["a", None, "c"], dtype=object), "b": np.array([True, False, True]),
        "dec": np.array([Decimal("1.10"), None, Decimal("2.25")], dtype=object),
        "d": np.array([dt.date(2020, 1, 2), None, dt.date(2021, 1, 1)], dtype=object),
    })
    assert evaluate("i * 2", df).tolist() == [2, 4, 6]
    assert evaluate("f is null", df).tolist() == [False, True, False]
    assert evaluate("s || '!'", df).tolist() == ["a!", pd.NA, "c!"]
    assert evaluate("not b", df).tolist() == [False, True, False]
    assert evaluate("dec * 2", df).tolist() == [2.2, pd.NA, 4.5]
    assert evaluate("year(d)", df).tolist() == [2020, pd.NA, 2021]


def test_pandas3_str_and_arrow_inputs():
    df = pd.DataFrame({
        "s": pd.Series(["a", None], dtype="str"),
        "ai": pd.Series([1, None], dtype=pd.ArrowDtype(pa.int64())),
        "ad": pd.Series([Decimal("1.25"), None], dtype=pd.ArrowDtype(pa.decimal128(10, 2))),
        "dd": pd.Series([dt.date(2020, 1, 2), None], dtype=pd.ArrowDtype(pa.date32())),
    })
    assert evaluate("s = 'a'", df).tolist() == [True, pd.NA]  # null stays null
    assert evaluate("ai + 1", df).tolist() == [2, pd.NA]
    assert evaluate("ad + 0.005", df).tolist() == [1.255, pd.NA]  # decimal(3)
    assert evaluate("cast(dd as string)", df).tolist() == ["2020-01-02", pd.NA]


def test_empty_frames():
    df = pd.DataFrame({"a": pd.array([], dtype="Int64"), "s": pd.array([], dtype="string")})
    assert len(evaluate("a + 1", df)) == 0
    assert len(apply_filter("a > 1", df)) == 0
    out = aggregate(df, [], {"n": "count(*)", "s": "sum(a)", "m": "max(s)"})
    assert out["n"].tolist() == [0] and out["s"].isna().all() and out["m"].isna().all()
    assert len(aggregate(df, ["s"], {"n": "count(*)"})) == 0
    assert metric("count(*)", df) == 0 and metric("sum(a)", df) is None


def test_constant_expressions_broadcast():
    df = pd.DataFrame({"a": pd.array([1, 2], dtype="Int64")}, index=[10, 20])
    r = evaluate("1 + 2", df)
    assert r.tolist() == [3, 3] and list(r.index) == [10, 20]
    assert evaluate("null", df).isna().all()
    assert evaluate("abs(null) + a", df).isna().all()
    assert apply_filter("true", df) is df
    assert len(apply_filter("null", df)) == 0


def test_metric_python_scalars():
    df = pd.DataFrame({"a": pd.array([1, 2, None], dtype="Int64"),
                       "d": pd.to_datetime(["2020-01-02", "2020-01-05", None])})
    assert metric("sum(a)", df) == 3 and type(metric("sum(a)", df)) is int
    assert metric("mean(a)", df) == 1.5
    assert metric("max(d)", df, types={"d": Type("date"), "a": Type("int")}) == \
        dt.date(2020, 1, 5)
    assert metric("max(d)", df) == dt.datetime(2020, 1, 5)


def test_aggregate_group_keys_and_having():
    df = pd.DataFrame({"k": pd.array(["a", "b", "a", None], dtype="string"),
                       "v": pd.array([1, 2, 3, 4], dtype="Int64")})
    out = aggregate(df, ["k"], {"n": parse("count(*)"), "s": parse("sum(v)")},
                    having=parse("sum(v) > 1"))
    rows = sorted(zip(out["k"].tolist(), out["n"].tolist(), out["s"].tolist()), key=str)
    assert rows == [("a", 2, 4), ("b", 1, 2), (pd.NA, 1, 4)]


def test_params_types():
    df = pd.DataFrame({"d": pd.to_datetime(["2020-01-02", "2020-07-01"]),
                       "x": pd.array([1.5, 2.5], dtype="Float64")})
    assert apply_filter("d >= $since", df, {"since": dt.date(2020, 6, 1)}).index.tolist() == [1]
    assert evaluate("x * $k", df, {"k": Decimal("2.0")}).tolist() == [3.0, 5.0]
    assert evaluate("x > $k", df, {"k": np.float64(2.0)}).tolist() == [False, True]


def test_every_function_is_documented():
    from pathlib import Path
    doc = (Path(__file__).parents[2] / "docs" / "expressions.md").read_text(encoding="utf-8")
    for name in X.FUNCTIONS:
        assert f"`{name}(" in doc or f"`s {name} pattern" in doc, name  # like, ilike: infix
    for code in ("E401", "E402", "E403", "E404", "E405", "E406", "E407", "E408"):
        assert f"| {code} |" in doc
