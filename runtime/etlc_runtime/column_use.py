"""Which declared columns of a read a task uses: the others are not read (projection pruning).

The duckdb engine gets this from DuckDB's optimizer; the pandas and dask engines read what
the executor asks for. A read's declared columns are pruned only where the answer is sure:

- the read starts a straight chain inside its task (each step the one consumer of the step
  before, by ``from`` or as a join's ``with``; none of them a write, a call, a union or the
  task's staged output before the chain's columns are fixed), and some step of the chain
  fixes its output columns (an ``aggregate``/``group_by``, or a ``select`` without ``*``) before
  ``distinct: true`` (which compares every column) can see them;
- a declared column is kept when its name occurs in any text of those steps (keys and
  values: expressions, column lists, renames, checks, metrics), a superset of the columns
  the expressions name; a dataset with ``partition_by`` or without declared columns is
  read whole.

Pruned columns are never read, so their values are neither converted nor checked, as on
the duckdb engine. Plain data in, plain data out: no dataframe library.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

SAME_COLUMNS = ("union",)   # every input of a union must keep the same columns


def _texts(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from _texts(k)
            yield from _texts(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _texts(v)


def _fixes_columns(step: Mapping[str, Any]) -> bool:
    if "aggregate" in step or "group_by" in step:
        return True
    select = step.get("select")
    return isinstance(select, list) and bool(select) and not any("*" in str(c) for c in select)


def _own_texts(step: Mapping[str, Any]) -> list[str]:
    return list(_texts({k: v for k, v in step.items() if k not in ("name", "line", "kind", "from",
                                                                  "read", "engine")}))


def used_columns(steps: Sequence[Mapping[str, Any]], read_step: str, dataset: Mapping[str, Any],
                 output: str | None) -> list[str] | None:
    """The declared columns of ``dataset`` the chain from ``read_step`` needs, in declared
    order, or None to read them all (the module doc says when)."""
    declared = list(dataset.get("columns") or {})
    if not declared or dataset.get("partition_by"):
        return None
    by_name = {s.get("name"): s for s in steps}
    step = by_name.get(read_step)
    texts: list[str] = []
    while step is not None:
        if any(k in step for k in SAME_COLUMNS) or step.get("kind") not in ("read", "transform"):
            return None
        texts += _own_texts(step)
        if _fixes_columns(step):
            break
        if step.get("distinct") is True or step.get("name") == output:
            return None
        consumers = [s for s in steps if step.get("name") in
                     set(_texts([s.get("from"), s.get("join"), s.get("union")]))]
        if len(consumers) != 1:
            return None
        step = consumers[0]
    else:
        return None
    used = [c for c in declared if any(c in t for t in texts)]
    return used if len(used) < len(declared) else None
