"""SQL converting values to declared types on the duckdb engine, value for value as the
pandas engine converts them (arrow_convert, dtypes): text parsed to a declared type
(:func:`from_text`, with the fast path of text_canonical), a column conformed to its declared
type (:func:`conform`), a step's ``cast`` (:func:`cast_sql`, with the one cast table of
expr/casts.py), and the R040 error raised in SQL where a value would change
(:func:`data_error`).  Nothing here runs SQL: each function returns an expression's text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...errors import StepError
from ...expr import casts
from ...expr.sql import sql_literal, sql_type
from ...expr.types import Type

_TRUE = ("true", "t", "1", "yes", "y")
_FALSE = ("false", "f", "0", "no", "n")

MARK = "[etlc-data-error "  # errors.DataError.MARK: the fields of an R040 raised in SQL
INT_TEXT = r"[+-]?[0-9]+(\.0*)?"
ZONE_TEXT = r"[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]*)?)? ?(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)$"
DEC_TEXT = r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)"
EXP_TEXT = r"[eE][+-]?[0-9]+"


def data_error(reason: str, name: str, value: str, file_sql: str | None = None) -> str:
    """SQL raising R040 for ``value`` (SQL text of the offending value): a readable message
    with the fields as JSON after :data:`MARK` (errors.DataError.from_exception)."""
    shown = f"coalesce(CAST({value} AS VARCHAR), 'NULL')"
    fields = (f"json_object('reason', {sql_literal(reason)}, 'column', {sql_literal(name)}, "
              f"'value', CAST({value} AS VARCHAR)"
              + (f", 'file', {file_sql}" if file_sql else "") + ")")
    return (f"error(concat({sql_literal(f'R040 column {name!r}: {reason}: value ')}, "
            f"{shown}, {sql_literal(' ' + MARK)}, CAST({fields} AS VARCHAR), ']'))")


def _tstz_text(v: str, bad) -> str:
    """ISO 8601 text with a zone offset to TIMESTAMPTZ (arrow_convert._zoned_text): text
    without an offset, or finer than the microsecond, is R040."""
    return (f"(CASE WHEN {v} IS NULL THEN NULL "
            f"WHEN NOT regexp_matches({v}, {sql_literal(ZONE_TEXT)}) THEN CAST("
            f"{bad('a timestamptz without a zone offset (Z, +02:00)')} AS TIMESTAMPTZ) "
            f"WHEN regexp_matches({v}, '\\.[0-9]{{6}}[0-9]*[1-9]') "
            f"THEN CAST({bad('timestamp finer than the microsecond')} AS TIMESTAMPTZ) "
            f"WHEN NOT {casts.iso_text_sql(v)} OR TRY_CAST({v} AS TIMESTAMPTZ) IS NULL "
            f"THEN CAST({bad('valid timestamp')} AS TIMESTAMPTZ) "
            f"ELSE CAST({v} AS TIMESTAMPTZ) END)")


def _ts_text(v: str, bad) -> str:
    """ISO 8601 text to TIMESTAMP: zoned values as UTC, no digit below the microsecond; text
    of any other shape (casts.ISO_TEXT: DuckDB's CAST reads '2020-1-2', 'epoch', 'infinity',
    '(BC)', a zone name it would drop) is R040, as the pandas engine's parser."""
    fail = f"CAST({bad('valid timestamp')} AS TIMESTAMP)"
    return (f"(CASE WHEN {v} IS NULL THEN NULL "
            f"WHEN regexp_matches({v}, '\\.[0-9]{{6}}[0-9]*[1-9]') "
            f"THEN CAST({bad('timestamp finer than the microsecond')} AS TIMESTAMP) "
            f"WHEN NOT {casts.iso_text_sql(v)} THEN {fail} "
            f"WHEN regexp_matches({v}, {sql_literal(ZONE_TEXT)}) THEN (CASE WHEN "
            f"TRY_CAST({v} AS TIMESTAMPTZ) IS NULL OR year(timezone('UTC', TRY_CAST({v} AS "
            f"TIMESTAMPTZ))) NOT BETWEEN 1 AND 9999 THEN {fail} "
            f"ELSE timezone('UTC', CAST({v} AS TIMESTAMPTZ)) END) "
            f"WHEN TRY_CAST({v} AS TIMESTAMP) IS NULL THEN {fail} "
            f"ELSE CAST({v} AS TIMESTAMP) END)")


_TEXT_TARGETS = {"int": "BIGINT", "float": "DOUBLE", "date": "DATE", "timestamp": "TIMESTAMP"}


def from_text(x: str, spec: Any, name: str, *, null_value: str | None = None,
              strict: bool = True, implied_scale: bool = False,
              file_sql: str | None = None) -> str:
    """SQL converting text ``x`` to a declared column type exactly as
    arrow_convert.text_to does (the pandas engine): surrounding whitespace ignored except
    for strings, ``null_value`` (compared after stripping, fixed-width fields) reads as null,
    values that do not convert unchanged raise R040 (``strict``) or become null.  Text that
    is DuckDB's own rendering of its cast skips the checks (text_canonical)."""
    exact = _exact_from_text(x, spec, name, null_value=null_value, strict=strict,
                             implied_scale=implied_scale, file_sql=file_sql)
    t = Type.from_spec(spec)
    if null_value is not None or implied_scale or t.name not in (*_TEXT_TARGETS, "decimal"):
        return exact
    from .text_canonical import canonical_first
    target = decimal_sql(spec) if t.name == "decimal" else _TEXT_TARGETS[t.name]
    return canonical_first(x, spec, target, exact)


def _exact_from_text(x: str, spec: Any, name: str, *, null_value: str | None,
                     strict: bool, implied_scale: bool, file_sql: str | None) -> str:
    t = Type.from_spec(spec)
    if t.name == "string":
        if null_value is None:
            return x
        return (f"(CASE WHEN {casts.trim_sql(x)} = {sql_literal(null_value)} THEN NULL "
                f"ELSE {x} END)")
    # surrounding Unicode whitespace ignored, as Arrow's utf8_trim_whitespace on the pandas
    # engine (DuckDB's trim() takes spaces only, its CAST ASCII whitespace); JSON text keeps
    # JSON's own whitespace rule (json_valid, Python's json)
    v = casts.trim_sql(x) if t.name != "json" else f"trim({x})"
    if null_value is not None:
        v = f"NULLIF({v}, {sql_literal(null_value)})"

    def bad(kind: str) -> str:
        if not strict:
            return "NULL"
        reason = kind if " " in kind else f"not a valid {kind}"
        return data_error(reason, name, v, file_sql)

    if t.name == "int":
        digits = f"regexp_replace({v}, '\\.0*$', '')"
        return (f"(CASE WHEN {v} IS NULL THEN NULL "
                f"WHEN regexp_full_match({v}, {sql_literal(INT_TEXT)}) AND "
                f"TRY_CAST({digits} AS BIGINT) IS NOT NULL THEN CAST({digits} AS BIGINT) "
                f"ELSE CAST({bad('int')} AS BIGINT) END)")
    if t.name == "float":   # DuckDB reads digit separators ('1_000'), Arrow does not
        return (f"(CASE WHEN {v} IS NULL THEN NULL WHEN TRY_CAST({v} AS DOUBLE) IS NULL "
                f"OR contains({v}, '_') THEN CAST({bad('float')} AS DOUBLE) "
                f"ELSE CAST({v} AS DOUBLE) END)")
    if t.name == "decimal":
        target = decimal_sql(spec)
        scale = t.scale or 0
        if implied_scale and scale:
            cast = "CAST" if strict else "TRY_CAST"
            scaled = f"({cast}({v} AS DECIMAL(38, 0)) / {10 ** scale})"
            return (f"CAST(CASE WHEN contains({v}, '.') THEN {cast}({v} AS {target}) "
                    f"ELSE {scaled} END AS {target})")
        excess = f"\\.[0-9]{{{scale}}}[0-9]*[1-9]"
        fail = bad(f"not a valid {target} (too many digits after the point, or more than "
                   f"its precision)")
        exact_exp = (f"regexp_full_match({v}, {sql_literal(DEC_TEXT + EXP_TEXT)}) AND "
                     f"CAST(TRY_CAST({v} AS {target}) AS DOUBLE) = TRY_CAST({v} AS DOUBLE)")
        return (f"(CASE WHEN {v} IS NULL THEN NULL "
                f"WHEN {exact_exp} THEN CAST({v} AS {target}) "
                f"WHEN NOT regexp_full_match({v}, {sql_literal(DEC_TEXT)}) "
                f"OR regexp_matches({v}, '{excess}') OR TRY_CAST({v} AS {target}) IS NULL "
                f"THEN CAST({fail} AS {target}) "
                f"ELSE CAST({v} AS {target}) END)")
    if t.name == "bool":
        low = f"lower({v})"
        return (f"(CASE WHEN {v} IS NULL THEN NULL "
                f"WHEN {low} IN ({', '.join(map(sql_literal, _TRUE))}) THEN TRUE "
                f"WHEN {low} IN ({', '.join(map(sql_literal, _FALSE))}) THEN FALSE "
                f"ELSE CAST({bad('bool')} AS BOOLEAN) END)")
    if t.name == "json":  # canonical text: DuckDB's json() is expr/json_text's form
        return (f"(CASE WHEN {v} IS NULL THEN NULL WHEN json_valid({v}) THEN json({v}) "
                f"ELSE CAST({bad('not one JSON value')} AS JSON) END)")
    if t.name in ("date", "timestamp", "timestamptz"):
        fmt = spec.get("format") if isinstance(spec, Mapping) else None
        target = {"date": "DATE", "timestamp": "TIMESTAMP"}.get(t.name, "TIMESTAMPTZ")
        if fmt:  # with %z DuckDB's strptime gives the instant
            fn = "strptime" if strict else "try_strptime"
            return f"CAST({fn}({v}, {sql_literal(fmt)}) AS {target})"
        if t.name == "timestamptz":
            return _tstz_text(v, bad)
        ts = _ts_text(v, bad)
        if t.name == "timestamp":
            return ts
        return (f"(CASE WHEN {ts} <> date_trunc('day', {ts}) THEN CAST("
                f"{bad('a date with a time of day (a date column holds dates only)')} AS DATE) "
                f"ELSE CAST({ts} AS DATE) END)")
    return x


def decimal_sql(spec: Any) -> str:
    """The DuckDB type of a declared decimal: its ``precision`` (default 38) and scale."""
    s = spec if isinstance(spec, Mapping) else {"type": spec}
    return f"DECIMAL({int(s.get('precision') or 38)}, {int(s.get('scale') or 0)})"


def conform(x: str, current: Type, spec: Any, name: str, *, strict: bool = True,
            null_value: str | None = None) -> str:
    """SQL giving column ``x`` (of etlc type ``current``) the declared type, as dtypes.conform:
    text is parsed, typed values are cast."""
    want = Type.from_spec(spec)
    if current.name in ("string", "unknown"):
        return from_text(x, spec, name, null_value=null_value, strict=strict)
    return cast_sql(x, current, want, name)


def cast_sql(x: str, current: Type, want: Type, name: str, *, strict: bool = True) -> str:
    """``cast`` of a step, with dtypes.cast_series' table: text is parsed strictly (no null
    marker), numbers to int round half away from zero, numbers to bool are ``x <> 0``,
    dates and timestamps do not become numbers (``strict=False``: text that does not
    convert is null instead of R040, to find its row: cast_rows)."""
    if want.name == current.name and want.name not in ("decimal", "float"):
        return x
    bad = (lambda r: data_error(r, name, x)) if strict else (lambda r: "NULL")
    sql = _cast_sql(x, current, want, name, bad, strict)
    if want.name in ("int", "decimal") and current.name in ("int", "float", "decimal"):
        # NaN, inf, beyond 64 bits or the digits: R040 (DuckDB's own error names no row);
        # the cast is evaluated once, as TRY_CAST, the error only where it gave null
        target = sql_type(want)
        head, tail = "CAST(", f" AS {target})"
        tried = f"TRY_CAST({sql[len(head):-len(tail)]} AS {target})" if \
            sql.startswith(head) and sql.endswith(tail) else f"try({sql})"
        return (f"coalesce({tried}, CASE WHEN {x} IS NOT NULL THEN CAST("
                f"{bad(f'value out of range for {want.name}')} AS {target}) END)")
    return sql


def _cast_sql(x: str, current: Type, want: Type, name: str, bad, strict: bool) -> str:
    table = casts.step_sql(x, current.name, want.name, bad)
    if table is not None:  # the one cast table (expr/casts.py), as cast(x as T)
        return table
    if current.name == "string":
        return from_text(x, {"type": want.name, "scale": want.scale}, name, null_value=None,
                         strict=strict)
    if want.name in ("int", "float", "decimal") and current.name in ("date", "timestamp"):
        raise StepError(None, f"cast of column '{name}' to {want.name}: cannot cast "
                              f"{current.name} to {want.name}")
    if want.name == "bool" and current.name in ("int", "float", "decimal"):
        return f"({x} <> 0)"
    if want.name == "int" and current.name in ("float", "decimal"):
        # half away from zero, as SQL and the pandas engine (DuckDB rounds doubles half-even)
        return f"CAST(sign({x}) * floor(abs({x}) + 0.5) AS BIGINT)"
    if want.name == "vector":
        return x
    return f"CAST({x} AS {sql_type(want)})"
