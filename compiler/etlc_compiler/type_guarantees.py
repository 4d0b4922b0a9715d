"""What the typing pass can promise before a run (issue 10): checks over the column types
that flow through the steps, each a positioned diagnostic.

- E411: the two sides of a join key have types that do not compare (a string with an int, a
  date with a timestamp); numbers of any kind (int, float, decimal) compare with each other.
- E412: a `partition_by` or `key` column of the written dataset does not reach the write (a
  `select`, `drop`, `rename` or `aggregate` upstream removed it), so the write could only
  fail at run time.
- E413: a `union` input whose column has another type than the step's input (the first
  input, whose types every engine casts the others to): types must be equal, a decimal's
  scale and a vector's size included; no widening, not even int into float or decimal (a
  float holds an int exactly only up to 2**53, a decimal only to its precision), so nothing
  is cast silently at run time.
- W402: `distinct` on some columns and `sort` in one step: distinct runs first (the fixed
  order of a step), so the sort does not decide which row of each group is kept; the input's
  order does.

Pure functions over the pass's column maps (``{column: Type}`` or None when unknown); the
pass calls them where it knows both sides.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .diagnostics import Diagnostic
from .loader import LoadedSpec
from .model import as_list

NUMBERS = ("int", "float", "decimal")
UNTYPED = ("unknown", "null")


def comparable(left: Any, right: Any) -> bool:
    """Whether values of two etlc types can be equal in a join (unknown types pass)."""
    if left is None or right is None or left.name in UNTYPED or right.name in UNTYPED:
        return True
    if left.name in NUMBERS and right.name in NUMBERS:
        return True
    return left.name == right.name


def _shown(t: Any) -> str:
    return f"decimal(scale {t.scale})" if t.name == "decimal" and t.scale is not None \
        else t.name


def join_keys(loaded: LoadedSpec, path: tuple, join: Mapping[str, Any],
              left: Mapping[str, Any] | None, right: Mapping[str, Any] | None) -> list[Diagnostic]:
    """E411 for each join key whose two sides do not compare, at the key in `on`."""
    if left is None or right is None:
        return []
    on = join.get("on")
    pairs = list(on.items()) if isinstance(on, dict) else [(k, k) for k in as_list(on)]
    out = []
    for i, (lk, rk) in enumerate(pairs):
        if not (isinstance(lk, str) and isinstance(rk, str)) or lk not in left or rk not in right:
            continue  # unknown columns are E402's
        if comparable(left[lk], right[rk]):
            continue
        where = path + ("on", lk) if isinstance(on, dict) else (
            path + ("on", i) if isinstance(on, list) else path + ("on",))
        out.append(loaded.diag(
            "E411", f"join key '{lk}' is {_shown(left[lk])} here but '{rk}' is "
            f"{_shown(right[rk])} in '{join.get('with')}': the values never compare equal",
            where, at="key" if isinstance(on, dict) else "value",
            help="cast one side in a step before the join (cast: or derive: with cast(...))"))
    return out


def same_type(left: Any, right: Any) -> bool:
    """Whether a union input's column type is the step input's (unknown types pass; a
    vector without a declared size fits any size)."""
    if left is None or right is None or left.name in UNTYPED or right.name in UNTYPED:
        return True
    if left.name == right.name == "vector" and None in (left.size, right.size):
        return True
    return left == right


def union_types(loaded: LoadedSpec, path: tuple, other: str,
                cols: Mapping[str, Any] | None, theirs: Mapping[str, Any] | None) -> list[Diagnostic]:
    """E413 for each column that the union input ``other`` (at ``path``, its entry in
    `union`) has with another type than the step's input; the columns' names are E410's."""
    if cols is None or theirs is None or set(cols) != set(theirs):
        return []
    return [loaded.diag(
        "E413", f"union column '{c}' is {_shown(t)} in the step's input but {_shown(theirs[c])} "
        f"in '{other}': the union would cast it", path,
        help=f"cast '{c}' to one type in a step before the union (cast: {{{c}: ...}})")
        for c, t in cols.items() if not same_type(t, theirs[c])]


def write_columns(loaded: LoadedSpec, step: str, dataset_name: str,
                  dataset: Mapping[str, Any], cols: Mapping[str, Any] | None) -> list[Diagnostic]:
    """E412 for `partition_by` and `key` columns missing from what the write receives."""
    if cols is None:
        return []
    out = []
    for field in ("partition_by", "key"):
        missing = [c for c in as_list(dataset.get(field)) if isinstance(c, str) and c not in cols]
        if missing:
            names = ", ".join(f"'{c}'" for c in missing)
            out.append(loaded.diag(
                "E412", f"{field} column(s) {names} of dataset '{dataset_name}' do not reach "
                f"the write of step '{step}' (its input has: {', '.join(cols) or 'no columns'})",
                ("steps", step, "write"),
                help="keep them in the steps before the write (select, drop, rename, "
                     "aggregate's group_by)"))
    return out


def sort_and_distinct(loaded: LoadedSpec, step: str, raw: Mapping[str, Any]) -> list[Diagnostic]:
    """W402 when a step's `distinct` keeps one row of several and its `sort` comes after."""
    distinct, sort = raw.get("distinct"), raw.get("sort")
    if not isinstance(distinct, list) or not distinct or sort in (None, [], ""):
        return []
    keys = [s.lstrip("-") for s in as_list(sort) if isinstance(s, str)]
    if all(k in distinct for k in keys) and keys:
        return []  # sorting by distinct keys only: every row of a group sorts the same
    return [loaded.diag(
        "W402", f"step '{step}' has distinct on {distinct} and sort: distinct runs first, so "
        "the input's order, not this sort, decides which row of each group is kept",
        ("steps", step, "distinct"), at="key", severity="warning",
        help="sort in an earlier step to choose the row that distinct keeps; this sort only "
             "orders the result")]

