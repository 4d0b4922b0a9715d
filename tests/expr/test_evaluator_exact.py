"""The pandas evaluator's guarantees that its own tests left to other modules (issue #15,
mutation run of 2026-12-01 14:11): NaN through float arithmetic on columns and constants,
int arithmetic that wraps around 64 bits (R041 at its row, naming the left operand), the
precision of a decimal cast on a column and on a constant, the row a constant's failure names
(none), and a timestamp constant in a list beside a string.  Oracle: DuckDB running the same
text (valid SQL here) over the same values, loaded by hand; errors by code, row, value and
span, never wording; floats compared by value, sign of zero and NaN-ness."""
from __future__ import annotations

import datetime as dt
import math

import duckdb
import numpy as np
import pandas as pd
import pytest
from etlc_runtime.expr import EvalError, Type
from etlc_runtime.expr.pandas_eval import evaluate

BIG = 2**63 - 1
LOW = -(2**63)
LABELS = [5, 9, 2, 7]   # a frame after a filter and a sort: labels are neither 0.. nor ascending
FLOATS = [1.5, None, math.nan, -math.inf]
INTS = [1, None, BIG, 2]
NEGS = [2, None, -1, LOW]
STAMPS = [dt.datetime(2020, 1, 2, 3, 4, 5), None, dt.datetime(2021, 1, 1), dt.datetime(2020, 1, 2)]
TEXTS = ["1", "x7", None, "40"]
WORDS = ["abc", "def", "ghi", "jkl"]
TYPES = {"f": Type("float"), "x": Type("int"), "y": Type("int"), "ts": Type("timestamp"),
         "s": Type("string"), "t": Type("string")}


def _frame() -> pd.DataFrame:
    """NaN and null apart in one Float64 column (the constructor would make NaN null)."""
    mask = np.array([v is None for v in FLOATS])
    f = pd.arrays.FloatingArray(np.array([0.0 if v is None else v for v in FLOATS]), mask)
    return pd.DataFrame({
        "f": pd.Series(f, index=LABELS),
        "x": pd.Series(INTS, index=LABELS, dtype="Int64"),
        "y": pd.Series(NEGS, index=LABELS, dtype="Int64"),
        "ts": pd.Series(pd.to_datetime(STAMPS), index=LABELS),
        "s": pd.Series(TEXTS, index=LABELS, dtype="string"),
        "t": pd.Series(WORDS, index=LABELS, dtype="string"),
    })


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    c.execute("SET TimeZone = 'UTC'")
    c.execute("CREATE TABLE t (k INT, f DOUBLE, x BIGINT, y BIGINT, ts TIMESTAMP, s VARCHAR, "
              "t VARCHAR)")
    c.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?)",
                  [list(r) for r in zip(range(4), FLOATS, INTS, NEGS, STAMPS, TEXTS, WORDS)])
    yield c
    c.close()


def _duck(con, text: str) -> list:
    return [r[0] for r in con.execute(f"SELECT {text} FROM t ORDER BY k").fetchall()]


def _ours(got: pd.Series) -> list:
    assert list(got.index) == LABELS
    return [None if v is pd.NA else v for v in got.astype(object).tolist()]


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is b
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return a == b and math.copysign(1, a) == math.copysign(1, b)


FLOAT_CASES = ["f + 1", "1 + f", "f - 1", "f * 2", "f * 0", "f - f", "f % 2", "-f", "f / 2",
               "1 / f", "f + $nan", "$nan * f", "$nan + 1", "-$nan", "$nan % 2", "$nan / 4",
               "$nan", "f + $half", "$half * 3"]


@pytest.mark.parametrize("text", FLOAT_CASES)
def test_nan_stays_nan_and_null_stays_null(con, text):
    """Float arithmetic computes on the doubles with the null mask apart: a NaN operand gives
    NaN (pandas' masked arithmetic would give null), a null operand null, on columns and on
    constants (the scalar path's float result) alike."""
    params = {"nan": math.nan, "half": 0.5}
    got = evaluate(text, _frame(), params, types=TYPES)
    assert str(got.dtype) == "Float64", text
    sql = text.replace("$nan", "'nan'::DOUBLE").replace("$half", "0.5::DOUBLE")
    want, ours = _duck(con, sql), _ours(got)
    assert all(_same(a, b) for a, b in zip(ours, want, strict=True)), (text, ours, want)


@pytest.mark.parametrize("text", ["f > 1", "f = f", "f <= $nan", "f != 1.5", "f < $half",
                                  "$nan > f", "$nan = $nan", "-f >= 0"])
def test_nan_compares_as_on_duckdb(con, text):
    """NaN equals itself and sorts above every number (DuckDB's order), null stays null."""
    got = evaluate(text, _frame(), {"nan": math.nan, "half": 0.5}, types=TYPES)
    assert str(got.dtype) == "boolean", text
    sql = text.replace("$nan", "'nan'::DOUBLE").replace("$half", "0.5::DOUBLE")
    assert _ours(got) == _duck(con, sql), text


def test_float_division_by_zero_is_null():
    """x / 0 is null on every row, NaN and infinity included (docs/expressions.md div_zero:
    a deliberate difference from DuckDB, so no oracle here)."""
    assert _ours(evaluate("f / 0", _frame(), {}, types=TYPES)) == [None] * 4


@pytest.mark.parametrize("text,row,value,end", [
    ("x + 1", 2, BIG, 5),          # the left operand a column
    ("1 + x", 2, 1, 5),            # the left operand a constant
    ("x * 2", 2, BIG, 5),
    ("y - 2", 7, LOW, 5),
    ("-y", 7, LOW, 2),             # negation: only the smallest int has no negative
    ("x - y", 2, BIG, 5),       # the first row that wraps, not the last
])
def test_int_arithmetic_beyond_64_bits(con, text, row, value, end):
    """R041 at the first row (its label) where the result wrapped, naming the left operand;
    DuckDB refuses the same text (Out of Range)."""
    with pytest.raises(EvalError) as ei:
        evaluate(text, _frame(), {}, types=TYPES)
    f = ei.value.fields()
    assert (f["code"], f["row"], f["value"]) == ("R041", row, value)
    assert isinstance(f["row"], int) and isinstance(f["value"], int)
    assert (ei.value.start, ei.value.end) == (0, end)
    with pytest.raises(duckdb.OutOfRangeException):
        _duck(con, text)


@pytest.mark.parametrize("text", ["x + 0", "-x", "x * 1", "y - 0", "-(y + 1)", "x - 1"])
def test_int_arithmetic_at_the_limits(con, text):
    """The limits themselves are no error."""
    got = _ours(evaluate(text, _frame(), {}, types=TYPES))
    assert got == _duck(con, text), text


def test_decimal_cast_keeps_its_precision(con):
    """cast(... as decimal(4, 2)) refuses a value with more than 4 digits at its row."""
    frame = pd.DataFrame({"f": pd.Series([1.5, None, 123.45, 99.99], index=LABELS,
                                         dtype="Float64")})
    text = "cast(f as decimal(4, 2))"
    with pytest.raises(EvalError) as ei:
        evaluate(text, frame, {}, types={"f": Type("float")})
    f = ei.value.fields()
    assert (f["code"], f["row"], f["value"]) == ("R041", 2, 123.45)
    assert (ei.value.start, ei.value.end) == (0, len(text))
    with pytest.raises(duckdb.ConversionException):
        con.execute("SELECT CAST(123.45::DOUBLE AS DECIMAL(4, 2))").fetchall()
    got = evaluate(text, frame.loc[[5, 9, 7]], {}, types={"f": Type("float")})
    assert [None if v is pd.NA else v for v in got.astype(object)] == [1.5, None, 99.99]


@pytest.mark.parametrize("text,params,value,start,end", [
    ("cast($v as decimal(4, 2))", {"v": 123.45}, 123.45, 0, 25),
    ("cast($v as int) + x", {"v": "x7"}, "x7", 0, 15),
    ("x > 1 or cast($v as bool)", {"v": "2"}, "2", 9, 25),
])
def test_a_constant_fails_with_no_row(text, params, value, start, end):
    """A constant (here a parameter) that cannot be cast is R041 with its value and no row:
    it is evaluated on a one-row frame of its own, whose row 0 is no row of the step."""
    with pytest.raises(EvalError) as ei:
        evaluate(text, _frame(), params, types=TYPES)
    f = ei.value.fields()
    assert (f["code"], f["row"], f["value"]) == ("R041", None, value)
    assert (ei.value.start, ei.value.end) == (start, end)


def test_a_decimal_constant_within_its_precision():
    got = evaluate("cast($v as decimal(4, 2))", _frame(), {"v": 99.99}, types=TYPES)
    assert _ours(got) == [99.99] * 4


@pytest.mark.parametrize("text", [
    "timestamp '2020-01-02 03:04:05' in (ts, '2020-01-02 03:04:05')",
    "timestamp '2020-01-02 03:04:05' not in (ts, '2020-01-02 03:04:05')",
    "timestamp '2020-01-02 00:00:00' in (ts, '2020-01-02')",
    "ts in (ts, '2020-01-01')",
])
def test_a_timestamp_constant_in_a_list_with_a_string(con, text):
    """The string beside a timestamp is read as a timestamp (as DuckDB does) also on the
    path that compares item by item (a column among the items)."""
    got = evaluate(text, _frame(), {}, types=TYPES)
    assert str(got.dtype) == "boolean", text
    assert _ours(got) == _duck(con, text), text


@pytest.mark.parametrize("text", [
    "if(s = 'x7', 0, cast(s as int))",
    "if(s != 'x7', cast(s as int), -1)",
    "coalesce(if(s = 'x7', 0, null), cast(s as int))",
    "false and cast(s as int) > 0",
    "true or cast(s as int) > 0",
])
def test_a_part_no_row_takes_does_not_fail(con, text):
    """A branch of if/coalesce is evaluated only where a row takes it, and the right side of
    a constant false ``and`` / true ``or`` not at all: 'x7' never reaches the cast."""
    got = evaluate(text, _frame(), {}, types=TYPES)
    assert _ours(got) == _duck(con, text), text


def test_a_function_argument_fails_at_its_row(con):
    """An argument of an ordinary function is evaluated on every row (no branch): the bad
    value fails at its row, as on DuckDB, even where the first argument is not null."""
    text = "left(t, cast(s as int))"
    with pytest.raises(EvalError) as ei:
        evaluate(text, _frame(), {}, types=TYPES)
    f = ei.value.fields()
    assert (f["code"], f["row"], f["value"]) == ("R041", 9, "x7")
    assert (ei.value.start, ei.value.end) == (8, 22)
    with pytest.raises(duckdb.ConversionException):
        _duck(con, text)


@pytest.mark.parametrize("text", ["substr('hello', length(s), 2)", "replace('a1b40', s, '_')",
                                  "substr('hello', 2, length(t) - 1)"])
def test_a_constant_subject_with_column_arguments(con, text):
    """substr and replace need their subject as a column when an argument is one: the
    evaluator broadcasts a constant subject first."""
    got = evaluate(text, _frame(), {}, types=TYPES)
    assert _ours(got) == _duck(con, text), text


DATES = [dt.date(2020, 2, 28), None, dt.date(2021, 1, 1), dt.date(2019, 12, 31)]
DAYS = [1, 3, None, -400]


@pytest.mark.parametrize("text", [
    "d + 1", "1 + d", "d - 2", "d + n", "n + d", "d - n", "date '2020-02-28' + n",
    "date '2020-02-28' + 1", "2 + date '2020-02-28'", "date '2020-03-01' - 1",
    "d - d", "d - date '2020-01-01'", "date '2020-03-01' - d",
    "date '2020-03-01' - date '2020-02-01'",
])
def test_date_arithmetic(text):
    """date ± int days is a date (its midnight), date - date an int of days, on columns and
    constants, either operand first; DuckDB (date, integer columns) runs the same text."""
    frame = pd.DataFrame({"d": pd.Series(pd.to_datetime(DATES), index=LABELS),
                          "n": pd.Series(DAYS, index=LABELS, dtype="Int64")})
    got = _ours(evaluate(text, frame, {}, types={"d": Type("date"), "n": Type("int")}))
    got = [v.date() if isinstance(v, pd.Timestamp) and v == v.normalize() else v
           for v in (None if v is pd.NaT else v for v in got)]
    con = duckdb.connect()
    try:
        con.execute("CREATE TABLE t (k INT, d DATE, n INTEGER)")
        con.executemany("INSERT INTO t VALUES (?, ?, ?)",
                        [list(r) for r in zip(range(4), DATES, DAYS)])
        assert got == _duck(con, text), text
    finally:
        con.close()
