"""Random well-typed expression trees over random tables with nulls: etlc's pandas result
equals DuckDB's for SQL the strategy writes alongside each expression (by hand, template by
template: never etlc's renderer), with the deliberate differences of oracle_cases.DIFFERENCES
spelled out (NULLIF for `/` and `%`, CASE for the domains of sqrt and ln); the parser
round-trips."""
from __future__ import annotations

import functools
import math
import sys

import duckdb
import pandas as pd
import pytest
from etlc_runtime.expr import Type, check, parse, unparse
from etlc_runtime.expr.pandas_columns import coerce_frame
from etlc_runtime.expr.pandas_eval import aggregate, apply_filter, evaluate
from exprdata import assert_same_lists, duck_value, etlc_value, etlc_values, same_type
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


def _same(strategy):
    """Leaves whose etlc text is also their DuckDB SQL."""
    return strategy.map(lambda x: (x, x))


@functools.cache
def expr_of(kind: str, depth: int = 3):
    """A strategy for (etlc text, DuckDB SQL) pairs of the given etlc type name."""
    leaves = {
        "int": st.one_of(_same(st.sampled_from(["i1", "i2"])),
                         st.integers(-20, 20).map(lambda n: (str(n), f"CAST({n} AS BIGINT)")),
                         st.just(("null", "NULL"))),
        "float": st.one_of(_same(st.sampled_from(["f1", "f2", "d1"])),
                           _same(st.integers(-500, 500).map(lambda x: f"{x / 10}"))),
        "string": st.one_of(_same(st.sampled_from(["s1", "s2"])),
                            _same(st.text(alphabet="abA ç", max_size=3).map(_lit_str))),
        "bool": st.one_of(_same(st.just("b1")),
                          st.sampled_from([("true", "TRUE"), ("false", "FALSE"),
                                           ("null", "NULL")])),
    }[kind]
    if depth == 0:
        return leaves
    sub = lambda k: expr_of(k, depth - 1)
    num = st.sampled_from(["int", "float"])

    def fmt(etlc: str, sql: str, *parts):
        """etlc and SQL templates over the same parts; {N} in the SQL is part N's SQL, {N_}
        its etlc text (for constants both share)."""
        def build(ps):
            texts = [p[0] if isinstance(p, tuple) else p for p in ps]
            sqls = [p[1] if isinstance(p, tuple) else p for p in ps]
            return etlc.format(*texts), sql.format(*sqls)
        return st.tuples(*parts).map(build)

    def arith(k, ops):
        """(a op b): `/` and `%` by zero are null in etlc (DIFFERENCES div_zero, mod_zero)."""
        return st.sampled_from(ops).flatmap(lambda op: fmt(
            f"({{}} {op} {{}})",
            f"({{0}} {op} NULLIF({{1}}, 0))" if op in "/%" else f"({{0}} {op} {{1}})",
            sub(k), sub(k)))

    if kind == "int":
        branches = [
            arith("int", ["+", "-", "*", "%"]),
            fmt("-{}", "(-({0}))", sub("int")),  # `--` starts a comment in SQL
            fmt("abs({})", "abs({0})", sub("int")),
            fmt("length({})", "length({0})", sub("string")),
            fmt("coalesce({}, {})", "coalesce({0}, {1})", sub("int"), sub("int")),
            fmt("if({}, {}, {})", "CASE WHEN {0} THEN {1} ELSE {2} END", sub("bool"), sub("int"),
                sub("int")),
            fmt("round({}, -1)", "round({0}, -1)", sub("int")),
            # issue 13
            fmt("({} // {})", "({0} // NULLIF({1}, 0))", sub("int"), sub("int")),
            fmt("mod({}, {})", "({0} % NULLIF({1}, 0))", sub("int"), sub("int")),
            fmt("sign({})", "CAST(sign({0}) AS BIGINT)", sub("int")),
            fmt("greatest({}, {})", "greatest({0}, {1})", sub("int"), sub("int")),
            fmt("least({}, {}, {})", "least({0}, {1}, {2})", sub("int"), sub("int"), sub("int")),
            fmt("nullif({}, {})", "nullif({0}, {1})", sub("int"), sub("int")),
            fmt("case when {} then {} when {} then {} else {} end",
                "CASE WHEN {0} THEN {1} WHEN {2} THEN {3} ELSE {4} END", sub("bool"), sub("int"),
                sub("bool"), sub("int"), sub("int")),
            fmt("strpos({}, {})", "strpos({0}, {1})", sub("string"), sub("string")),
        ]
    elif kind == "float":
        branches = [
            arith("float", ["+", "-", "*", "/", "%"]),
            fmt("({} / {})", "({0} / NULLIF({1}, 0))", sub("int"), sub("int")),
            fmt("({} + {})", "({0} + {1})", sub("int"), sub("float")),
            fmt("sqrt({})", "(CASE WHEN {0} >= 0 THEN sqrt({0}) END)", sub("float")),
            fmt("ln({})", "(CASE WHEN {0} > 0 THEN ln({0}) END)", sub("float")),
            fmt("round({}, 1)", "round({0}, 1)", sub("float")),
            fmt("floor({})", "floor({0})", sub("float")),
            fmt("cast({} as float)", "CAST({0} AS DOUBLE)", sub("int")),
            fmt("abs({})", "abs({0})", sub("float")),
            fmt("coalesce({}, {})", "coalesce({0}, {1})", sub("float"), sub("int")),
        ]
    elif kind == "string":
        branches = [
            fmt("({} || {})", "({0} || {1})", sub("string"), sub("string")),
            fmt("upper({})", "upper({0})", sub("string")),
            fmt("lower({})", "lower({0})", sub("string")),
            fmt("trim({})", "trim({0})", sub("string")),
            fmt("substr({}, {}, {})", "substr({0}, {1}, {2})", sub("string"),
                st.integers(-4, 4).map(str), st.integers(-2, 4).map(str)),
            fmt("substr({}, {})", "substr({0}, {1})", sub("string"), sub("int")),
            fmt("replace({}, {}, {})", "replace({0}, {1}, {2})", sub("string"), leaves, leaves),
            fmt("coalesce({}, {})", "coalesce({0}, {1})", sub("string"), sub("string")),
            fmt("if({}, {}, {})", "CASE WHEN {0} THEN {1} ELSE {2} END", sub("bool"),
                sub("string"), sub("string")),
            fmt("cast({} as string)", "CAST({0} AS VARCHAR)", sub("int")),
            # issue 13
            fmt("concat({}, {})", "concat({0}, {1})", sub("string"), sub("string")),
            fmt("concat_ws({}, {}, {})", "concat_ws({0}, {1}, {2})", leaves, sub("string"),
                sub("string")),
            fmt("left({}, {})", "left({0}, {1})", sub("string"), st.integers(-4, 4).map(str)),
            fmt("right({}, {})", "right({0}, {1})", sub("string"), sub("int")),
            fmt("lpad({}, {}, 'xy')", "lpad({0}, {1}, 'xy')", sub("string"),
                st.integers(-1, 6).map(str)),
            fmt("rtrim({}, 'a ')", "rtrim({0}, 'a ')", sub("string")),
            fmt("split_part({}, {}, {})", "split_part({0}, {1}, {2})", sub("string"), leaves,
                st.integers(-3, 3).map(str)),
            fmt("regexp_replace({}, '[aA]+', '-', 'g')", "regexp_replace({0}, '[aA]+', '-', 'g')",
                sub("string")),
            fmt("case {} when 'a' then 'x' when {} then 'y' end",
                "CASE {0} WHEN 'a' THEN 'x' WHEN {1} THEN 'y' END", sub("string"),
                sub("string")),
        ]
    else:
        branches = [
            st.sampled_from(["and", "or"]).flatmap(lambda op: fmt(
                f"({{}} {op} {{}})", f"({{0}} {op.upper()} {{1}})", sub("bool"), sub("bool"))),
            fmt("(not {})", "(NOT {0})", sub("bool")),
            st.tuples(num, st.sampled_from(["=", "!=", "<", "<=", ">", ">="])).flatmap(
                lambda p: fmt(f"({{}} {p[1]} {{}})", f"({{0}} {p[1]} {{1}})", sub(p[0]),
                              sub(p[0]))),
            st.sampled_from(["=", "<", ">="]).flatmap(lambda op: fmt(
                f"({{}} {op} {{}})", f"({{0}} {op} {{1}})", sub("string"), sub("string"))),
            fmt("({} is null)", "({0} IS NULL)", sub("int")),
            fmt("({} is not null)", "({0} IS NOT NULL)", sub("string")),
            fmt("({} in ({}, 2, {}))", "({0} IN ({1}, 2, {2}))", sub("int"), sub("int"),
                st.sampled_from([("null", "NULL"), ("5", "5")])),
            fmt("({} between {} and {})", "({0} BETWEEN {1} AND {2})", sub("float"), sub("int"),
                sub("float")),
            fmt("starts_with({}, {})", "starts_with({0}, {1})", sub("string"), sub("string")),
            fmt("contains({}, {})", "contains({0}, {1})", sub("string"), sub("string")),
            # issue 13
            fmt("({} like {})", "({0} LIKE {1})", sub("string"),
                st.sampled_from(["'a%'", "'%b'", "'_'", "'%ç%'", "'A_%'"]).map(lambda x: (x, x))),
            fmt("({} ilike {})", "({0} ILIKE {1})", sub("string"), sub("string")),
            fmt("regexp_matches({}, '^[ab]+ ')", "regexp_matches({0}, '^[ab]+ ')", sub("string")),
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


NULL_ROW = {"i1": None, "i2": None, "f1": None, "f2": None, "s1": None, "s2": None, "b1": None,
            "d1": None}


@given(rows=tables, pair=st.sampled_from(["int", "float", "string", "bool"]).flatmap(expr_of))
@example(rows=[], pair=("(null + 0.0)", "(NULL + 0.0)"))
def test_random_expressions_match_duckdb(con, rows, pair):
    text, sql = pair
    t, errors = check(parse(text), TYPES, {}, "row")
    assert not errors, (text, errors)
    _load(con, rows)
    df = _frame(rows)
    duck_type = con.execute(f"DESCRIBE SELECT {sql} AS v FROM r").fetchall()[0][1]
    ref = [duck_value(r[0], t) for r in
           con.execute(f"SELECT {sql} FROM r ORDER BY rid").fetchall()]
    ours = etlc_values(evaluate(text, df, {}, types=TYPES), t, len(df))
    if duck_type == '"NULL"':
        # DuckDB types some all-null constant arithmetic as NULL (NULL + 0.0, NULL * 2.5), where
        # etlc keeps the operand's type; the values must then be all null on both sides
        assert all(v is None for v in ref), (text, ref)
    elif t.name != "null":  # a null-typed expression: every value is null, whatever DuckDB's type
        assert same_type(t, duck_type), f"{text}: etlc {t}, DuckDB {duck_type} [SQL: {sql}]"
    assert_same_lists(ours, ref, f"{text}  [SQL: {sql}]")
    if t.name == "bool":  # and the same as a filter
        kept = apply_filter(text, df.assign(rid=range(len(df))), {}, types=TYPES)
        ref_ids = [r[0] for r in con.execute(f"SELECT rid FROM r WHERE {sql} ORDER BY rid")
                   .fetchall()]
        assert kept["rid"].tolist() == ref_ids, text


# etlc aggregate -> DuckDB aggregate (same meaning, other names)
AGG_SQL = {"sum": "sum({})", "mean": "avg({})", "min": "min({})", "max": "max({})",
           "count": "count({})", "count_distinct": "count(DISTINCT {})",
           "std": "stddev_samp({})", "var": "var_samp({})"}
EPS = sys.float_info.epsilon


def _within(a: float, b: float, bound: float) -> bool:
    return math.isfinite(a) and math.isfinite(b) and abs(a - b) <= bound


@given(rows=tables, arg=expr_of("float", 2), fn=st.sampled_from(sorted(AGG_SQL)))
# decimal % was computed on floats: fmod(0.3, 0.1) = 0.0999.. rounded to scale 1 gave 0.1
@example(rows=[NULL_ROW, {**NULL_ROW, "b1": True}], arg=("(0.3 % 0.1)", "(0.3 % NULLIF(0.1, 0))"),
         fn="sum")
@example(rows=[{**NULL_ROW, "d1": -0.7}], arg=("(d1 % 0.1)", "(d1 % NULLIF(0.1, 0))"), fn="min")
# DuckDB types max(NULL + 0.0) as NULL where etlc keeps the operand's type: values compared only
@example(rows=[NULL_ROW], arg=("(null + 0.0)", "(NULL + 0.0)"), fn="max")
def test_random_aggregates_match_duckdb(con, rows, arg, fn):
    """Per group of b1. Sums, means and sample statistics of doubles depend on the order of
    the additions: there the bound is the classic error bound of a sum, n * eps * sum(|x|)
    (sum(x * x) for the variance), written out; every other result is exact."""
    text, sql_arg = arg
    agg = f"{fn}({text})"
    _load(con, rows)
    df = _frame(rows)
    out = aggregate(df, ["b1"], {"v": agg, "n": "count(*)"}, {}, types=TYPES)
    t, errors = check(parse(agg), TYPES, {}, "aggregate", ["b1"])
    assert not errors, errors
    x = f"CAST({sql_arg} AS DOUBLE)"
    sql = (f"SELECT b1, {AGG_SQL[fn].format(sql_arg)}, count(*), count({sql_arg}), "
           f"sum(abs({x})), sum({x} * {x}) FROM r GROUP BY b1")
    duck_type = con.execute(f"DESCRIBE {sql}").fetchall()[1][1]
    if t.name != "null" and duck_type != '"NULL"':
        assert same_type(t, duck_type), f"{agg}: etlc {t}, DuckDB {duck_type} [SQL: {sql}]"
    ours = sorted(((etlc_value(b, Type("bool")), etlc_value(v, t), etlc_value(n, Type("int")))
                   for b, v, n in zip(out["b1"].tolist(), out["v"].tolist(), out["n"].tolist())),
                  key=lambda r: str(r[0]))
    ref = sorted(con.execute(sql).fetchall(), key=lambda r: str(r[0]))
    assert len(ours) == len(ref), agg
    for (b, v, n), (rb, rv, rn, count, abs_sum, sq_sum) in zip(ours, ref):
        assert (b, n) == (rb, rn), agg
        rv = duck_value(rv, t)
        if t.name == "float" and fn in ("sum", "mean", "std", "var") and v is not None \
                and rv is not None:
            bound = {"sum": count * EPS * abs_sum, "mean": 2 * EPS * abs_sum,
                     "var": 4 * count * EPS * sq_sum, "std": 4 * count * EPS * sq_sum}[fn]
            if fn == "std":  # compare the variances the deviations come from
                v, rv = v * v, rv * rv
            assert _within(v, rv, bound + 4 * math.ulp(rv)), (agg, v, rv, bound)
        else:
            assert_same_lists([v], [rv], f"{agg} [SQL: {sql}]")


@given(pair=st.sampled_from(["int", "float", "string", "bool"]).flatmap(expr_of))
def test_unparse_round_trips(pair):
    e = parse(pair[0])
    again = parse(unparse(e))
    assert unparse(again) == unparse(e)
