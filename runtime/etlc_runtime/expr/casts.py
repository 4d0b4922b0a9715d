"""The one cast table of etlc: what ``cast(x as T)`` and the ``cast:`` step key do, equal to
DuckDB's ``CAST`` (docs/types.md, "Casts", is this table in words).

Pandas-free: the type checker, the SQL renderer and the duckdb engine's ``cast:`` step read
it; the pandas evaluator (``pandas_cast.cast_series``) and the pandas engine's ``cast:`` step
(``pandas_cast.step_cast``) implement its rules.  A value the table has no result for is an
error naming the value, never a null.
"""
from __future__ import annotations

from collections.abc import Callable

__all__ = ["BOOL_FALSE", "BOOL_TRUE", "CASTS", "FINE_FRACTION", "FLOAT_WORDS", "ISO_SPACE",
           "ISO_TEXT", "NUMBER_TEXT", "allowed", "iso_text_sql", "number_text_sql", "rule",
           "step_sql", "temporal_text_bad_sql", "text_number_sql", "text_temporal_sql",
           "trim_sql"]

# string -> bool: DuckDB's words, any letter case, no surrounding spaces
BOOL_TRUE = ("true", "t", "yes", "y", "1")
BOOL_FALSE = ("false", "f", "no", "n", "0")

# text that casts to a number: DuckDB's, less its hexadecimal ('0x10') and digit
# separators ('1_000'), which are errors in etlc
NUMBER_TEXT = r"\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*"
# and as a float also NaN and infinity, in any letter case (DuckDB's words)
FLOAT_WORDS = r"\s*[+-]?(nan|inf|infinity)\s*"

# date and timestamp text as every engine reads it (docs/types.md, "Text accepted"):
# YYYY-MM-DD, then optionally T or a space, HH:MM[:SS[.fraction]] and a zone (Z, +HH,
# +HHMM, +HH:MM, at most 23:59; DuckDB reads +25:00 and +02:60); the year 0000 is refused apart (iso_text_sql, arrow_convert), the calendar
# and the fraction past the microsecond by the parse.  DuckDB's CAST reads much more
# ('2020-1-2', '99-01-02', 'epoch', 'infinity', '(BC)', '24:00:00'), Arrow's 'T03'
ISO_TEXT = (r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ]([01][0-9]|2[0-3]):[0-5][0-9]"
            r"(:[0-5][0-9](\.[0-9]+)?)?(Z|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?")
# the whitespace around it: Unicode's, as Arrow's utf8_trim_whitespace strips it
ISO_SPACE = ("\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
             + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000")
# a fraction finer than the microsecond (a digit past the sixth that is not zero): refused
FINE_FRACTION = r"\.[0-9]{6}[0-9]*[1-9]"

# (from, to) -> the rule; a pair absent from the table is E405 at compile time
CASTS: dict[tuple[str, str], str] = {
    ("int", "float"): "the nearest double",
    ("int", "decimal"): "exact; a value beyond the precision is an error",
    ("int", "string"): "decimal digits, '-' for negatives",
    ("int", "bool"): "x <> 0",
    ("float", "int"): "rounded half to even (2.5 -> 2, -2.5 -> -2, 0.5 -> 0); NaN, inf or "
                      "beyond 64 bits is an error",
    ("float", "decimal"): "rounded half away from zero to the scale (2.25 -> 2.3); NaN, inf "
                          "or more digits than the precision (18 unless given) is an error",
    ("float", "string"): "shortest text that reads back the same double ('1.0', '1e+20', "
                        "'-0.0'); every NaN is 'nan'",
    ("float", "bool"): "x <> 0",
    ("decimal", "int"): "rounded half away from zero (2.5 -> 3, -2.5 -> -3)",
    ("decimal", "float"): "the nearest double",
    ("decimal", "decimal"): "rounded half away from zero to the new scale; more digits "
                            "than the precision is an error",
    ("decimal", "string"): "every digit of the scale ('1.50' for decimal(2)); no negative "
                          "zero ('0.00')",
    ("decimal", "bool"): "x <> 0",
    ("string", "int"): "surrounding whitespace ignored; digits, a fraction or an exponent "
                       "('2.5', '1e3'), rounded half away from zero; anything else is an error",
    ("string", "float"): "surrounding whitespace ignored; a number ('1e3', 'inf', 'nan'); "
                         "anything else is an error",
    ("string", "decimal"): "surrounding whitespace ignored; a number rounded half away from zero "
                           "to the scale; anything else is an error",
    ("string", "bool"): "true t yes y 1 / false f no n 0 in any letter case, nothing else "
                        "(no spaces, not 'on'/'off'): anything else is an error",
    ("string", "date"): "date text by the one rule ('YYYY-MM-DD', a time of day dropped); "
                        "anything else is an error",
    ("string", "timestamp"): "date text by the one rule ('YYYY-MM-DD[ HH:MM[:SS[.ffffff]]]'); "
                             "anything else is an error",
    ("bool", "int"): "1 / 0",
    ("bool", "float"): "1.0 / 0.0",
    ("bool", "string"): "'true' / 'false'",
    ("date", "string"): "'YYYY-MM-DD'",
    ("date", "timestamp"): "midnight",
    ("timestamp", "string"): "'YYYY-MM-DD HH:MM:SS' and '.ffffff' without trailing zeros "
                             "when there is a fraction",
    ("timestamp", "date"): "the date (the time of day is dropped)",
    # timestamptz: an instant, shown in UTC (DuckDB with TimeZone 'UTC')
    ("string", "timestamptz"): "date text by the one rule with an optional offset ('Z', "
                               "'+02', '+02:00'); without an offset the time is UTC; anything "
                               "else is an error",
    ("timestamp", "timestamptz"): "the same wall time read as UTC",
    ("date", "timestamptz"): "midnight UTC",
    ("timestamptz", "timestamp"): "the UTC wall time",
    ("timestamptz", "date"): "the UTC date",
    ("timestamptz", "string"): "'YYYY-MM-DD HH:MM:SS[.ffffff]+00' (the UTC time, '+00' as "
                               "DuckDB writes it)",
}

# json: equal to DuckDB's CAST of its JSON type where both give a value; an error elsewhere
CASTS.update({
    ("string", "json"): "the text in canonical form (DuckDB's json(s)) when it is one JSON "
                        "value; anything else is an error",
    ("json", "string"): "the JSON text (a JSON string keeps its quotes: json_extract_string "
                        "or ->> gives the string itself)",
    ("json", "int"): "a JSON number within 64 bits (a fraction rounded half to even), a JSON "
                     "string of digits with an optional '-' and surrounding spaces, true/false "
                     "as 1/0; a JSON null is null; anything else is an error",
    ("json", "float"): "a JSON number (NaN, Infinity too), a JSON string holding a number or "
                       "nan, inf, -inf, true/false as 1.0/0.0; a JSON null is null; anything "
                       "else is an error",
    ("json", "bool"): "true/false, a number x <> 0, a JSON string true t false f (any letter "
                      "case); a JSON null is null; anything else is an error",
})


def allowed(src: str, dst: str) -> bool:
    """Whether a value of type ``src`` casts to ``dst`` (the same type always does; open
    types, null and unknown, fit anywhere)."""
    return src == dst or src in ("null", "unknown") or (src, dst) in CASTS


def rule(src: str, dst: str) -> str:
    """The rule of a cast in words (docs and error messages)."""
    if src == dst and dst != "decimal":
        return "unchanged"
    return CASTS[(src, dst)]


_ZONED_SQL = {"timestamptz": "TIMESTAMPTZ", "timestamp": "TIMESTAMP", "date": "DATE",
              "string": "VARCHAR"}


def _error(reason: str) -> str:
    return f"error('R040 cast: {reason}')"


def step_sql(x: str, src: str, dst: str, bad: Callable[[str], str] | None = None) -> str | None:
    """DuckDB SQL of the ``cast:`` step for the pairs where the table's rule is DuckDB's own
    CAST of a non-text value (``bad(reason)``, SQL raising the engine's data error, guards
    text that would not convert), or None where the engine keeps its own conversion (text
    parsed by the readers' rules, decimals kept exact)."""
    if (src, dst) == ("float", "int"):
        return f"CAST({x} AS BIGINT)"  # DuckDB rounds a double half to even
    if (src, dst) == ("float", "string"):  # DuckDB writes a NaN with its sign bit '-nan'
        return f"replace(CAST({x} AS VARCHAR), '-nan', 'nan')"
    if (src, dst) == ("string", "int"):
        fail = (bad or _error)("not a valid int")
        v = trim_sql(x)
        return (f"(CASE WHEN {x} IS NULL THEN NULL WHEN {number_text_sql(x, 'int')} AND "
                f"TRY_CAST({v} AS BIGINT) IS NOT NULL "
                f"THEN CAST({v} AS BIGINT) ELSE CAST({fail} AS BIGINT) END)")
    if "timestamptz" in (src, dst) and src != "string":
        return f"CAST({x} AS {_ZONED_SQL[dst]})"
    if (src, dst) == ("string", "timestamptz"):  # the one rule; DuckDB's CAST (TimeZone UTC)
        return text_temporal_sql(x, "timestamptz", bad or _error)
    if (src, dst) == ("string", "bool"):
        words_t = ", ".join(f"'{w}'" for w in BOOL_TRUE)
        words_f = ", ".join(f"'{w}'" for w in BOOL_FALSE)
        fail = (bad or _error)("not a valid bool")
        return (f"(CASE WHEN {x} IS NULL THEN NULL WHEN lower({x}) IN ({words_t}) THEN TRUE "
                f"WHEN lower({x}) IN ({words_f}) THEN FALSE ELSE CAST({fail} AS BOOLEAN) END)")
    return None


def iso_text_sql(x: str) -> str:
    """DuckDB SQL true where the (trimmed) text ``x`` has the shape of :data:`ISO_TEXT`."""
    return f"(regexp_full_match({x}, '{ISO_TEXT}') AND NOT starts_with({x}, '0000'))"


# the same as RE2 classes: ISO_SPACE, and date text with it around (one regular expression
# each, on the text as it is: a trim per check cost about 1 us a value)
_WS = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in ISO_SPACE) + "]"
_SPACED = f"{_WS}*({ISO_TEXT}){_WS}*"
_OFF_RULE = f"^{_WS}*0000|{FINE_FRACTION}"
# a zone other than UTC after the time (on text of the shape of ISO_TEXT)
_NOT_UTC = (f":[0-9]{{2}}(\\.[0-9]+)?[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?{_WS}*$",
            "[+-]00(:?00)?")


def temporal_text_bad_sql(x: str, zoneless: bool) -> str:
    """DuckDB SQL true where the text ``x`` is no date or timestamp text by the one rule
    (docs/types.md): not the shape of :data:`ISO_TEXT` within :data:`ISO_SPACE`, the year
    0000, digits finer than the microsecond, or (``zoneless``: a date or timestamp) a zone
    other than UTC. The calendar is DuckDB's cast's (``TRY_CAST`` of the trimmed text)."""
    bad = f"NOT regexp_full_match({x}, '{_SPACED}') OR regexp_matches({x}, '{_OFF_RULE}')"
    if zoneless:
        zone, zero = _NOT_UTC
        bad += (f" OR (regexp_matches({x}, '{zone}') AND NOT regexp_matches({x}, "
                f"'{zero}{_WS}*$'))")
    return f"({bad})"


def trim_sql(x: str) -> str:
    """DuckDB SQL of the text ``x`` without its surrounding :data:`ISO_SPACE` (DuckDB's
    ``trim`` with characters is slow: only text that starts or ends with one pays it)."""
    return (f"(CASE WHEN regexp_matches({x}, '^{_WS}|{_WS}$') THEN trim({x}, '{ISO_SPACE}') "
            f"ELSE {x} END)")


def text_temporal_sql(x: str, target: str, bad: Callable[[str], str] | None = None) -> str:
    """``cast(x as date | timestamp | timestamptz)``, ``to_date(x)``, ``to_timestamp(x)`` of
    text ``x`` in an expression on DuckDB (docs/types.md, "Date and timestamp text"): text
    that is DuckDB's own rendering of its cast takes the cast and skips the checks; other
    text must not be :func:`temporal_text_bad_sql` and must name a real day, else the query
    raises (``bad(reason)``, default R041; ``engines/duckdb/expr_errors`` names the row). A
    zone of offset zero is dropped for a date or timestamp; a date drops the time of day, as
    DuckDB's CAST."""
    sql_t = {"date": "DATE", "timestamp": "TIMESTAMP", "timestamptz": "TIMESTAMPTZ"}[target]
    reason = f"not {target} text by the one rule (or a zone other than UTC)"
    fail = f"CAST({(bad or _error41)(reason)} AS {sql_t})"
    exact = (f"(CASE WHEN {x} IS NULL THEN NULL WHEN "
             f"{temporal_text_bad_sql(x, target != 'timestamptz')} THEN {fail} "
             f"ELSE coalesce(TRY_CAST({trim_sql(x)} AS {sql_t}), {fail}) END)")
    if target == "timestamptz":
        return exact
    cast = f"TRY_CAST({x} AS {sql_t})"
    # the canonical rendering: 10 characters for a date, a timestamp's hour at 11 and 12
    # (as engines/duckdb/text_canonical: no longer year, '(BC)' or 'infinity')
    guard = f"length({x}) = 10" if target == "date" else \
        f"substr({x}, 11, 2) BETWEEN ' 0' AND ' 9'"
    return f"(CASE WHEN CAST({cast} AS VARCHAR) = {x} AND {guard} THEN {cast} ELSE {exact} END)"


def _error41(reason: str) -> str:
    return f"error('R041 cast: {reason}')"


def number_text_sql(x: str, dst: str) -> str:
    """DuckDB SQL true where the text ``x`` is a number the table casts to ``dst`` (int,
    float, decimal): DuckDB's CAST reads more (hexadecimal, digit separators). Surrounding
    Unicode whitespace (:data:`ISO_SPACE`, Python's ``str.strip``) is ignored, as the pandas
    evaluator strips it; DuckDB's CAST trims ASCII whitespace only."""
    v = trim_sql(x)
    ok = f"regexp_full_match({v}, '{NUMBER_TEXT}')"
    return f"({ok} OR regexp_full_match({v}, '{FLOAT_WORDS}', 'i'))" if dst == "float" else ok


def text_number_sql(x: str, dst: str, target: str) -> str:
    """``cast(x as dst)`` of text in an expression (float, decimal; ``target`` the SQL
    type): DuckDB's CAST of number text, the cast's error for any other text."""
    return (f"(CASE WHEN {x} IS NULL THEN NULL WHEN {number_text_sql(x, dst)} THEN "
            f"CAST({trim_sql(x)} AS {target}) ELSE CAST({_error(f'not a valid {dst}')} AS "
            f"{target}) END)")
