"""Which columns of a read's dataset its task uses: the others are not read (projection
pruning), on every engine and format that takes a column list (files, PostgreSQL, Qdrant).

The answer is sure only in a straight chain from the read: each step the one consumer of the
step before, by ``from`` or as a join's ``with``; none of them a write, a call, a union or the
task's staged output before some step of the chain fixes its output columns (an
``aggregate``/``group_by``, or a ``select`` without ``*``), and no ``distinct: true`` (which
compares every column) before that. Elsewhere everything is read. Inside such a chain:

- when the read step itself fixes its columns, the columns its own expressions and lists
  name, exactly (``filter``, ``derive``, ``qualify``, ``group_by``, ``aggregate``, ``having``,
  ``select``, less the names ``derive``/``aggregate`` make), whether or not the dataset
  declares columns;
- otherwise, when the dataset declares columns (and has no ``partition_by``), the declared
  columns whose name occurs in any text of the chain's steps (keys and values: expressions,
  column lists, renames, checks, metrics), a superset of the columns the expressions name.

Pruned columns are never read, so their values are neither converted nor checked, as on
the duckdb engine (whose optimizer prunes file reads as well). Plain data in, plain data
out: no dataframe library.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from .expr import columns_used, parse

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


def _chain(steps: Sequence[Mapping[str, Any]], read_step: str,
           output: str | None) -> list[Mapping[str, Any]] | None:
    """The steps from the read to the first that fixes its columns, or None when not sure."""
    by_name = {s.get("name"): s for s in steps}
    step = by_name.get(read_step)
    chain: list[Mapping[str, Any]] = []
    while step is not None:
        if any(k in step for k in SAME_COLUMNS) or step.get("kind") not in ("read", "transform"):
            return None
        chain.append(step)
        if _fixes_columns(step):
            return chain
        if step.get("distinct") is True or step.get("name") == output:
            return None
        consumers = [s for s in steps if step.get("name") in
                     set(_texts([s.get("from"), s.get("join"), s.get("union")]))]
        if len(consumers) != 1:
            return None
        step = consumers[0]
    return None


def _named(step: Mapping[str, Any]) -> list[str] | None:
    """The source columns a step that fixes its own columns reads, in the transform order
    (a name ``derive`` made before is no source column; ``having`` may name the outputs)."""
    if step.get("join"):
        return None
    need: list[str] = []
    derived: set[str] = set()

    def add(names) -> None:
        need.extend(n for n in names if n not in derived and n not in need)

    if step.get("filter"):
        add(sorted(columns_used(parse(step["filter"]))))
    for name, text in (step.get("derive") or {}).items():
        add(sorted(columns_used(parse(text))))
        derived.add(name)
    if step.get("qualify"):
        add(sorted(columns_used(parse(step["qualify"]))))
    if step.get("aggregate") or step.get("group_by"):
        add(step.get("group_by") or [])
        for text in (step.get("aggregate") or {}).values():
            add(sorted(columns_used(parse(text))))
        derived.update(step.get("aggregate") or {})
        if step.get("having"):
            add(sorted(columns_used(parse(step["having"]))))
    else:
        add(step["select"])
    return need or None


def used_columns(steps: Sequence[Mapping[str, Any]], read_step: str, dataset: Mapping[str, Any],
                 output: str | None) -> list[str] | None:
    """The columns of ``dataset`` the chain from ``read_step`` needs, or None to read them all
    (the module doc says when): exact, in the order the read step names them, when the read
    step fixes its columns; else declared columns, in declared order."""
    chain = _chain(steps, read_step, output)
    if chain is None:
        return None
    if len(chain) == 1:
        return _named(chain[0])
    declared = list(dataset.get("columns") or {})
    if not declared or dataset.get("partition_by"):
        return None
    texts = [t for step in chain for t in _own_texts(step)]
    used = [c for c in declared if any(c in t for t in texts)]
    return used if len(used) < len(declared) else None
