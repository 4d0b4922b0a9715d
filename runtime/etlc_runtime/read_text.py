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


def csv_ragged_row(path: Path, opts: Mapping[str, Any], fields: int) -> int | None:
    """The data row (1-based: ``skip_rows`` lines and a header not counted, nor blank lines)
    of the file's first CSV record with other than ``fields`` fields, parsed as the file's
    own dialect (a quoted value may span lines: one record); None where there is none."""
    import csv
    skip = int(opts.get("skip_rows", 0) or 0)
    comment = opts.get("comment")
    escape = opts.get("escape")
    with open_text(path, opts.get("encoding", "utf-8"), opts.get("compression")) as fh:
        for _ in range(skip):
            fh.readline()
        reader = csv.reader(fh, delimiter=opts.get("delimiter", ","),
                            quotechar=opts.get("quote", '"'), escapechar=escape,
                            doublequote=not escape)
        row = -1 if opts.get("header", True) else 0
        for record in reader:
            if not record or comment and record[0].startswith(comment):
                continue
            row += 1
            if row >= 1 and len(record) != fields:
                return row
    return None


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


def json_records(path: Path, opts: Mapping[str, Any], members: bool = False) -> list:
    """The file's records; ``members``: objects keep their members in order, duplicate keys
    too (json_text.from_python reads them), as a json column needs."""
    import decimal
    encoding = opts.get("encoding", "utf-8")
    hook = None
    if members:
        from .expr.json_text import members as hook
    loads = json.JSONDecoder(parse_float=decimal.Decimal, object_pairs_hook=hook).decode
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

    kinds = {c: (col.get("type") if isinstance(col, Mapping) else col)
             for c, col in (columns or {}).items()}
    records = json_records(path, opts, members="json" in kinds.values())
    if columns:
        seen = set()
        for r in records:
            seen.update(r)
        missing = [c for c in columns if c not in seen]
        if missing and records:
            raise DataError("a declared column is absent from the file", dataset=where.dataset,
                            column=missing[0], file=str(path))
        from .expr.json_text import python_text
        return pa.table({c: pa.array([(python_text if kinds[c] == "json" else _json_text)(
            r.get(c)) for r in records], pa.string()) for c in columns})
    names = list(dict.fromkeys(k for r in records for k in r))

    def plain(v):
        return float(v) if isinstance(v, decimal.Decimal) else v
    try:
        return pa.table({c: pa.array([plain(r.get(c)) for r in records]) for c in names})
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return pa.table({c: pa.array([_json_text(r.get(c)) for r in records], pa.string())
                         for c in names})


def fixed_width_lines(path: Path, opts: Mapping[str, Any], dataset: str | None):
    """The file's lines after ``skip_rows`` and before ``skip_footer`` as an Arrow table:
    ``line`` and ``n``, its number from 1 after the skipped lines (the file line is ``n +
    skip_rows``).  Read by pyarrow's CSV reader with no delimiter or quote; neither
    pyarrow.compute nor a Python value made an Arrow scalar (pyarrow then loads pandas) is
    on this path, the duckdb engine's."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pcsv

    skip = int(opts.get("skip_rows", 0) or 0)
    comp = (opts.get("compression") or "infer").lower()
    if comp == "infer":
        comp = {".gz": "gzip", ".bz2": "bz2"}.get(path.suffix.lower(), "none")
    source = pa.CompressedInputStream(pa.OSFile(str(path)), comp) if comp != "none" \
        else str(path)
    try:
        table = pcsv.read_csv(
            source,
            read_options=pcsv.ReadOptions(column_names=["line"], skip_rows=skip,
                                          encoding=opts.get("encoding", "utf-8")),
            parse_options=pcsv.ParseOptions(delimiter="\x1f", quote_char=False,
                                            escape_char=False, ignore_empty_lines=False),
            convert_options=pcsv.ConvertOptions(column_types={"line": pa.string()},
                                                strings_can_be_null=False, null_values=[]))
        lines = table.column("line").combine_chunks()
    except pa.ArrowInvalid as exc:
        if "Empty CSV file" not in str(exc):
            raise DataError(f"not a readable fixed-width file: {exc}", dataset=dataset,
                            file=str(path)) from None
        lines = pa.nulls(0, pa.string())
    footer = int(opts.get("skip_footer", 0) or 0)
    if footer:
        lines = lines.slice(0, max(0, len(lines) - footer))
    numbers = pa.Array.from_buffers(pa.int64(), len(lines), [None, pa.py_buffer(
        np.arange(1, len(lines) + 1, dtype=np.int64).tobytes())])
    return pa.Table.from_arrays([lines, numbers], names=["line", "n"])


def fixed_width_spans(columns: Mapping | None) -> dict[str, tuple[int, int]]:
    """Each declared column's span as 0-based ``(start, end)`` (end exclusive)."""
    if not columns:
        raise ValueError("a fixed_width dataset must declare its columns with spans")
    spans = {}
    for name, col in columns.items():
        span = col.get("span") if isinstance(col, Mapping) else None
        if not span or len(span) != 2:
            raise ValueError(f"fixed_width column '{name}' needs a span [first, last]")
        spans[name] = (int(span[0]) - 1, int(span[1]))
    return spans


def _implied(text: list, scale: int) -> list:
    """Fixed-width decimals without a point: the last ``scale`` digits are the fraction."""
    out = []
    for v in text:
        if v is None or "." in v:
            out.append(v)
            continue
        sign, digits = ("-", v[1:]) if v[:1] == "-" else ("", v.lstrip("+"))
        digits = digits.rjust(scale + 1, "0")
        out.append(f"{sign}{digits[:-scale]}.{digits[-scale:]}")
    return out


def read_fixed_width(path: Path, opts: Mapping[str, Any], columns: Mapping | None,
                     dataset: str | None, counts: dict | None = None):
    """A fixed-width file as an Arrow table of its declared columns, each field converted
    exactly (arrow_convert.conform_table): a field blank or equal to ``null_value`` after
    stripping is null (a line too short for a span too), decimals without a point take
    their ``scale`` last digits as the fraction, any other field that does not convert is
    R040 naming the file's line, or follows the dataset's ``on_error``.  Blank lines are
    left out; ``record_types`` keeps the lines whose first column is one of them."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from .arrow_convert import Where, conform_table, spec_of

    spans = fixed_width_spans(columns)
    found = fixed_width_lines(path, opts, dataset)
    lines = found.column("line").combine_chunks()
    numbers = pc.add(found.column("n").combine_chunks(), int(opts.get("skip_rows", 0) or 0))
    keep = pc.invert(pc.match_substring_regex(lines, r"^\s*$"))
    record_types = opts.get("record_types")
    if record_types:
        lo, hi = next(iter(spans.values()))
        kind = pc.utf8_trim_whitespace(pc.utf8_slice_codeunits(lines, lo, hi))
        keep = pc.and_(keep, pc.is_in(kind, value_set=pa.array(
            [str(r).strip() for r in record_types], pa.string())))
    lines, numbers = lines.filter(keep), numbers.filter(keep)
    null_value = str(opts.get("null_value", "") or "")
    fields = {}
    for name, (lo, hi) in spans.items():
        field = pc.utf8_slice_codeunits(lines, lo, hi)
        stripped = pc.utf8_trim_whitespace(field)
        empty = pc.or_(pc.equal(stripped, ""), pc.equal(stripped, null_value))
        field = pc.if_else(empty, pa.scalar(None, pa.string()), field)
        spec = spec_of(columns[name])
        if spec.get("type") == "decimal" and int(spec.get("scale") or 0):
            field = pa.array(_implied(pc.utf8_trim_whitespace(field).to_pylist(),
                                      int(spec["scale"])), pa.string())
        fields[name] = field
    table = pa.table(fields) if fields else pa.table({})
    return conform_table(table, columns, Where(dataset, str(path), lines=numbers), text=True,
                         on_error=opts.get("on_error", "fail"), counts=counts)
