"""CSV and JSON Lines text of an Arrow table: every value written so that it reads back
unchanged (docs/types.md, "Text forms").  No dataframe library: the pandas engine hands an
Arrow table in; the duckdb engine writes the same forms with ``COPY``.

=========  =============================================  ==================================
type       CSV field                                      JSON value
=========  =============================================  ==================================
int        ``9223372036854775807`` (every digit)          number
float      shortest text that reads back bit for bit      number; ``NaN``, ``Infinity``,
           (``0.1``, ``1e+16``, ``-0.0``); ``nan``,        ``-Infinity`` as Python's json
           ``inf``, ``-inf``                              and DuckDB write them
decimal    every digit of its scale (``1.10``)            number, every digit
string     as it is; quoted when holding the delimiter,  string
           the quote or a line break, when equal to
           ``null_value``, and when empty if
           ``null_value`` is empty (the default)
bool       ``true`` / ``false``                           ``true`` / ``false``
date       ``2025-01-16``                                 ``"2025-01-16"``
timestamp  ``2025-01-16 09:30:00[.ffffff]`` (a midnight   same text, as a string
           is still a timestamp, never a date; the
           fraction without trailing zeros)
vector     ``"[1.0, 2.0]"``                               array of numbers
json       the JSON text                                  the value itself, nested (canonical)
null       ``null_value`` (default: empty, unquoted)      ``null``
=========  =============================================  ==================================
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

CODECS = {"gzip": "gzip", "bz2": "bz2", "zstd": "zstd", "lz4": "lz4", "brotli": "brotli"}


def _float_text(values: pa.Array, specials: Mapping[str, str]) -> pa.Array:
    """Shortest round-trip text (Arrow's, which reads back bit for bit), with ``.0`` on
    integral values so a float never reads as an int, and the named special values."""
    text = pc.cast(values.cast(pa.float64()), pa.string())
    integral = pc.match_substring_regex(text, r"^-?[0-9]+$")
    text = pc.if_else(integral, pc.binary_join_element_wise(text, ".0", ""), text)
    for raw, shown in specials.items():
        text = pc.if_else(pc.equal(text, raw), pa.scalar(shown), text)
    return text


def _timestamp_text(values: pa.Array) -> pa.Array:
    t = values.type
    if t.unit == "ns":  # whole microseconds are written as such; more digits are kept
        try:
            values = values.cast(pa.timestamp("us", t.tz))
        except pa.ArrowInvalid:
            pass
    text = pc.cast(values, pa.string())
    # the fraction without trailing zeros, none for whole seconds (docs/types.md)
    text = pc.replace_substring_regex(text, r"(\.[0-9]*[1-9])0+(Z?)$", r"\1\2")
    text = pc.replace_substring_regex(text, r"\.0+(Z?)$", r"\1")
    return pc.replace_substring_regex(text, r"Z$", "+00")


def _python_text(values: pa.Array, dump) -> pa.Array:
    return pa.array([None if v is None else dump(v) for v in values.to_pylist()], pa.string())


def _vector_text(v) -> str:
    return "[" + ", ".join(repr(float(x)) for x in v) + "]"


def value_text(values: pa.Array, fmt: str) -> pa.Array:
    """Each value's text in ``fmt`` ("csv" or "json"), nulls kept null; JSON strings come
    out quoted and escaped, CSV strings as they are (quoting is :func:`csv_field`'s)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    t = values.type
    if pa.types.is_dictionary(t):
        values, t = values.dictionary_decode(), t.value_type
    if pa.types.is_null(t):
        return pa.nulls(len(values), pa.string())
    if pa.types.is_integer(t) or pa.types.is_decimal(t):
        return pc.cast(values, pa.string())
    if pa.types.is_floating(t):
        specials = ({"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"} if fmt == "json"
                    else {})
        return _float_text(values, specials)
    if pa.types.is_boolean(t):
        return pc.if_else(values, pa.scalar("true"), pa.scalar("false"))
    if pa.types.is_date(t):
        text = pc.cast(values.cast(pa.date32()), pa.string())
        return _quoted(text) if fmt == "json" else text
    if pa.types.is_timestamp(t):
        text = _timestamp_text(values)
        return _quoted(text) if fmt == "json" else text
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        if fmt == "json":
            return _python_text(values, _json_string)
        return values.cast(pa.string())
    if (pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)) \
            and pa.types.is_floating(t.value_type):
        if fmt == "json":
            return _python_text(values, lambda v: "[" + ",".join(_json_float(x) for x in v)
                                + "]")
        return _python_text(values, _vector_text)
    dump = (lambda v: json.dumps(v, ensure_ascii=False, separators=(",", ":"), default=str))
    return _python_text(values, dump)


def _json_string(v: str) -> str:
    """A JSON string, non-ASCII kept, except the characters that line-splitting readers
    take for line ends (U+0085, U+2028, U+2029), which are escaped."""
    text = json.dumps(v, ensure_ascii=False)
    for c in "\x85\u2028\u2029":
        if c in text:
            text = text.replace(c, f"\\u{ord(c):04x}")
    return text


def _json_float(x) -> str:
    if x is None:
        return "null"
    return json.dumps(float(x))


def _quoted(text: pa.Array) -> pa.Array:
    return pc.binary_join_element_wise('"', text, '"', "")


def csv_field(text: pa.Array, opts: Mapping[str, Any], *, is_string: bool,
              lone: bool = False) -> pa.Array:
    """A column's CSV fields: quoted where a reader would otherwise change the value, and
    nulls as ``null_value``.  An empty string is quoted where it would read as null (the
    default ``null_value``) or make a blank line (``lone``: the only column, where every
    string is quoted, as DuckDB's ``FORCE_QUOTE`` does)."""
    delim, quote = opts.get("delimiter", ","), opts.get("quote", '"')
    escape = opts.get("escape")
    null = opts.get("null_value", "")
    special = "[" + "".join("\\" + c if c in "\\^]-[" else c for c in
                            {delim, quote, "\n", "\r"}) + "]"
    needs = pc.match_substring_regex(text, special)
    if is_string:  # the empty string is quoted under the default null_value "" by the last line
        if lone and null != "":
            needs = pc.is_valid(text)
        needs = pc.or_(needs, pc.equal(text, null))
    inner = text
    if escape and escape != quote:
        inner = pc.replace_substring(inner, escape, escape + escape)
        inner = pc.replace_substring(inner, quote, escape + quote)
    else:
        inner = pc.replace_substring(inner, quote, quote + quote)
    quoted = pc.binary_join_element_wise(quote, inner, quote, "")
    out = pc.if_else(pc.fill_null(needs, False), quoted, text)
    return pc.fill_null(out, null)


def _is_string(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or (
        pa.types.is_dictionary(t) and pa.types.is_string(t.value_type))


def csv_lines(table: pa.Table, opts: Mapping[str, Any]) -> list[str]:
    """The CSV text of ``table``, one string per line (the header first, unless
    ``header: false``)."""
    delim = opts.get("delimiter", ",")
    lines: list[str] = []
    if opts.get("header", True):
        names = pa.array([str(n) for n in table.column_names], pa.string())
        lines.append(delim.join(csv_field(names, {**opts, "null_value": "\x00"},
                                          is_string=True).to_pylist()))
    if not table.num_columns or not table.num_rows:
        return lines
    fields = [csv_field(value_text(table.column(i), "csv"), opts,
                        is_string=_is_string(table.schema.field(i).type),
                        lone=table.num_columns == 1)
              for i in range(table.num_columns)]
    rows = pc.binary_join_element_wise(*fields, delim) if len(fields) > 1 else fields[0]
    lines.extend(rows.to_pylist())
    return lines


def json_lines(table: pa.Table, json_columns=()) -> list[str]:
    """One JSON object per row, keys in column order; a column of ``json_columns`` (JSON
    text) as the JSON value itself, in canonical form (one line, whatever its spacing)."""
    if not table.num_rows:
        return []
    parts = []
    for i, name in enumerate(table.column_names):
        key = json.dumps(str(name), ensure_ascii=False) + ":"
        if name in json_columns:
            from .arrow_convert import json_texts
            text = pc.fill_null(json_texts(table.column(i).combine_chunks(), name), "null")
        else:
            text = pc.fill_null(value_text(table.column(i), "json"), "null")
        parts.append(pc.binary_join_element_wise(key, text, ""))
    if not parts:
        return ["{}"] * table.num_rows
    body = pc.binary_join_element_wise(*parts, ",") if len(parts) > 1 else parts[0]
    return pc.binary_join_element_wise("{", body, "}", "").to_pylist()


def write_text(table: pa.Table, path: Path, fmt: str, opts: Mapping[str, Any],
               json_columns=()) -> int:
    """Write ``table`` as CSV or JSON Lines to ``path`` (``compression`` and ``encoding``
    from the options; ``json_columns``: the declared json columns).  Returns the bytes
    written."""
    lines = csv_lines(table, opts) if fmt == "csv" else json_lines(table, json_columns)
    data = "".join(line + "\n" for line in lines).encode(opts.get("encoding") or "utf-8")
    comp = opts.get("compression")
    if comp in (None, "none", "infer"):
        path.write_bytes(data)
    else:
        import pyarrow as _pa
        if comp not in CODECS:
            from .errors import NotAvailable
            raise NotAvailable(f"compression {comp!r} does not apply to {fmt} files")
        with _pa.CompressedOutputStream(str(path), CODECS[comp]) as out:
            out.write(data)
    return path.stat().st_size
