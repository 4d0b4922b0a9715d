"""``sort`` and ``distinct`` on the dask engine by shuffles: no partition holds every row.

Both give the pandas engine's rows (steps.sort, steps.distinct) while the rows stay spread
over the relation's partitions:

- Before moving, every row is numbered by its place in the input (partition, row): the
  order the pandas engine would see them in one frame.
- ``sort`` range-partitions: a few rows of each partition are sampled, the samples sorted
  with the step's keys give a splitter per partition boundary (one small task), and each
  row goes to the partition of the splitters it sorts after; rows with equal keys sort
  after the same splitters, so they land together.  The comparisons are those of the
  final sort itself (pandas' ``sort_values``: nulls last, ``-`` descending), so the
  partitions follow one another in the sort order.  Each partition is then sorted by the
  keys and its rows' input numbers, which makes the whole sort stable, as the pandas
  engine's.
- ``distinct`` hash-shuffles on its columns (``DataFrame.shuffle``: rows that
  ``drop_duplicates`` finds equal hash alike), then each partition, back in input order,
  keeps the first of each duplicate set: the row the pandas engine keeps.  The rows come
  out grouped by hash partition; only a ``sort`` fixes an order.

Rows move with Dask's task-based shuffle, which pickles the pandas frames: a P2P shuffle
goes through Arrow and could change the runtime's column representations.
"""

from __future__ import annotations

from typing import Any

from ... import steps as S

SAMPLES = 64  # rows sampled per partition for the sort's splitters
METHOD = "tasks"


def _fresh(columns, *names: str) -> list[str]:
    """Hidden column names that no column of the relation already has."""
    taken, out = {str(c) for c in columns}, []
    for name in names:
        while name in taken:
            name = "_" + name
        taken.add(name)
        out.append(name)
    return out


def _numbered(part, part_col: str, row_col: str, partition_info=None):
    import numpy as np

    out = part.copy(deep=False)
    out[part_col] = np.int64((partition_info or {}).get("number", 0))
    out[row_col] = np.arange(len(part), dtype="int64")
    return out


def _sample(part, cols: list[str]):
    import numpy as np

    if len(part) <= SAMPLES:
        return part[cols]
    return part[cols].iloc[np.unique(np.linspace(0, len(part) - 1, SAMPLES).astype("int64"))]


def _splitters(samples: list, cols: list[str], asc: list[bool], n: int):
    """The n - 1 boundary rows of the sorted samples (fewer samples: fewer splitters)."""
    import pandas as pd

    rows = [s for s in samples if len(s)]
    if not rows:
        return samples[0].iloc[:0]
    every = pd.concat(rows, ignore_index=True).sort_values(
        cols, ascending=asc, na_position="last", kind="stable").reset_index(drop=True)
    picks = sorted({len(every) * i // n for i in range(1, n)} - {0})
    return every.iloc[picks].reset_index(drop=True)


def _destination(part, splitters, cols: list[str], asc: list[bool], flag: str, dest: str):
    """``part`` with ``dest``: how many splitters sort at or before each row's keys."""
    import numpy as np
    import pandas as pd

    out = part.copy(deep=False)
    if not len(splitters) or not len(part):
        out[dest] = np.zeros(len(part), dtype="int64")
        return out
    both = pd.concat([splitters[cols].assign(**{flag: 0}),
                      part[cols].reset_index(drop=True).assign(**{flag: 1})],
                     ignore_index=True)
    ordered = both.sort_values([*cols, flag], ascending=[*asc, True], na_position="last",
                               kind="stable")
    before = (ordered[flag] == 0).cumsum()
    rows = before[ordered[flag] == 1].sort_index()
    out[dest] = rows.to_numpy(dtype="int64")
    return out


def _sorted_part(part, keys: list, order: list[str]):
    cols, asc = S.sort_keys(keys)
    S._need_columns(part, cols, "sort")
    out = part.reset_index(drop=True).sort_values(
        [*cols, *order], ascending=[*asc, *[True] * len(order)], na_position="last",
        kind="stable")
    return out.drop(columns=order).reset_index(drop=True)


def sort(ddf, keys) -> Any:
    """``ddf`` sorted by ``keys`` (steps.sort), as many partitions as it has, in order."""
    import dask

    keys = list(keys)
    cols, asc = S.sort_keys(keys)
    S._need_columns(ddf._meta, cols, "sort")
    meta = S.sort(ddf._meta, keys)
    n = ddf.npartitions
    if n == 1:
        return ddf.map_partitions(S.sort, keys, meta=meta, enforce_metadata=False)
    part_col, row_col, dest, flag = _fresh(ddf.columns, "__etlc_part", "__etlc_row",
                                           "__etlc_dest", "__etlc_flag")
    numbered = ddf.map_partitions(_numbered, part_col, row_col,
                                  meta=_numbered(ddf._meta, part_col, row_col),
                                  enforce_metadata=False)
    samples = numbered.map_partitions(_sample, cols, meta=ddf._meta[cols],
                                      enforce_metadata=False).to_delayed()
    splitters = dask.delayed(_splitters)(samples, cols, asc, n)
    routed = numbered.map_partitions(
        _destination, splitters, cols, asc, flag, dest,
        meta=_destination(numbered._meta, ddf._meta[cols], cols, asc, flag, dest),
        enforce_metadata=False)
    moved = routed.set_index(dest, divisions=[*range(n), n - 1], shuffle_method=METHOD)
    return moved.map_partitions(_sorted_part, keys, [part_col, row_col], meta=meta,
                                enforce_metadata=False)


def _first_kept(part, spec, order: list[str]):
    out = part.reset_index(drop=True).sort_values(order, kind="stable")
    return S.distinct(out.drop(columns=order), spec)


def distinct(ddf, spec) -> Any:
    """``ddf`` without duplicate rows (on every column, or those of ``spec``), the first of
    each set in input order kept (steps.distinct)."""
    if not spec:
        return ddf
    if spec is not True:
        S._need_columns(ddf._meta, spec, "distinct")
    meta = S.distinct(ddf._meta, spec)
    if ddf.npartitions == 1:
        return ddf.map_partitions(S.distinct, spec, meta=meta, enforce_metadata=False)
    on = list(ddf.columns) if spec is True else list(spec)
    part_col, row_col = _fresh(ddf.columns, "__etlc_part", "__etlc_row")
    numbered = ddf.map_partitions(_numbered, part_col, row_col,
                                  meta=_numbered(ddf._meta, part_col, row_col),
                                  enforce_metadata=False)
    # a partition's own duplicates go before the shuffle (fewer rows move); its first kept
    local = numbered.map_partitions(_drop_local, on, meta=numbered._meta,
                                    enforce_metadata=False)
    moved = local.shuffle(on=on, ignore_index=True, shuffle_method=METHOD)
    return moved.map_partitions(_first_kept, spec, [part_col, row_col], meta=meta,
                                enforce_metadata=False)


def _drop_local(part, on: list[str]):
    return part.drop_duplicates(subset=on, keep="first")
