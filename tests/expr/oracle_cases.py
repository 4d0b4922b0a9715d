"""The independent oracle of the expression tests: DuckDB SQL written by hand, never rendered by
etlc (`etlc_runtime.expr.sql` is itself tested against this oracle).

etlc's expression language is SQL's, so most cases in cases.py are their own oracle: the
expression text, as written, is a DuckDB query with the same meaning (`$name` is a DuckDB named
parameter). The tables below give hand-written SQL for the others, each tagged with the
reason: a key of DIFFERENCES (where etlc deliberately differs from DuckDB; docs/expressions.md
lists the same rows, and a test holds the two together) or SPELLING (same meaning, DuckDB names
it otherwise).
"""

from __future__ import annotations

# key: (what etlc does, what DuckDB does) -- the deliberate differences, listed once
DIFFERENCES = {
    "div_zero": ("`x / 0` is null", "`x / 0` is `inf`, `-inf` or `NaN`"),
    "mod_zero": ("`x % 0` is null", "an error (int, decimal) or `NaN` (double)"),
    "sqrt_domain": ("`sqrt(x)` of a negative x is null", "`NaN`"),
    "ln_domain": ("`ln(x)` of x <= 0 is null", "`-inf` (0) or `NaN` (negative)"),
    "first_last_nulls": ("`first`/`last` skip nulls",
                         "`first`/`last` return the first/last row's value, null or not"),
    "floor_ceil_int": ("`floor`/`ceil` of an int is an int", "a DOUBLE"),
    "sum_int": ("`sum` of ints is an int (64-bit)", "a HUGEINT (128-bit)"),
    "int_literal": ("an integer literal or int parameter is an int (64-bit)",
                    "an INTEGER (32-bit) when it fits"),
    "to_timestamp_number": ("`to_timestamp(seconds)` is a timestamp without time zone (UTC)",
                            "a TIMESTAMP WITH TIME ZONE"),
    "date_plus_int": ("`date + int` adds days for any int", "needs a 32-bit INTEGER number of days"),
    "typed_null": ("`null` in `s || null` takes the other operand's type", "an untyped NULL"),
}
SPELLING = "spelling"  # same meaning; DuckDB names it otherwise (cast types, to_date, mean, ...)


def _tag(reason: str) -> str:
    assert reason == SPELLING or reason in DIFFERENCES, reason
    return reason


# etlc expression -> (hand-written DuckDB SQL, reason)
ROW_SQL = {
    "1": ("CAST(1 AS BIGINT)", "int_literal"),
    "-5": ("CAST(-5 AS BIGINT)", "int_literal"),
    "$p_int": ("CAST($p_int AS BIGINT)", "int_literal"),
    "7 % 2": ("CAST(7 AS BIGINT) % 2", "int_literal"),
    "abs(-7)": ("abs(CAST(-7 AS BIGINT))", "int_literal"),
    "if(null, 1, 2)": ("CAST(2 AS BIGINT)", "int_literal"),
    "i / j": ("i / NULLIF(j, 0)", "div_zero"),
    "i / 0": ("i / NULLIF(0, 0)", "div_zero"),
    "0 / i": ("0 / NULLIF(i, 0)", "div_zero"),
    "i / j / 2": ("i / NULLIF(j, 0) / 2", "div_zero"),
    "f / g": ("f / NULLIF(g, 0)", "div_zero"),
    "f / 0": ("f / NULLIF(0, 0)", "div_zero"),
    "i / f": ("i / NULLIF(f, 0)", "div_zero"),
    "d / e": ("d / NULLIF(e, 0)", "div_zero"),
    "d / 0": ("d / NULLIF(0, 0)", "div_zero"),
    "i % j": ("i % NULLIF(j, 0)", "mod_zero"),
    "i % 0": ("i % NULLIF(0, 0)", "mod_zero"),
    "f % g": ("f % NULLIF(g, 0)", "mod_zero"),
    "f % 0": ("f % NULLIF(0, 0)", "mod_zero"),
    "d % e": ("d % NULLIF(e, 0)", "mod_zero"),
    "sqrt(f)": ("CASE WHEN f >= 0 THEN sqrt(f) END", "sqrt_domain"),
    "sqrt(i)": ("CASE WHEN i >= 0 THEN sqrt(i) END", "sqrt_domain"),
    "sqrt(d)": ("CASE WHEN d >= 0 THEN sqrt(d) END", "sqrt_domain"),
    "ln(f)": ("CASE WHEN f > 0 THEN ln(f) END", "ln_domain"),
    "ln(i)": ("CASE WHEN i > 0 THEN ln(i) END", "ln_domain"),
    "ln(d)": ("CASE WHEN d > 0 THEN ln(d) END", "ln_domain"),
    "ln(0)": ("CAST(NULL AS DOUBLE)", "ln_domain"),
    "floor(i)": ("i", "floor_ceil_int"),
    "ceil(i)": ("i", "floor_ceil_int"),
    "s || null": ("s || CAST(NULL AS VARCHAR)", "typed_null"),
    "dt + j": ("dt + CAST(j AS INTEGER)", "date_plus_int"),
    "to_timestamp(i)": ("CAST(to_timestamp(i) AS TIMESTAMP)", "to_timestamp_number"),
    "to_timestamp(f)": ("CAST(to_timestamp(f) AS TIMESTAMP)", "to_timestamp_number"),
    "to_date(ds)": ("CAST(ds AS DATE)", SPELLING),
    "to_date(dn, '%Y%m%d')": ("CAST(strptime(dn, '%Y%m%d') AS DATE)", SPELLING),
    "to_timestamp(ds)": ("CAST(ds AS TIMESTAMP)", SPELLING),
    "to_timestamp(dn, '%Y%m%d')": ("strptime(dn, '%Y%m%d')", SPELLING),
    "to_date(ts)": ("CAST(ts AS DATE)", SPELLING),
    "to_timestamp(dt)": ("CAST(dt AS TIMESTAMP)", SPELLING),
    "year(to_date(ds))": ("year(CAST(ds AS DATE))", SPELLING),
    "to_date(ds) > dt": ("CAST(ds AS DATE) > dt", SPELLING),
    "to_date('2020-01-05')": ("DATE '2020-01-05'", SPELLING),
    "cast(ns as int)": ("CAST(ns AS BIGINT)", SPELLING),
    "cast(f as int)": ("CAST(f AS BIGINT)", SPELLING),
    "cast(d as int)": ("CAST(d AS BIGINT)", SPELLING),
    "cast(e as int)": ("CAST(e AS BIGINT)", SPELLING),
    "cast(b as int)": ("CAST(b AS BIGINT)", SPELLING),
    "cast(null as int)": ("CAST(NULL AS BIGINT)", SPELLING),
    "cast(ns as float)": ("CAST(ns AS DOUBLE)", SPELLING),
    "cast(i as float)": ("CAST(i AS DOUBLE)", SPELLING),
    "cast(d as float)": ("CAST(d AS DOUBLE)", SPELLING),
    "cast(b as float)": ("CAST(b AS DOUBLE)", SPELLING),
}

FILTER_SQL = {
    "i / j > 1": ("i / NULLIF(j, 0) > 1", "div_zero"),
}

# one entry per AGG_CASES entry, in order: ({name: SQL}, having SQL)
_FIRST = "first({0} ORDER BY id) FILTER (WHERE {0} IS NOT NULL)"
_LAST = "last({0} ORDER BY id) FILTER (WHERE {0} IS NOT NULL)"
AGG_SQL = [
    ({"n": "count(*)", "ni": "count(i)", "cs": "count(DISTINCT s)",
      "si": "CAST(sum(i) AS BIGINT)", "sf": "sum(f)", "sd": "sum(d)"}, None),
    ({"mi": "avg(i)", "mf": "avg(f)", "md": "avg(d)", "std": "stddev_samp(f)",
      "var": "var_samp(i)"}, None),
    ({"mins": "min(s)", "maxs": "max(s)", "mindt": "min(dt)", "maxts": "max(ts)",
      "mind": "min(d)", "maxf": "max(f)"}, None),
    ({"fi": _FIRST.format("i"), "lf": _LAST.format("f"), "fs": _FIRST.format("s"),
      "ldt": _LAST.format("dt"), "fd": _FIRST.format("d"), "lts": _LAST.format("ts")}, None),
    ({"avg": "sum(i) / count(*)", "rng": "max(i) - min(i)", "sp": "CAST(sum(i * j) AS BIGINT)",
      "m1": "avg(f) + 1", "key": "k", "z": "coalesce(CAST(sum(i) AS BIGINT), 0)",
      "lab": "if(count(i) > 2, 'many', 'few')", "up": "upper(k) || '!'"}, None),
    ({"n": "count(*)", "si": "CAST(sum(i) AS BIGINT)", "mx": "max(s)"}, None),
    ({"n": "count(*)", "sd": "sum(d * 2)", "cd": "count(DISTINCT b)"}, None),
    ({"n": "count(*)", "si": "CAST(sum(i) AS BIGINT)", "mf": "avg(f)", "cs": "count(DISTINCT k)",
      "fs": _FIRST.format("s"), "ls": _LAST.format("s"), "sd": "stddev_samp(d)",
      "mn": "min(dt)"}, None),
    ({"n": "count(*)", "si": "CAST(sum(i) AS BIGINT)"}, "count(*) > 1"),
    ({"si": "CAST(sum(i) AS BIGINT)"}, "sum(i) > 0 AND k IS NOT NULL"),
    ({"n": "count(*)"}, "max(f) > $p_float"),
    ({"sb": "CAST(sum(CAST(b AS BIGINT)) AS BIGINT)", "anyb": "max(b)",
      "x": "CAST(sum(i) AS BIGINT) * $p_int"}, None),
    ({"n": "count(*)"}, "count(*) > 100"),
]
# why the aggregate SQL is not etlc's text: names (mean -> avg, std -> stddev_samp,
# var -> var_samp, count_distinct -> count(DISTINCT)) are SPELLING; the rest:
AGG_REASONS = ("first_last_nulls", "sum_int", SPELLING)

for _sql, _reason in [*ROW_SQL.values(), *FILTER_SQL.values()]:
    _tag(_reason)
for _reason in AGG_REASONS:
    _tag(_reason)


from oracle_more import MORE_AGG_SQL, MORE_DIFFERENCES, MORE_FILTER_SQL, MORE_ROW_SQL

DIFFERENCES.update(MORE_DIFFERENCES)
ROW_SQL.update(MORE_ROW_SQL)
FILTER_SQL.update(MORE_FILTER_SQL)
AGG_SQL += MORE_AGG_SQL
for _sql, _reason in [*MORE_ROW_SQL.values(), *MORE_FILTER_SQL.values()]:
    _tag(_reason)


def row_sql(text: str) -> str:
    """The hand-written DuckDB SQL of a row expression of cases.py."""
    return ROW_SQL[text][0] if text in ROW_SQL else text


def filter_sql(text: str) -> str:
    return FILTER_SQL[text][0] if text in FILTER_SQL else text
