"""A ``call`` step's ``returns``: the frame its function returned, checked against the declared
columns and held in their types before the chain goes on.

The frame must have exactly the declared columns (none missing, none more), and each value
must go into its declared type unchanged, by the rules of a typed Parquet column read
(:func:`etlc_runtime.arrow_convert.typed_to`, docs/types.md "Reading files"): int64 values
into a decimal that holds them, a double into a decimal when it is that decimal's nearest
double (how the pandas and Dask engines hold a computed decimal), a timestamp at midnight
into a date.  Text is never parsed and nothing becomes text: a string or json column takes
strings only, and strings go into no other type.  A ``nullable: false`` column holds no
null, a ``vector`` with a ``size`` has that many numbers.  Anything else is an R042
(:class:`~etlc_runtime.errors.CallResultError`) naming the step, the column, the row
(0-based, in the returned frame) and the value; the result is an Arrow table of the declared
columns in their declared order, which each engine takes in its own representation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from .arrow_convert import Where, conform_table, spec_of
from .errors import CallResultError, DataError

TEXT_TYPES = ("string", "json")


def conform_result(df, returns: Mapping[str, Any], step: str | None) -> pa.Table:
    """``df`` (the pandas DataFrame the function returned) in the declared ``returns``."""
    names = [str(c) for c in df.columns]
    for name in names:
        if names.count(name) > 1:
            raise CallResultError(step, "the frame has this column more than once", column=name)
    missing = [c for c in returns if c not in names]
    if missing:
        raise CallResultError(step, f"a declared column is missing (the frame has "
                                    f"{', '.join(names) or 'no columns'})", column=missing[0])
    extra = [c for c in names if c not in returns]
    if extra:
        raise CallResultError(step, "a column that `returns` does not declare (declare it, "
                                    "or drop it in the function)", column=extra[0])
    table = _arrow(df, step)
    for name, column in returns.items():
        _same_kind(table.column(name), spec_of(column), name, step)
    try:
        out = conform_table(table, returns, Where(first_row=0))
    except DataError as err:
        raise CallResultError(step, err.reason, column=err.column, row=err.row,
                              value=err.value) from None
    for i, (name, column) in enumerate(returns.items()):
        out = out.set_column(i, name, _constraints(out.column(i), spec_of(column), name, step))
    return out


def _arrow(df, step: str | None) -> pa.Table:
    """``df`` as Arrow, as the pandas engine hands frames over (NaN in a numpy float column is
    null); a column that is no one Arrow type is R042 at its first value of another type."""
    frame = df.reset_index(drop=True)
    frame.columns = [str(c) for c in frame.columns]
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        pass
    for name in frame.columns:
        try:
            pa.Array.from_pandas(frame[name])
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
            row = _mixed_row(frame[name])
            raise CallResultError(step, f"values of more than one type ({exc})", column=name,
                                  row=row, value=None if row is None else frame[name][row]
                                  ) from None
    raise CallResultError(step, "the frame does not convert to Arrow")   # pragma: no cover


def _mixed_row(values) -> int | None:
    """The first row whose value is of another Python type than the first value's."""
    import pandas as pd

    kind = None
    for i, v in enumerate(values):
        if v is None or (pd.api.types.is_scalar(v) and pd.isna(v)):
            continue
        if kind is None:
            kind = type(v)
        elif type(v) is not kind:
            return i
    return None


def _first_valid(values: pa.ChunkedArray) -> int | None:
    valid = pc.is_valid(values)
    return pc.index(valid, True).as_py() if pc.any(valid).as_py() else None


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or (
        pa.types.is_dictionary(t) and _is_text(t.value_type))


def _same_kind(values: pa.ChunkedArray, spec: dict, name: str, step: str | None) -> None:
    """R042 for text where no text is declared, and for anything but text where it is."""
    src = values.type
    if pa.types.is_null(src):
        return
    text = spec.get("type") in TEXT_TYPES
    if text != _is_text(src):
        row = _first_valid(values)
        want = "text only" if text else "no text (convert it in the function, or declare string)"
        raise CallResultError(step, f"a {src} column where a {spec.get('type')} holds {want}",
                              column=name, row=row,
                              value=values[row].as_py() if row is not None else None)


def _constraints(values: pa.ChunkedArray, spec: dict, name: str, step: str | None
                 ) -> pa.ChunkedArray:
    """``nullable: false``; a vector is a list of numbers, of ``size`` numbers when it says."""
    if spec.get("nullable") is False and values.null_count:
        row = pc.index(pc.is_null(values), True).as_py()
        raise CallResultError(step, "a null in a column declared nullable: false", column=name,
                              row=row, value=None)
    if spec.get("type") != "vector" or pa.types.is_null(values.type):
        return values
    row = _first_valid(values)
    try:
        values = values.cast(pa.list_(pa.float64()))   # safe: no number may change
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise CallResultError(step, f"a {values.type} column where a vector holds lists of "
                                    f"numbers", column=name, row=row,
                              value=None if row is None else values[row].as_py()) from None
    if spec.get("size"):
        wrong = pc.not_equal(pc.list_value_length(values), int(spec["size"]))
        wrong = pc.and_kleene(wrong, pc.is_valid(wrong))
        if pc.any(wrong).as_py():
            row = pc.index(wrong, True).as_py()
            raise CallResultError(step, f"a vector of another size than {spec['size']}",
                                  column=name, row=row, value=values[row].as_py())
    return values
