"""The place of an R040 that a duckdb read raised inside SQL, found after the failure.

A read's SQL (read.py) raises R040 with the column, the value and the file (a fixed-width
file's line too), but no row: DuckDB's ``read_csv`` and ``read_parquet`` number no rows,
and numbering every row on the clean path would cost every read.  Bad input is rare, so
the row is found only once the query failed: the file the error names is read again alone,
single-threaded (DuckDB then scans it in the file's order, so ``row_number() OVER ()`` is
the row in the file), with the same conversion made non-strict (null where the value does
not convert, as ``on_error: null`` reads it), and the first row whose value is not null but
whose conversion is, is the failing one.  The error then names, as the pandas and dask
engines' do: the dataset (the spec's name), the file, the column, the data row in that file
(1-based, a CSV header not counted), a CSV's line (the header's line counted; a quoted
value spanning lines is not) and the value as the file holds it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ...errors import DataError
from ...expr.sql import quote_ident as q
from ...expr.sql import sql_literal
from .sql_build import Builder, Rel

_FORMATS = ("csv", "json", "parquet", "fixed_width")


def locate(b: Builder, reads: Sequence[tuple[Mapping[str, Any], Rel]], exc: BaseException
           ) -> DataError | None:
    """The R040 that ``exc`` carries, with its dataset and row filled in from the reads of
    ``reads`` (the datasets this engine read and their relations, in order); None when
    ``exc`` carries no R040 or its place is known already."""
    err = DataError.from_exception(exc)
    if err is None or err.row is not None or not err.file:
        return None
    if not err.column:
        return _ragged(reads, err)
    own = None   # a connection of its own: the failed query may hold b's unfinished
    try:
        for dataset, _rel in reads:
            declared = dataset.get("columns") or {}
            if err.column not in declared or dataset.get("format") not in _FORMATS:
                continue
            own = own or Builder(b.con.cursor())
            try:
                found = _first_failing(own, dataset, Path(err.file), err)
            except Exception:   # noqa: BLE001 - not found: the error as it was raised
                found = None
            if found is not None:
                row, line, value = found
                return DataError(err.reason, dataset=dataset.get("name"), column=err.column,
                                 file=err.file, line=line, row=row, value=value)
    finally:
        if own is not None:
            own.con.close()
    return None


def _ragged(reads: Sequence[tuple[Mapping[str, Any], Rel]], err: DataError
            ) -> DataError | None:
    """DuckDB's own error of a CSV row with more or fewer fields than the header
    (errors.DataError._duckdb_csv: file, line, the row's text) with its dataset, the CSV
    read whose SQL reads that file, and its row, counted as the pandas and dask engines
    count it (read_text.csv_ragged_row: blank lines are no rows, a quoted value spanning
    lines is one); its line the first data line + the row - 1 (DuckDB's counts blank
    lines)."""
    import csv

    from ...read_text import csv_header, csv_ragged_row
    if err.line is None:
        return None
    for dataset, rel in reads:
        if dataset.get("format") != "csv" or not any(sql_literal(err.file) in sql
                                                     for _, sql in rel.ctes):
            continue
        opts = dataset.get("options") or {}
        first = int(opts.get("skip_rows", 0) or 0) + (2 if opts.get("header", True) else 1)
        try:
            fields = len(csv_header(Path(err.file), opts) if opts.get("header", True)
                         else dataset.get("columns") or {})
            row = csv_ragged_row(Path(err.file), opts, fields)
        except (OSError, ValueError, csv.Error):
            row = None
        line = err.line if row is None else first + row - 1
        return DataError(err.reason, dataset=dataset.get("name"), file=err.file, line=line,
                         row=row if row is not None else err.line - first + 1,
                         value=err.value)
    return None


def single_threaded(b: Builder, query: str) -> list:
    """``query``'s rows, scanned by one thread (rows numbered in the file's order)."""
    (threads,) = b.con.execute("SELECT current_setting('threads')").fetchall()[0]
    b.con.execute("SET threads = 1")
    try:
        return b.con.execute(query).fetchall()
    finally:
        b.con.execute(f"SET threads = {int(threads)}")


def _first_failing(b: Builder, dataset: Mapping[str, Any], file: Path, err: DataError
                   ) -> tuple[int, int | None, Any] | None:
    """(row, line, value) of the first value of ``err``'s column in ``file`` that its
    declared type cannot hold, or None when the file holds none."""
    fmt, column = dataset["format"], err.column
    opts = dict(dataset.get("options") or {})
    declared = dataset["columns"]
    if fmt == "fixed_width":
        return _fixed_width_row(b, file, opts, declared, err)
    from .read_sql import lossless
    registered = None
    if fmt == "csv":
        from .csv_source import csv_files
        source = csv_files([file], {**opts, "on_error": "fail"}, declared, b)
    elif fmt == "parquet":
        from .csv_source import _list
        source = f"read_parquet({_list([file])}, hive_partitioning = false)"
    else:
        from ...arrow_convert import Where
        from ...read_text import read_json_table
        registered = f"__etlc_rows_{next(b._ids)}"
        b.con.register(registered, read_json_table(file, opts, declared, Where(None,
                                                                               str(file))))
        source = q(registered)
    try:
        raw = dict(b.describe(f"SELECT * FROM {source}"))
        if column not in raw:
            return None
        x = q(column)
        converted = lossless(x, raw[column], declared[column], column, None, strict=False)
        rows = single_threaded(
            b, f"SELECT n, v FROM (SELECT row_number() OVER () AS n, {x} AS v, "
               f"{converted} AS c FROM {source}) WHERE v IS NOT NULL AND c IS NULL "
               f"ORDER BY n LIMIT 1")
    finally:
        if registered is not None:
            b.con.unregister(registered)
    if not rows:
        return None
    row, value = int(rows[0][0]), rows[0][1]
    if fmt != "csv":
        return row, None, value
    first = int(opts.get("skip_rows", 0) or 0) + (2 if opts.get("header", True) else 1)
    return row, first + row - 1, value


def _fixed_width_row(b: Builder, file: Path, opts: Mapping[str, Any], declared: Mapping,
                     err: DataError) -> tuple[int, int | None, Any] | None:
    """A fixed-width file's error names its line: the row is the count of the file's data
    lines (blank lines and other record types left out) up to it; the value stays."""
    line = err.line
    if line is None:
        return None
    from ...read_text import fixed_width_lines, fixed_width_spans
    from .read import kept_lines
    registered = f"__etlc_rows_{next(b._ids)}"
    b.con.register(registered, fixed_width_lines(file, opts, None))
    try:
        skip = int(opts.get("skip_rows", 0) or 0)
        (n,) = b.con.execute(
            f"SELECT count(*) FROM {q(registered)} WHERE n + {skip} <= {int(line)} AND "
            f"{kept_lines(fixed_width_spans(declared), opts)}").fetchall()[0]
    finally:
        b.con.unregister(registered)
    return (int(n), line, err.value) if n else None


__all__ = ["locate", "single_threaded"]
