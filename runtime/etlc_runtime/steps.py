"""The transforms of a step, one function each, applied in DESIGN.md's fixed SQL-like order:

join, union, filter, derive, qualify, group_by + aggregate (+ having), select, rename, drop,
cast, distinct, sort, limit.

Semantics follow SQL (DuckDB is the reference in the tests): join keys that are null match
nothing; ``union`` keeps duplicates (UNION ALL) and lines columns up by name; ``sort`` puts
nulls last; ``distinct`` treats nulls as equal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from . import _expr
from .engines.base import TRANSFORM_ORDER
from .errors import DataError, StepError
from .expr.pandas_cast import step_cast
from .expr.pandas_columns import runtime_type
from .expr.types import Type
from .step_shape import sources
from .union_types import check_union_types, target_types, union_columns, untyped_strings

ORDER = TRANSFORM_ORDER  # the order apply_transform follows


def _need_columns(df: pd.DataFrame, cols, what: str):
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise StepError(None, f"{what}: unknown column(s) {missing}; the input has "
                              f"{list(df.columns)}")


def join(left: pd.DataFrame, right: pd.DataFrame, on, how: str = "inner") -> pd.DataFrame:
    how = how or "inner"
    if isinstance(on, Mapping):
        left_on, right_on = list(on.keys()), list(on.values())
    else:
        left_on = right_on = list(on)
    _need_columns(left, left_on, "join (left side)")
    _need_columns(right, right_on, "join (right side)")
    same = left_on == right_on
    lnull = left[left_on].isna().any(axis=1)
    rnull = right[right_on].isna().any(axis=1)
    # a null key matches nothing (pandas' merge would pair nulls): only those rows go
    lk = left[~lnull] if lnull.any() else left
    rk = right[~rnull] if rnull.any() else right
    if how in ("semi", "anti"):
        rkeys = pd.MultiIndex.from_frame(rk[right_on].drop_duplicates()) if len(right_on) > 1 \
            else pd.Index(rk[right_on[0]].drop_duplicates())
        lkeys = pd.MultiIndex.from_frame(left[left_on]) if len(left_on) > 1 \
            else pd.Index(left[left_on[0]])
        match = pd.Series(lkeys.isin(rkeys), index=left.index) & ~lnull
        keep = match if how == "semi" else ~match
        return left[keep.to_numpy()].reset_index(drop=True)
    if how not in ("inner", "left", "right", "outer"):
        raise StepError(None, f"unknown join type {how!r}")
    kwargs = {"on": left_on} if same else {"left_on": left_on, "right_on": right_on}
    out = lk.merge(rk, how=how, sort=False, suffixes=("", "__right"), **kwargs)
    extra = []
    if how in ("left", "outer") and bool(lnull.any()):
        extra.append(left[lnull])
    if how in ("right", "outer") and bool(rnull.any()):
        extra.append(right[rnull])
    if extra:
        parts = [out] + [e.reindex(columns=out.columns) for e in extra]
        parts = [p for p in parts if len(p)]
        if parts:
            combined = pd.concat(parts, ignore_index=True)
            for name in out.columns:  # keep the merged dtypes
                try:
                    combined[name] = combined[name].astype(out[name].dtype)
                except (TypeError, ValueError):
                    pass
            out = combined
    return out.reset_index(drop=True)


def column_union_type(s: pd.Series, by_values: bool = True) -> Type | None:
    """The etlc type of a union input's column (union_types.py): from its dtype, an
    ``object`` column's from its values; None (no real type) for an ``object`` column without
    a non-null value, or without ``by_values`` (a Dask meta holds no values)."""
    if s.dtype == object:
        return runtime_type(s) if by_values and bool(s.notna().any()) else None
    return runtime_type(s)


def frame_union_types(df: pd.DataFrame, cols, by_values: bool = True) -> dict[str, Type | None]:
    return {c: column_union_type(df[c], by_values) for c in cols}


def union(base: pd.DataFrame, others: list[pd.DataFrame],
          names: list[str] | None = None) -> pd.DataFrame:
    """UNION ALL by name; a column whose etlc type differs between inputs is R044, nothing is
    cast but representation (union_types.py)."""
    cols = union_columns(base, others)
    frames = [base] + [other[cols] for other in others]
    types = untyped_strings([frame_union_types(f, cols) for f in frames],
                            lambda k, c: bool(frames[k][c].notna().any()))
    check_union_types(types[0], list(zip(names or [None] * len(others), types[1:])))
    target = target_types(types[0], types[1:])
    parts = [p for p in frames if len(p)] or [base]
    out = pd.concat(parts, ignore_index=True)
    for name in cols:
        keep = target[name]
        dtype = frames[keep][name].dtype if keep is not None else None
        if dtype is not None and out[name].dtype != dtype:
            out[name] = as_representation(out[name], dtype)
    return out


def as_representation(s: pd.Series, dtype) -> pd.Series:
    """``s`` (values of one etlc type, checked) in ``dtype``; where that representation
    cannot hold them all (a narrower Arrow decimal precision) ``s`` as it is: either way no
    value changes."""
    try:
        return s.astype(dtype)
    except (TypeError, ValueError, ArithmeticError):
        return s


def filter_rows(df: pd.DataFrame, expr: str, params, types=None) -> pd.DataFrame:
    return _expr.apply_filter(expr, df, params, types).reset_index(drop=True)


def qualify(df: pd.DataFrame, expr: str, params, types=None) -> pd.DataFrame:
    """Rows where the condition, which may hold window functions, is true (SQL QUALIFY)."""
    return _expr.apply_filter(expr, df, params, types, context="qualify").reset_index(drop=True)


def derive(df: pd.DataFrame, columns: Mapping[str, str], params, types=None) -> pd.DataFrame:
    out = df.copy(deep=False)   # copy-on-write (pandas 3): adding columns leaves df as it was
    for name, expr in columns.items():
        value = _expr.evaluate(expr, out, params, types)
        if isinstance(value, pd.Series):
            value = value.reset_index(drop=True) if not value.index.equals(out.index) else value
            out[name] = value
        else:
            out[name] = pd.Series([value] * len(out), index=out.index)
    return out


def group_aggregate(df: pd.DataFrame, group_by, aggs, having, params,
                    types=None) -> pd.DataFrame:
    group_by = list(group_by or [])
    _need_columns(df, group_by, "group_by")
    if not aggs:
        out = df[group_by].drop_duplicates()
        if having:
            out = _expr.apply_filter(having, out, params, types)
        return out.reset_index(drop=True)
    return _expr.aggregate(df, group_by, dict(aggs), params, having=having,
                           types=types).reset_index(drop=True)


def select(df: pd.DataFrame, cols) -> pd.DataFrame:
    _need_columns(df, cols, "select")
    return df[list(cols)]


def rename(df: pd.DataFrame, mapping: Mapping[str, str]) -> pd.DataFrame:
    _need_columns(df, mapping.keys(), "rename")
    return df.rename(columns=dict(mapping))


def drop(df: pd.DataFrame, cols) -> pd.DataFrame:
    _need_columns(df, cols, "drop")
    return df.drop(columns=list(cols))


def cast(df: pd.DataFrame, mapping: Mapping[str, Any], step: str | None = None
         ) -> pd.DataFrame:
    """``cast:`` of step ``step``: a value the cast table refuses is R040 naming the column,
    its row (1-based, in ``df``: on dask, in its partition), the value and the step
    (step_failure puts it at the step's ``cast:`` entry); a pair of types the table refuses
    whatever the values stays a StepError."""
    _need_columns(df, mapping.keys(), "cast")
    out = df.copy()
    for name, kind in mapping.items():
        try:
            out[name] = step_cast(out[name], kind, name)  # the one cast table
        except (ValueError, TypeError) as exc:
            i = _first_refused(out[name], kind, name)
            if i is None:
                raise StepError(None, f"cast of column '{name}' to {kind}: {exc}",
                                cause=exc) from exc
            value = out[name].iloc[i]
            reason = exc.reason if isinstance(exc, DataError) else \
                str(exc).removeprefix(f"column '{name}': ").removesuffix(f": {value!r}")
            err = DataError(f"cast to {kind}: {reason}", column=name, row=i + 1,
                            value=value.item() if hasattr(value, "item") else value)
            err.step = step
            raise err from exc
    return out


def _first_refused(s: pd.Series, kind: Any, name: str) -> int | None:
    """The position of the first value of ``s`` that ``step_cast`` refuses, by bisection
    (the cast is value by value); None where it refuses the type itself (no values)."""
    def fails(part: pd.Series) -> bool:
        try:
            step_cast(part, kind, name)
        except (ValueError, TypeError):
            return True
        return False

    if fails(s.iloc[:0]) or not fails(s):
        return None
    lo, hi = 0, len(s)   # a refused value lies in [lo, hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fails(s.iloc[lo:mid]):
            hi = mid
        else:
            lo = mid
    return lo


def distinct(df: pd.DataFrame, spec) -> pd.DataFrame:
    if spec is True:
        return df.drop_duplicates().reset_index(drop=True)
    if not spec:
        return df
    _need_columns(df, spec, "distinct")
    return df.drop_duplicates(subset=list(spec), keep="first").reset_index(drop=True)


def sort_keys(keys) -> tuple[list[str], list[bool]]:
    """``sort: [col, -col, +col]`` as the columns and their ascending flags."""
    cols, asc = [], []
    for key in keys:
        key = str(key).strip()
        if key.startswith("-"):
            cols.append(key[1:].strip())
            asc.append(False)
        else:
            cols.append(key[1:].strip() if key.startswith("+") else key)
            asc.append(True)
    return cols, asc


def sort(df: pd.DataFrame, keys) -> pd.DataFrame:
    cols, asc = sort_keys(keys)
    _need_columns(df, cols, "sort")
    return df.sort_values(cols, ascending=asc, na_position="last", kind="stable"
                          ).reset_index(drop=True)


def limit(df: pd.DataFrame, n) -> pd.DataFrame:
    return df.head(int(n)).reset_index(drop=True)


def base_of(step: Mapping[str, Any], frames: Mapping[str, Any], base: Any = None) -> Any:
    """The relation a step's transforms start from: ``base`` (what a read or call step made
    itself), else its first ``from`` input (any engine's relation)."""
    if base is not None:
        return base
    names = sources(step)
    if not names:
        raise StepError(step.get("name"), "a transform needs `from`")
    return frames[names[0]]


def apply_transform(step: Mapping[str, Any], frames: Mapping[str, pd.DataFrame], params,
                    base: pd.DataFrame | None = None,
                    on_stage: Callable[[str], None] | None = None,
                    types: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Run the transforms a step names, in the fixed order, and return the result.

    ``types``: the step's declared column types as the evaluator takes them
    (``_expr.types_of`` of the plan's ``types``), passed to every expression."""
    df = base_of(step, frames, base)

    def stage(name):
        if on_stage:
            on_stage(name)

    if step.get("join"):
        specs = step["join"] if isinstance(step["join"], list) else [step["join"]]
        for spec in specs:
            stage("join")
            df = join(df, frames[spec["with"]], spec["on"], spec.get("how", "inner"))
    if step.get("union"):
        stage("union")
        names = step["union"] if isinstance(step["union"], list) else [step["union"]]
        df = union(df, [frames[n] for n in names], names)
    if step.get("filter"):
        stage("filter")
        df = filter_rows(df, step["filter"], params, types)
    if step.get("derive"):
        stage("derive")
        df = derive(df, step["derive"], params, types)
    if step.get("qualify"):
        stage("qualify")
        df = qualify(df, step["qualify"], params, types)
    if step.get("aggregate") or step.get("group_by"):
        stage("aggregate")
        df = group_aggregate(df, step.get("group_by"), step.get("aggregate"), step.get("having"),
                             params, types)
    elif step.get("having"):
        stage("having")
        df = filter_rows(df, step["having"], params, types)
    for key, fn in (("select", select), ("rename", rename), ("drop", drop), ("cast", cast),
                    ("distinct", distinct), ("sort", sort)):
        if step.get(key):
            stage(key)
            df = fn(df, step[key]) if key != "cast" else cast(df, step[key], step.get("name"))
    if step.get("limit") is not None:
        stage("limit")
        df = limit(df, step["limit"])
    return df.reset_index(drop=True)
