"""Constants that no engine casts are E422 at compile time, at the literal (const_casts.py).

The compiler's verdict is the runtime's: hypothesis draws text and numbers, the compiler judges
them as constants (`cast('...' as T)`), and the same values cast as DATA (a column holding the
value, where the check cannot see it) by the pandas evaluator and by DuckDB through the SQL
renderer must fail exactly where the compiler refused the constant, date and timestamp text
included (every engine reads it by one rule since d5d8f80). One difference: a decimal whose
unscaled value has 16 or more digits compiles and DuckDB casts it, where the pandas evaluator
stops with R041 (a double would not hold it; docs/types.md, "Computed decimals").
The compiler's line and column: tests/invalid/e422_*.yaml (tests/test_invalid_corpus.py).
"""
from __future__ import annotations

import decimal
import math

import duckdb
import pandas as pd
import pytest
from etlc_runtime.expr import EvalError, ExprError, Type, check, parse
from etlc_runtime.expr.const_casts import CODE, failure
from etlc_runtime.expr.pandas_eval import evaluate
from etlc_runtime.expr.sql import to_sql
from hypothesis import given, settings
from hypothesis import strategies as st

# (expression, the literal E422 points at)
REFUSED = [
    ("cast('abc' as int)", "'abc'"), ("cast('' as float)", "''"),
    ("cast('1_000' as int)", "'1_000'"), ("cast('nan' as int)", "'nan'"),
    ("cast('9223372036854775808' as int)", "'9223372036854775808'"),
    ("cast('1e20' as decimal(2))", "'1e20'"), ("cast('1e15' as decimal)", "'1e15'"), ("cast(' true' as bool)", "' true'"),
    ("cast('2020-13-01' as date)", "'2020-13-01'"),
    ("cast('2021-02-29 10:00' as timestamp)", "'2021-02-29 10:00'"),
    ("cast('x' as timestamptz)", "'x'"), ("to_date('x')", "'x'"),
    ("to_timestamp('2020-04-31')", "'2020-04-31'"),
    ("cast(1e400 as int)", "1e400"), ("cast(-1e400 as int)", "-1e400"),
    ("cast(1e19 as int)", "1e19"), ("cast(300 as decimal(2))", "300"),
    ("cast(9.5 as decimal(1))", "9.5"), ("cast(-99.995 as decimal(4, 2))", "-99.995"),
    ("coalesce(d, cast('x' as timestamp))", "'x'"),
    ("cast('epoch' as date)", "'epoch'"), ("cast('20200101' as date)", "'20200101'"),
    ("cast('2020-1-2 10:00' as timestamp)", "'2020-1-2 10:00'"),
    ("to_timestamp('2020-01-02 24:00:00')", "'2020-01-02 24:00:00'"),
    ("cast('2020-01-02T03' as timestamptz)", "'2020-01-02T03'"),
    ("cast('0000-01-01' as date)", "'0000-01-01'"),
    ("cast('2020-01-02 03:04:05.1234567' as timestamp)", "'2020-01-02 03:04:05.1234567'"),
]
ALLOWED = ["cast(' 1 ' as int)", "cast('2.5' as int)", "cast('-inf' as float)",
           "cast('9223372036854775807' as int)", "cast('99999999999999.9995' as decimal)",
           "cast('T' as bool)", "cast('2020-02-29' as date)", "cast(' 2020-01-02 ' as date)",
           "cast('2020-01-02 03:04:05.1000000' as timestamp)",
           "cast('2020-01-02 03:04' as timestamptz)", "to_date('2020-01-02T03:04:05Z')",
           "cast(9.4 as decimal(1))", "cast(2.5 as int)", "cast(99 as decimal(2))",
           "cast(1e400 as float)", "cast(s as int)", "cast($p as date)", "to_date(d)"]
TYPES = {"s": Type("string"), "d": Type("timestamp")}
PARAMS = {"p": Type("string")}

@pytest.mark.parametrize(("expr", "at"), REFUSED, ids=[e for e, _ in REFUSED])
def test_a_constant_no_engine_casts_is_e422_at_the_literal(expr, at):
    errors = check(parse(expr), TYPES, PARAMS)[1]
    start = expr.index(at)
    assert [(e.code, e.start, e.end) for e in errors] == [(CODE, start, start + len(at))]


@pytest.mark.parametrize("expr", ALLOWED)
def test_a_constant_some_engine_casts_compiles(expr):
    assert check(parse(expr), TYPES, PARAMS)[1] == []


def test_the_evaluator_refuses_the_constant_before_any_row():
    """The empty day fails as the full one does (before d7a8ece's rule it passed)."""
    with pytest.raises(EvalError) as err:  # the type check's error, at the literal
        evaluate("cast('abc' as int)", pd.DataFrame({"s": pd.Series([], dtype="string")}))
    assert (err.value.start, err.value.end, err.value.row) == (5, 10, None)


_DUCK = duckdb.connect()


def _engines_cast(value, src: str, target: str) -> tuple[bool, bool]:
    """(pandas, duckdb): whether the value, as a column's data, casts to ``target``."""
    expr = f"cast(x as {target})"
    types = {"x": Type(src)}
    dtype = {"string": "string", "int": "Int64", "float": "Float64"}[src]
    try:
        evaluate(expr, pd.DataFrame({"x": pd.array([value], dtype=dtype)}), types=types)
        ours = True
    except Exception as e:  # noqa: BLE001 - any row error; an ExprError here would be a bug
        assert not isinstance(e, ExprError), e
        ours = False
    sql = to_sql(parse(expr), {}, types=types)
    sql_src = {"string": "VARCHAR", "int": "BIGINT", "float": "DOUBLE"}[src]
    try:
        _DUCK.execute(f"SELECT {sql} FROM (SELECT CAST(? AS {sql_src}) AS x)", [value]).fetchall()
        duck = True
    except duckdb.Error:
        duck = False
    return ours, duck


def _verdict(kind: str, value, target: str) -> bool:
    """The compiler's: True when the constant compiles."""
    return failure(kind, value, parse(f"cast(x as {target})").target) is None


def _held(kind: str, value, target: str) -> bool:
    """Whether the pandas evaluator holds the cast's decimal exactly (its unscaled value below
    10**15, docs/types.md): beyond, it stops with R041 where DuckDB casts (expr/pandas_decimal)."""
    spec = parse(f"cast(x as {target})").target
    if spec.name != "decimal":
        return True
    scale = spec.scale or 0
    if kind == "float":   # DuckDB rounds the double's product with 10**s half away from zero
        y = abs(value * 10.0 ** scale)
        return math.floor(y) + (y - math.floor(y) >= 0.5) < 1e15
    try:
        exact = decimal.Decimal(str(value).strip())
    except decimal.InvalidOperation:
        return True   # no number: refused by every engine alike
    with decimal.localcontext() as ctx:
        ctx.prec = 1000
        q = exact.quantize(decimal.Decimal(1).scaleb(-scale), rounding=decimal.ROUND_HALF_UP)
        return abs(q.scaleb(scale)) < 10 ** 15


NUMBERISH = st.text(alphabet=" +-.0123456789eEinfaINFtxy_", max_size=12)
TARGETS = st.sampled_from(["int", "float", "decimal", "decimal(4, 2)", "decimal(1)", "bool"])


@settings(deadline=None, max_examples=300)
@given(text=st.one_of(NUMBERISH, st.sampled_from(["t", "No", "YES", "0", "1", " 1", "on"]),
                     st.integers(-10**20, 10**20).map(str), st.floats().map(repr),
                     st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str)),
       target=TARGETS)
def test_text_verdict_equals_both_engines(text, target):
    ok = _verdict("string", text, target)
    held = not ok or _held("string", text, target)
    assert _engines_cast(text, "string", target) == (ok and held, ok), (text, target)


@settings(deadline=None, max_examples=200)
@given(value=st.one_of(st.integers(-10**20, 10**20).filter(lambda v: abs(v) < 2**63),
                       st.floats(allow_nan=False, allow_infinity=True)),
       target=st.sampled_from(["int", "decimal(2)", "decimal(4, 2)", "decimal(18, 3)"]))
def test_number_verdict_equals_both_engines(value, target):
    kind = "int" if isinstance(value, int) else "float"
    ok = _verdict(kind, value, target)
    held = not ok or _held(kind, value, target)
    assert _engines_cast(value, kind, target) == (ok and held, ok), (value, target)


YMD = st.builds("{:04d}-{:02d}-{:02d}{}{}".format, st.integers(0, 9999), st.integers(0, 13),
                st.integers(0, 32),
                st.sampled_from(["", " 10:00", "T23:59:59.5", "T03", " 24:00:00", "t10:00",
                                 " 03:04:05.1234560", " 03:04:05.1234567", "  10:00"]),
                st.sampled_from(["", "Z", "+00", "+02:00", "-0300", " +02", "z", " UTC"]))
TIME_TEXT = st.one_of(
    YMD, st.tuples(st.sampled_from(["", " ", "\xa0", "\t"]), YMD,
                   st.sampled_from(["", " ", "\u3000", "\n"])).map("".join),
    st.sampled_from(["epoch", "infinity", "-infinity", "now", "today", "allballs", "20200102",
                     "2020-1-2", "99-01-02", "2020/01/02", "2020-01-02 (BC)", ""]),
    st.text(alphabet=" -:T0123456789abcdefinopxyz", max_size=12))


def _compiles(text: str, target: str) -> bool:
    """The compiler's whole verdict on the constant (E422, and E419 for an offset)."""
    return check(parse(f"cast('{text}' as {target})"), {}, {})[1] == []


@settings(deadline=None, max_examples=400)
@given(text=TIME_TEXT, target=st.sampled_from(["date", "timestamp", "timestamptz"]))
def test_time_text_verdict_equals_every_engine(text, target):
    """Since d5d8f80 every engine reads date text by one rule: a constant compiles exactly
    where the pandas evaluator and DuckDB read the same text as data."""
    ok = _compiles(text, target)
    assert _engines_cast(text, "string", target) == (ok, ok), (text, target)
