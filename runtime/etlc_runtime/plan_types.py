"""Column types in a task plan: the compact form the compiler writes and its reading.

A plan of version 2 carries the column types of its steps once per task, as a table keyed
by step name, each entry a difference from an earlier step of the same task::

    "types": {
        "raw":   {"cols": {"id": {"type": "int"}, "amount": {"type": "decimal", "scale": 2}}},
        "clean": {"base": "raw", "cols": {"day": {"type": "date"}}, "drop": ["amount"]},
    }

so a chain of n steps that each add a column costs O(n), not O(n^2) (version 1 repeated
every known column in every step's ``"types"``).  A step absent from the table has no known
column types.  ``step_types`` gives a step's full ``{column: {"type", "scale"?, "size"?}}``
whatever the plan's version; ``compact`` is what the compiler writes.  Pure data, no imports
of any dataframe library.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

TypeMap = dict[str, dict[str, Any]]


def compact(order: Sequence[str], types: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> dict[str, dict]:
    """The per-task table of the steps in ``order`` (a task's chain) from their full types."""
    table: dict[str, dict] = {}
    base: str | None = None
    for name in order:
        full = types.get(name)
        if not full:
            continue
        if base is None:
            table[name] = {"cols": {c: dict(t) for c, t in full.items()}}
        else:
            prev = types[base]
            entry: dict[str, Any] = {"base": base}
            changed = {c: dict(t) for c, t in full.items() if prev.get(c) != t}
            dropped = [c for c in prev if c not in full]
            if changed:
                entry["cols"] = changed
            if dropped:
                entry["drop"] = dropped
            table[name] = entry
        base = name
    return table


def step_types(task_plan: Mapping[str, Any], step: Mapping[str, Any] | str) -> TypeMap:
    """A step's full column types: ``step`` is the step's dict from ``task_plan["steps"]``
    or its name.  Version-1 plans carry them on the step itself.  A write step, which has
    no entry of its own, has the types of the step it writes (when the task holds it)."""
    source = None
    if not isinstance(step, str):
        if isinstance(step.get("types"), Mapping):   # version 1
            return {c: dict(t) for c, t in step["types"].items()}
        if step.get("kind") == "write" and len(step.get("from") or ()) == 1:
            source = step["from"][0]
        step = step.get("name") or ""
    table = task_plan.get("types")
    if not isinstance(table, Mapping):
        return {}
    if step not in table and source is not None:
        step = source
    return _resolve(table, step, {})


def all_step_types(task_plan: Mapping[str, Any]) -> dict[str, TypeMap]:
    """Every step's full types, each entry of the table applied once."""
    out: dict[str, TypeMap] = {}
    table = task_plan.get("types")
    if isinstance(table, Mapping):
        for name in table:
            _resolve(table, name, out)
    for step in task_plan.get("steps") or ():
        if isinstance(step, Mapping) and isinstance(step.get("types"), Mapping):
            out[step.get("name") or ""] = step_types(task_plan, step)
    return out


def _resolve(table: Mapping[str, Any], step: str, memo: dict[str, TypeMap]) -> TypeMap:
    """Follow a step's bases back to a known or first entry, then apply the differences
    forward (each resolved step lands in ``memo``)."""
    if step in memo:
        return memo[step]
    if step not in table:
        return {}
    chain: list[str] = []
    name: str | None = step
    while name is not None and name not in memo:
        if name in chain:
            raise ValueError(f"plan types: the bases of step '{step}' form a cycle")
        entry = table.get(name)
        if entry is None:
            raise ValueError(f"plan types: step '{chain[-1]}' names base '{name}', which has no entry")
        if not isinstance(entry, Mapping):
            raise TypeError(f"plan types: the entry of step '{name}' is no mapping")
        chain.append(name)
        name = entry.get("base")
    out: TypeMap = dict(memo[name]) if name is not None else {}
    for name in reversed(chain):
        entry = table[name]
        out = dict(out)
        for col in entry.get("drop") or ():
            out.pop(col, None)
        for col, t in (entry.get("cols") or {}).items():
            out[col] = dict(t)
        memo[name] = out
    return out


def json_columns(types: Mapping[str, Any] | None) -> list[str]:
    """The columns of type json in a mapping of column specs (a dataset's declared columns,
    or a step's types): a JSON Lines file writes their values nested."""
    return [n for n, c in (types or {}).items()
            if (c.get("type") if isinstance(c, Mapping) else c) == "json"]


# the types a dataframe engine's frame cannot tell by itself: a decimal is held as Float64 once
# computed (an aggregate, arithmetic), a date as datetime64 at midnight
FRAME_AMBIGUOUS = ("decimal", "date")


def undeclared_types(declared: Mapping[str, Any] | None, types: Mapping[str, Any] | None,
                     columns: Sequence[str]) -> dict[str, dict]:
    """The step's plan types of the ``columns`` a dataset does not declare, where a dataframe
    engine's frame cannot tell the type itself (:data:`FRAME_AMBIGUOUS`): written as the plan
    says (a computed decimal as that decimal, every digit checked, R040 when one would be
    lost), never as a double."""
    declared = declared or {}
    return {c: dict(t) for c, t in (types or {}).items()
            if c in columns and c not in declared and isinstance(t, Mapping)
            and t.get("type") in FRAME_AMBIGUOUS}
