"""The fast path of text conversion on the duckdb engine: a value written exactly as DuckDB
writes its own result takes that result, every other value goes through the exact rules.

conversions.from_text converts text to a declared type with etlc's rules (docs/types.md): a
few regular expressions, a trim and a check per value, several times DuckDB's own parse of a
typed CSV column.  Most files hold canonical text (``26``, ``37061.18``, ``1998-08-12``), and
for such text the exact rules give what ``TRY_CAST`` gives.  So the SQL first casts, renders
the result back to text and compares: when the text is the rendering, the cast is the value
(rendering is exact, so the text denotes exactly that value, and the exact rules accept it
unchanged); otherwise (``+1``, `` 1``, ``1.5`` into an int, ``1.005`` into ``decimal(15,2)``,
``2020-1-2``, ``1_000``, nulls) the exact rules decide, with their R040 or ``on_error``.  DuckDB
evaluates a ``CASE`` branch only on the rows that take it, so clean files never pay for the
exact rules.  tests/runtime/test_duckdb_text_canonical.py checks, against the exact rules
alone, that both give the same value or the same refusal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...expr.types import Type

# the types whose text DuckDB renders canonically, and the guard that keeps the fast path
# to renderings the exact rules read the same way: four-digit years, no "(BC)", no
# "infinity" (a date's rendering is 10 characters; a timestamp's has the space and the
# hour's first digit at 11 and 12, where a longer year, "(BC)" or "infinity" has not).  The
# guard comes after the comparison: DuckDB's common-subexpression pass then computes the
# cast once per value for the WHEN and the THEN (before it, the cast ran twice per date,
# about 10 % of a clean typed CSV read)
_GUARDS = {"int": "", "float": "", "decimal": "",
           "timestamp": " AND substr({x}, 11, 2) BETWEEN ' 0' AND ' 9'",
           "date": " AND length({x}) = 10"}


def canonical_first(x: str, spec: Any, target: str, exact: str) -> str:
    """SQL of text ``x`` as DuckDB type ``target`` (the declared ``spec``): the cast where
    ``x`` is the cast's own rendering, else ``exact`` (the SQL of the exact rules)."""
    t = Type.from_spec(spec)
    fmt = spec.get("format") if isinstance(spec, Mapping) else None
    if t.name not in _GUARDS or fmt:
        return exact
    cast = f"TRY_CAST({x} AS {target})"
    guard = _GUARDS[t.name].format(x=x)
    return (f"(CASE WHEN CAST({cast} AS VARCHAR) = {x}{guard} THEN {cast} "
            f"ELSE {exact} END)")


__all__ = ["canonical_first"]
