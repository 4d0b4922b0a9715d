"""Decimals on the pandas and Dask evaluators never change silently (docs/types.md, "Computed
decimals"; expr/pandas_decimal.py): casts of text, ints, floats and decimals of another scale
to a decimal, an int column or an Arrow decimal column taken as a decimal, and decimal
arithmetic give DuckDB's exact value, or R041 naming the row and the value where the unscaled
value has 16 or more digits (a double does not hold it). Until 2026-12-01 '1.005' cast to
decimal(18, 2) was 1.00 (DuckDB 1.01), '12345678901234567.89' and 2**53 + 1 became the nearest
double, and a decimal(38, 2) column of 12345678901234567.89 was read as one."""
from __future__ import annotations

import decimal

import dask
import dask.dataframe as dd
import duckdb
import pandas as pd
import pyarrow as pa
import pytest
from etlc_runtime.expr import EvalError, Type, dask_eval, parse
from etlc_runtime.expr.pandas_eval import evaluate
from etlc_runtime.expr.sql import to_sql
from hypothesis import example, given, settings
from hypothesis import strategies as st

D = decimal.Decimal
TARGETS = [(38, 2), (18, 3), (18, 0), (10, 4), (38, 10), (4, 2)]
EDGES = [2**53 - 1, 2**53, 2**53 + 1, 10**15 - 1, 10**15, 10**13 + 1, 2**63 - 1, -(2**63), 0]
SQL_TYPE = {"string": "VARCHAR", "int": "BIGINT", "decimal": "DECIMAL(38, 2)"}
_CON = duckdb.connect()
# each example runs DuckDB, pandas and Dask: fewer than the profile's 150 (derandomized)
FEWER = settings(max_examples=60)


def _duck(expr: str, values: list, src: Type) -> list | None:
    """DuckDB's value of ``expr`` over a column x of ``values`` (None: DuckDB's error)."""
    sql = to_sql(parse(expr), {}, types={"x": src})
    con = _CON
    con.execute(f"CREATE OR REPLACE TABLE t (id INTEGER, x {SQL_TYPE[src.name]})")
    con.executemany("INSERT INTO t VALUES (?, ?)", [[k, v] for k, v in enumerate(values)])
    try:
        return [r[0] for r in con.execute(f"SELECT {sql} FROM t ORDER BY id").fetchall()]
    except duckdb.Error:
        return None


def _frame(values: list, src: Type) -> pd.DataFrame:
    if src.name == "string":
        return pd.DataFrame({"x": pd.array(values, dtype="string")})
    if src.name == "int":
        return pd.DataFrame({"x": pd.array(values, dtype="Int64")})
    arrow = pa.decimal128(38, src.scale)
    return pd.DataFrame({"x": pd.Series(pa.array(values, arrow), dtype=pd.ArrowDtype(arrow))})


def _decimals(got: pd.Series, scale: int) -> list:
    """The decimals the evaluator's doubles stand for: the one decimal of ``scale`` whose
    nearest double each is (what the writer writes, docs/types.md)."""
    out = []
    for v in got.tolist():
        if v is pd.NA:
            out.append(None)
            continue
        q = D(v).quantize(D(1).scaleb(-scale), rounding=decimal.ROUND_HALF_EVEN)
        assert float(q) == v, (v, q)   # the double is that decimal's nearest double
        out.append(q)
    return out


def _engines(expr: str, values: list, src: Type, scale: int) -> list:
    """[the pandas evaluator's decimals of ``expr`` (or its EvalError), the Dask
    evaluator's] over two partitions (which partition fails first is Dask's choice)."""
    df = _frame(values, src)
    out = []
    with dask.config.set(scheduler="sync"):
        for run in (lambda: evaluate(expr, df, types={"x": src}),
                    lambda: dask_eval.evaluate(expr, dd.from_pandas(df, npartitions=2, sort=False),
                                               types={"x": src}).compute()):
            try:
                out.append(_decimals(run(), scale))
            except EvalError as e:
                out.append(e)
    return out


def _wide(v: D | int | None, scale: int) -> bool:
    """Whether the exact decimal ``v`` of ``scale`` has 16 or more digits."""
    return v is not None and abs(D(v).scaleb(scale)) >= 10**15


def _same_or_refused(expr: str, values: list, src: Type, scale: int) -> None:
    """The property, on pandas and on Dask: DuckDB's exact values, or R041 naming a row whose
    value (or DuckDB's result) has 16 or more digits as a decimal, or where DuckDB refuses
    too, with the value as the column holds it."""
    ref = _duck(expr, values, src)
    for got in _engines(expr, values, src, scale):
        if not isinstance(got, EvalError):
            assert ref is not None and got == ref, (values, got, ref)
            continue
        assert got.code == "R041" and got.row is not None
        assert got.value == values[got.row] or D(str(got.value)) == D(str(values[got.row]))
        # the result, or the input taken as a decimal (a decimal column at its own scale, an
        # int at the result's), has 16 or more digits
        value = values[got.row]
        wide_input = src.name == "decimal" and _wide(value, src.scale or 0) or \
            src.name == "int" and _wide(value, scale)
        assert ref is None or wide_input or _wide(ref[got.row], scale), (values, got, ref)


def _text(n: int, frac: str, exp: int) -> str:
    body = f"{n}.{frac}" if frac else str(n)
    return f"{body}e{exp}" if exp else body


NEAR = st.builds(lambda edge, d, neg: (-1 if neg else 1) * edge + d,
                 st.sampled_from(EDGES), st.integers(-3, 3), st.booleans())
TEXTS = st.one_of(
    st.builds(_text, st.one_of(NEAR, st.integers(-10**6, 10**6)),
              st.sampled_from(["", "5", "005", "0049999999999999999", "675", "12345", "995",
                               "50000000000000000001", "89"]),
              st.sampled_from([0, 0, 0, 2, -3])),
    st.decimals(allow_nan=False, allow_infinity=False, places=4).map(str),
    st.sampled_from(["12345678901234567.89", " 1.005 ", "-2.675", "99.995", "0.125"]))


@FEWER
@given(values=st.lists(st.one_of(TEXTS, st.none()), min_size=1, max_size=5),
       target=st.sampled_from(TARGETS))
@example(values=["12345678901234567.89"], target=(38, 2))
@example(values=["1.005", "1.0049999999999999999"], target=(18, 2))
def test_text_to_decimal_is_duckdbs_value_or_r041(values, target):
    p, s = target
    _same_or_refused(f"cast(x as decimal({p}, {s}))", values, Type("string"), s)


@FEWER
@given(values=st.lists(st.one_of(NEAR, st.integers(-10**16, 10**16), st.none()), min_size=1,
                       max_size=5),
       target=st.sampled_from(TARGETS))
@example(values=[2**53 + 1], target=(38, 0))
def test_int_to_decimal_is_duckdbs_value_or_r041(values, target):
    values = [v if v is None or -(2**63) <= v < 2**63 else None for v in values]
    p, s = target
    _same_or_refused(f"cast(x as decimal({p}, {s}))", values, Type("int"), s)


UNSCALED = st.one_of(st.integers(-10**15, 10**15), st.sampled_from(
    [1234567890123456789, 10**15 - 1, 10**15, -(10**15) + 1, 5, -5, 995, 125]),
    st.integers(-10**20, 10**20))
DECIMAL_EXPRS = [("cast(x as decimal(38, 4))", 4), ("cast(x as decimal(38, 1))", 1),
                 ("cast(x as decimal(38, 0))", 0), ("x", 2), ("x + 0.5", 2), ("x * 3", 2),
                 ("-x", 2), ("x % 0.7", 2), ("coalesce(x, 1.00)", 2), ("round(x, 1)", 1)]


@FEWER
@given(unscaled=st.lists(st.one_of(UNSCALED, st.none()), min_size=1, max_size=5),
       case=st.sampled_from(DECIMAL_EXPRS))
@example(unscaled=[1234567890123456789], case=("x", 2))
def test_a_decimal_column_is_duckdbs_value_or_r041(unscaled, case):
    expr, scale = case
    values = [None if u is None else D(u).scaleb(-2) for u in unscaled]
    _same_or_refused(expr, values, Type("decimal", 2), scale)


INT_EXPRS = [("x + 0.5", 1), ("x % 0.7", 1), ("coalesce(cast(null as decimal(18, 2)), x)", 2),
             ("x * 1.25", 2)]


@FEWER
@given(values=st.lists(st.one_of(NEAR, st.integers(-10**6, 10**6), st.none()), min_size=1,
                       max_size=5),
       case=st.sampled_from(INT_EXPRS))
@example(values=[2**53 + 1], case=("x % 0.7", 1))
def test_an_int_in_decimal_arithmetic_is_duckdbs_value_or_r041(values, case):
    values = [v if v is None or -(2**63) <= v < 2**63 else None for v in values]
    expr, scale = case
    _same_or_refused(expr, values, Type("int"), scale)


@pytest.mark.parametrize("expr, values, src, row, value", [
    ("cast(x as decimal(38, 2))", ["1.5", "12345678901234567.89"], "string", 1,
     "12345678901234567.89"),
    ("cast(x as decimal(38, 0))", [1, 2**53 + 1], "int", 1, 2**53 + 1),
    ("x % 0.7", [3, 2**53 + 1], "int", 1, 2**53 + 1),
    ("x", [D("1.25"), D("12345678901234567.89")], "decimal", 1, D("12345678901234567.89")),
])
def test_the_r041_names_the_row_the_value_and_the_place(expr, values, src, row, value):
    src_t = Type("decimal", 2) if src == "decimal" else Type(src)
    with pytest.raises(EvalError) as err:
        evaluate(expr, _frame(values, src_t), types={"x": src_t})
    e = err.value
    assert (e.code, e.row, e.value) == ("R041", row, value)
    assert e.start is not None and expr[e.start:e.end] in (expr, "x")


def test_text_rounds_exactly_on_the_fast_and_the_exact_path():
    """'1.005' is 1.00499999... as a double: the exact path rounds the text, as DuckDB."""
    values = ["1.005", "2.675", "-0.125", "1.0049999999999999999", "7", " 3.14159 ", None]
    got, on_dask = _engines("cast(x as decimal(18, 2))", values, Type("string"), 2)
    assert got == on_dask == [D("1.01"), D("2.68"), D("-0.13"), D("1.00"), D("7.00"), D("3.14"), None]
    assert got == _duck("cast(x as decimal(18, 2))", values, Type("string"))


def _sums(unscaled: list, groups: list) -> list:
    """[pandas, Dask] sums of x (decimal(38, 2)) per g, as decimals in g's order, or the
    EvalError."""
    from etlc_runtime.expr import pandas_eval

    x = _frame([None if u is None else D(u).scaleb(-2) for u in unscaled], Type("decimal", 2))
    df = pd.DataFrame({"g": pd.array(groups, dtype="Int64"), "x": x["x"]})
    types = {"g": Type("int"), "x": Type("decimal", 2)}
    out = []
    with dask.config.set(scheduler="sync"):
        for run in (lambda: pandas_eval.aggregate(df, ["g"], {"s": "sum(x)"}, types=types),
                    lambda: dask_eval.aggregate(dd.from_pandas(df, npartitions=3, sort=False),
                                                ["g"], {"s": "sum(x)"}, types=types).compute()):
            try:
                got = run().sort_values("g")
                out.append(_decimals(got["s"], 2))
            except EvalError as e:
                out.append(e)
    return out


def test_a_decimal_sum_is_exact_where_doubles_drift():
    """Per group 5000 times each of 1000000000000.01 and -1000000000000.00: summed as
    doubles (until 2026-12-01) 50.05; summed as unscaled ints 50.00."""
    unscaled = [100000000000001, -100000000000000] * 10000
    groups = [k % 4 // 2 for k in range(len(unscaled))]
    for got in _sums(unscaled, groups):
        assert got == [D("50.00"), D("50.00")]


@FEWER
@given(unscaled=st.lists(st.one_of(st.integers(-10**15 + 1, 10**15 - 1),
                                   st.sampled_from([10**15 - 1, -(10**15) + 1, 1]), st.none()),
                         min_size=1, max_size=12),
       seed=st.integers(0, 2))
def test_a_decimal_sum_is_duckdbs_or_r041(unscaled, seed):
    groups = [(k * (seed + 1)) % 2 for k in range(len(unscaled))]
    ref: dict[int, D | None] = {}
    for u, g in zip(unscaled, groups):
        if u is not None:
            ref[g] = (ref.get(g) or 0) + D(u).scaleb(-2)
        else:
            ref.setdefault(g, None)
    want = [ref[g] for g in sorted(ref)]
    for got in _sums(unscaled, groups):
        if isinstance(got, EvalError):
            assert got.code == "R041" and any(_wide(v, 2) for v in want if v is not None)
        else:
            assert got == want


@pytest.mark.parametrize("expr, literal", [
    ("coalesce(x, 12345678901234567.89)", "12345678901234567.89"),
    ("x = 1.2500000000000000001", "1.2500000000000000001"),
])
def test_a_decimal_literal_a_double_cannot_hold_is_r041_where_a_row_evaluates_it(expr, literal):
    """DuckDB: 12345678901234567.89 exactly, and false; a double: 12345678901234568, true."""
    df = _frame([D("1.25"), None], Type("decimal", 2))
    with pytest.raises(EvalError) as err:
        evaluate(expr, df, types={"x": Type("decimal", 2)})
    e = err.value
    assert (e.code, e.row, e.value, expr[e.start:e.end]) == ("R041", None, D(literal), literal)
    assert evaluate(expr, df.iloc[:0], types={"x": Type("decimal", 2)}).tolist() == []
    assert _duck(expr, [D("1.25")], Type("decimal", 2)) in ([D("1.25")], [False])


@pytest.mark.parametrize("expr", ["sum(x) over (partition by g)",
                                  "sum(x) over (partition by g order by id)"])
def test_a_decimal_window_sum_is_duckdbs(expr):
    """The same drift in a window's sums (49.83 and 50.05 until 2026-12-01); a sum of 16
    digits is R041."""
    unscaled = [100000000000001, -100000000000000] * 2000
    x = _frame([D(u).scaleb(-2) for u in unscaled], Type("decimal", 2))["x"]
    df = pd.DataFrame({"id": range(len(x)), "g": [k % 4 // 2 for k in range(len(x))], "x": x})
    types = {"id": Type("int"), "g": Type("int"), "x": Type("decimal", 2)}
    got = _decimals(evaluate(expr, df, types=types), 2)
    _CON.register("w", df)
    assert got == [r[0] for r in _CON.execute(f"SELECT {expr} FROM w ORDER BY id").fetchall()]
    wide = pd.DataFrame({"id": [0, 1], "g": [0, 0], "x": _frame(
        [D("9999999999999.99"), D("0.01")], Type("decimal", 2))["x"]})
    with pytest.raises(EvalError) as err:
        evaluate(expr, wide, types=types)
    assert err.value.code == "R041" and err.value.value == 10**13
