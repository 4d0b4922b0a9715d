"""Declared ``date`` columns of a CSV read parsed by DuckDB's scanner, with the text path
as the fallback that decides every value the scanner refuses.

The text path (conversions.from_text over a VARCHAR read) renders each date back to text to
check it: about 500 instructions per date on top of the parse.  DuckDB's typed CSV scanner
with ``dateformat = '%Y-%m-%d'`` parses in the scanner and accepts a subset of what the text
path accepts, each value the same (tests/runtime/test_duckdb_csv_typed.py, a differential
test: ``2020-1-2``, surrounding whitespace, ``0000-01-01``, ``epoch`` and ``infinity`` are
read the same by both; a 5-digit year, a sign, a time of day, a ``T``, ``(BC)`` or a zone it
refuses).  It refuses what the text path would accept (``2020-01-02 00:00:00``) as well as
what it would not, so a refusal proves nothing about the value: the read is a view over the
typed scan, and when a query stops on the scanner's conversion error (:func:`refused`) the
engine replaces each such view by its text twin (:func:`fall_back`; same columns and types:
the twin converts the dates in SQL, R040 with column, value and file) and runs the
operation again.  A file with a value only the text path accepts is thus read twice (bad
input is rare); the result and any R040 are those of the text path alone.

Only for ``on_error: fail`` (``null`` and ``skip`` count values per column in the text path)
and dates without a ``format``.  Not ints and decimals: the scanner reads ``1.5`` into
BIGINT as 2 and ``1.005`` into DECIMAL(15,2) as 1.01, and no scanner option refuses them.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

from ...expr.sql import quote_ident as q
from ...expr.types import Type
from .conversions import from_text

DATE_FORMAT = "%Y-%m-%d"
_SCANNER = ("CSV Error on Line", "Error when converting column")


def scanned_dates(declared: Mapping[str, Any] | None, opts: Mapping[str, Any],
                  fallbacks: Mapping | None) -> list[str]:
    """The declared columns the scanner parses: dates without a ``format``, where the
    read fails on a bad value (``on_error: fail``) and the engine can fall back."""
    if fallbacks is None or not declared or opts.get("on_error", "fail") != "fail":
        return []
    return [c for c, spec in declared.items() if Type.from_spec(spec).name == "date"
            and not (isinstance(spec, Mapping) and spec.get("format"))]


def scan_types(types: dict[str, str], dates: Sequence[str]) -> str:
    """Sets the file's date columns to DATE in ``types`` (read_csv's ``columns``); the
    extra read_csv argument they need ('' when the file has none)."""
    present = [c for c in dates if c in types]
    for c in present:
        types[c] = "DATE"
    return f", dateformat = '{DATE_FORMAT}'" if present else ""


def text_dates(names: Sequence[str], dates: Sequence[str], file_sql: str) -> str:
    """``REPLACE (...)`` of a VARCHAR read's date columns converted by the text path (the
    twin of the typed scan: the same column types); '' when the file has none."""
    items = [f"{from_text(q(c), {'type': 'date'}, c, file_sql=file_sql)} AS {q(c)}"
             for c in dates if c in names]
    return f" REPLACE ({', '.join(items)})" if items else ""


def view(b, typed: str, text: str, fallbacks: MutableMapping[str, str]) -> str:
    """A view over the typed scan ``typed`` (a FROM-able SQL text), its text twin kept in
    ``fallbacks`` by the view's name; the name, to read from."""
    name = f"__etlc_csv{next(b._ids)}"
    b.con.execute(f"CREATE VIEW {q(name)} AS SELECT * FROM {typed}")
    fallbacks[name] = text
    return q(name)


def refused(exc: BaseException) -> bool:
    """True for the typed scanner's error on a value it cannot parse."""
    import duckdb
    text = str(exc)
    return isinstance(exc, duckdb.Error) and all(s in text for s in _SCANNER)


def fall_back(con, fallbacks: MutableMapping[str, str]) -> bool:
    """Each typed view replaced by its text twin; False when there was none.  A twin that
    cannot be bound (an earlier read's file since removed, where one connection served
    several reads) leaves its view as it was: no query of this read uses it."""
    import duckdb
    if not fallbacks:
        return False
    for name, text in fallbacks.items():
        try:
            con.execute(f"CREATE OR REPLACE VIEW {q(name)} AS SELECT * FROM {text}")
        except duckdb.Error:
            pass
    fallbacks.clear()
    return True


__all__ = ["DATE_FORMAT", "fall_back", "refused", "scan_types", "scanned_dates",
           "text_dates", "view"]
