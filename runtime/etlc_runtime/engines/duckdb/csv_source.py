"""CSV sources of the duckdb engine's reads: ``read_csv`` over the files, as SQL text.

Without declared columns, one ``read_csv`` of every file (the sniffer's types).  With them,
each file is read with its own header's names, strictly (read.py's module doc), as VARCHAR:
read.py converts the declared columns by etlc's text rules (conversions.from_text).  DuckDB's
typed scan is not used for them: it reads '1.5' into BIGINT as 2, '1.005' into DECIMAL(15,2)
as 1.01 and, with ``dateformat = '%Y-%m-%d'``, '2020-1-2', '99-01-02', 'epoch' and
'infinity' as dates, values no check after the parse can tell from clean ones
(docs/performance-runtime.md, "The typed date scan removed").
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ...errors import NotAvailable
from ...expr.sql import sql_literal
from .sql_build import Builder

FILE_COLUMN = "__etlc_file"


def _list(paths: list[Path] | list[str]) -> str:
    return "[" + ", ".join(sql_literal(str(p)) for p in paths) + "]"


def _sniffed(b: Builder, f: Path, names: list[str], common: list[str]) -> dict[str, str]:
    """Column types DuckDB's sniffer finds for the file, when it sees the header's columns
    (it may take a ragged first row for the header: then every column is VARCHAR and the
    strict read stops at that row)."""
    import duckdb
    try:
        found = b.con.execute(f"SELECT Columns FROM sniff_csv({sql_literal(str(f))}, "
                              f"{', '.join(c for c in common if not c.startswith('hive'))})"
                              ).fetchall()
    except duckdb.Error:  # a file it cannot sniff: read as text, strictly
        found = []
    cols = found[0][0] if found else []
    if [c["name"] for c in cols] == names:
        return {c["name"]: c["type"] for c in cols}
    return dict.fromkeys(names, "VARCHAR")


def csv_files(files: list[Path], opts: Mapping[str, Any], declared: Mapping | None,
                b: Builder | None = None, rejects: list | None = None) -> str:
    """``read_csv`` of the files.  Declared columns: each file read with its own header's
    names as VARCHAR (no sniffing: a row with more or fewer fields than the header is an
    error naming file and line, never a shifted row), nulls only the unquoted
    ``null_value``; the files are unioned by name."""
    if int(opts.get("skip_footer", 0) or 0):
        raise NotAvailable("csv option skip_footer is not supported by the duckdb engine yet; "
                           "use `engine: pandas` for this read")
    common = [f"delim = {sql_literal(opts.get('delimiter', ','))}",
              f"quote = {sql_literal(opts.get('quote', chr(34)))}",
              f"skip = {int(opts.get('skip_rows', 0) or 0)}", "hive_partitioning = false",
              f"nullstr = {sql_literal(opts.get('null_value', ''))}",
              "allow_quoted_nulls = false"]
    if opts.get("escape"):
        common.append(f"escape = {sql_literal(opts['escape'])}")
    if opts.get("comment"):
        common.append(f"comment = {sql_literal(opts['comment'])}")
    if opts.get("encoding"):
        common.append(f"encoding = {sql_literal(opts['encoding'])}")
    comp = opts.get("compression")
    if comp and comp not in ("none", "infer"):
        common.append(f"compression = {sql_literal(comp)}")
    header = opts.get("header", True)
    if not declared and (not header or b is None):
        args = [_list(files), f"header = {'true' if header else 'false'}",
                "union_by_name = true", *common]
        return f"read_csv({', '.join(args)})"
    from ...read_text import csv_header  # CSV reads only: not on a Parquet job's path

    parts = []
    for f in files:
        names = csv_header(f, opts) if header else list(declared)
        if not names:
            names = list(declared or ())
        types = dict.fromkeys(names, "VARCHAR")
        if not declared:
            types = _sniffed(b, f, names, common)
        cols = "{" + ", ".join(f"{sql_literal(c)}: {sql_literal(t)}" for c, t in
                               types.items()) + "}"
        if opts.get("on_error") == "skip":  # rows with more or fewer fields left out
            cols += ", ignore_errors = true"
            if rejects is not None and b is not None:   # a source to count them (_count)
                table = f"__etlc_rejects{next(b._ids)}"
                rejects.append(table)
                cols += (f", store_rejects = true, rejects_table = {sql_literal(table)}, "
                         f"rejects_scan = {sql_literal(table + '_scan')}")
        args = [_list([f]), f"header = {'true' if header else 'false'}", f"columns = {cols}",
                "auto_detect = false", "strict_mode = true", "null_padding = false",
                f"filename = {sql_literal(FILE_COLUMN)}", *common]
        parts.append(f"SELECT * FROM read_csv({', '.join(args)})")
    return "(" + "\nUNION ALL BY NAME\n".join(parts) + ")"


__all__ = ["FILE_COLUMN", "csv_files"]
