"""Text files read without pandas: lines, CSV headers, JSON (Lines) records as Arrow.

Shared by the pandas engine (io_read) and the duckdb engine (engines/duckdb/read.py), so both
read JSON the same exact way: numbers keep every digit (a declared column gets the JSON text
of each value; nested values as compact JSON), a declared column that no record of a file
holds is R040.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import DataError

if TYPE_CHECKING:   # arrow_convert imports pyarrow.compute: not on every read's path
    from .arrow_convert import Where


def open_text(path: Path, encoding: str, compression: str | None):
    """The file opened as text (gzip and bz2 by option or by extension)."""
    import bz2
    import gzip
    opener = open
    comp = (compression or "infer").lower()
    if comp == "infer":
        comp = {".gz": "gzip", ".bz2": "bz2"}.get(path.suffix.lower(), "none")
    if comp == "gzip":
        opener = gzip.open
    elif comp == "bz2":
        opener = bz2.open
    return opener(path, "rt", encoding=encoding, newline="")


def read_text_lines(path: Path, encoding: str, compression: str | None) -> list[str]:
    with open_text(path, encoding, compression) as fh:
        return fh.read().splitlines()


def csv_header(path: Path, opts: Mapping[str, Any]) -> list[str]:
    """The column names of a CSV file's header line (after ``skip_rows``), parsed as the
    file's own CSV dialect."""
    import csv
    skip = int(opts.get("skip_rows", 0) or 0)
    comment = opts.get("comment")
    rest = []
    with open_text(path, opts.get("encoding", "utf-8"), opts.get("compression")) as fh:
        for number, line in enumerate(fh):
            if number >= skip and not (comment and line.startswith(comment)):
                rest.append(line.rstrip("\r\n"))
                break
    if not rest:
        return []
    escape = opts.get("escape")
    reader = csv.reader([rest[0]], delimiter=opts.get("delimiter", ","),
                        quotechar=opts.get("quote", '"'), escapechar=escape,
                        doublequote=not escape)
    return next(reader, [])


def _json_text(value: Any) -> str | None:
    """A JSON value as the text a declared column parses: scalars as written (numbers keep
    every digit), nested values as compact JSON text."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return _dump(value)
    return str(value)


def _dump(value: Any) -> str:
    """Compact JSON text of a parsed value; numbers as they were written (Decimal)."""
    if isinstance(value, dict):
        return "{" + ",".join(json.dumps(str(k), ensure_ascii=False) + ":" + _dump(v)
                              for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_dump(v) for v in value) + "]"
    if value is None or isinstance(value, (bool, str, float)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def json_records(path: Path, opts: Mapping[str, Any]) -> list:
    import decimal
    encoding = opts.get("encoding", "utf-8")
    loads = json.JSONDecoder(parse_float=decimal.Decimal).decode
    if opts.get("lines", True):
        records = []
        # lines end at \n only (str.splitlines would also cut at U+2028 and other
        # separators a JSON string may hold unescaped)
        with open_text(path, encoding, opts.get("compression")) as fh:
            lines = fh.read().split("\n")
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"not a JSON value: {exc}", file=str(path), line=number,
                                value=line[:200]) from None
            if not isinstance(record, dict):
                raise DataError("a JSON line that is not an object", file=str(path),
                                line=number, value=line[:200])
            records.append(record)
        return records
    with open(path, encoding=encoding) as fh:
        records = json.load(fh, parse_float=decimal.Decimal)
    return [records] if isinstance(records, dict) else list(records)


def read_json_table(path: Path, opts: Mapping[str, Any], columns: Mapping | None,
                     where: Where):
    """JSON (Lines) as an Arrow table: declared columns as their JSON text (a declared column
    that no record of the file holds is R040), undeclared ones typed by pyarrow."""
    import decimal

    import pyarrow as pa

    records = json_records(path, opts)
    if columns:
        seen = set()
        for r in records:
            seen.update(r)
        missing = [c for c in columns if c not in seen]
        if missing and records:
            raise DataError("a declared column is absent from the file", dataset=where.dataset,
                            column=missing[0], file=str(path))
        return pa.table({c: pa.array([_json_text(r.get(c)) for r in records], pa.string())
                         for c in columns})
    names = list(dict.fromkeys(k for r in records for k in r))

    def plain(v):
        return float(v) if isinstance(v, decimal.Decimal) else v
    try:
        return pa.table({c: pa.array([plain(r.get(c)) for r in records]) for c in names})
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return pa.table({c: pa.array([_json_text(r.get(c)) for r in records], pa.string())
                         for c in names})
