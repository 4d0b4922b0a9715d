"""The function table of the expression language: every function's name, arity, type rule
and docs, one row each (the type checker resolves calls through it, the evaluators and the
SQL renderer implement what it lists, docs/expressions.md describes each row).  The rows live
with their rules: ``fn_numbers``, ``fn_text``, ``fn_dates``, ``json_types``."""
from __future__ import annotations

from .fn_base import Function
from .fn_dates import CLOCK, DATES
from .fn_numbers import AGGREGATE, CONDITIONAL, NUMERIC, WINDOW
from .fn_text import TEXT
from .json_types import JSON_FUNCTIONS

__all__ = ["AGGREGATES", "FUNCTIONS", "WINDOW_AGGREGATES", "Function"]

FUNCTIONS: dict[str, Function] = {f.name: f for f in [
    *NUMERIC, *TEXT, *DATES, *CONDITIONAL, *AGGREGATE, *WINDOW, *CLOCK, *JSON_FUNCTIONS]}
AGGREGATES = frozenset(n for n, f in FUNCTIONS.items() if f.aggregate)
# aggregates usable over a window (running with an order, whole partition without)
WINDOW_AGGREGATES = frozenset({"sum", "count", "mean", "min", "max"})
