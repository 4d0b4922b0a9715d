"""Tests aimed at the pandas evaluator's surviving mutants (issue #15): the row an evaluation
error names, the null-aware functions and a constant subject with column arguments, a
string constant beside a timestamp column (compare and IN), and division whose float result
must stay nullable; the errors of now() without a logical date and of a constant that
cannot be cast.  Oracles: DuckDB running the same text over the same table (exprdata),
or literal expected values; errors are checked by code, value, row and span, never wording."""
from __future__ import annotations

import exprdata as xd
import pandas as pd
import pytest
from etlc_runtime.expr import EvalError, Type, check, parse
from etlc_runtime.expr.pandas_eval import evaluate
from etlc_runtime.expr.types import LOGICAL_DATE_PARAM
from oracle import P_TYPES, oracle_column, params_of

CALLS = [
    # null-aware functions over columns: they read the evaluator (ev.series) and the result
    # type, both of which a mutant can drop
    "greatest(i, 3)", "least(f, 2.5)", "greatest(i, j, null)", "least(null, j, i)",
    "nullif(i, 3)", "nullif(s, 'x')", "coalesce(null, i, 7)", "coalesce(f, g)",
    "if(b, 1, i)", "if(c, i, null)", "concat(s, 'x')", "concat(s, null, t)",
    "concat_ws('-', s, 'z')", "concat_ws('-', s, null, t)",
    # a constant subject with column arguments is broadcast to the subject's type
    "greatest(3, i)", "least(2.5, f)", "coalesce(null, f, 1.5)",
    # a constant unit first stays a scalar
    "date_diff('day', dt, date '2020-03-01')", "date_trunc('month', ts)",
    "date_diff('month', date '2019-01-31', dt)",
    # a constant subject with column options, and all-constant calls with options
    "left('hello', m)", "round(2.555, 1) + f", "left('hello', 2) || s",
    "substr('hello', 2, 3) || s",
    # negating a scalar (a parameter), and a typed constant that is null
    "-$p_int + i", "f * -$p_float", "-nullif(1, 1)", "-nullif(2.5, 2.5) + f",
    # a string constant beside a timestamp or date column is parsed as one first
    "ts < '2020-06-01 12:30:00'", "'2020-06-01 00:00:01' = ts", "ts >= '2020-01-02'",
    "ts in ('2020-01-02 03:04:05', '2020-01-01')", "ts not in ('2020-01-01', null)",
    "dt in ('2020-01-02', '2000-01-01')", "dt between '2020-01-01' and '2021-12-31'",
    # division: a float result stays nullable (Float64), nulls stay null
    "i / nullif(j, 0)", "f / nullif(g, 0)", "i / 2", "d / nullif(e, 0)",
    "i % nullif(j, 0)", "f * i", "i - f",
    # modulo by a constant 1 (0 everywhere, not null) and decimal modulo, exact (not fmod of
    # the doubles: 0.3 % 0.1 is 0.0, not 0.1)
    "i % 1", "f % 1", "d % 1", "0.3 % 0.1", "d % 0.1", "e % 0.2",
]


@pytest.fixture(scope="module")
def table():
    """The exprdata table twice: as the engine's frame and in DuckDB."""
    c = xd.duckdb_con()
    yield xd.pandas_frame(), c
    c.close()


def _check(text):
    t, errors = check(parse(text), xd.TYPES, P_TYPES, "row")
    assert not errors, errors
    return t


@pytest.mark.parametrize("text", CALLS)
def test_matches_duckdb(table, text):
    df, con = table
    t = _check(text)
    _, ref = oracle_column(con, text, t)
    got = evaluate(text, df, xd.PARAMS, types=xd.TYPES)
    assert list(got.index) == list(df.index), text
    xd.assert_same_lists(xd.etlc_values(got, t, len(df)), ref, text)


@pytest.mark.parametrize("text", CALLS)
def test_on_a_frame_with_gaps_running_backwards(table, text):
    df, con = table
    part = df[df["id"] % 3 != 1].iloc[::-1]
    t = _check(text)
    got = evaluate(text, part, xd.PARAMS, types=xd.TYPES)
    assert list(got.index) == list(part.index), text
    sql = f"SELECT {text} FROM t WHERE id % 3 != 1 ORDER BY id DESC"
    rows = con.execute(sql, params_of(sql)).fetchall()
    xd.assert_same_lists(xd.etlc_values(got, t, len(part)), [xd.duck_value(r[0], t) for r in rows],
                      text)


@pytest.mark.parametrize("text", ["i / j", "f / g", "i / 2", "f * i", "i - f", "f % g",
                                  "i / 0", "f / 0"])
def test_float_results_are_nullable(table, text):
    """A float result is Float64 (pd.NA for null), never numpy float64 with NaN."""
    got = evaluate(text, table[0], xd.PARAMS, types=xd.TYPES)
    assert str(got.dtype) == "Float64", (text, got.dtype)


# -- the row an evaluation error names ---------------------------------------------------
BAD = ["1", "2", "x7", "4", "y"]


@pytest.mark.parametrize("text,index,row,value", [
    ("cast(s as int)", [10, 11, 12, 13, 14], 12, "x7"),
    ("cast(s as int)", [40, 30, 20, 10, 0], 20, "x7"),
    ("cast(s as bool)", [5, 6, 7, 8, 9], 6, "2"),
    ("cast(s as date)", [3, 1, 4, 1, 5], 3, "1"),
])
def test_cast_error_names_the_row_label(text, index, row, value):
    """The row is the offending value's index label (its place in the step's relation)."""
    frame = pd.DataFrame({"s": pd.Series(BAD, index=index, dtype="string")})
    types = {"s": Type("string")}
    with pytest.raises(EvalError) as ei:
        evaluate(text, frame, {}, types=types)
    f = ei.value.fields()
    assert f["code"] == "R041"
    assert f["row"] == row and isinstance(f["row"], int)
    assert f["value"] == value
    assert (ei.value.start, ei.value.end) == (0, len(text))


def _labelled() -> pd.DataFrame:
    """Two rows labelled 7 and 3 (a frame after a filter and a sort)."""
    return pd.DataFrame({"x": pd.Series([1, 2], index=[7, 3], dtype="Int64")})


@pytest.mark.parametrize("text,want", [("today()", "2024-03-05"),
                                       ("now()", "2024-03-05 10:11:12")])
def test_now_and_today_read_the_logical_date(text, want):
    """now()/today() take the run's logical date from the parameters, broadcast per row."""
    frame = _labelled()
    got = evaluate(text, frame, {LOGICAL_DATE_PARAM: "2024-03-05T10:11:12"},
                   types={"x": Type("int")})
    assert list(got.index) == [7, 3]
    assert list(got) == [pd.Timestamp(want)] * 2


@pytest.mark.parametrize("text,end", [("now()", 5), ("today() - 1", 7)])
def test_now_without_a_logical_date(text, end):
    """Without the run's logical date now()/today() stop the run with R041; no row is named
    (the failure is not one row's)."""
    frame = _labelled()
    with pytest.raises(EvalError) as ei:
        evaluate(text, frame, {}, types={"x": Type("int")})
    f = ei.value.fields()
    assert (f["code"], f["row"], f["value"]) == ("R041", None, None)
    assert (ei.value.start, ei.value.end) == (0, end)


@pytest.mark.parametrize("text,value,start,end", [
    ("cast(lower('X7') as int) + x", "x7", 0, 24),
    ("cast(trim(' 2') as bool) or x > 1", "2", 0, 24),
    ("x + cast(lower('1.5X') as float)", "1.5x", 4, 32),
])
def test_a_constant_that_cannot_be_cast(text, value, start, end):
    """A constant value's cast fails like a column's: R041 with the value, spanning the cast
    (a literal that never casts is E422 at compile time: test_const_casts.py)."""
    frame = _labelled()
    with pytest.raises(EvalError) as ei:
        evaluate(text, frame, {}, types={"x": Type("int")})
    f = ei.value.fields()
    assert (f["code"], f["value"]) == ("R041", value)
    assert (ei.value.start, ei.value.end) == (start, end)
