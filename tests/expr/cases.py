"""Expression cases for the differential tests against DuckDB (columns from exprdata)."""

ROW_CASES = [
    # literals and params
    "1", "-5", "2.50", "1e2", "'text'", "true", "false", "null", "date '2020-01-02'",
    "timestamp '2020-01-02 03:04:05'", "$p_int", "$p_float", "$p_str", "$p_date", "$p_dec",
    "$p_bool", "$p_null",
    # arithmetic on ints
    "i + j", "i - j", "i * j", "i / j", "i % j", "-i", "- -i", "i + 1", "1 - i", "i * 2 + j",
    "i * (2 + j)", "(i + j) * (i - j)", "i / 0", "i % 0", "0 / i", "i % 3", "i % -3", "-i % 3",
    "i + $p_int", "i * $p_null", "i / 2", "7 / 2", "7 % 2", "i / j / 2",
    # floats
    "f + g", "f - g", "f * g", "f / g", "f % g", "-f", "f + i", "f * 2", "f / 0", "f % 0",
    "f * $p_float", "f + 1e1", "f % 2", "i / f", "f - 0.5",
    # decimals
    "d + e", "d - e", "d * e", "d / e", "d % e", "-d", "d * 2", "d + 1.05", "d * 1.1",
    "d + f", "d * i", "d - i", "i + e", "d * $p_dec", "d / 0", "d % 0.3", "d + d + d",
    "e * e * e", "d - 0.01",
    # comparisons
    "i = j", "i != j", "i <> j", "i < j", "i <= j", "i > j", "i >= j", "i == 3", "i > 2.5",
    "f = g", "f < g", "f >= 0", "d = e", "d > 1.00", "d >= i", "d = 0.35", "f > d",
    "s = t", "s < t", "s >= t", "s = 'Ab'", "s > 'b'", "s != ''", "b = c", "b != c", "b < c",
    "dt < ts", "dt = '2020-01-02'", "dt > date '2020-06-01'", "ts >= '2020-06-01 00:00:00'",
    "ts < $p_date", "dt >= $p_date", "s = $p_str", "i = $p_null", "null = null", "1 < 2",
    # logic
    "b and c", "b or c", "not b", "not c", "b and null", "b or null", "null and false",
    "null or true", "not (b and c)", "not b or not c", "(i > 0) and (f > 0)",
    "(i > 0) or (f > 0)", "b and i > 0", "b or s = 'x'", "not (i > j)", "$p_bool and b",
    "i > 0 and j > 0 or b", "i > 0 and (j > 0 or b)",
    # is null, in, between
    "i is null", "i is not null", "s is null", "dt is not null", "null is null",
    "i + j is null", "i in (3, 5, 7)", "i not in (3, 5, 7)", "i in (3, null)",
    "i not in (3, null)", "i in (j, 3)", "i not in (j, 100)", "s in ('Ab', 'x', '')",
    "s not in ('Ab', null)", "f in (1.5, 2)", "d in (1.25, 0.35)", "d not in (1.25)",
    "dt in (date '2020-01-02', date '2024-03-01')", "b in (true)", "k in (s, t)",
    "i between 0 and 10", "i not between 0 and 10", "i between j and 10",
    "f between -1 and 2", "s between 'a' and 'c'", "dt between '2020-01-01' and '2021-01-01'",
    "d between -1 and 2.55", "i between null and 5",
    # concatenation
    "s || t", "s || '-' || t", "'<' || s || '>'", "s || null", "s || $p_str",
    # math functions
    "abs(i)", "abs(f)", "abs(d)", "round(f)", "round(f, 1)", "round(d, 1)", "round(d)",
    "round(e)", "round(i)", "round(i, -1)", "round(f, -1)", "round(d, 0)", "round(i * 1.5)",
    "floor(f)", "ceil(f)", "floor(d)", "ceil(d)", "floor(i)", "ceil(i)", "ceil(e)", "sqrt(f)", "sqrt(i)",
    "sqrt(d)", "ln(f)", "ln(i)", "ln(d)", "exp(g)", "exp(e)", "exp(j)", "round(f / 3, 2)",
    "abs(-7)", "sqrt(16)", "ln(0)",
    # string functions
    "lower(s)", "upper(s)", "trim(s)", "length(s)", "length(trim(s))", "substr(s, 2)",
    "substr(s, 2, 2)", "substr(s, -2)", "substr(s, -2, 1)", "substr(s, 0, 2)", "substr(s, 1, 0)",
    "substr(s, 2, -1)", "substr(s, -1, -2)", "substr(s, 10)", "substr(s, i, 2)",
    "substr(s, 1, j)", "substr(s, j)", "replace(s, 'a', 'X')", "replace(s, '', 'X')",
    "replace(s, t, 'Q')", "replace(s, 'b', t)", "replace(s, ' ', '')", "starts_with(s, 'a')",
    "starts_with(s, t)", "ends_with(s, 'c')", "ends_with(s, t)", "contains(s, 'b')",
    "contains(s, t)", "contains(s, '')", "starts_with(s, '')", "upper(s) = upper(t)",
    "lower('ÇÃO')", "length('ção')",
    # dates
    "year(dt)", "month(dt)", "day(dt)", "year(ts)", "month(ts)", "day(ts)", "dt + 1", "dt - 1",
    "dt + j", "1 + dt", "dt - dt", "dt - date '2020-01-01'", "to_date(ds)",
    "to_date(dn, '%Y%m%d')", "to_timestamp(ds)", "to_timestamp(dn, '%Y%m%d')", "to_date(ts)",
    "to_timestamp(dt)", "to_timestamp(i)", "to_timestamp(f)", "year(to_date(ds))",
    "to_date(ds) > dt", "to_date('2020-01-05')", "month(date '2020-03-04')",
    # conditionals
    "if(b, i, j)", "if(b, s, t)", "if(i > 0, f, d)", "if(b, s, null)", "if(null, 1, 2)",
    "if(i > j, 'gt', 'le')", "if(b, dt, ts)", "coalesce(i, j, 0)", "coalesce(s, t, 'none')",
    "coalesce(d, e)", "coalesce(dt, ts)", "coalesce(null, i)", "coalesce(f, i)",
    "coalesce(i)", "coalesce(null, null, 'z')", "coalesce(b, c, false)",
    # casts
    "cast(i as string)", "cast(f as string)", "cast(d as string)", "cast(e as string)",
    "cast(b as string)", "cast(dt as string)", "cast(ts as string)", "cast(ns as int)",
    "cast(ns as float)", "cast(ns as decimal(18, 2))", "cast(f as int)", "cast(d as int)",
    "cast(e as int)", "cast(i as float)", "cast(i as decimal(10, 2))", "cast(f as decimal(18, 1))",
    "cast(d as decimal(18, 1))", "cast(d as float)", "cast(b as int)", "cast(i as bool)",
    "cast(ds as date)", "cast(ds as timestamp)", "cast(ts as date)", "cast(dt as timestamp)",
    "cast(s as string)", "cast(null as int)", "cast('12' as int) + i", "cast(b as float)",
    "cast(i * 2 as string) || 'x'",
    # mixtures
    "if(coalesce(b, false), round(d * 2, 1), abs(e))",
    "upper(substr(coalesce(s, 'none'), 1, 2)) || cast(length(t) as string)",
    "(i + coalesce(j, 0)) % 4 = 1 or s is null",
    "round(sqrt(abs(f)) * 100) / 100",
    "year(dt) * 100 + month(dt)",
    "if(s in ('Ab', 'x'), 'hit', if(s is null, 'null', 'miss'))",
    "cast(round(f) as int) + i",
]

FILTER_CASES = [
    "i > 0", "b", "not b", "b and c", "b or c", "i > 0 and s is not null", "s = 'x'",
    "s in ('Ab', 'abc', 'zz')", "i not in (3, null)", "f between 0 and 5", "d >= 1.00",
    "dt >= '2020-01-01'", "ts < timestamp '2021-01-01 00:00:00'", "starts_with(s, 'a')",
    "contains(lower(s), 'b')", "i / j > 1", "coalesce(i, 0) = 0", "i > $p_int",
    "s = $p_str or f > $p_float", "null", "true", "false", "k is null", "length(s) > 2",
    "if(b, i > 0, f > 0)", "year(dt) = 2020", "not (i > 0 or f > 0)",
]

# (group_by, {name: expr}, having)
AGG_CASES = [
    (["k"], {"n": "count(*)", "ni": "count(i)", "cs": "count_distinct(s)", "si": "sum(i)",
             "sf": "sum(f)", "sd": "sum(d)"}, None),
    (["k"], {"mi": "mean(i)", "mf": "mean(f)", "md": "mean(d)", "std": "std(f)",
             "var": "var(i)"}, None),
    (["k"], {"mins": "min(s)", "maxs": "max(s)", "mindt": "min(dt)", "maxts": "max(ts)",
             "mind": "min(d)", "maxf": "max(f)"}, None),
    (["k"], {"fi": "first(i)", "lf": "last(f)", "fs": "first(s)", "ldt": "last(dt)",
             "fd": "first(d)", "lts": "last(ts)"}, None),
    (["k"], {"avg": "sum(i) / count(*)", "rng": "max(i) - min(i)", "sp": "sum(i * j)",
             "m1": "mean(f) + 1", "key": "k", "z": "coalesce(sum(i), 0)",
             "lab": "if(count(i) > 2, 'many', 'few')", "up": "upper(k) || '!'"}, None),
    (["k", "m"], {"n": "count(*)", "si": "sum(i)", "mx": "max(s)"}, None),
    (["m"], {"n": "count(*)", "sd": "sum(d * 2)", "cd": "count_distinct(b)"}, None),
    ([], {"n": "count(*)", "si": "sum(i)", "mf": "mean(f)", "cs": "count_distinct(k)",
          "fs": "first(s)", "ls": "last(s)", "sd": "std(d)", "mn": "min(dt)"}, None),
    (["k"], {"n": "count(*)", "si": "sum(i)"}, "count(*) > 1"),
    (["k"], {"si": "sum(i)"}, "sum(i) > 0 and k is not null"),
    (["m"], {"n": "count(*)"}, "max(f) > $p_float"),
    (["k"], {"sb": "sum(cast(b as int))", "anyb": "max(b)", "x": "sum(i) * $p_int"}, None),
    ([], {"n": "count(*)"}, "count(*) > 100"),
]

from cases_more import AGG_MORE, FILTER_MORE, MORE_ROW_CASES

ROW_CASES += MORE_ROW_CASES
FILTER_CASES += FILTER_MORE
AGG_CASES += AGG_MORE
