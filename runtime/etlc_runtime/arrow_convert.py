"""Values read from files into their declared types, exactly, in Arrow (no pandas).

Two conversions, both strict (a value that does not convert unchanged is an R040
:class:`~etlc_runtime.errors.DataError` naming the column, the file, the row or line and the
value; nothing is coerced silently):

- :func:`text_to`: text (CSV fields, JSON scalars as their JSON text) to the declared type.
  ``int`` is ``[+-]digits`` (a ``.0`` tail allowed), parsed as int64 without passing through
  float; ``decimal`` keeps every digit and refuses a value with more digits than the scale or
  the precision (default 38); ``float`` takes ``nan``/``inf``/``-0.0``; ``bool`` takes
  true/false/t/f/1/0/yes/no/y/n; ``date`` is ``YYYY-MM-DD`` (a timestamp at midnight too);
  ``timestamp`` is ISO 8601 with ``T`` or a space, fractions to the microsecond (further
  digits must be zero), and an optional zone (``Z``, ``+02:00``, ``+0200``): zoned values
  are stored as their UTC time.  Surrounding whitespace is ignored except for ``string``,
  which is kept as it is; nulls are what the reader marked null, never ``''``.
- :func:`typed_to`: a typed Arrow column (Parquet) to the declared type, only where no value
  changes: float ``1.5`` into ``int`` is an error, ints beyond 2**53 into ``float`` too, a
  nanosecond that microseconds cannot hold too; zoned timestamps become UTC.

The Arrow type of each spec type is :func:`arrow_type` (docs/types.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from .errors import ON_ERROR, DataError, count_read_errors
from .expr.casts import ISO_TEXT

TRUE = ("true", "t", "1", "yes", "y")
FALSE = ("false", "f", "0", "no", "n")
INT_TEXT = r"^[+-]?[0-9]+(\.0*)?$"
ZONE_TEXT = r"[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]*)?)? ?(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)$"
DEFAULT_PRECISION = 38
PLAIN_INT = r"^-?[0-9]+$"          # Arrow's int cast reads these exactly (and '0x10': hex)
PLAIN_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
DEC_TEXT = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
HUGE_EXPONENT = r"[eE][+-]?0*[1-9][0-9]{5,}$"   # 100000 or more
HUGE_EXPONENT_LIMIT = "+-99999"


@dataclass(frozen=True)
class Where:
    """Where values come from, for error messages: rows are counted from ``first_row`` (1:
    the file's first data row, a header not counted; more for a read of later Parquet row
    groups); ``first_line`` (or ``lines``) gives text files' lines too."""

    dataset: str | None = None
    file: str | None = None
    first_line: int | None = None
    lines: Any = None   # the file line of each value, where lines are not consecutive
    first_row: int = 1

    def error(self, reason: str, column: str | None, index: int | None = None,
              value: Any = None) -> DataError:
        line = row = None
        if index is not None:   # the data row in the file (1-based), and its line if known
            row = index + self.first_row
            if self.lines is not None:
                line = int(self.lines[index].as_py() if hasattr(self.lines[index], "as_py")
                           else self.lines[index])
            elif self.first_line is not None:
                line = self.first_line + index
        return DataError(reason, dataset=self.dataset, column=column, file=self.file,
                         line=line, row=row, value=value)


def spec_of(column: Any) -> dict:
    if isinstance(column, str):
        return {"type": column}
    return dict(column or {})


def arrow_type(column: Any) -> pa.DataType | None:
    """The Arrow type a spec column is held in (decimal: ``precision`` or 38 digits)."""
    spec = spec_of(column)
    kind = spec.get("type")
    if kind == "decimal":
        return pa.decimal128(int(spec.get("precision") or DEFAULT_PRECISION),
                             int(spec.get("scale") or 0))
    return {
        "int": pa.int64(), "float": pa.float64(), "string": pa.string(), "bool": pa.bool_(),
        "date": pa.date32(), "timestamp": pa.timestamp("us"),
        "timestamptz": pa.timestamp("us", "UTC"), "vector": pa.list_(pa.float64()),
        "json": pa.string(),  # JSON text in canonical form (expr/json_text.py)
    }.get(kind)


def _first_bad(values: pa.Array, ok) -> int:
    """Index of the first non-null value that ``ok(scalar_array)`` refuses."""
    for i in range(len(values)):
        piece = values.slice(i, 1)
        if piece.null_count:
            continue
        try:
            if ok(piece):
                continue
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError, OverflowError):
            pass
        return i
    return 0


def _cast_or_error(values: pa.Array, target: pa.DataType, name: str, where: Where,
                   reason: str, shown: pa.Array | None = None) -> pa.Array:
    try:
        return pc.cast(values, target, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OverflowError):
        i = _first_bad(values, lambda p: pc.cast(p, target, safe=True) is not None)
        source = values if shown is None else shown
        raise where.error(reason, name, i, source[i].as_py()) from None


def _true(mask):
    """``mask`` with nulls as false.  No Python values here (nor below on the conversion
    path): pyarrow imports pandas to convert one, and the duckdb engine's reads never do."""
    return pc.and_kleene(mask, pc.is_valid(mask))


def _refuse(bad: pa.Array, shown: pa.Array, name: str, where: Where, reason: str) -> None:
    """Raise for the first true of ``bad`` (nulls are not bad)."""
    bad = _true(bad)
    if pc.any(bad).as_py():
        i = pc.index(bad, True).as_py()
        raise where.error(reason, name, i, shown[i].as_py())


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t)


def _string_type(values: pa.Array) -> pa.Array:
    """Text as ``string`` (from ``large_string`` or an all-null column), chunks kept."""
    if pa.types.is_large_string(values.type) or pa.types.is_null(values.type):
        values = values.cast(pa.string())
    return values


def _as_text(values: pa.Array) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return _string_type(values)


def text_to(values: pa.Array, column: Any, name: str, where: Where = Where()) -> pa.Array:
    """Text to the declared type (see the module doc).  A chunked column (a CSV reader's)
    stays chunked where no value needs the general rules: joining its chunks copies it."""
    values = _string_type(values)
    spec = spec_of(column)
    kind = spec.get("type")
    target = arrow_type(spec)
    if kind in (None, "string", "vector"):
        return values
    if kind != "json":
        fast = _plain(values, kind, spec, name, where)   # no value needs the general rules
        if fast is not None:
            return fast
    values = _as_text(values)
    if kind == "json":
        return json_texts(values, name, where)
    text = pc.utf8_trim_whitespace(values)
    if kind == "int":
        if _all_match(text, PLAIN_INT):   # one pass where every value is bare digits
            return _cast_or_error(text, pa.int64(), name, where,
                                  "int out of the int64 range", shown=values)
        _refuse(pc.invert(pc.match_substring_regex(text, INT_TEXT)), values, name, where,
                "not a valid int (digits with an optional sign)")
        digits = pc.replace_substring_regex(pc.replace_substring_regex(text, r"^\+", ""),
                                            r"\.0*$", "")
        return _cast_or_error(digits, pa.int64(), name, where,
                              "int out of the int64 range", shown=values)
    if kind == "float":
        return _cast_or_error(text, pa.float64(), name, where, "not a valid float",
                              shown=values)
    if kind == "decimal":
        _refuse(pc.invert(pc.match_substring_regex(text, DEC_TEXT)), values, name, where,
                f"not a valid {target} (digits with an optional sign, point and exponent)")
        # Arrow's decimal parser crashes the process on an exponent of 8 digits or more
        # ('1e-10000000'); no such value fits a decimal(38) exactly, and DuckDB refuses it
        _refuse(pc.match_substring_regex(text, HUGE_EXPONENT), values, name, where,
                f"not a valid {target} (an exponent beyond {HUGE_EXPONENT_LIMIT})")
        return _cast_or_error(text, target, name, where,
                              f"not a valid {target} (too many digits after the point, or "
                              f"more than its precision)", shown=values)
    if kind == "bool":
        low = pc.utf8_lower(text)
        is_true = pc.match_substring_regex(low, f"^({'|'.join(TRUE)})$")
        is_false = pc.match_substring_regex(low, f"^({'|'.join(FALSE)})$")
        _refuse(pc.and_(pc.is_valid(text), pc.invert(pc.or_(is_true, is_false))), values,
                name, where,
                "not a valid bool (true/false, t/f, 1/0, yes/no, y/n)")
        return pc.if_else(pc.is_null(text), pa.nulls(1, pa.bool_())[0], is_true)
    if kind == "timestamptz":
        return _zoned_text(text, values, spec.get("format"), name, where)
    if kind in ("date", "timestamp"):
        fmt = spec.get("format")
        if fmt:
            stamps = _strptime(text, values, fmt, name, where)
        elif kind == "date" and _all_match(text, PLAIN_DATE):
            return _plain_dates(text, values, name, where)
        else:
            stamps = _iso_timestamps(text, values, name, where)
        if kind == "timestamp":
            return stamps
        return _midnight_dates(stamps, values, name, where)
    raise ValueError(f"column '{name}': unknown type {kind!r}")


def _strptime(text: pa.Array, shown: pa.Array, fmt: str, name: str, where: Where) -> pa.Array:
    try:
        return pc.strptime(text, format=fmt, unit="us", error_is_null=False)
    except (pa.ArrowInvalid, ValueError):
        i = _first_bad(text, lambda p: pc.strptime(p, format=fmt, unit="us"))
        raise where.error(f"does not match the format {fmt!r}", name, i,
                          shown[i].as_py()) from None


def _to_microseconds(text: pa.Array, shown: pa.Array, name: str, where: Where) -> pa.Array:
    """Digits past the microsecond must be zero (one nanosecond value is an error of its
    own, never a reason to refuse the others); the zeros are dropped."""
    _refuse(pc.match_substring_regex(text, r"\.[0-9]{6}[0-9]*[1-9]"), shown, name, where,
            "a timestamp finer than the microsecond")
    return pc.replace_substring_regex(text, r"(\.[0-9]{6})[0-9]+", r"\1")


def _iso_shape(text: pa.Array, shown: pa.Array, name: str, where: Where) -> None:
    """Text not of the one shape of date and timestamp text (expr/casts.ISO_TEXT, the
    duckdb engine's too) is R040: Arrow's parser also reads an hour alone ('T03') and the
    year 0000."""
    shaped = pc.and_(pc.match_substring_regex(text, f"^{ISO_TEXT}$"),
                     pc.invert(pc.starts_with(text, "0000")))
    _refuse(pc.invert(shaped), shown, name, where, "not a valid ISO 8601 timestamp")


def _iso_timestamps(text: pa.Array, shown: pa.Array, name: str, where: Where) -> pa.Array:
    text = _to_microseconds(text, shown, name, where)
    _iso_shape(text, shown, name, where)
    zoned = _true(pc.match_substring_regex(text, ZONE_TEXT))
    null_text = pa.nulls(1, pa.string())[0]
    naive = pc.if_else(zoned, null_text, text)
    out = _cast_or_error(naive, pa.timestamp("us"), name, where, "not a valid ISO 8601 "
                         "timestamp", shown=shown)
    if pc.any(zoned).as_py():
        with_zone = pc.if_else(zoned, text, null_text)
        utc = _cast_or_error(with_zone, pa.timestamp("us", "UTC"), name, where,
                             "not a valid ISO 8601 timestamp", shown=shown)
        years = pc.year(utc)   # a zone may move the UTC time out of the years 1 to 9999
        _refuse(pc.or_(pc.less(years, 1), pc.greater(years, 9999)), shown, name, where,
                "not a valid ISO 8601 timestamp")
        out = pc.if_else(zoned, utc.cast(pa.timestamp("us")), out)
    return out


def _zoned_text(text: pa.Array, shown: pa.Array, fmt: str | None, name: str,
                where: Where) -> pa.Array:
    """Text with a zone offset to the instant (``timestamp[us, UTC]``); a value without an
    offset is R040 (which zone it meant is not known: declare ``timestamp`` and attach the zone
    with ``at time zone``)."""
    if fmt:
        if "%z" not in fmt:
            raise where.error(f"a timestamptz format needs %z (the offset), not {fmt!r}", name)
        return _strptime(text, shown, fmt, name, where).cast(pa.timestamp("us", "UTC"))
    _refuse(pc.invert(pc.match_substring_regex(text, ZONE_TEXT)), shown, name, where,
            "a timestamptz without a zone offset (Z, +02:00); declare timestamp for "
            "zone-less times")
    text = _to_microseconds(text, shown, name, where)
    _iso_shape(text, shown, name, where)
    return _cast_or_error(text, pa.timestamp("us", "UTC"), name, where,
                          "not a valid ISO 8601 timestamp", shown=shown)


def _plain(values: pa.Array, kind: str, spec: Mapping[str, Any], name: str,
           where: Where) -> pa.Array | None:
    """The column read in one cast when every value has its type's plain shape untrimmed
    (bare digits, ``YYYY-MM-DD``, what Arrow's float cast reads: it takes no whitespace), so
    that neither the trim nor the general checks could change anything; else None."""
    if kind == "int":   # Arrow's cast reads -?digits and hex ('0x10'), which is refused
        try:
            out = pc.cast(values, pa.int64(), safe=True)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
        if pc.any(pc.starts_with(values, "0x", ignore_case=True)).as_py():
            return None
        return out
    if kind == "date" and not spec.get("format") and _all_match(values, PLAIN_DATE):
        return _plain_dates(values, values, name, where)
    if kind == "float":
        try:
            return pc.cast(values, pa.float64(), safe=True)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
    return None


def _all_match(text: pa.Array, pattern: str) -> bool:
    """Whether every value (nulls aside) matches ``pattern``: the text of the fast paths, on
    which the general checks could not fire."""
    return pc.all(pc.match_substring_regex(text, pattern)).as_py() is not False


def _plain_dates(text: pa.Array, shown: pa.Array, name: str, where: Where) -> pa.Array:
    """``YYYY-MM-DD`` text (every value) to dates: the general path's checks in its order
    (year 0000 first, then what is no calendar date), in one cast instead of five passes."""
    _refuse(pc.starts_with(text, "0000"), shown, name, where, "not a valid ISO 8601 timestamp")
    return _cast_or_error(text, pa.date32(), name, where, "not a valid ISO 8601 timestamp",
                          shown=shown)


def _midnight_dates(stamps: pa.Array, shown: pa.Array, name: str, where: Where) -> pa.Array:
    days = stamps.cast(pa.timestamp("us")).cast(pa.date32())
    back = days.cast(pa.timestamp("us"))
    _refuse(pc.not_equal(back, stamps.cast(pa.timestamp("us"))), shown, name, where,
            "a date with a time of day (a date column holds dates only)")
    return days


def _is_int(t: pa.DataType) -> bool:
    return pa.types.is_integer(t)


# Every decimal of at most 15 significant digits comes back unchanged from the nearest
# float64 (DBL_DIG), so the value-by-value check of a decimal(p <= 15) read as float can never
# fire; it costs 95 % of that read's conversion (issue #11's profile).
FLOAT64_DIGITS = 15


def _float_round_trips(src: pa.DataType) -> bool:
    """Whether every value of ``src`` is proven to survive float64 and back unchanged."""
    return pa.types.is_decimal(src) and 0 <= src.scale <= src.precision <= FLOAT64_DIGITS


def _short_decimal_floats(values: pa.Array) -> pa.Array:
    """A decimal(p <= 15) column as float64, correctly rounded: its unscaled integers (exact
    in a double) divided by 10**scale (exact), one IEEE division. Arrow's own cast can be a
    step off the nearest double (49.9 -> 49.900000000000006), which DuckDB's is not."""
    import sys

    import numpy as np

    t = values.type
    n = len(values)
    if values.null_count == n:
        return pa.nulls(n, pa.float64())
    if sys.byteorder != "little" or t.bit_width < 32:
        return values.cast(pa.float64())
    raw = values.buffers()[1]
    off = values.offset
    if t.bit_width == 32:
        units = np.frombuffer(raw, dtype="<i4")[off:off + n]
    else:   # the low 64-bit word holds the two's complement of an integer below 10**15
        k = t.bit_width // 64
        units = np.frombuffer(raw, dtype="<i8")[off * k:(off + n) * k:k]
    floats = units.astype(np.float64) / (10.0 ** t.scale)
    nulls = values.is_null().to_numpy(zero_copy_only=False) if values.null_count else None
    return pa.array(floats, pa.float64(), mask=nulls)


def nearest_doubles(dec: pa.Array):
    """The nearest double of each decimal (NaN at nulls).  Arrow's own decimal-to-double cast
    is not correctly rounded (decimal 25.333 gives 25.333000000000002), so an exact value
    would look changed; an unscaled value of at most 2**53 divided by 10**scale (both exact
    doubles) is one correctly rounded IEEE division, the rare others go through Python."""
    import numpy as np

    n = len(dec)
    out = np.full(n, np.nan)
    small = np.zeros(n, dtype=bool)
    valid = ~np.asarray(dec.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    if pa.types.is_decimal128(dec.type) and dec.type.scale <= 22 and n:
        words = np.frombuffer(dec.buffers()[1], dtype="<i8")[2 * dec.offset:2 * (dec.offset + n)]
        low, high = words[0::2], words[1::2]
        small = valid & (high == (low >> 63)) & (low >= -2**53) & (low <= 2**53)
        out[small] = low[small].astype(np.float64) / 10.0 ** dec.type.scale
    for row in np.flatnonzero(valid & ~small):
        out[row] = float(dec[int(row)].as_py())
    return out


def json_texts(values: pa.Array, name: str, where: Where = Where()) -> pa.Array:
    """JSON text in canonical form (DuckDB's json(), expr/json_text); text that is not one
    JSON value is R040."""
    from .expr.json_text import JsonError, canonical_text
    enc = values.dictionary_encode()
    out = []
    for k, u in enumerate(enc.dictionary.to_pylist()):
        try:
            out.append(canonical_text(u))
        except JsonError as exc:
            raise where.error(str(exc), name, pc.index(enc.indices, k).as_py(), u) from None
    return pa.DictionaryArray.from_arrays(enc.indices, pa.array(out, pa.string())
                                          ).dictionary_decode()


def typed_to(values: pa.Array, column: Any, name: str, where: Where = Where()) -> pa.Array:
    """A typed column to the declared type, where no value changes (see the module doc)."""
    spec = spec_of(column)
    kind = spec.get("type")
    target = arrow_type(spec)
    src = values.type
    if _is_text(src):
        return text_to(values, spec, name, where)
    if target is None or kind == "vector" or src == target:
        return values
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_dictionary(src):
        return typed_to(values.dictionary_decode(), spec, name, where)

    def lossy(reason: str):
        return lambda: _cast_or_error(values, target, name, where, reason)

    if kind == "int":
        if _is_int(src) or pa.types.is_floating(src) or pa.types.is_decimal(src):
            return lossy(f"a {src} value that an int64 cannot hold unchanged")()
    elif kind == "float":
        if pa.types.is_floating(src):
            return values.cast(pa.float64())
        if _is_int(src) or pa.types.is_decimal(src):
            if _float_round_trips(src):
                return _short_decimal_floats(values)
            out = lossy(f"a {src} value that a float64 cannot hold exactly")()
            _refuse(pc.not_equal(pc.cast(out, src, safe=False), values), values, name, where,
                    f"a {src} value that a float64 cannot hold exactly")
            return out
    elif kind == "decimal":
        if _is_int(src) or pa.types.is_decimal(src):
            return lossy(f"a {src} value that {target} cannot hold unchanged")()
        if pa.types.is_floating(src):
            _refuse(pc.invert(pc.is_finite(values)), values, name, where,
                    f"NaN or infinity cannot be a {target}")
            out = pc.cast(values, target, safe=False)
            back = pa.array(nearest_doubles(out), pa.float64())   # Arrow's cast is not exact
            _refuse(pc.not_equal(back, values.cast(pa.float64())), values, name, where,
                    f"a float that {target} cannot hold exactly")
            return out
    elif kind == "bool":
        if pa.types.is_boolean(src):
            return values
    elif kind == "string":
        return values.cast(pa.string())
    elif kind == "date":
        if pa.types.is_date(src):
            return values.cast(pa.date32())
        if pa.types.is_timestamp(src):
            return _midnight_dates(_utc_naive(values, name, where), values, name, where)
    elif kind == "timestamp":
        if pa.types.is_timestamp(src):
            return _utc_naive(values, name, where)
    elif kind == "timestamptz":
        if pa.types.is_timestamp(src) and src.tz is not None:  # any zone: the same instant
            return _utc_naive(values, name, where).cast(target)
        if pa.types.is_timestamp(src):
            raise where.error("a timestamp without a zone cannot be read as timestamptz "
                              "(declare timestamp, then attach its zone with at time zone)",
                              name)
        if pa.types.is_date(src):
            return values.cast(pa.timestamp("us"))
    raise where.error(f"a {src} column cannot be read as {kind} (declare the file's type, "
                      f"or cast in a step)", name, None, None)


def _utc_naive(values: pa.Array, name: str, where: Where) -> pa.Array:
    src = values.type
    if src.tz is not None:
        values = values.cast(pa.timestamp(src.unit, "UTC")).cast(pa.timestamp(src.unit))
    return _cast_or_error(values, pa.timestamp("us"), name, where,
                          "a timestamp finer than the microsecond")




def _tolerant(conv, values: pa.Array, col: Any, name: str, where: Where
              ) -> tuple[pa.Array, list[int]]:
    """Convert value by value: those that do not convert become null; their indexes."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    target = arrow_type(col)
    pieces, bad = [], []
    for i in range(len(values)):
        try:
            pieces.append(conv(values.slice(i, 1), col, name, where))
        except DataError:
            bad.append(i)
            pieces.append(pa.nulls(1, target))
    if not pieces:
        return pa.array([], target), bad
    return pa.concat_arrays([p.cast(target) if target is not None else p for p in pieces]), bad


def conform_table(table: pa.Table, columns: Mapping[str, Any], where: Where = Where(), *,
                  text: bool = False, on_error: str = "fail",
                  counts: dict | None = None) -> pa.Table:
    """The declared columns, in declared order, each converted (``text``: every column is
    text, as CSV and JSON readers give them).  A declared column absent from ``table`` is an
    error.  ``on_error`` (a dataset's option): ``fail`` (R040, the default), ``null`` (a value
    that does not convert becomes null) or ``skip`` (its row is left out); ``counts`` gets
    the number of such values per column added (:func:`count_read_errors`)."""
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error must be one of {', '.join(ON_ERROR)}, not {on_error!r}")
    arrays, names, bad_rows = [], [], set()
    for name, col in columns.items():
        if name not in table.column_names:
            raise where.error("a declared column is absent from the file", name)
        values = table.column(name)
        # a text reader's columns are text, except those Arrow's reader parsed (csv_arrow)
        conv = text_to if text and _is_text(values.type) else typed_to
        try:
            arrays.append(conv(values, col, name, where))
        except DataError:
            if on_error == "fail":
                raise
            out, bad = _tolerant(conv, values, col, name, where)
            arrays.append(out)
            bad_rows.update(bad)
            count_read_errors(counts, name, on_error, len(bad))
        names.append(name)
    if not names:
        return pa.table({}).slice(0, 0)
    out = pa.Table.from_arrays(arrays, names=names)
    if on_error == "skip" and bad_rows:
        keep = [i not in bad_rows for i in range(out.num_rows)]
        out = out.filter(pa.array(keep))
    return out
