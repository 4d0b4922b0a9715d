"""R041 on the duckdb engine for an int ``sum`` beyond 64 bits: which group or row.

DuckDB sums BIGINT into HUGEINT; the plan casts an int sum back to BIGINT (expr/sql.py,
sql_build.typed) and that cast stops the query with a ConversionException ("Type INT128
with value ... can't be cast ... INT64") naming no expression, group or row.  The pandas
and dask engines stop at the same sums with R041 naming the aggregate output, the group
(its keys and its position among the groups, in the order of their first rows) and the
exact sum (expr/int_sums.py).  After such a failure expr_errors' replay asks
:func:`sum_error` of each ``sum`` node over ints: the sums are computed again as HUGEINT,
the first beyond 64 bits is the offending one.

- an aggregate's or metric's ``sum(x)``: per group of the stage's keys, the groups
  numbered by their first row in the relation (pandas' ``groupby(sort=False)`` order);
  the row is that number (0 without ``group_by``);
- a window ``sum(x) over (...)``: the first row (in the relation's order) whose window
  sum is beyond 64 bits, as pandas_window names it.

Only the plans' SQL is built; each probe reads one row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...expr import ast as A
from ...expr.errors import EvalError
from ...expr.sql import quote_ident as q
from .sql_build import Rel

_OUT = "NOT BETWEEN -9223372036854775808 AND 9223372036854775807"
_ROWS = "(SELECT row_number() OVER () - 1 AS __etlc_row, * FROM {rel}) AS r"


def is_int_sum(node: A.Expr, types: Mapping[int, Any], context: str) -> bool:
    """Whether ``node`` is ``sum`` of ints, over a window or as an aggregate (a stage of
    ``context`` aggregate or metric; elsewhere a ``sum`` call is a window's function)."""
    call = node.func if isinstance(node, A.Window) else node
    if isinstance(node, A.Call) and context not in ("aggregate", "metric"):
        return False
    return (isinstance(call, A.Call) and call.name == "sum" and not call.star
            and len(call.args) == 1
            and getattr(types.get(id(node)), "name", None) == "int")


def sum_error(con, node: A.Expr, sql, rel: Rel, keys: Sequence[str], text: str,
              output: str | None, with_ctes) -> EvalError | None:
    """The R041 of the first group (aggregate ``sum``) or row (window ``sum``) whose int
    sum ``node`` is beyond 64 bits over ``rel``; None where every sum fits.  ``sql``
    renders a sub-expression over ``rel``; ``with_ctes`` prefixes ``rel``'s CTEs."""
    rows = _ROWS.format(rel=q(rel.name))
    if isinstance(node, A.Window):
        window = sql(node)
        head, tail = "CAST(", " AS BIGINT)"
        if not (window.startswith(head) and window.endswith(tail)):
            return None   # not the shape expr/sql.py gives an int window sum
        inner = window[len(head):-len(tail)]   # the HUGEINT window sum
        found = con.execute(with_ctes(
            f"SELECT __etlc_row, __etlc_sum FROM (SELECT __etlc_row, {inner} AS __etlc_sum "
            f"FROM {rows}) WHERE __etlc_sum {_OUT} ORDER BY __etlc_row LIMIT 1")).fetchall()
        if not found:
            return None
        row, value = int(found[0][0]), int(found[0][1])
        message = f"value out of range for int: a window sum of ints beyond 64 bits: {value}"
        return _error(message, text, value, row, node)
    arg = sql(node.args[0])
    cols = ", ".join(q(k) for k in keys)
    group = f" GROUP BY {cols}" if keys else ""
    found = con.execute(with_ctes(
        f"SELECT __etlc_group, __etlc_sum{', ' + cols if keys else ''} FROM ("
        f"SELECT row_number() OVER (ORDER BY __etlc_first) - 1 AS __etlc_group, * FROM ("
        f"SELECT {cols + ', ' if keys else ''}sum(CAST({arg} AS HUGEINT)) AS __etlc_sum, "
        f"min(__etlc_row) AS __etlc_first FROM {rows}{group})) "
        f"WHERE __etlc_sum {_OUT} ORDER BY __etlc_group LIMIT 1")).fetchall()
    if not found:
        return None
    row, value, key_values = int(found[0][0]), int(found[0][1]), found[0][2:]
    where = ""
    if keys:
        where = " in the group " + ", ".join(f"{k}={v!r}" for k, v in zip(keys, key_values))
    message = (f"value out of range for int: the sum of ints is {value}, beyond 64 bits "
               f"(aggregate output '{output or ''}'{where})")
    return _error(message, text, value, row, node)


def _error(message: str, text: str, value: int, row: int, node: A.Expr) -> EvalError:
    err = EvalError(message, text, value, row=row, start=node.start, end=node.end)
    err.source = text
    return err


__all__ = ["is_int_sum", "sum_error"]
