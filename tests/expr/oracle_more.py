"""Hand-written DuckDB SQL for the cases of cases_more.py whose text is not its own oracle,
each tagged with its reason (oracle_cases.DIFFERENCES, which these keys extend, or SPELLING)."""
from __future__ import annotations

SPELLING = "spelling"

MORE_DIFFERENCES = {
    "log10_domain": ("`log10(x)` of x <= 0 is null", "`-inf` (0) or `NaN` (negative)"),
    "power_nan": ("`power(x, y)` that is not a number (a negative x to a fractional y) is null",
                  "`NaN`"),
    "sign_int": ("`sign(x)` is an int (64-bit)", "a TINYINT"),
    "int_div_zero": ("`a // 0` and `mod(a, 0)` are null", "an error"),
    "pad_int": ("`lpad`/`rpad` take any int count", "a 32-bit INTEGER count only"),
}

MORE_ROW_SQL = {
    "log10(f)": ("CASE WHEN f > 0 THEN log10(f) END", "log10_domain"),
    "log10(i)": ("CASE WHEN i > 0 THEN log10(i) END", "log10_domain"),
    "log10(d)": ("CASE WHEN d > 0 THEN log10(d) END", "log10_domain"),
    "log10(0)": ("CAST(NULL AS DOUBLE)", "log10_domain"),
    "power(f, 0.5)": ("CASE WHEN f >= 0 THEN power(f, 0.5) END", "power_nan"),
    "power(g, f)": ("CASE WHEN NOT isnan(power(g, f)) THEN power(g, f) END", "power_nan"),
    "mod(i, j)": ("i % NULLIF(j, 0)", "int_div_zero"),
    "mod(f, g)": ("f % NULLIF(g, 0)", "int_div_zero"),
    "mod(d, e)": ("d % NULLIF(e, 0)", "int_div_zero"),
    "mod(i, 0)": ("i % NULLIF(0, 0)", "int_div_zero"),
    "mod(-7, 3)": ("CAST(-7 AS BIGINT) % 3", "int_literal"),
    "sign(i)": ("CAST(sign(i) AS BIGINT)", "sign_int"),
    "sign(f)": ("CAST(sign(f) AS BIGINT)", "sign_int"),
    "sign(d)": ("CAST(sign(d) AS BIGINT)", "sign_int"),
    "sign(-0.0)": ("CAST(0 AS BIGINT)", "sign_int"),
    "sign(j - i)": ("CAST(sign(j - i) AS BIGINT)", "sign_int"),
    "greatest(i, j, 0)": ("greatest(i, j, CAST(0 AS BIGINT))", "int_literal"),
    "least(i)": ("i", SPELLING),
    "nullif(i, 0)": ("nullif(i, CAST(0 AS BIGINT))", "int_literal"),
    "i // j": ("i // NULLIF(j, 0)", "int_div_zero"),
    "i // 0": ("i // NULLIF(0, 0)", "int_div_zero"),
    "j // i": ("j // NULLIF(i, 0)", "int_div_zero"),
    "-7 // 2": ("CAST(-7 AS BIGINT) // 2", "int_literal"),
    "7 // -2": ("CAST(7 AS BIGINT) // -2", "int_literal"),
    "i // j * j + i % j": ("i // NULLIF(j, 0) * j + i % NULLIF(j, 0)", "int_div_zero"),
    "to_timestamp(epoch(ts))": ("CAST(to_timestamp(epoch(ts)) AS TIMESTAMP)",
                                "to_timestamp_number"),
    "case when b then d when c then e end":
        ("CAST(CASE WHEN b THEN d WHEN c THEN e END AS DECIMAL(18, 2))", SPELLING),
    "case when null then 1 else 2 end": ("CAST(2 AS BIGINT)", "int_literal"),
    "case k when 'a' then 1 when 'b' then 2 end":
        ("CASE k WHEN 'a' THEN CAST(1 AS BIGINT) WHEN 'b' THEN 2 END", "int_literal"),
    "case when i > 0 then i // 2 else -i end + 1":
        ("CASE WHEN i > 0 THEN i // 2 ELSE -i END + 1", SPELLING),
}

MORE_ROW_SQL["rpad(s, j, 'ab')"] = ("rpad(s, CAST(j AS INTEGER), 'ab')", "pad_int")

# windows: DuckDB sums ints as HUGEINT, names the mean avg
MORE_ROW_SQL.update({
    "sum(i) over (partition by k)": ("CAST(sum(i) over (partition by k) AS BIGINT)", "sum_int"),
    "sum(i) over (partition by m order by id)":
        ("CAST(sum(i) over (partition by m order by id) AS BIGINT)", "sum_int"),
    "sum(i) over (order by m)": ("CAST(sum(i) over (order by m) AS BIGINT)", "sum_int"),
    "sum(i) over ()": ("CAST(sum(i) over () AS BIGINT)", "sum_int"),
    "mean(i) over (partition by m)": ("avg(i) over (partition by m)", SPELLING),
    "mean(f) over (partition by k order by id)": ("avg(f) over (partition by k order by id)",
                                                  SPELLING),
    "i * 100 / sum(i) over (partition by m)":
        ("i * 100 / NULLIF(sum(i) over (partition by m), 0)", "div_zero"),
    "sum(d) over (partition by m order by id)":
        ("CAST(sum(d) over (partition by m order by id) AS DECIMAL(38, 2))", SPELLING),
    "lead(d, 1, 0) over (partition by m order by id)":
        ("lead(d, 1, 0.00) over (partition by m order by id)", SPELLING),
})

MORE_FILTER_SQL: dict[str, tuple[str, str]] = {}

# AGG_MORE's SQL, in order (DuckDB sums ints as HUGEINT: sum_int)
MORE_AGG_SQL = [
    ({"pos": "CAST(sum(CASE WHEN i > 0 THEN 1 ELSE 0 END) AS BIGINT)",
      "nz": "count(nullif(i, 0))", "top": "max(greatest(i, j))",
      "mon": "max(date_trunc('month', ts))"}, None),
    ({"words": "count(*)", "b": "max(regexp_extract(s, '[a-z]+'))",
      "h": "CAST(sum(hour(ts)) AS BIGINT)"}, "sum(i // NULLIF(2, 0)) > 0"),
    ({"span": "date_diff('day', min(dt), max(dt))", "first_ab": "min(s) LIKE 'a%'"}, None),
    ({"s": "sum(f)", "mf": "avg(f)", "n": "count(f)", "sd": "stddev_samp(f)", "lo": "min(f)",
      "hi": "max(f)", "ni": "count(i)", "mi": "avg(i)", "si": "CAST(sum(i) AS BIGINT)"}, None),
]
