"""Exact comparison of results, shared by the runtime and expression tests (docs/testing.md):
the same column names, the same types (Arrow schema) and the same values, floats by their
bits unless a test gives a column an explicit bound in units in the last place. Nothing is
rounded and no kind of value is turned into another (a date is never a midnight timestamp,
an int never a float)."""

from __future__ import annotations

import math
import struct

import pyarrow as pa


def arrow(data) -> pa.Table:
    """``data`` as an Arrow table: a table, a DuckDB relation or record batch reader (read as
    Arrow, never through pandas), or a pandas frame (the pandas engine's result). A numpy float
    column keeps NaN as NaN: pyarrow's default would turn it into null."""
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatchReader):
        return data.read_all()
    if hasattr(data, "to_arrow_table"):
        return data.to_arrow_table()
    import numpy as np
    import pandas as pd

    assert isinstance(data, pd.DataFrame), type(data)
    columns = {}
    for name in data.columns:
        s = data[name]
        if isinstance(s.dtype, np.dtype) and s.dtype.kind == "f":
            columns[name] = pa.array(s.to_numpy(), from_pandas=False)
        else:
            columns[name] = pa.Array.from_pandas(s)
    return pa.table(columns) if columns else pa.table({})


def kind(t: pa.DataType) -> str:
    """A column's type as compared: the Arrow type, except that the three string layouts are
    one, a decimal is its scale (its precision is the engine's business, as in DuckDB) and a
    timestamp is its time zone (its unit is compared through the values)."""
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    if pa.types.is_decimal(t):
        return f"decimal(scale={t.scale})"
    if pa.types.is_timestamp(t):
        return f"timestamp(tz={t.tz})"
    return str(t)


def _finer(a: pa.DataType, b: pa.DataType) -> pa.DataType:
    order = ["s", "ms", "us", "ns"]
    return a if order.index(a.unit) >= order.index(b.unit) else b


def _values(column: pa.ChunkedArray, t: pa.DataType) -> list:
    """Python values of a column with the kind of each value kept: floats as (bits, value),
    timestamps as integers of unit t (a safe cast: a lost digit raises)."""
    if pa.types.is_timestamp(t):
        return column.cast(pa.timestamp(t.unit, column.type.tz)).cast(pa.int64()).to_pylist()
    values = column.to_pylist()
    if pa.types.is_floating(t):
        return [None if v is None else float(v) for v in values]
    return values


def ulps(a: float, b: float) -> int:
    """Distance between two finite floats in units in the last place (0: the same bits)."""
    ia, ib = (struct.unpack("<q", struct.pack("<d", x))[0] for x in (a, b))
    ia, ib = (x if x >= 0 else -(x & 0x7FFFFFFFFFFFFFFF) for x in (ia, ib))
    return abs(ia - ib)


def same_value(a, b, max_ulps: int = 0) -> bool:
    """Exactly the same value of exactly the same type; floats the same bits (-0.0 is not 0.0,
    a NaN only a NaN of the same bits), or, for finite floats, at most ``max_ulps`` apart."""
    if a is None or b is None:
        return a is None and b is None
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if max_ulps == 0 or not (math.isfinite(a) and math.isfinite(b)):
            return struct.pack("<d", a) == struct.pack("<d", b)
        return ulps(a, b) <= max_ulps
    return a == b


def _order_key(row: tuple) -> tuple:
    key = []
    for v in row:
        if v is None:
            key.append((1, "", 0))
        elif isinstance(v, float) and math.isnan(v):
            key.append((0, "nan", 0))
        else:
            key.append((0, type(v).__name__, v))
    return tuple(key)


def rows(data, *, ordered: bool = False) -> list[tuple]:
    """The rows of ``data`` as tuples of exact Python values (Arrow's: Decimal, date, datetime,
    int, float), sorted unless ``ordered``; for a literal expectation (compare the types with
    ``kinds``)."""
    table = arrow(data)
    out = list(zip(*(table.column(i).to_pylist() for i in range(table.num_columns))))
    return out if ordered else sorted(out, key=_order_key)


def kinds(data) -> dict[str, str]:
    """Column name -> ``kind`` of its type."""
    return {f.name: kind(f.type) for f in arrow(data).schema}


def assert_same(ours, reference, *, ordered: bool = False, ulps_of: dict | None = None):
    """The same column names in the same order, the same ``kind`` of type per column and the
    same values: floats the same bits, or at most ``ulps_of[column]`` units in the last place
    apart (a bound a test states with the reason, e.g. a sum in another order). Rows are
    compared in order when ``ordered``, else as sorted multisets."""
    a, b = arrow(ours), arrow(reference)
    assert a.column_names == b.column_names, (a.column_names, b.column_names)
    assert kinds(a) == kinds(b), (kinds(a), kinds(b))
    bounds = ulps_of or {}
    assert set(bounds) <= set(a.column_names), bounds
    cols_a, cols_b = [], []
    for name in a.column_names:
        t = a.schema.field(name).type
        u = b.schema.field(name).type
        common = _finer(t, u) if pa.types.is_timestamp(t) else t
        cols_a.append(_values(a.column(name), common))
        cols_b.append(_values(b.column(name), common))
    ra, rb = list(zip(*cols_a)), list(zip(*cols_b))
    assert len(ra) == len(rb), f"{len(ra)} rows vs {len(rb)}"
    if not ordered:
        ra, rb = sorted(ra, key=_order_key), sorted(rb, key=_order_key)
    names = a.column_names
    bad = [(k, name, x, y) for k, (row_a, row_b) in enumerate(zip(ra, rb))
           for name, x, y in zip(names, row_a, row_b) if not same_value(x, y, bounds.get(name, 0))]
    assert not bad, "rows differ (row, column, ours, reference):\n" + "\n".join(
        map(repr, bad[:10]))
