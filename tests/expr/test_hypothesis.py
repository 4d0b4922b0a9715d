"""Random well-typed expression trees over random tables with nulls: etlc's pandas
result equals DuckDB's for the rendered SQL; the parser round-trips."""
from __future__ import annotations

import functools

import duckdb
import pandas as pd
import pytest
from etlc_runtime.expr import Type, check, parse, unparse
from etlc_runtime.expr.pandas_eval import aggregate, apply_filter, coerce_frame, evaluate
from etlc_runtime.expr.sql import to_sql
from exprdata import assert_same_lists, norm
from hypothesis import example, given
from hypothesis import strategies as st

# examples, seed and database come from the profile (tests/conftest.py): derandomized in
# `make test`, random in `make fuzz`; every failure found becomes an @example below

TYPES = {"i1": Type("int"), "i2": Type("int"), "f1": Type("float"), "f2": Type("float"),
         "s1": Type("string"), "s2": Type("string"), "b1": Type("bool"),
         "d1": Type("decimal", 2)}
SQL_TYPES = {"int": "BIGINT", "float": "DOUBLE", "string": "VARCHAR", "bool": "BOOLEAN",
             "decimal": "DECIMAL(18, 2)"}

ints = st.one_of(st.none(), st.integers(-100, 100))
floats = st.one_of(st.none(), st.integers(-100000, 100000).map(lambda x: x / 100))
texts = st.one_of(st.none(), st.text(alphabet="aAbB ç'", max_size=5))
bools = st.one_of(st.none(), st.booleans())
row = st.fixed_dictionaries({"i1": ints, "i2": ints, "f1": floats, "f2": floats, "s1": texts,
                             "s2": texts, "b1": bools, "d1": floats})
tables = st.lists(row, min_size=0, max_size=12)


def _lit_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


@functools.cache
def expr_of(kind: str, depth: int = 3):
    """A strategy for expression text of the given etlc type name."""
    leaves = {
        "int": st.one_of(st.sampled_from(["i1", "i2"]), st.integers(-20, 20).map(str),
                         st.just("null")),
        "float": st.one_of(st.sampled_from(["f1", "f2", "d1"]),
                           st.integers(-500, 500).map(lambda x: f"{x / 10}")),
        "string": st.one_of(st.sampled_from(["s1", "s2"]),
                            st.text(alphabet="abA ç", max_size=3).map(_lit_str)),
        "bool": st.one_of(st.just("b1"), st.sampled_from(["true", "false", "null"])),
    }[kind]
    if depth == 0:
        return leaves
    sub = lambda k: expr_of(k, depth - 1)
    num = st.sampled_from(["int", "float"])

    def fmt(template, *parts):
        return st.tuples(*parts).map(lambda p: template.format(*p))

    if kind == "int":
        branches = [
            fmt("({} {} {})", sub("int"), st.sampled_from(["+", "-", "*", "%"]), sub("int")),
            fmt("-{}", sub("int")), fmt("abs({})", sub("int")), fmt("length({})", sub("string")),
            fmt("coalesce({}, {})", sub("int"), sub("int")),
            fmt("if({}, {}, {})", sub("bool"), sub("int"), sub("int")),
            fmt("round({}, -1)", sub("int")),
        ]
    elif kind == "float":
        branches = [
            fmt("({} {} {})", sub("float"), st.sampled_from(["+", "-", "*", "/", "%"]),
                sub("float")),
            fmt("({} / {})", sub("int"), sub("int")),
            fmt("({} + {})", sub("int"), sub("float")),
            fmt("sqrt({})", sub("float")), fmt("ln({})", sub("float")),
            fmt("round({}, 1)", sub("float")), fmt("floor({})", sub("float")),
            fmt("cast({} as float)", sub("int")), fmt("abs({})", sub("float")),
            fmt("coalesce({}, {})", sub("float"), sub("int")),
        ]
    elif kind == "string":
        branches = [
            fmt("({} || {})", sub("string"), sub("string")), fmt("upper({})", sub("string")),
            fmt("lower({})", sub("string")), fmt("trim({})", sub("string")),
            fmt("substr({}, {}, {})", sub("string"), st.integers(-4, 4).map(str),
                st.integers(-2, 4).map(str)),
            fmt("substr({}, {})", sub("string"), sub("int")),
            fmt("replace({}, {}, {})", sub("string"), leaves, leaves),
            fmt("coalesce({}, {})", sub("string"), sub("string")),
            fmt("if({}, {}, {})", sub("bool"), sub("string"), sub("string")),
            fmt("cast({} as string)", sub("int")),
        ]
    else:
        branches = [
            fmt("({} {} {})", sub("bool"), st.sampled_from(["and", "or"]), sub("bool")),
            fmt("(not {})", sub("bool")),
            st.tuples(num, st.sampled_from(["=", "!=", "<", "<=", ">", ">="])).flatmap(
                lambda p: fmt("({} " + p[1] + " {})", sub(p[0]), sub(p[0]))),
            fmt("({} {} {})", sub("string"), st.sampled_from(["=", "<", ">="]), sub("string")),
            fmt("({} is null)", sub("int")), fmt("({} is not null)", sub("string")),
            fmt("({} in ({}, {}, {}))", sub("int"), sub("int"), leaves.map(lambda x: "2"),
                st.sampled_from(["null", "5"])),
            fmt("({} between {} and {})", sub("float"), sub("int"), sub("float")),
            fmt("starts_with({}, {})", sub("string"), sub("string")),
            fmt("contains({}, {})", sub("string"), sub("string")),
        ]
    return st.one_of(leaves, *branches)


def _frame(rows):
    cols = {c: pd.Series([r[c] for r in rows], dtype=object) for c in TYPES}
    return coerce_frame(pd.DataFrame(cols), TYPES)


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    c.execute("SET threads = 1")
    yield c
    c.close()


def _load(con, rows):
    con.execute("DROP TABLE IF EXISTS r")
    cols = ", ".join(f"{n} {SQL_TYPES[t.name]}" for n, t in TYPES.items())
    con.execute(f"CREATE TABLE r (rid BIGINT, {cols})")
    if rows:
        con.executemany(f"INSERT INTO r VALUES (?, {', '.join('?' for _ in TYPES)})",
                        [[k, *[r[c] for c in TYPES]] for k, r in enumerate(rows)])


@given(rows=tables, data=st.data())
def test_random_expressions_match_duckdb(con, rows, data):
    kind = data.draw(st.sampled_from(["int", "float", "string", "bool"]))
    text = data.draw(expr_of(kind))
    expr = parse(text)
    t, errors = check(expr, TYPES, {}, "row")
    assert not errors, (text, errors)
    _load(con, rows)
    df = _frame(rows)
    ours = norm(evaluate(expr, df, {}, types=TYPES), t)
    sql = to_sql(expr, {}, types=TYPES)
    ref = [norm(r[0], t) for r in con.execute(f"SELECT {sql} FROM r ORDER BY rid").fetchall()]
    assert_same_lists(ours, ref, f"{text}  [SQL: {sql}]")
    # and the same as a filter
    if t.name == "bool":
        kept = apply_filter(expr, df.assign(rid=range(len(df))), {}, types=TYPES)
        ref_ids = [r[0] for r in con.execute(f"SELECT rid FROM r WHERE {sql} ORDER BY rid")
                   .fetchall()]
        assert kept["rid"].tolist() == ref_ids, text


NULL_ROW = {"i1": None, "i2": None, "f1": None, "f2": None, "s1": None, "s2": None, "b1": None,
            "d1": None}


@given(rows=tables, arg=expr_of("float", 2),
       fn=st.sampled_from(["sum", "mean", "min", "max", "count", "count_distinct", "std", "var"]))
# decimal % was computed on floats: fmod(0.3, 0.1) = 0.0999.. rounded to scale 1 gave 0.1
@example(rows=[NULL_ROW, {**NULL_ROW, "b1": True}], arg="(0.3 % 0.1)", fn="sum")
@example(rows=[{**NULL_ROW, "d1": -0.7}], arg="(d1 % 0.1)", fn="min")
def test_random_aggregates_match_duckdb(con, rows, arg, fn):
    text = f"{fn}({arg})"
    _load(con, rows)
    df = _frame(rows)
    out = aggregate(df, ["b1"], {"v": text, "n": "count(*)"}, {}, types=TYPES)
    t, _ = check(parse(text), TYPES, {}, "aggregate", ["b1"])
    ours = sorted(((norm(b), norm(v, t), n) for b, v, n in
                   zip(out["b1"], out["v"], out["n"])), key=lambda r: str(r[0]))
    sql = to_sql(text, {}, types=TYPES)
    ref = sorted(((b, norm(v, t), n) for b, v, n in con.execute(
        f"SELECT b1, {sql}, count(*) FROM r GROUP BY b1").fetchall()), key=lambda r: str(r[0]))
    assert len(ours) == len(ref), text
    for a, b in zip(ours, ref):
        assert a[0] == b[0] and a[2] == b[2], text
        if fn in ("std", "var", "mean", "sum") and a[1] is not None and b[1] is not None:
            assert a[1] == pytest.approx(b[1], rel=1e-6, abs=1e-6), text
        else:
            assert_same_lists([a[1]], [b[1]], f"{text} [SQL: {sql}]")


@given(data=st.data())
def test_unparse_round_trips(data):
    text = data.draw(st.sampled_from(["int", "float", "string", "bool"]).flatmap(expr_of))
    e = parse(text)
    again = parse(unparse(e))
    assert unparse(again) == unparse(e)
