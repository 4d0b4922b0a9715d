"""Differential cases of issue 13 (numbers and logic, case, integer division, date and time,
text), over the columns of exprdata; appended to cases.ROW_CASES / FILTER_CASES. Their
hand-written DuckDB SQL, where the text is not its own oracle, is in oracle_more.py."""

NUMBER_CASES = [
    # log10 power mod sign greatest least nullif
    "log10(f)", "log10(i)", "log10(d)", "log10(100)", "log10(0)", "power(f, 2)", "power(i, 2)",
    "power(f, 0.5)", "power(2, i)", "power(d, 2)", "power(g, f)", "power(0, -1)",
    "mod(i, j)", "mod(i, 3)", "mod(f, g)", "mod(d, e)", "mod(i, 0)", "mod(-7, 3)",
    "sign(i)", "sign(f)", "sign(d)", "sign(-0.0)", "sign(j - i)",
    "greatest(i, j)", "greatest(i, j, 0)", "greatest(f, g)", "greatest(i, f)", "greatest(d, e)",
    "greatest(s, t)", "greatest(dt, date '2020-06-01')", "greatest(ts, ts)", "greatest(b, c)",
    "greatest(i, null)", "least(i, j)", "least(f, g, 0)", "least(s, t, 'b')", "least(d, 1)",
    "least(dt, ts)", "least(i)",
    "nullif(i, 0)", "nullif(i, j)", "nullif(s, '')", "nullif(s, t)", "nullif(f, 0)",
    "nullif(b, true)", "nullif(dt, date '2020-01-02')", "nullif(i, null)", "nullif(d, 1.25)",
    # integer division
    "i // j", "i // 2", "i // -2", "-7 // 2", "7 // -2", "i // 0", "j // i", "(i + j) // 3",
    "i // j * j + i % j",
    # case
    "case when i > 0 then 'pos' when i < 0 then 'neg' else 'zero' end",
    "case when i > 0 then 'pos' when i < 0 then 'neg' end",
    "case when b then i else j end", "case when b then f else i end",
    "case when b then d when c then e end", "case when null then 1 else 2 end",
    "case when s is null then 'none' else upper(s) end", "case i when 3 then 'three' end",
    "case i when 3 then 'three' when 5 then 'five' else 'other' end",
    "case k when 'a' then 1 when 'b' then 2 end", "case when i > j then dt else ts end",
    "case when b then null else s end", "case when i > 0 then i // 2 else -i end + 1",
    "case s when t then 'same' else 'diff' end", "case when c then true else b end",
    # between
    "i between j and i + 1", "f not between g and 2", "dt between date '2020-01-01' and dt",
    "i between 10 and 0", "s not between 'a' and 'b'", "d between e and 2",
]

DATE_CASES = [
    "hour(ts)", "minute(ts)", "second(ts)", "millisecond(ts)", "dayofweek(ts)",
    "dayofyear(ts)", "week(ts)", "quarter(ts)", "hour(dt)", "minute(dt)", "dayofweek(dt)",
    "dayofyear(dt)", "week(dt)", "quarter(dt)", "week(date '2021-01-01')",
    "millisecond(timestamp '2020-01-01 00:00:07.123456')",
    "date_trunc('year', ts)", "date_trunc('quarter', ts)", "date_trunc('month', ts)",
    "date_trunc('week', ts)", "date_trunc('day', ts)", "date_trunc('hour', ts)",
    "date_trunc('minute', ts)", "date_trunc('second', ts)", "date_trunc('month', dt)",
    "date_trunc('week', dt)", "date_trunc('YEAR', dt)",
    "date_diff('year', dt, ts)", "date_diff('quarter', dt, ts)", "date_diff('month', dt, ts)",
    "date_diff('week', dt, ts)", "date_diff('day', dt, ts)", "date_diff('hour', dt, ts)",
    "date_diff('minute', ts, dt)", "date_diff('second', ts, dt)",
    "date_diff('millisecond', ts, timestamp '2020-01-01 00:00:00')",
    "date_diff('day', dt, date '2020-01-01')", "date_diff('month', date '2020-01-31', dt)",
    "date_diff('week', date '2020-01-08', dt)",
    # every argument constant: the evaluator broadcasts them, the unit included
    "date_diff('day', date '2025-01-01', date '2025-03-04')",
    "date_diff('month', date '2025-01-31', timestamp '2025-03-01 00:00:00')",
    "date_trunc('month', date '2025-03-04')",
    "epoch(ts)", "epoch(dt)", "epoch(timestamp '1969-12-31 23:59:59.5')",
    "strftime(ts, '%Y/%m/%d %H:%M:%S')", "strftime(dt, '%d.%m.%Y')",
    "strftime(ts, '%j %a %b %y')", "strftime(ts, '%I %p %%')",
    "strptime(ds, '%Y-%m-%d')", "strptime(dn, '%Y%m%d')", "year(strptime(dn, '%Y%m%d'))",
    "to_timestamp(epoch(ts))", "date_trunc('month', dt) = date_trunc('month', ts)",
]

FILTER_MORE = [
    "hour(ts) >= 12", "case when b then i > 0 else f > 0 end", "greatest(i, j) > 3",
    "nullif(s, '') is null", "date_diff('day', dt, ts) > 0", "i // 2 = 1",
    "dayofweek(dt) in (0, 6)",
]

MORE_ROW_CASES = NUMBER_CASES + DATE_CASES

TEXT_CASES = [
    "concat(s, t)", "concat(s, '-', t)", "concat(s)", "concat(null, s)", "concat(k, s, t)",
    "concat_ws('-', s, t)", "concat_ws(', ', s, t, k)", "concat_ws(s, t, k)",
    "concat_ws('', s, t)", "concat_ws(null, s)",
    "split_part(s, ' ', 1)", "split_part(s, ' ', 2)", "split_part(s, ' ', -1)",
    "split_part(s, 'b', 1)", "split_part(s, '', 2)", "split_part(s, ' ', 0)",
    "split_part(s, t, 1)", "split_part('a,b,c', ',', i)", "split_part(ds, '-', 2)",
    "lpad(s, 5, '*')", "lpad(s, 2, '*')", "lpad(s, 6, 'xy')", "rpad(s, 5, '.')",
    "rpad(s, 1, '.')", "lpad(ns, 4, '0')", "lpad(s, -1, 'x')", "rpad(s, j, 'ab')",
    "ltrim(s)", "rtrim(s)", "ltrim(s, 'aA')", "rtrim(s, 'cbz')", "ltrim(rtrim(s))",
    "left(s, 2)", "left(s, 0)", "left(s, -1)", "left(s, 20)", "right(s, 2)", "right(s, -1)",
    "right(s, 20)", "left(s, j)", "right(s, j)",
    "strpos(s, 'b')", "strpos(s, t)", "strpos(s, '')", "strpos('hello', 'l')",
    "s like 'a%'", "s like '%b%'", "s like '_b'", "s like 'A_'", "s not like '%x%'",
    "s like t", "s like ''", "s like '%'", "s ilike 'a%'", "s ilike '%B%'",
    "s not ilike 'abc'", "s ilike 'ÇÃO'", "ds like '2020-__-__'",
    "regexp_matches(s, '^a')", "regexp_matches(s, '[A-Z]')", "regexp_matches(s, 'b$')",
    "regexp_matches(s, '\\s')", "regexp_matches(ds, '^[0-9]{4}-0[1-6]')",
    "regexp_matches(s, '(?i)AB')", "regexp_replace(s, 'b', 'X')",
    "regexp_replace(s, '[a-z]', '_', 'g')", "regexp_replace(s, '([a-z])', '<\\1>')",
    "regexp_replace(ds, '([0-9]+)-([0-9]+)-([0-9]+)', '\\3/\\2/\\1')",
    "regexp_replace(s, '^', '>')", "regexp_extract(s, '[a-z]+')",
    "regexp_extract(ds, '([0-9]+)-([0-9]+)', 2)", "regexp_extract(s, 'z')",
    "regexp_extract(s, '(x)|(b)', 2)",
    "md5(s)", "sha256(s)", "md5('')", "length(sha256(t))",
]

FILTER_MORE += [
    "s like '%b%'", "s not ilike 'a%'", "regexp_matches(ds, '^20[0-9]{2}-0')",
    "strpos(s, 'b') > 0", "left(ds, 4) = '2020'",
]

MORE_ROW_CASES += TEXT_CASES

INTERVAL_CASES = [
    "ts + interval '2 hours'", "ts - interval '90 minutes'", "ts + interval '1 month'",
    "ts - interval '1 year 2 months'", "dt + interval '1 day'", "dt + interval '1 month'",
    "dt - interval '1 hour'", "interval '1 week' + ts", "ts + interval '-3 days 4 hours'",
    "ts + interval '1500 milliseconds'", "date_add(dt, interval '1 month')",
    "date_add(ts, interval '2 days 3 seconds')", "epoch(ts - timestamp '2020-01-01 00:00:00')",
    "epoch(ts - dt)", "epoch(interval '1 month 1 day')", "ts - dt > interval '1 day'",
    "ts - dt <= interval '0 seconds'", "epoch(interval '1 day' + interval '2 hours')",
    "ts + (interval '1 day' - interval '1 hour')", "date_add(date '2020-01-31', interval '1 month')",
    "year(ts + interval '6 months')", "date_trunc('day', ts + interval '12 hours')",
]

MORE_ROW_CASES += INTERVAL_CASES
FILTER_MORE += ["ts - dt > interval '1 day'", "ts + interval '1 year' > timestamp '2021-01-01'"]

WINDOW_CASES = [
    "row_number() over (order by id)", "row_number() over (partition by k order by id)",
    "row_number() over (partition by k order by id desc)",
    "row_number() over (partition by m order by i, id)",
    "row_number() over (partition by m order by i desc, id)",
    "row_number() over (partition by k, m order by ts, id)",
    "rank() over (order by m)", "rank() over (partition by k order by m)",
    "rank() over (order by i desc)", "rank() over (order by b)", "dense_rank() over (order by m)",
    "dense_rank() over (partition by m order by k)", "dense_rank() over (order by dt desc)",
    "rank() over (partition by m order by s)",
    "lag(i) over (order by id)", "lag(i, 2) over (partition by m order by id)",
    "lag(s, 1, 'none') over (partition by k order by id)", "lead(f) over (order by id)",
    "lead(d, 1, 0) over (partition by m order by id)", "lead(dt, 3) over (order by id desc)",
    "lag(i, 0) over (order by id)", "i - lag(i) over (partition by m order by id)",
    "first_value(s) over (partition by m order by id)",
    "first_value(i) over (partition by k order by id desc)",
    "last_value(i) over (partition by m order by id)", "last_value(s) over (order by m)",
    "sum(i) over (partition by k)", "sum(i) over (partition by m order by id)",
    "sum(f) over (order by id)", "sum(d) over (partition by m order by id)",
    "sum(i) over (order by m)", "sum(i) over ()", "count(*) over (partition by k)",
    "count(i) over (partition by m order by id)", "count(*) over (order by m)",
    "mean(i) over (partition by m)", "mean(f) over (partition by k order by id)",
    "min(i) over (partition by m)", "max(s) over (partition by m)",
    "min(f) over (order by id)", "max(dt) over (partition by m order by id)",
    "i * 100 / sum(i) over (partition by m)",
    "case when row_number() over (partition by k order by id desc) = 1 then 'newest' end",
]
MORE_ROW_CASES += WINDOW_CASES

# (group_by, {name: expr}, having): the new functions inside and around aggregates
AGG_MORE = [
    (["k"], {"pos": "sum(case when i > 0 then 1 else 0 end)", "nz": "count(nullif(i, 0))",
             "top": "max(greatest(i, j))", "mon": "max(date_trunc('month', ts))"}, None),
    (["m"], {"words": "count(*)", "b": "max(regexp_extract(s, '[a-z]+'))",
             "h": "sum(hour(ts))"}, "sum(i // 2) > 0"),
    ([], {"span": "date_diff('day', min(dt), max(dt))", "first_ab": "min(s) like 'a%'"}, None),
    # calls sharing an argument (evaluated and reduced once per argument), nulls among them
    (["k"], {"s": "sum(f)", "mf": "mean(f)", "n": "count(f)", "sd": "std(f)", "lo": "min(f)",
             "hi": "max(f)", "ni": "count(i)", "mi": "mean(i)", "si": "sum(i)"}, None),
]
