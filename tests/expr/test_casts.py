"""The one cast table (expr/casts.py, docs/types.md "Casts"): `cast(x as T)` in an expression
and the `cast:` step key, on the pandas and the duckdb engines, give DuckDB's own CAST, written
by hand here, value for value; a value DuckDB refuses is an error in all four."""
from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
from etlc_runtime import steps
from etlc_runtime.engines.duckdb.conversions import cast_sql
from etlc_runtime.errors import DataError
from etlc_runtime.expr import EvalError, Type, check, evaluate, parse
from etlc_runtime.expr.casts import CASTS, allowed, rule

SQL = {"int": "BIGINT", "float": "DOUBLE", "bool": "BOOLEAN", "string": "VARCHAR",
       "decimal": "DECIMAL(18, 1)"}
PANDAS = {"float": "Float64", "int": "Int64", "string": "string", "bool": "boolean"}

# (from, to, values DuckDB converts)
GOOD = [
    ("float", "int", [2.5, -2.5, 0.5, 1.5, -0.5, 3.7, -3.7, 0.0, None]),
    ("decimal", "int", ["2.5", "-2.5", "0.5", "1.5", "-0.4", None]),
    ("string", "int", ["2.5", "-2.5", "0.5", " 7 ", "1e3", "+4", ".5", "1.", "1.5e0", None]),
    ("string", "bool", ["true", "TRUE", "t", "Yes", "y", "N", "no", "f", "False", "0", "1",
                        None]),
    ("int", "bool", [0, 1, -5, None]),
    ("float", "bool", [0.0, 0.5, -2.0, None]),
    ("bool", "int", [True, False, None]),
    ("bool", "float", [True, False, None]),
    ("bool", "string", [True, False, None]),
    ("int", "string", [0, -12, 9007199254740993, None]),
    ("float", "string", [1.0, 0.1, -2.5, 1e20, 1.5e-7, None]),
    ("string", "float", [" 1.5 ", "-0", "1e3", "7", None]),
    ("int", "float", [1, -3, None]),
]
# (from, to, a value DuckDB refuses)
BAD = [("string", "bool", "on"), ("string", "bool", "off"), ("string", "bool", " true"),
       ("string", "bool", "2"), ("string", "bool", ""), ("string", "int", "abc"),
       ("string", "int", ""), ("string", "int", "9223372036854775808"),
       ("float", "int", 1e19)]


def _duck(src, dst, values):
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t (id INTEGER, x {SQL[src]})")
    con.executemany("INSERT INTO t VALUES (?, ?)", [[k, v] for k, v in enumerate(values)])
    return con


def _frame(src, values) -> pd.DataFrame:
    if src == "decimal":
        arr = pa.array([None if v is None else Decimal(v) for v in values], pa.decimal128(18, 1))
        return pd.DataFrame({"x": pd.Series(pd.arrays.ArrowExtensionArray(arr))})
    return pd.DataFrame({"x": pd.array(values, dtype=PANDAS[src])})


def _plain(values) -> list:
    return [None if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))
            else (v.item() if hasattr(v, "item") else v) for v in values]


def _four(src, dst, values):
    """(DuckDB CAST, cast() on pandas, cast: on pandas, cast: on duckdb)."""
    con = _duck(src, dst, values)
    ref = [r[0] for r in con.execute(f"SELECT CAST(x AS {SQL[dst]}) FROM t ORDER BY id").fetchall()]
    df = _frame(src, values)
    expr = evaluate(f"cast(x as {dst})", df, types={"x": Type(src, 1 if src == "decimal" else
                                                              None)})
    step = steps.cast(df, {"x": dst})["x"]
    sql = cast_sql('"x"', Type(src, 1 if src == "decimal" else None), Type(dst), "x")
    eng = [r[0] for r in con.execute(f"SELECT {sql} FROM t ORDER BY id").fetchall()]
    return ref, _plain(expr.tolist()), _plain(step.tolist()), eng


@pytest.mark.parametrize("src,dst,values", GOOD, ids=[f"{a}-{b}" for a, b, _ in GOOD])
def test_cast_and_step_key_equal_duckdb(src, dst, values):
    ref, expr, step, eng = _four(src, dst, values)
    assert expr == ref, ("cast()", expr, ref)
    assert step == ref, ("cast: pandas", step, ref)
    assert eng == ref, ("cast: duckdb", eng, ref)


@pytest.mark.parametrize("src,dst,value", BAD, ids=[f"{a}-{b}-{v!r}" for a, b, v in BAD])
def test_what_duckdb_refuses_is_an_error_everywhere(src, dst, value):
    con = _duck(src, dst, [value])
    with pytest.raises(duckdb.Error):
        con.execute(f"SELECT CAST(x AS {SQL[dst]}) FROM t").fetchall()
    df = _frame(src, [value])
    with pytest.raises(EvalError):
        evaluate(f"cast(x as {dst})", df, types={"x": Type(src)})
    with pytest.raises(DataError) as refused:   # R040 at the value's row
        steps.cast(df, {"x": dst})
    assert (refused.value.column, refused.value.row) == ("x", 1)
    sql = cast_sql('"x"', Type(src), Type(dst), "x")
    with pytest.raises(duckdb.Error):
        con.execute(f"SELECT {sql} FROM t").fetchall()


def test_table_decides_what_type_checks():
    names = ("int", "float", "decimal", "string", "bool", "date", "timestamp")
    for src in names:
        for dst in names:
            _, errors = check(parse(f"cast(x as {dst})"), {"x": Type(src, 2 if src == "decimal"
                                                                     else None)}, {})
            assert (not errors) == allowed(src, dst), (src, dst, errors)
            assert [e.code for e in errors] in ([], ["E405"])
    assert not allowed("date", "int") and rule("float", "int").startswith("rounded half to even")


def test_docs_list_every_cast():
    doc = (Path(__file__).parents[2] / "docs" / "types.md").read_text(encoding="utf-8")
    section = doc.split("## Casts", 1)[1]
    for src, dst in CASTS:
        assert f"| {src} | {dst} |" in section, (src, dst)


@pytest.mark.parametrize("dst", ["int", "float", "decimal"])
@pytest.mark.parametrize("text", ["0x10", "1_000", "1,5", "infty"])
def test_number_text_duckdb_reads_but_etlc_refuses(text, dst):
    """DuckDB's CAST reads hexadecimal and digit separators; etlc's table refuses them on every
    path (docs/types.md), rather than guess. The regression: cast(s as float) and cast(s as
    decimal(p, s)) on duckdb read '1_000' as 1000 where pandas raised."""
    con = _duck("string", dst, [text])
    if text == "1_000" or text == "0x10" and dst == "int":
        assert con.execute(f"SELECT CAST(x AS {SQL[dst]}) FROM t").fetchone()[0] in (16, 1000)
    df = _frame("string", [text])
    cast = f"cast(x as {dst if dst != 'decimal' else 'decimal(18, 1)'})"
    with pytest.raises(EvalError):
        evaluate(cast, df, types={"x": Type("string")})
    with pytest.raises(DataError):
        steps.cast(df, {"x": dst})
    from etlc_runtime.expr.sql import to_sql
    paths = [to_sql(cast, {}, types={"x": Type("string")})]
    paths.append(cast_sql('"x"', Type("string"), Type(dst, 1 if dst == "decimal" else None),
                          "x"))
    for sql in paths:
        with pytest.raises(duckdb.Error):
            con.execute(f"SELECT {sql} FROM t").fetchall()


def test_cast_step_on_duckdb_refuses_digit_separators_in_a_float():
    """The regression: the duckdb engine's text-to-float rule (conversions.from_text, also
    its CSV reads) took DuckDB's TRY_CAST, which reads digit separators."""
    con = _duck("string", "float", ["1_000"])
    with pytest.raises(duckdb.Error):
        con.execute(f"SELECT {cast_sql('x', Type('string'), Type('float'), 'x')} FROM t")


def test_float_text_is_one_rendering_on_every_path():
    """docs/types.md: a float's text is the shortest that reads back the same double, so -0.0
    keeps its sign (pandas' cast() wrote '0.0') and every NaN is 'nan' (DuckDB writes a NaN
    whose sign bit is set, as x86 computes inf - inf, '-nan'): the same text from cast() and
    from the cast: step, on pandas and on duckdb."""
    import numpy as np
    from etlc_runtime.expr.sql import to_sql

    values = [-0.0, 0.0, math.nan, -math.nan, math.inf, -math.inf, 1e20, 0.1, None]
    want = ["-0.0", "0.0", "nan", "nan", "inf", "-inf", "1e+20", "0.1", None]
    con = _duck("float", "string", values)
    plain = [r[0] for r in con.execute("SELECT CAST(x AS VARCHAR) FROM t ORDER BY id").fetchall()]
    assert plain[3] == "-nan", plain   # the input holds a NaN with its sign bit set
    mask = np.array([v is None for v in values])
    data = np.array([0.0 if v is None else v for v in values], dtype=np.float64)
    df = pd.DataFrame({"x": pd.Series(pd.arrays.FloatingArray(data, mask))})
    got = {"cast() pandas": evaluate("cast(x as string)", df, types={"x": Type("float")}),
           "cast: pandas": steps.cast(df, {"x": "string"})["x"]}
    for path, sql in [("cast() duckdb", to_sql("cast(x as string)", {},
                                               types={"x": Type("float")})),
                      ("cast: duckdb", cast_sql('"x"', Type("float"), Type("string"), "x"))]:
        got[path] = [r[0] for r in con.execute(f"SELECT {sql} FROM t ORDER BY id").fetchall()]
    for path, out in got.items():
        assert [None if v is None or v is pd.NA else v for v in list(out)] == want, path
    # a decimal has no negative zero: 0.0 * -1.0 (decimal(2)) is '0.00' on both engines
    text = "cast(0.0 * -1.0 as string)"
    assert con.execute(f"SELECT {to_sql(text, {})}").fetchone()[0] == "0.00"
    assert list(evaluate(text, df.head(1))) == ["0.00"]


def test_nan_text_is_a_float_on_every_path():
    """The cast table: 'nan' (any case, a sign, spaces around) and 'inf' are floats, as DuckDB
    reads them; pandas' cast() refused 'nan' (a constant and a column: its parse made the NaN
    null, then took it for text that is no number). A decimal or an int of such text is an
    error everywhere, at its row."""
    from etlc_runtime.expr.sql import to_sql

    texts = ["nan", " -NaN ", "+nan", "inf", "-Infinity", "1.5", None]
    con = _duck("string", "float", texts)
    want = [r[0] for r in con.execute("SELECT CAST(x AS DOUBLE) FROM t ORDER BY id").fetchall()]
    assert math.isnan(want[0]) and want[3] == math.inf and want[-1] is None, want
    df = _frame("string", texts)
    sql = to_sql("cast(x as float)", {}, types={"x": Type("string")})
    got = {"cast() pandas": list(evaluate("cast(x as float)", df, types={"x": Type("string")})),
           "cast: pandas": list(steps.cast(df, {"x": "float"})["x"]),
           "cast() duckdb": [r[0] for r in con.execute(f"SELECT {sql} FROM t ORDER BY id")
                             .fetchall()]}
    for path, out in got.items():
        out = [None if v is None or v is pd.NA else float(v) for v in out]
        assert [repr(v) for v in out] == [repr(v) for v in want], path
    for text in texts[:3]:   # a constant: NaN, never null
        value = evaluate(f"cast('{text}' as float)", df.head(2)).tolist()
        assert len(value) == 2 and all(math.isnan(v) for v in value), (text, value)
        assert math.isnan(con.execute(f"SELECT {to_sql(f'cast({text!r} as float)', {})}")
                          .fetchone()[0])
    for dst in ("int", "decimal(2)"):
        for k, text in enumerate(texts[:5]):
            frame = _frame("string", [None, text])
            with pytest.raises(EvalError) as err:
                evaluate(f"cast(x as {dst})", frame, types={"x": Type("string")})
            assert err.value.row == 1 and err.value.value == text, (dst, text)
            with pytest.raises(duckdb.Error):
                con.execute(f"SELECT {to_sql(f'cast(x as {dst})', {}, types={'x': Type('string')})}"
                            f" FROM t WHERE id = {k}").fetchall()
