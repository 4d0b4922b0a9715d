"""Read datasets from local files: csv, parquet, json (JSON Lines), fixed_width.

Paths are rendered with the run's macros (``{{ ds_nodash }}``), resolved against the project
root, and may be glob patterns (``data/*.csv``) or folders (every data file inside, Hive
``key=value/`` folders included).  When the dataset declares ``columns`` the result has
exactly those columns, in that order, typed as :mod:`etlc_runtime.dtypes` says.

Files become Arrow first (CSV through pyarrow's reader: nulls only the unquoted
``null_value``, a ragged row is R040; JSON through read_text, every digit kept; fixed-width
lines cut by read_text with each row's file line; Parquet as stored), declared columns are
converted there without loss (arrow_convert: R040 or the dataset's ``on_error``, whose tally
the frame keeps in ``attrs[READ_ERRORS]``), and the table becomes pandas through
dtypes.arrow_to_frame.
"""

from __future__ import annotations

import csv
import dataclasses
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from . import dtypes
from .arrow_convert import Where, conform_table
from .csv_arrow import csv_options, header_holds, typed_columns, typed_scan_allowed
from .errors import ROW, DataError, NotAvailable, count_read_errors

# the file layout lives in one pandas-free place, shared with the duckdb engine
from .file_layout import hive_values as _hive_values
from .file_layout import local_files, no_files
from .read_text import (
    csv_header,
    csv_ragged_row,
    read_fixed_width,
    read_json_table,
    read_text_lines,
)
from .s3_read import LISTING

log = logging.getLogger(__name__)

# where a frame read with on_error null | skip keeps its tally (errors.count_read_errors)
READ_ERRORS = "etlc_read_errors"
FIRST_DAY = -719162   # 0001-01-01 in days from 1970-01-01: Arrow reads 0000-01-01 too


def _csv_bytes(path: Path, opts: Mapping[str, Any]):
    """What pyarrow's CSV reader reads: the file, or its text without comment and footer
    lines (pyarrow knows neither option), re-encoded as UTF-8."""
    import pyarrow as pa

    comp = opts.get("compression")
    comment, footer = opts.get("comment"), int(opts.get("skip_footer", 0) or 0)
    if comment or footer:
        import io
        lines = read_text_lines(path, opts.get("encoding", "utf-8"), comp)
        if footer:
            lines = lines[:len(lines) - footer]
        if comment:
            lines = [ln for ln in lines if not ln.startswith(comment)]
        return io.BytesIO(("\n".join(lines) + "\n").encode("utf-8")), "utf-8"
    if comp and comp not in ("none", "infer"):
        return pa.CompressedInputStream(pa.OSFile(str(path)), comp), opts.get("encoding",
                                                                             "utf-8")
    return str(path), opts.get("encoding", "utf-8")


def _ragged_line(path: Path, opts: Mapping[str, Any], text: str) -> int | None:
    try:
        lines = read_text_lines(path, opts.get("encoding", "utf-8"), opts.get("compression"))
    except (OSError, ValueError):
        return None
    skip = int(opts.get("skip_rows", 0) or 0)
    for number, line in enumerate(lines, start=1):
        if number > skip and line == text:
            return number
    return None


def _read_csv_table(path: Path, opts: Mapping[str, Any], columns: Mapping | None,
                    where: Where, counts: dict | None = None):
    """A CSV file as an Arrow table: declared columns as text (nulls: only ``null_value``,
    unquoted), undeclared ones typed by pyarrow's inference with the same nulls and no
    ``NA``/``null`` guessing.  A row with more or fewer fields than the header is R040."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    header = opts.get("header", True)
    names = csv_header(path, opts) if header else list(columns or ())
    source, encoding = _csv_bytes(path, opts)
    ragged: list = []

    def on_invalid(row) -> str:
        ragged.append(row)
        return "skip"  # counted; an error below unless on_error is skip

    typed = _typed_read(source, opts, names, columns, encoding)
    if typed is not None:
        return typed
    read, parse, convert = csv_options(opts, names, list(columns) if columns else None,
                                       encoding=encoding, on_invalid=on_invalid)
    try:
        table = pcsv.read_csv(source, read_options=read, parse_options=parse,
                              convert_options=convert)
    except pa.ArrowInvalid as exc:
        if "Empty CSV file" in str(exc) and columns:
            return pa.table({c: pa.array([], pa.string()) for c in columns})
        raise DataError(f"not a readable CSV file: {exc}", dataset=where.dataset,
                        file=str(path)) from None
    if ragged and opts.get("on_error") == "skip":
        count_read_errors(counts, ROW, "skip", len(ragged))
    elif ragged:
        row = ragged[0]
        # its data row counted as DuckDB's reader counts it (read_text.csv_ragged_row), its
        # line the first data line + the row - 1 (docs/codes.md, R040)
        first = int(opts.get("skip_rows", 0) or 0) + (2 if header else 1)
        try:
            number = csv_ragged_row(path, opts, row.expected_columns)
        except (OSError, ValueError, csv.Error):
            number = None
        line = first + number - 1 if number is not None else row.number \
            if row.number is not None else _ragged_line(path, opts, row.text)
        raise DataError(f"a row with {row.actual_columns} field(s) where the header has "
                        f"{row.expected_columns}", dataset=where.dataset, file=str(path),
                        line=line, row=number, value=row.text)
    if not header and not columns:
        table = table.rename_columns([f"column{i}" for i in range(table.num_columns)])
    return table


def _typed_read(source, opts: Mapping[str, Any], names: list[str], columns: Mapping | None,
                encoding: str):
    """The file read with its declared dates and floats parsed by Arrow's reader
    (csv_arrow.typed_columns: it accepts only text the text rules read the same way, and
    ``0000-01-01``, refused here); None where it does not apply or refuses anything, and the
    text path then reads the file and decides."""
    typed = typed_columns(columns, floats=True) if columns and typed_scan_allowed(opts) else {}
    if not typed or not isinstance(source, str) or not header_holds(names, columns):
        return None
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    read, parse, convert = csv_options(opts, names, list(columns), encoding=encoding,
                                       typed=typed)
    try:
        table = pcsv.read_csv(source, read_options=read, parse_options=parse,
                              convert_options=convert)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    for name, kind in typed.items():
        if kind == pa.date32() and name in table.column_names:
            low = pc.min(table.column(name).cast(pa.int32())).as_py()
            if low is not None and low < FIRST_DAY:   # the year 0000
                return None
    return table


def _read_parquet_table(f: Path | str, base: Path | None, columns: Mapping | None,
                        select: list[str] | None, where: Where, on_error: str = "fail",
                        counts: dict | None = None, row_groups: range | None = None,
                        remote=None):
    """One Parquet file as an Arrow table: declared columns converted without loss (R040
    otherwise; a declared column absent from the file and its Hive folders too); with
    ``row_groups``, those row groups only (rows in errors still count from the file's first).
    ``remote``: the s3_read.S3Listing that ``f`` (an ``s3://`` URL) is a part of."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    fs = None
    if remote is not None:   # the part read in place through s3fs: only the columns asked
        from .s3_read import arrow_filesystem
        hive, fs = dict(remote.hive.get(f) or {}), arrow_filesystem(remote.options)
        f = remote.key(f)
    else:
        hive = _hive_values(f, base) if base is not None else {}
    if columns and select:  # only the declared columns asked for are read and converted
        columns = {c: t for c, t in columns.items() if c in select}
    wanted = list(columns) if columns else (list(select) if select else None)
    pf = pq.ParquetFile(f, filesystem=fs) if fs is not None else None
    schema_names = (pf.schema_arrow if pf is not None else pq.read_schema(f)).names
    read_cols = [c for c in wanted if c in schema_names] if wanted else None
    if row_groups is None:
        table = pf.read(columns=read_cols) if pf is not None else \
            pq.read_table(f, columns=read_cols)
    else:
        pf = pf or pq.ParquetFile(f)
        table = pf.read_row_groups(list(row_groups), columns=read_cols)
        where = dataclasses.replace(where, first_row=1 + sum(
            pf.metadata.row_group(i).num_rows for i in range(row_groups.start)))
    for key, value in hive.items():
        if key not in table.column_names and (wanted is None or key in wanted):
            table = table.append_column(key, pa.array([value] * table.num_rows, pa.string()))
    if columns:
        table = conform_table(table, columns, where, on_error=on_error, counts=counts)
    return table


def _concat(tables: list):
    import pyarrow as pa

    if len(tables) == 1:
        return tables[0]
    return pa.concat_tables(tables, promote_options="permissive")


def read_dataset(dataset: Mapping[str, Any], macros: Mapping[str, Any], root,
                 select: list[str] | None = None,
                 connections: Mapping[str, Any] | None = None,
                 files: list[Path] | None = None,
                 row_groups: range | None = None) -> pd.DataFrame:
    """Read a dataset into a pandas DataFrame typed by its declared columns (the pandas
    representation of docs/types.md; values exact, R040 for any that would change).
    ``row_groups``: of a Parquet dataset's one file in ``files``, read only these."""
    fmt = dataset.get("format")
    if fmt == "postgres":
        from .pg_read import read_frame
        return read_frame(dataset, macros, connections, list(select) if select else None)
    opts = dict(dataset.get("options") or {})
    columns = dataset.get("columns") or None
    remote = dataset.get(LISTING)   # an s3:// dataset's parts (s3_read), read in place
    if remote is not None:
        if fmt != "parquet":
            raise NotAvailable(f"{fmt} objects are read from a local copy (s3_bridge)")
        text, target = remote.url, None
        files = list(remote.files) if files is None else [str(f) for f in files]
        if not files:
            raise no_files(fmt, target, text)
    else:   # files: a share of the dataset's files its caller listed (a dask partition's)
        text, target, files = local_files(dataset, macros, root, files)
    name = dataset.get("name") or text
    counts: dict[str, dict[str, int]] = {}
    if fmt in ("parquet", "csv", "json", "fixed_width"):
        tables = []
        skip = int(opts.get("skip_rows", 0) or 0)
        for f in files:
            if fmt == "fixed_width":
                tables.append(read_fixed_width(f, opts, columns, name, counts))
                continue
            base = target if target is not None and target.is_dir() else None
            if fmt == "parquet":
                tables.append(_read_parquet_table(f, base, columns, select,
                                                  Where(name, str(f)),
                                                  opts.get("on_error", "fail"), counts,
                                                  row_groups, remote))
                continue
            first = skip + (2 if opts.get("header", True) else 1) if fmt == "csv" else None
            where = Where(name, str(f), first)
            if fmt == "csv":
                part = _read_csv_table(f, opts, columns, where, counts)
            else:
                part = read_json_table(f, opts, columns, where)
            for key, value in (_hive_values(f, target).items() if base is not None else ()):
                if key not in part.column_names:
                    import pyarrow as pa
                    part = part.append_column(key, pa.array([value] * part.num_rows,
                                                            pa.string()))
            if columns:
                part = conform_table(part, columns, where, text=True,
                                     on_error=opts.get("on_error", "fail"), counts=counts)
            tables.append(part)
        frame = dtypes.arrow_to_frame(_concat(tables))
        if counts:  # on_error: null | skip
            log.warning("dataset %s: %s (on_error: %s)", name, counts, opts.get("on_error"))
            frame.attrs[READ_ERRORS] = counts
    else:
        raise NotAvailable(f"format {fmt!r} is not readable by this runtime")
    if columns:
        for col_name, col in columns.items():
            if dtypes.spec_of(col).get("nullable") is False and col_name in frame.columns:
                nulls = int(frame[col_name].isna().sum())
                if nulls:
                    raise ValueError(f"column '{col_name}' is declared nullable: false but "
                                     f"{nulls} row(s) hold null")
    if select:
        missing = [c for c in select if c not in frame.columns]
        if missing:
            raise ValueError(f"select names unknown column(s): {missing}")
        frame = frame[list(select)]
    return frame.reset_index(drop=True)

