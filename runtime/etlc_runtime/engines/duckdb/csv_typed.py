"""A CSV read whose declared dates pyarrow's reader parses, with the text path
as the fallback that decides every value that reader refuses.

The text path (csv_source over a VARCHAR read, conversions.from_text) parses each value and
renders it back to compare with the text: exact, and about 1.4x DuckDB's own typed scan on a
date- and decimal-heavy file.  DuckDB's typed scan cannot replace it: it reads ``1.005`` into
DECIMAL(15,2) as 1.01 and ``2020-1-2``, ``epoch`` or ``0000-01-01`` as dates, values no check
after the parse can tell from clean ones.  pyarrow's CSV reader, set up as the pandas engine
reads CSV (csv_arrow.csv_options), parses the columns csv_arrow.typed_columns names strictly
(what it accepts the text rules accept, each value the same; tests/runtime/test_csv_typed.py)
and refuses the rest.  A refusal proves nothing about the value (``2020-01-02 00:00:00`` is a
good date it refuses), so the read is a view over the Arrow scan, and when a query stops on
that scan's error (:func:`refused`) the engine replaces each view by its text twin
(:func:`fall_back`: the same columns and types, converted in SQL, R040 with column, value and
file) and runs the operation again.  A file with such a value is read twice (bad input is
rare); the result and any R040 are those of the text path alone.

Only for ``on_error: fail`` and the options csv_arrow.typed_scan_allowed names, files whose
header holds every declared column once, no Hive folders, and reads of at least
:data:`MIN_BYTES` (below, the import of pyarrow costs more than the scan saves).  Ints,
decimals, floats, timestamps and bools stay text in the view (VARCHAR), converted by read.py
as on the text path (csv_arrow says why).
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import Any

from ...csv_arrow import csv_options, header_holds, typed_columns, typed_scan_allowed
from ...expr.sql import quote_ident as q
from ...expr.sql import sql_literal
from .conversions import from_text

ARROW_PREFIX = "__etlc_csvarrow"
# smaller reads take the text path: importing pyarrow and its CSV reader costs about 0.2 s,
# what the typed scan saves on about 0.5 M rows of the csv benchmark's lineitem file
MIN_BYTES = 64 * 2**20
REFUSED = "etlc: the typed CSV scan refused a value"
_REFUSALS = (REFUSED, "CSV parse error", "CSV conversion error", "In CSV column #")


class CsvStream:
    """A CSV file as an Arrow stream that DuckDB can scan any number of times: each scan
    (and each bind) asks ``__arrow_c_stream__`` and gets a new pyarrow streaming reader.
    (a pyarrow dataset would do as much, but importing it imports pandas.)"""

    def __init__(self, path: str, options: tuple) -> None:
        self.path, self.options = path, options

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        import pyarrow.csv as pcsv
        read, parse, convert = self.options
        reader = pcsv.open_csv(self.path, read_options=read, parse_options=parse,
                               convert_options=convert)
        return reader.__arrow_c_stream__(requested_schema)


def _size(f: Path) -> int:
    try:
        return Path(f).stat().st_size
    except OSError:
        return 0


def _names(f: Path, opts: Mapping[str, Any], declared: Mapping[str, Any]) -> list[str] | None:
    from ...read_text import csv_header
    try:
        names = csv_header(f, opts) if opts.get("header", True) else list(declared)
    except (OSError, UnicodeError, ValueError):
        return None
    return names if header_holds(names, declared) else None


def _guarded(c: str, typed: Mapping[str, Any]) -> str:
    """Column ``c`` of the Arrow scan; a date guarded against the year 0000, the one date
    Arrow reads (``0000-01-01``) that the text rules refuse: the scan is then refused."""
    import pyarrow as pa
    if typed.get(c) != pa.date32():
        return q(c)
    return (f"(CASE WHEN {q(c)} >= DATE '0001-01-01' OR {q(c)} IS NULL THEN {q(c)} "
            f"ELSE error({sql_literal(REFUSED)}) END) AS {q(c)}")


def source(b, files: Sequence[Path], opts: Mapping[str, Any], declared: Mapping | None,
           fallbacks: MutableMapping[str, str] | None, keep: list) -> str | None:
    """A view over the Arrow scan of ``files`` (declared columns only, plus read.py's file
    column), its text twin kept in ``fallbacks`` by the view's name; None where the typed
    scan does not apply (the text path reads the files then)."""
    if fallbacks is None or not declared or not files or not typed_scan_allowed(opts) \
            or sum(_size(f) for f in files) < MIN_BYTES:
        return None
    typed = typed_columns(declared)
    if not typed:
        return None
    import duckdb

    from .csv_source import FILE_COLUMN, csv_files
    parts, names = [], []
    view = f"__etlc_csv{next(b._ids)}"
    try:   # registering and binding read a first block: a value refused there sends the
        for f in files:   # read to the text path
            header = _names(f, opts, declared)
            if header is None:
                raise LookupError(f)
            scan = CsvStream(str(f), csv_options(opts, header, list(declared), typed=typed))
            names.append(f"{ARROW_PREFIX}{next(b._ids)}")
            b.con.register(names[-1], scan)
            keep.append(scan)
            parts.append(f"SELECT {', '.join(_guarded(c, typed) for c in declared)}, "
                         f"{sql_literal(str(f))} AS {q(FILE_COLUMN)} FROM {q(names[-1])}")
        b.con.execute(f"CREATE VIEW {q(view)} AS " + "\nUNION ALL\n".join(parts))
    except (duckdb.Error, LookupError):
        for name in names:
            b.con.unregister(name)
        return None
    file_sql = q(FILE_COLUMN)
    items = [f"CAST({from_text(q(c), declared[c], c, file_sql=file_sql)} AS DATE) AS {q(c)}"
             if c in typed else q(c) for c in declared]
    fallbacks[view] = (f"SELECT {', '.join(items)}, {file_sql} FROM "
                       f"{csv_files(list(files), opts, declared, b)}")
    return q(view)


def refused(exc: BaseException) -> bool:
    """True for an error of an Arrow CSV scan (a value or a row pyarrow's reader refuses)."""
    import duckdb
    text = str(exc)
    return isinstance(exc, duckdb.Error) and (
        f"registered as '{ARROW_PREFIX}" in text or any(s in text for s in _REFUSALS))


def fall_back(con, fallbacks: MutableMapping[str, str]) -> bool:
    """Each Arrow view replaced by its text twin; False when there was none.  A twin that
    cannot be bound (an earlier read's file since removed, where one connection served
    several reads) leaves its view as it was: no query of this read uses it."""
    import duckdb
    if not fallbacks:
        return False
    for name, text in fallbacks.items():
        try:
            con.execute(f"CREATE OR REPLACE VIEW {q(name)} AS {text}")
        except duckdb.Error:
            pass
    fallbacks.clear()
    return True


__all__ = ["ARROW_PREFIX", "fall_back", "refused", "source"]
