"""pyarrow's CSV reader set up as etlc reads CSV: the one place for its options.

The pandas engine reads every CSV file with :func:`csv_options`: declared columns as text,
converted afterwards by arrow_convert's rules.  The duckdb engine scans a file through an
Arrow stream with the same options (engines/duckdb/csv_typed.py), where :func:`typed_columns`
lets Arrow's reader parse a declared ``date`` (without a ``format``) itself: Arrow reads
``YYYY-MM-DD`` only (no ``2020-1-2``, no time of day; ``0000-01-01`` is caught after it),
a subset of what the text rules accept, each value the same (docs/types.md); it refuses the
rest, and a refusal sends the read back to the text path, which decides
(tests/runtime/test_csv_typed.py holds both to it).  Not ``int``: Arrow reads ``0x10`` as 16.
Not ``decimal``: Arrow's decimal parser crashes the process on an exponent of 8 digits
(``1e-10000000``), so decimals are parsed only after arrow_convert has refused such text.
``float`` only on the pandas engine, whose text rule is Arrow's own parse (the duckdb
engine's is DuckDB's). Nothing here imports pandas.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

TRUE_TEXT = ["true", "True", "TRUE"]
FALSE_TEXT = ["false", "False", "FALSE"]


def typed_columns(declared: Mapping[str, Any] | None, floats: bool = False
                  ) -> dict[str, Any]:
    """The declared columns Arrow's CSV reader parses exactly as the text rules would (a
    date without a ``format``; ``floats``: a float too, where the text rule is Arrow's own
    parse, as on the pandas engine), with their Arrow types."""
    import pyarrow as pa

    out: dict[str, Any] = {}
    for name, column in (declared or {}).items():
        spec = {"type": column} if isinstance(column, str) else dict(column or {})
        kind = spec.get("type")
        if kind == "date" and not spec.get("format"):
            out[name] = pa.date32()
        elif kind == "float" and floats:
            out[name] = pa.float64()
    return out


def header_holds(names: Sequence[str], declared: Mapping[str, Any]) -> bool:
    """Whether a header names each column once and every declared one: else the text path
    reads the file and names the problem."""
    return len(set(names)) == len(names) and all(c in names for c in declared)


def typed_scan_allowed(opts: Mapping[str, Any]) -> bool:
    """Whether a typed Arrow scan reads the file as the text path does with these options:
    ``on_error: fail`` (``null`` and ``skip`` count values per column on the text path), no
    comment or footer lines (Arrow knows neither), no compression, UTF-8."""
    comp = opts.get("compression")
    return (opts.get("on_error", "fail") == "fail" and not opts.get("comment")
            and not int(opts.get("skip_footer", 0) or 0)
            and (not comp or comp == "none")
            and str(opts.get("encoding") or "utf-8").lower().replace("_", "-")
            in ("utf-8", "utf8"))


def csv_options(opts: Mapping[str, Any], names: Sequence[str], columns: Sequence[str] | None,
                *, encoding: str = "utf-8", typed: Mapping[str, Any] | None = None,
                on_invalid: Callable | None = None):
    """``(ReadOptions, ParseOptions, ConvertOptions)`` for a CSV file whose header holds
    ``names`` (the declared ``columns`` when it has no header): nulls only the unquoted
    ``null_value``; declared columns as text except those in ``typed`` (name -> Arrow
    type); undeclared ones typed by Arrow's inference without ``NA``/``null`` guessing, or,
    in a typed read, left out (every declared column must then be in ``names``).
    ``on_invalid``: pyarrow's handler of a row with more or fewer fields than the header."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    header = opts.get("header", True)
    read = pcsv.ReadOptions(skip_rows=int(opts.get("skip_rows", 0) or 0), encoding=encoding,
                            column_names=list(columns) if (not header and columns) else None,
                            autogenerate_column_names=not header and not columns)
    escape = opts.get("escape")
    parse = pcsv.ParseOptions(delimiter=opts.get("delimiter", ","),
                              quote_char=opts.get("quote", '"'), escape_char=escape or False,
                              double_quote=not escape, newlines_in_values=True,
                              invalid_row_handler=on_invalid,
                              # an empty line of a one-column file is a null value
                              ignore_empty_lines=len(names) != 1)
    kinds = {c: (typed or {}).get(c, pa.string()) for c in columns} if columns else None
    convert = pcsv.ConvertOptions(
        null_values=[opts.get("null_value", "")], strings_can_be_null=True,
        quoted_strings_can_be_null=False, true_values=TRUE_TEXT, false_values=FALSE_TEXT,
        column_types=kinds, include_columns=list(columns) if typed and columns else None)
    return read, parse, convert


__all__ = ["csv_options", "header_holds", "typed_columns", "typed_scan_allowed"]
