"""DuckDB SQL of the functions of issue 13 (numbers and logic, date and time, text), with
etlc's semantics where they differ from DuckDB's (docs/expressions.md, "Where etlc differs
from DuckDB"): the SQL computes what the pandas evaluator (pandas_fn_*) computes."""
from __future__ import annotations

from .types import Type

__all__ = ["call_sql"]


def call_sql(name: str, args: list[str], types: list[Type | None]) -> str | None:
    """SQL of a call of ``name`` on rendered ``args``, or None when it is not one of these."""
    if name == "log10":
        return f"log10(CASE WHEN {args[0]} > 0 THEN {args[0]} END)"
    if name == "power":
        p = f"power(CAST({args[0]} AS DOUBLE), CAST({args[1]} AS DOUBLE))"
        return f"(CASE WHEN isnan({p}) THEN NULL ELSE {p} END)"
    if name == "mod":
        return f"({args[0]} % NULLIF({args[1]}, 0))"
    if name == "sign":
        return f"CAST(sign({args[0]}) AS BIGINT)"
    if name in ("lpad", "rpad"):  # DuckDB takes the count only as a 32-bit INTEGER
        return f"{name}({args[0]}, CAST({args[1]} AS INTEGER), {args[2]})"
    if name == "json_array_length":  # DuckDB's is a UBIGINT
        return f"CAST(json_array_length({', '.join(args)}) AS BIGINT)"
    if name in ("like", "ilike"):
        return f"({args[0]} {name.upper()} {args[1]})"
    return None
