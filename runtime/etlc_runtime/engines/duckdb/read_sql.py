"""SQL of the duckdb engine's reads: a column as DuckDB read it to its declared type, only
where no value changes (arrow_convert.typed_to is the pandas engine's twin).

Text is parsed by conversions.from_text; typed values are converted when the conversion is
exact: a float ``1.5`` into ``int``, an int beyond 2**53 into ``float``, a decimal with more
digits than the declared scale or precision, a timestamp finer than the microsecond, a
timestamp with a time of day into ``date`` are R040 errors raised in SQL (``error()``, with
the fields after errors.DataError.MARK).  Zoned timestamps become their UTC time.
"""

from __future__ import annotations

from typing import Any

from ...errors import DataError
from ...expr.types import Type
from .conversions import data_error, decimal_sql, from_text

_INTS = ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER",
         "USMALLINT", "UTINYINT", "UHUGEINT")


def _kind(raw: str) -> str:
    r = raw.upper()
    if r in _INTS:
        return "int"
    if r in ("DOUBLE", "FLOAT", "REAL"):
        return "float"
    if r.startswith("DECIMAL"):
        return "decimal"
    if r == "VARCHAR" or r == "JSON":
        return "string"
    if r == "BOOLEAN":
        return "bool"
    if r == "DATE":
        return "date"
    if r.startswith("TIMESTAMP"):
        return "timestamp"
    if r.endswith("]"):
        return "vector"
    return "unknown"


def _checked(x: str, out: str, ok: str, reason: str, name: str, file_sql: str | None,
             target: str, strict: bool = True) -> str:
    fail = data_error(reason, name, x, file_sql) if strict else "NULL"
    return (f"(CASE WHEN {x} IS NULL THEN NULL WHEN {ok} THEN {out} "
            f"ELSE CAST({fail} AS {target}) END)")


def _utc(x: str, raw: str, name: str, file_sql: str | None, strict: bool = True) -> str:
    r = raw.upper()
    if "WITH TIME ZONE" in r:
        return f"timezone('UTC', {x})"
    if r == "TIMESTAMP_NS":
        return _checked(x, f"CAST({x} AS TIMESTAMP)", f"epoch_ns({x}) % 1000 = 0",
                        "a timestamp finer than the microsecond", name, file_sql, "TIMESTAMP",
                        strict)
    return f"CAST({x} AS TIMESTAMP)"


def _digits(duck: str) -> tuple[int, int] | None:
    """(precision, scale) of a DuckDB DECIMAL or integer type; None for anything else."""
    d = duck.upper().replace(" ", "")
    if d.startswith("DECIMAL(") and d.endswith(")"):
        p, _, sc = d[8:-1].partition(",")
        return int(p), int(sc or 0)
    return {"TINYINT": (3, 0), "SMALLINT": (5, 0), "INTEGER": (10, 0), "BIGINT": (19, 0),
            "UTINYINT": (3, 0), "USMALLINT": (5, 0), "UINTEGER": (10, 0),
            "UBIGINT": (20, 0)}.get(d)


def _widens(raw: str, target: str) -> bool:
    """True when every value of DuckDB type ``raw`` is exactly a value of decimal ``target``:
    no fewer digits before the point and no fewer after it."""
    have, want = _digits(raw), _digits(target)
    return (have is not None and want is not None and want[1] >= have[1]
            and want[0] - want[1] >= have[0] - have[1])


def lossless(x: str, raw: str, spec: Any, name: str, file_sql: str | None = None,
             strict: bool = True) -> str:
    """SQL of column ``x`` (DuckDB type ``raw``) as the declared ``spec`` type, exactly
    (``strict=False``: a value that does not convert is null, for ``on_error``)."""
    want = Type.from_spec(spec)
    have = _kind(raw)
    if have == "string" or have == "unknown" and want.name != "vector":
        return from_text(x, spec, name, file_sql=file_sql, strict=strict)
    if want.name in ("vector", "unknown", "null"):
        return x
    if want.name == "string":
        return f"CAST({x} AS VARCHAR)"
    if want.name == "int" and have == "int":
        return f"CAST({x} AS BIGINT)"
    if want.name == "int" and have in ("float", "decimal"):
        fin = f"isfinite({x}) AND " if have == "float" else ""
        return _checked(x, f"CAST({x} AS BIGINT)",
                        f"{fin}{x} = trunc({x}) AND TRY_CAST({x} AS BIGINT) IS NOT NULL",
                        f"a {raw} value that an int64 cannot hold unchanged", name, file_sql,
                        "BIGINT", strict)
    if want.name == "float" and have == "float":
        return f"CAST({x} AS DOUBLE)"
    if want.name == "float" and have in ("int", "decimal"):
        return _checked(x, f"CAST({x} AS DOUBLE)",
                        f"TRY_CAST(CAST({x} AS DOUBLE) AS {raw}) = {x}",
                        f"a {raw} value that a float64 cannot hold exactly", name, file_sql,
                        "DOUBLE", strict)
    if want.name == "decimal" and have in ("int", "decimal", "float"):
        target = decimal_sql(spec)
        if _widens(raw, target):   # every value fits: no per-row check (Parquet's usual case)
            return f"CAST({x} AS {target})"
        fin = f"isfinite({x}) AND " if have == "float" else ""
        back = "DOUBLE" if have == "float" else raw
        return _checked(x, f"CAST({x} AS {target})",
                        f"{fin}TRY_CAST({x} AS {target}) IS NOT NULL AND "
                        f"CAST(TRY_CAST({x} AS {target}) AS {back}) = {x}",
                        f"a {raw} value that {target} cannot hold unchanged", name, file_sql,
                        target, strict)
    if want.name == "bool" and have == "bool":
        return x
    if want.name == "timestamp" and have == "timestamp":
        return _utc(x, raw, name, file_sql, strict)
    if want.name == "timestamptz" and have == "timestamp":
        if "WITH TIME ZONE" in raw.upper():  # any zone: the same instant
            return x
        raise DataError("a timestamp without a zone cannot be read as timestamptz (declare "
                        "timestamp, then attach its zone with at time zone)", column=name)
    if want.name == "timestamp" and have == "date":
        return f"CAST({x} AS TIMESTAMP)"
    if want.name == "date" and have == "date":
        return x
    if want.name == "date" and have == "timestamp":
        ts = _utc(x, raw, name, file_sql, strict)
        return _checked(ts, f"CAST({ts} AS DATE)", f"{ts} = date_trunc('day', {ts})",
                        "a date with a time of day (a date column holds dates only)", name,
                        file_sql, "DATE", strict)
    raise DataError(f"a {raw} column cannot be read as {want.name} (declare the file's type, "
                    f"or cast in a step)", column=name)


__all__ = ["lossless"]
