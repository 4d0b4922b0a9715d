"""A step's transforms on a Dask DataFrame, in the fixed order (engines/base.py).

Row-local transforms run per partition with the pandas engine's own functions (steps.py)
or the Dask expression back end (expr/dask_eval.py, which runs the pandas evaluator per
partition), so values and types are those of the pandas engine:

- filter, derive, select, rename, drop, cast: per partition;
- a derive with window functions, and qualify: per partition after a shuffle that puts every
  window partition in one Dask partition (hashed on the input columns all the windows
  partition by; gathered in one partition when they share none);
- join: ``inner``/``left``/``semi``/``anti`` broadcast the right side (one partition, sent to
  every partition of the left side), ``right``/``outer`` join both sides gathered in one
  partition;
- union: the partitions of every input in the first input's dtypes, a column of another etlc
  type R044 (union_types.py: from the meta dtypes, an ``object`` column's per partition);
- group_by + aggregate (+ having): dask_eval.aggregate (partial aggregates per partition,
  combined in one partition); group_by alone: distinct keys per partition, then once more;
- distinct and sort: by shuffles, the rows staying spread over the partitions
  (engines/dask/shuffle.py: the first of each duplicate set kept, a stable sort);
- limit: the first rows in partition order (one output partition).

Nothing here computes: every result is a lazy Dask DataFrame.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ... import steps as S
from ..._expr import parse
from ...expr import ast as A
from ...expr import dask_eval
from ...expr.typecheck import has_window
from ...expr.types import Type
from ...union_types import check_union_types, untyped_strings
from . import shuffle


def _types(ddf, types: Mapping[str, Any] | None) -> dict | None:
    return {c: t for c, t in (types or {}).items() if c in ddf.columns} or None


def _per_partition(ddf, fn, *args):
    """``fn(partition, *args)`` on every partition; its meta from the empty frame."""
    return ddf.map_partitions(fn, *args, meta=fn(ddf._meta, *args), enforce_metadata=False)


def _one(ddf):
    return ddf if ddf.npartitions == 1 else ddf.repartition(npartitions=1)


def window_groups(ddf, exprs, replaced=frozenset()):
    """``ddf`` with every partition of the windows in ``exprs`` inside one Dask partition:
    shuffled on the input columns (not ``replaced`` by the step) every window partitions by,
    else gathered in one partition."""
    shared: set[str] | None = None
    for expr in exprs:
        for w in (n for n in A.walk(expr) if isinstance(n, A.Window)):
            cols = {p.name for p in w.partition if isinstance(p, A.Column)
                    and p.name in ddf.columns and p.name not in replaced}
            shared = cols if shared is None else shared & cols
    if not shared or ddf.npartitions == 1:
        return _one(ddf)
    return ddf.shuffle(on=sorted(shared))


def qualify(ddf, text: str, params, types):
    grouped = window_groups(ddf, [parse(text)])
    return _per_partition(grouped, S.qualify, text, params, _types(grouped, types))


def derive(ddf, columns: Mapping[str, str], params, types):
    """``derive``: per partition; with a window function, after :func:`window_groups`."""
    exprs = {name: parse(text) for name, text in columns.items()}
    if not any(has_window(e) for e in exprs.values()):
        return dask_eval.derive(ddf, exprs, params, types=types, dates_as_dates=True)
    grouped = window_groups(ddf, exprs.values(), frozenset(exprs))
    return _per_partition(grouped, S.derive, dict(columns), params, types)


def _join_part(left, right, on, how):
    return S.join(left, right, on, how)


def join(left, right, on, how: str):
    how = how or "inner"
    meta = S.join(left._meta, right._meta, on, how)  # unknown columns / join types raise now
    if how in ("right", "outer"):
        left = _one(left)
    return left.map_partitions(_join_part, _one(right), on, how, meta=meta,
                               enforce_metadata=False)


def _like(part, base_meta, name, base_types):
    """A partition of union input ``name`` in the step input's dtypes (``base_meta``): its
    ``object`` columns, untyped in Dask's meta, are judged here by their values (R044)."""
    out = part[list(base_meta.columns)]
    objects = [c for c in out.columns if out[c].dtype == object]
    check_union_types(base_types, [(name, S.frame_union_types(out, objects))])
    for column in base_meta.columns:
        if base_types.get(column) is not None and out[column].dtype != base_meta[column].dtype:
            out[column] = S.as_representation(out[column], base_meta[column].dtype)
    return out


def union(base, others: list, names: list[str] | None = None, compute=None):
    """The partitions of every input; types judged as the pandas engine's union does, from
    the meta dtypes (``object`` columns per partition, in ``_like``)."""
    import dask.dataframe as dd

    cols = S.union_columns(base, others)
    names = names or [None] * len(others)
    metas = [base._meta] + [other._meta[cols] for other in others]
    frames = [base, *others]
    types = untyped_strings([S.frame_union_types(m, cols, by_values=False) for m in metas],
                            lambda k, c: bool(_computed(compute, frames[k][c].count())))
    check_union_types(types[0], list(zip(names, types[1:])))
    parts = [base] + [other.map_partitions(_like, base._meta, name, types[0],
                                           meta=base._meta, enforce_metadata=False)
                      for name, other in zip(names, others)]
    return dd.concat(parts, interleave_partitions=False)


def _computed(compute, lazy):
    if compute is None:
        return lazy.compute()
    (value,) = compute(lazy)
    return value


def _distinct_keys(part, group_by):
    return part[group_by].drop_duplicates().reset_index(drop=True)


def group_aggregate(ddf, group_by, aggs, having, params, types):
    group_by = list(group_by or [])
    S._need_columns(ddf._meta, group_by, "group_by")
    known = _types(ddf, types)
    if not aggs:
        keys = _one(_per_partition(ddf, _distinct_keys, group_by))
        keys = _per_partition(keys, _distinct_keys, group_by)
        if having:
            keys = dask_eval.apply_filter(parse(having), keys, params, types=_types(keys, types))
        return keys
    parsed = {name: parse(text) for name, text in aggs.items()}
    return dask_eval.aggregate(ddf, group_by, parsed, params,
                               having=parse(having) if having else None, types=known,
                               dates_as_dates=True)


def limit(ddf, n):
    return ddf.head(int(n), npartitions=-1, compute=False).reset_index(drop=True)


def apply(step: Mapping[str, Any], frames: Mapping[str, Any], params, base=None,
          types: Mapping[str, Any] | None = None, compute=None):
    """Run the transforms a step names, in the fixed order (as steps.apply_transform).
    Returns the relation and the etlc types known for its columns (``types`` plus those of
    derived columns); ``compute``: the engine's, for what a union must count."""
    df = S.base_of(step, frames, base)
    if step.get("join"):
        specs = step["join"] if isinstance(step["join"], list) else [step["join"]]
        for spec in specs:
            df = join(df, frames[spec["with"]], spec["on"], spec.get("how", "inner"))
    if step.get("union"):
        names = step["union"] if isinstance(step["union"], list) else [step["union"]]
        df = union(df, [frames[n] for n in names], names, compute)
    if step.get("filter"):
        df = dask_eval.apply_filter(parse(step["filter"]), df, params, types=_types(df, types))
    if step.get("derive"):
        exprs = {name: parse(text) for name, text in step["derive"].items()}
        known = {c: t for c, t in (types or {}).items() if c not in exprs}
        known.update(dask_eval.derived_types(exprs, df._meta, params, types=_types(df, types)))
        df = derive(df, step["derive"], params, types)
        types = known
    if step.get("qualify"):
        df = qualify(df, step["qualify"], params, types)
    if step.get("aggregate") or step.get("group_by"):
        df = group_aggregate(df, step.get("group_by"), step.get("aggregate"), step.get("having"),
                             params, types)
    elif step.get("having"):
        df = dask_eval.apply_filter(parse(step["having"]), df, params, types=_types(df, types))
    for key, fn in (("select", S.select), ("rename", S.rename), ("drop", S.drop),
                    ("cast", S.cast)):
        if step.get(key):   # a cast's R040 names its step
            args = (step[key], step.get("name")) if key == "cast" else (step[key],)
            df = _per_partition(df, fn, *args)
    if step.get("cast"):   # the types that follow (a metric of the step sums a cast int)
        types = {**(types or {}), **{c: Type.from_spec(k) for c, k in step["cast"].items()}}
    if step.get("distinct"):
        df = shuffle.distinct(df, step["distinct"])
    if step.get("sort"):
        df = shuffle.sort(df, list(step["sort"]))
    if step.get("limit") is not None:
        df = limit(df, step["limit"])
    return df, dict(types or {})
