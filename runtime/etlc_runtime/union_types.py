"""The run-time type rule of ``union``, the same on every engine: the compiler's E413 rule
(docs/spec-reference.md, "`union` types") for the columns it could not type (a source without
declared columns, W401).

Each engine gives the etlc type of every column of every union input from its own schema
(pandas: the dtype, an ``object`` column's values; dask: the meta dtype; duckdb: the DuckDB
column type).  A column whose types differ between the step's input (the first input) and
another input is R044 (:class:`~.errors.UnionTypeError`) naming the step, the input, the
column and both types: no widening, not int into float nor one decimal scale into another.
Only representation may differ (Int32 and Int64, ``object`` text and ``string``, DECIMAL(10,2)
and DECIMAL(18,2)): the logical type decides.  A column with no real type (``None`` here: an
``object`` column without a non-null value, DuckDB's ``NULL`` type, a type etlc does not know,
and a ``string`` column without a non-null value: :func:`untyped_strings`) is not compared, and
takes the other inputs' type (:func:`target_types`).

Nothing here imports pandas (the duckdb engine uses it too).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from .errors import StepError, UnionTypeError
from .expr.types import Type

__all__ = ["check_union_types", "real_type", "same_type", "target_types", "union_columns",
           "untyped_strings"]


def union_columns(base, others: Sequence) -> list[str]:
    """The columns of a union (the first input's, in its order); every input must have the
    same set (any engine's relations with ``.columns``)."""
    cols = list(base.columns)
    for other in others:
        if set(other.columns) != set(cols):
            raise StepError(None, f"union inputs have different columns: {cols} and "
                                  f"{list(other.columns)}")
    return cols


def real_type(t: Type | None) -> Type | None:
    """``t``, or None where it says nothing about the values (null, unknown)."""
    if t is None or t.name in ("null", "unknown"):
        return None
    return t


def same_type(a: Type, b: Type) -> bool:
    """Equal etlc types: the same name, a decimal's scale, a vector's size where both
    declare one (E413's rule)."""
    if a.name != b.name:
        return False
    if a.name == "decimal":
        return (a.scale or 0) == (b.scale or 0)
    if a.name == "vector":
        return a.size is None or b.size is None or a.size == b.size
    return True


def check_union_types(base: Mapping[str, Type | None],
                      others: Sequence[tuple[str | None, Mapping[str, Type | None]]]) -> None:
    """Raise R044 at the first column of an input in ``others`` ((name, column -> type))
    whose real type differs from ``base``'s (the step's input); a column without a real type
    on either side is not compared.  The step is filled in where the error is located."""
    for name, types in others:
        for column, t in base.items():
            a, b = real_type(t), real_type(types.get(column))
            if a is not None and b is not None and not same_type(a, b):
                raise UnionTypeError(None, input=name, column=column, base_type=str(a),
                                     other_type=str(b))


def target_types(base: Mapping[str, Type | None],
                 others: Sequence[Mapping[str, Type | None]]) -> dict[str, int | None]:
    """Column -> which input's representation the union keeps: 0 for the step's input, ``i``
    for ``others[i - 1]`` where the step's input has no real type there, None where no
    input has one."""
    out: dict[str, int | None] = {}
    for column, t in base.items():
        if real_type(t) is not None:
            out[column] = 0
            continue
        out[column] = next((i for i, types in enumerate(others, 1)
                            if real_type(types.get(column)) is not None), None)
    return out


def untyped_strings(types: list[dict[str, Type | None]],
                    has_values: Callable[[int, str], bool]) -> list[dict[str, Type | None]]:
    """``types`` (one mapping per input, the step's input first) with each ``string`` column
    that holds no non-null value made None (no real type: an empty input, a column all null,
    an Arrow ``null`` column, which the pandas engines read as ``string``); asked (a pass over
    the data on dask and duckdb) only for columns whose real types differ between inputs."""
    for column in types[0]:
        reals = {str(t) for t in (real_type(ts.get(column)) for ts in types) if t is not None}
        if len(reals) < 2:
            continue
        for k, ts in enumerate(types):
            t = real_type(ts.get(column))
            if t is not None and t.name == "string" and not has_values(k, column):
                ts[column] = None
    return types
