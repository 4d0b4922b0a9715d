"""The one cast table of etlc: what ``cast(x as T)`` and the ``cast:`` step key do, equal to
DuckDB's ``CAST`` (docs/types.md, "Casts", is this table in words).

Pandas-free: the type checker, the SQL renderer and the duckdb engine's ``cast:`` step read
it; the pandas evaluator (``pandas_cast.cast_series``) and the pandas engine's ``cast:`` step
(``pandas_cast.step_cast``) implement its rules.  A value the table has no result for is an
error naming the value, never a null.
"""
from __future__ import annotations

from collections.abc import Callable

__all__ = ["BOOL_FALSE", "BOOL_TRUE", "CASTS", "FLOAT_WORDS", "ISO_SPACE", "ISO_TEXT",
           "NUMBER_TEXT", "allowed", "iso_text_sql", "number_text_sql", "rule", "step_sql",
           "text_number_sql"]

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
    ("string", "int"): "surrounding spaces ignored; digits, a fraction or an exponent "
                       "('2.5', '1e3'), rounded half away from zero; anything else is an error",
    ("string", "float"): "surrounding spaces ignored; a number ('1e3', 'inf', 'nan'); "
                         "anything else is an error",
    ("string", "decimal"): "surrounding spaces ignored; a number rounded half away from zero "
                           "to the scale; anything else is an error",
    ("string", "bool"): "true t yes y 1 / false f no n 0 in any letter case, nothing else "
                        "(no spaces, not 'on'/'off'): anything else is an error",
    ("string", "date"): "ISO 'YYYY-MM-DD'; anything else is an error",
    ("string", "timestamp"): "ISO 'YYYY-MM-DD[ HH:MM:SS[.ffffff]]'; anything else is an error",
    ("bool", "int"): "1 / 0",
    ("bool", "float"): "1.0 / 0.0",
    ("bool", "string"): "'true' / 'false'",
    ("date", "string"): "'YYYY-MM-DD'",
    ("date", "timestamp"): "midnight",
    ("timestamp", "string"): "'YYYY-MM-DD HH:MM:SS' and '.ffffff' without trailing zeros "
                             "when there is a fraction",
    ("timestamp", "date"): "the date (the time of day is dropped)",
    # timestamptz: an instant, shown in UTC (DuckDB with TimeZone 'UTC')
    ("string", "timestamptz"): "ISO 'YYYY-MM-DD[ HH:MM:SS[.ffffff]][offset]' ('Z', '+02', "
                               "'+02:00'); without an offset the time is UTC; anything else "
                               "is an error",
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
        return (f"(CASE WHEN {x} IS NULL THEN NULL WHEN {number_text_sql(x, 'int')} AND "
                f"TRY_CAST({x} AS BIGINT) IS NOT NULL "
                f"THEN CAST({x} AS BIGINT) ELSE CAST({fail} AS BIGINT) END)")
    if "timestamptz" in (src, dst) and src != "string":
        return f"CAST({x} AS {_ZONED_SQL[dst]})"
    if (src, dst) == ("string", "timestamptz"):  # DuckDB's CAST (TimeZone UTC)
        fail = (bad or _error)("not a valid timestamptz")
        return (f"(CASE WHEN {x} IS NULL THEN NULL WHEN TRY_CAST(trim({x}) AS TIMESTAMPTZ) IS "
                f"NOT NULL THEN CAST(trim({x}) AS TIMESTAMPTZ) ELSE CAST({fail} AS "
                f"TIMESTAMPTZ) END)")
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


def number_text_sql(x: str, dst: str) -> str:
    """DuckDB SQL true where the text ``x`` is a number the table casts to ``dst`` (int,
    float, decimal): DuckDB's CAST reads more (hexadecimal, digit separators)."""
    ok = f"regexp_full_match({x}, '{NUMBER_TEXT}')"
    return f"({ok} OR regexp_full_match({x}, '{FLOAT_WORDS}', 'i'))" if dst == "float" else ok


def text_number_sql(x: str, dst: str, target: str) -> str:
    """``cast(x as dst)`` of text in an expression (float, decimal; ``target`` the SQL
    type): DuckDB's CAST of number text, the cast's error for any other text."""
    return (f"(CASE WHEN {x} IS NULL THEN NULL WHEN {number_text_sql(x, dst)} THEN "
            f"CAST({x} AS {target}) ELSE CAST({_error(f'not a valid {dst}')} AS {target}) END)")
