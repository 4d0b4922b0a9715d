"""Rows into PostgreSQL by COPY: the data as Arrow (a pandas frame converted once), sent as the
CSV pyarrow writes where PostgreSQL reads every column's text back as the same value (no
Python value per row), else row by row through psycopg (lists, JSON, nanoseconds).
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa

from .errors import StepError
from .pg_target import STAGE, ids


def to_arrow(data) -> pa.Table:
    """The rows to load as Arrow: pandas frames (the pandas engine) keep their nulls apart
    from NaN where the dtype does (``Float64``), ints exact, NaT as null."""
    if isinstance(data, pa.Table):
        return data
    frame = data.reset_index(drop=True)
    frame.columns = [str(c) for c in frame.columns]
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        for c in frame.columns:  # name the column that Arrow cannot hold
            try:
                pa.array(frame[c], from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
                raise StepError(None, f"column {c!r} holds values of mixed or unknown types, "
                                      f"which a table column cannot hold: {exc}") from None
        raise


def python_rows(table: pa.Table, cols: list[str]):
    """Python values of each row (Decimal, date, datetime, int, float with NaN, None)."""
    import json

    columns = []
    for c in cols:
        values = table.column(c).to_pylist()
        t = table.schema.field(c).type
        if pa.types.is_struct(t) or pa.types.is_map(t):
            values = [None if v is None else json.dumps(v, default=str) for v in values]
        columns.append(values)
    return zip(*columns)


def csv_ready(data: pa.Table) -> pa.Table | None:
    """The rows with types whose CSV text (pyarrow's writer) PostgreSQL reads back as the
    same values: ints, floats (float32 widened exactly; shortest round-trip text, nan/inf),
    decimals, bools, dates, microsecond timestamps, text (always quoted, so ``""`` is ''
    and an unquoted empty field null).  None when a column is anything else (lists, JSON,
    nanoseconds that microseconds cannot hold): those go row by row."""
    out = []
    for field in data.schema:
        values, t = data.column(field.name), field.type
        if pa.types.is_dictionary(t):
            values, t = values.cast(t.value_type), t.value_type
        if pa.types.is_floating(t):
            values = values.cast(pa.float64())   # exact; float32 text would be read as double
        elif pa.types.is_timestamp(t) and t.unit != "us":
            try:
                values = values.cast(pa.timestamp("us", t.tz))   # safe: refuses to truncate
            except pa.ArrowInvalid:
                return None
        elif not (pa.types.is_integer(t) or pa.types.is_decimal(t) or pa.types.is_boolean(t)
                  or pa.types.is_date(t) or pa.types.is_timestamp(t) or pa.types.is_string(t)
                  or pa.types.is_large_string(t)):
            return None
        out.append(values)
    return pa.Table.from_arrays(out, names=data.column_names)


def repeat_text(value: str, n: int) -> pa.Array:
    """``value`` ``n`` times, built from buffers (pa.array of Python values imports pandas,
    which the duckdb engine's path never does)."""
    import array

    raw = value.encode()
    offsets = array.array("q", range(0, (n + 1) * len(raw), len(raw)) if raw else [0] * (n + 1))
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(raw * n))


def copy_in(cur, data: pa.Table, cols: list[str], target=None,
            halfway: Callable[[], None] = lambda: None) -> None:
    """COPY the rows into ``target`` (default: the staging table): as CSV written by
    pyarrow when every column allows (:func:`csv_ready`), else row by row.  ``halfway`` is
    called once half the rows are sent (io_postgres's fault point ``pg:copy``)."""
    import pyarrow.csv as pcsv
    from psycopg import sql

    half = data.num_rows // 2
    ready = csv_ready(data.select(cols))
    target = target or sql.Identifier(STAGE)
    if ready is None:
        with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(target, ids(cols))) as copy:
            for i, row in enumerate(python_rows(data, cols)):
                if i == half:
                    halfway()
                copy.write_row(row)
        return
    options = pcsv.WriteOptions(include_header=False, quoting_style="needed")
    with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
            target, ids(cols))) as copy:
        for i, part in enumerate((ready.slice(0, half), ready.slice(half))):
            if i:
                halfway()
            for batch in part.to_batches(max_chunksize=1 << 16):
                buf = pa.BufferOutputStream()
                pcsv.write_csv(batch, buf, options)
                copy.write(memoryview(buf.getvalue()))
