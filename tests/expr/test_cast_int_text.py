"""Text to int and int to float/decimal on pandas near 2**53 and 2**63 (docs/types.md, "Casts"):
`cast(s as int)` and the `cast:` step are exact, DuckDB's CAST value for value (until
2026-12-01 the evaluator read text through a double: '9007199254740993' became
9007199254740992 and '9223372036854775807' was refused); beyond 64 bits R041 at its row."""
from __future__ import annotations

import duckdb
import pandas as pd
import pytest
from etlc_runtime import steps
from etlc_runtime.errors import DataError
from etlc_runtime.expr import EvalError, Type, evaluate
from hypothesis import given
from hypothesis import strategies as st

EDGES = [2**53 - 1, 2**53, 2**53 + 1, 2**63 - 1, -(2**63), 10**15 - 1, 10**15, 0]


def _duck(values: list[str | None]) -> list:
    con = duckdb.connect()
    con.execute("CREATE TABLE t (id INTEGER, x VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?)", [[k, v] for k, v in enumerate(values)])
    try:
        return [r[0] for r in con.execute(
            "SELECT CAST(x AS BIGINT) FROM t ORDER BY id").fetchall()]
    except duckdb.Error:
        return None


def _pandas(values: list[str | None]):
    df = pd.DataFrame({"x": pd.array(values, dtype="string")})
    try:
        got = evaluate("cast(x as int)", df, types={"x": Type("string")})
    except EvalError as e:
        with pytest.raises(DataError) as refused:   # R040 at the same row
            steps.cast(df, {"x": "int"})
        assert refused.value.row == e.row + 1
        return e
    step = steps.cast(df, {"x": "int"})["x"]
    plain = [None if v is pd.NA else int(v) for v in got.tolist()]
    assert plain == [None if v is pd.NA else int(v) for v in step.tolist()]
    return plain


def _text(n: int, frac: str, exp: int) -> str:
    """``n`` with a fraction ``frac`` and an exponent ``exp`` that keep its value near n."""
    body = f"{n}.{frac}" if frac else str(n)
    if not exp:
        return body
    digits = body.lstrip("-").replace(".", "")
    sign = "-" if body.startswith("-") else ""
    point = len(str(abs(n))) - exp
    return f"{sign}{digits[:point]}.{digits[point:]}e{exp}" if point > 0 else body


near = st.builds(lambda edge, d, neg: (-1 if neg else 1) * edge + d,
                 st.sampled_from(EDGES), st.integers(-3, 3), st.booleans())
texts = st.builds(_text, near, st.sampled_from(["", "4", "5", "49999999999999999999", "5000001",
                                                "0", "999999999999999999"]),
                  st.integers(0, 3))


@given(st.lists(st.one_of(texts, st.none()), min_size=1, max_size=6))
def test_text_to_int_equals_duckdb_near_2_53_and_2_63(values):
    ref = _duck(values)
    got = _pandas(values)
    if ref is None:
        assert isinstance(got, EvalError) and got.code == "R041"
    else:
        assert got == ref


def test_exact_values_and_the_failing_row():
    values = ["9007199254740993", " 9223372036854775807 ", "-9223372036854775808", "2.5",
              "-2.5", "1e3", "9007199254740993.5", None]
    assert _pandas(values) == [9007199254740993, 2**63 - 1, -(2**63), 3, -3, 1000,
                               9007199254740994, None] == _duck(values)
    err = _pandas(["1", "2", "9223372036854775808", "x"])
    assert isinstance(err, EvalError) and err.code == "R041" and err.row == 2
    assert err.value == "9223372036854775808"
    err = _pandas(["1", "1_000"])
    assert isinstance(err, EvalError) and err.row == 1 and err.value == "1_000"


@pytest.mark.parametrize("n", [2**53 + 1, 2**63 - 1, -(2**63), -(2**53) - 1])
def test_int_to_float_is_the_nearest_double_as_duckdb(n):
    df = pd.DataFrame({"x": pd.array([n, None], dtype="Int64")})
    got = evaluate("cast(x as float)", df, types={"x": Type("int")}).tolist()
    ref = duckdb.connect().execute(f"SELECT CAST(CAST('{n}' AS BIGINT) AS DOUBLE)").fetchone()[0]
    assert got[0] == ref == float(n) and got[1] is pd.NA
