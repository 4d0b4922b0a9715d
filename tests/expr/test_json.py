"""The json type and JSON functions (issue 13) against DuckDB: each case runs on the pandas
evaluator, on Dask (per partition) and through etlc's SQL rendering, and must equal the
hand-written DuckDB SQL (the case's own text where DuckDB spells it the same) value for value,
with the type DuckDB gives.  Hypothesis generates nested values for the path functions."""
from __future__ import annotations

import json

import dask
import dask.dataframe as dd
import duckdb
import pandas as pd
import pytest
from etlc_runtime.expr import check, dask_eval, parse
from etlc_runtime.expr.errors import EvalError, ExprError
from etlc_runtime.expr.json_text import canonical_text
from etlc_runtime.expr.pandas_columns import coerce_frame
from etlc_runtime.expr.pandas_eval import evaluate
from etlc_runtime.expr.sql import to_sql
from etlc_runtime.expr.types import Type
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

N = None
DOCS = ['{"a": {"b": [1, 2.50, "x"]}, "n": null, "s": "t\\u00e9xt", "k": 7}',
        '[10, [20, 30], {"a": 1e2}]', '"just text"', '-12', 'true', 'null', N,
        '{"a": 5, "a": 6, "b": {"c": {"d": [true, false]}}, "k": "8", "e": ""}',
        '{"a":{"b":[]},"k":-2.5,"big":123456789012345678901234567890,"f":1.5e300}',
        '  {"k" : 3.5 , "a/b": {"~x": 1}, "a b": 2}  ']
STRS = ['{"k": 1}', "[1, 2]", "not json", N, "3", "{}", '{"k": [1]}', "", '"q"', "[]"]
COLUMNS = {"id": (Type("int"), "BIGINT", list(range(len(DOCS)))),
           "j": (Type("json"), "JSON", DOCS), "s": (Type("string"), "VARCHAR", STRS)}
TYPES = {n: t for n, (t, _, _) in COLUMNS.items()}
DUCK = {"json": "JSON", "string": "VARCHAR", "int": "BIGINT", "bool": "BOOLEAN",
        "float": "DOUBLE"}

# case -> hand-written DuckDB SQL where the text is not DuckDB's own spelling
CASES = {
    "json_extract(j, '$.a')": None, "json_extract(j, '$.a.b')": None,
    "json_extract(j, '$.a.b[1]')": None, "json_extract(j, '$.a.b[#-1]')": None,
    "json_extract(j, '$[1][0]')": None, "json_extract(j, '$[2].a')": None,
    "json_extract(j, '$')": None, "json_extract(j, '$.n')": None, "json_extract(j, '$.zz')": None,
    "json_extract(j, '$.b.c.d[0]')": None, "json_extract(j, '$.\"a b\"')": None,
    "json_extract(j, '$.big')": None, "json_extract(j, '$.f')": None,
    "json_extract(j, 'a')": None, "json_extract(j, 0)": None, "json_extract(j, -1)": None,
    "json_extract(j, '/a/b/0')": None, "json_extract(j, '/a~1b/~0x')": None,
    "json_extract(j, '')": None, "json_extract(j, '$.k')": None,
    "j -> 'a'": None, "j -> '$.a.b'": None, "j -> 'a' -> 'b' -> 2": None, "j -> 1": None,
    "j ->> 'k'": None, "j ->> '$.s'": None, "j ->> 'n'": None, "j ->> 'a'": None,
    "j ->> '$.e'": None, "(j ->> 'k') = '7'": None, "j -> '$.a' ->> '$.b[2]'": None,
    "json_extract_string(j, '$.a.b')": None, "json_extract_string(j, '$.k')": None,
    "json_extract_string(j, '$')": None, "json_extract_string(s, '$.k')": None,
    "json_extract(s, '$[1]')": None,
    "json_array_length(j)": "CAST(json_array_length(j) AS BIGINT)",
    "json_array_length(j, '$.a.b')": "CAST(json_array_length(j, '$.a.b') AS BIGINT)",
    "json_array_length(j, '$[1]')": "CAST(json_array_length(j, '$[1]') AS BIGINT)",
    "json_type(j)": None, "json_type(j, '$.k')": None, "json_type(j, '$.big')": None,
    "json_type(j, '$.zz')": None, "json_valid(s)": None, "json_valid(j)": None,
    "cast(j -> 'k' as int)": "CAST(j -> 'k' AS BIGINT)",
    "cast(j -> 'k' as float)": "CAST(j -> 'k' AS DOUBLE)",
    "cast(j -> '$.b.c.d[0]' as bool)": "CAST(j -> '$.b.c.d[0]' AS BOOLEAN)",
    "cast(json_extract(j, '$.a.b[0]') as int)": "CAST(json_extract(j, '$.a.b[0]') AS BIGINT)",
    "cast(j as string)": "CAST(j AS VARCHAR)", "cast(j -> 'a' as string)": "CAST(j -> 'a' AS VARCHAR)",
    "cast(json_extract(j, '$.zz') as int)": "CAST(json_extract(j, '$.zz') AS BIGINT)",
    "json_extract(cast(s as json), '$.k')": None, "cast(s as json)": "json(s)",
    "cast(' [1, 2.50] ' as json)": "json(' [1, 2.50] ')",
    "cast(' {\"k\" : 2.50} ' as json) -> 'k'": None,
    "json_extract(j, '$.a') is null": None, "coalesce(j -> 'zz', j -> 'k')": None,
}
# s holds 'not json' (row 2) and '' (row 7): only these rows run the cast from string
GUARDED = {"json_extract(cast(s as json), '$.k')", "cast(s as json)", "json_extract_string(s, '$.k')",
           "json_extract(s, '$[1]')"}


def _frame(rows=None) -> pd.DataFrame:
    raw = pd.DataFrame({n: pd.Series(v, dtype=object) for n, (_, _, v) in COLUMNS.items()})
    return coerce_frame(raw if rows is None else raw.iloc[rows].reset_index(drop=True), TYPES)


def _con(rows=None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE TABLE t (" + ", ".join(f"{n} {d}" for n, (_, d, _) in COLUMNS.items())
                + ")")
    data = list(zip(*[v for (_, _, v) in COLUMNS.values()]))
    con.executemany("INSERT INTO t VALUES (?, ?, ?)", [data[r] for r in (rows or range(len(data)))])
    return con


GOOD = [r for r, v in enumerate(STRS) if v not in ("not json", "")]


@pytest.fixture(scope="module")
def con():
    c = _con()
    yield c
    c.close()


def _values(s, n) -> list:
    vals = s.tolist() if isinstance(s, pd.Series) else [s] * n
    return [None if v is None or v is pd.NA else (v.item() if hasattr(v, "item") else v)
            for v in vals]


def _oracle(con, sql):
    duck_type = con.execute(f"DESCRIBE SELECT {sql} AS v FROM t").fetchall()[0][1]
    return duck_type, [r[0] for r in con.execute(f"SELECT {sql} FROM t ORDER BY id").fetchall()]


def test_enough_cases():
    assert len(CASES) >= 50


@pytest.mark.parametrize("text", list(CASES))
def test_json_case(text):
    rows = GOOD if text in GUARDED else None
    con, df = _con(rows), _frame(rows)
    t, errors = check(parse(text), TYPES, {}, "row")
    assert not errors, errors
    duck_type, ref = _oracle(con, CASES[text] or text)
    assert DUCK[t.name] == duck_type, (text, t, duck_type)
    ours = _values(evaluate(text, df, {}, types=TYPES), len(df))
    assert ours == ref, text
    rendered = to_sql(parse(text), {}, types=TYPES)
    assert _oracle(con, rendered)[1] == ref, rendered
    with dask.config.set(scheduler="sync"):
        ddf = dd.from_pandas(df, npartitions=3, sort=False)
        got = dask_eval.evaluate(text, ddf, {}, types=TYPES).compute()
    assert _values(got, len(df)) == ref, text


@pytest.mark.parametrize("text, code, start", [
    ("json_extract(j, '$.*')", "E421", 16), ("json_extract(j, '$..a')", "E421", 16),
    ("j -> '$[x]'", "E421", 5), ("j ->> '$.a['", "E421", 6), ("json_extract(j, s)", "E421", 16),
    ("json_type(j, '$ .a')", "E421", 13), ("json_extract(id, '$.a')", "E405", 13),
    ("j = 'x'", "E405", 4), ("cast(j as date)", "E405", 5), ("j || 'x'", "E405", 0),
    ("json_extract(j, 1.5)", "E405", 16), ("j -> true", "E405", 5),
])
def test_compile_errors(text, code, start):
    _, errors = check(parse(text), TYPES, {}, "row")
    assert [(e.code, e.start) for e in errors][:1] == [(code, start)]


@pytest.mark.parametrize("text", ["cast(s as json)", "json_extract(s, '$.k')",
                                  "cast(j -> 'a' as int)", "cast(j -> 's' as float)"])
def test_run_time_errors_name_the_value(text, con):
    with pytest.raises(EvalError):
        evaluate(text, _frame(), {}, types=TYPES)
    with pytest.raises(duckdb.Error):
        con.execute(f"SELECT {to_sql(parse(text), {}, types=TYPES)} FROM t").fetchall()


def test_arrows_are_the_extract_functions():
    from etlc_runtime.expr.ast import unparse
    assert unparse(parse("j -> 'a' ->> 0")) == \
        unparse(parse("json_extract_string(json_extract(j, 'a'), 0)"))


# -- hypothesis: nested values, paths into them ------------------------------------------------

_scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
                     st.floats(allow_nan=False, allow_infinity=False),
                     st.text(max_size=6))
_values_st = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from("abc"), inner, max_size=3)),
    max_leaves=12)
_paths = st.lists(st.one_of(st.sampled_from(["a", "b", "c"]).map(lambda k: f".{k}"),
                            st.integers(0, 3).map(lambda i: f"[{i}]"),
                            st.integers(1, 3).map(lambda i: f"[#-{i}]")), max_size=3)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_values_st, min_size=1, max_size=5), _paths, st.booleans())
def test_paths_into_generated_values(values, steps, spaced):
    texts = [json.dumps(v, separators=(", ", ": ") if spaced else (",", ":"),
                        ensure_ascii=spaced) for v in values]
    path = "$" + "".join(steps)
    df = coerce_frame(pd.DataFrame({"id": range(len(texts)), "j": texts}),
                      {"id": Type("int"), "j": Type("json")})
    con = duckdb.connect()
    con.execute("CREATE TABLE t (id BIGINT, j JSON)")
    con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(texts)))
    types = {"id": Type("int"), "j": Type("json")}
    for fn in ("json_extract", "json_extract_string", "json_type", "json_array_length"):
        text = f"{fn}(j, '{path}')"
        sql = text if fn != "json_array_length" else f"CAST({text} AS BIGINT)"
        ref = [r[0] for r in con.execute(f"SELECT {sql} FROM t ORDER BY id").fetchall()]
        assert _values(evaluate(text, df, {}, types=types), len(df)) == ref, text
    assert [canonical_text(x) for x in texts] == \
        [r[0] for r in con.execute("SELECT json(j) FROM t ORDER BY id").fetchall()]


def test_arrow_tokens_do_not_change_old_expressions():
    from etlc_runtime.expr.ast import unparse
    assert unparse(parse("i>-1")) == unparse(parse("i > -1")) == "i > -1"
    with pytest.raises(ExprError):
        parse("j - > 'a'")
