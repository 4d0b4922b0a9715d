"""The row of a value a ``cast:`` step refused on the duckdb engine, found after the failure.

The step's SQL (conversions.cast_sql) raises R040 naming the column and the value, but no
row: DuckDB numbers no rows, and the error comes from whichever later query ran the step
(a write, a check).  As for a read's R040 (read_rows.py), the row is found only once the
query failed: the relation the step casts (the step without its ``cast``, ``distinct``,
``sort`` and ``limit``) is scanned single-threaded with the same cast made non-strict (null
where the value does not convert), and the first row whose value is not null but whose cast
is, is the failing one: its row (1-based, in the relation cast, as the pandas engine's
``steps.cast`` counts) and the value as the relation holds it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...errors import DataError
from ...expr.sql import quote_ident as q
from ...expr.types import Type
from .conversions import cast_sql
from .read_rows import single_threaded
from .sql_build import Builder, Rel

AFTER_CAST = ("cast", "distinct", "sort", "limit")   # steps.ORDER: what comes after a cast


def cast_error(b: Builder, err: DataError, step: Mapping[str, Any],
               inputs: Mapping[str, Rel], params) -> DataError | None:
    """``err`` (an R040 of ``step``'s cast of ``err.column``) with the row and value of the
    first value the cast refuses; None when the step's cast refuses none."""
    column = err.column
    kind = (step.get("cast") or {}).get(column)
    if kind is None:
        return None
    rel = b.apply({k: v for k, v in step.items() if k not in AFTER_CAST}, inputs, params)
    if column not in rel.types:
        return None
    loose = cast_sql(q(column), rel.types[column], Type.from_spec(kind), column,
                     strict=False)
    numbered = rel.query(f"row_number() OVER () AS n, {q(column)} AS v, {loose} AS c")
    rows = single_threaded(b, f"SELECT n, v FROM ({numbered}) WHERE v IS NOT NULL AND "
                              f"c IS NULL ORDER BY n LIMIT 1")
    if not rows:
        return None
    shown = kind.get("type") if isinstance(kind, Mapping) else kind
    return DataError(f"cast to {shown}: {err.reason}", column=column, row=int(rows[0][0]),
                     value=rows[0][1])


__all__ = ["cast_error"]
