"""Writes and staging hand-offs of the dask engine: each partition writes its own part.

File datasets go through the commit protocol (commit.py) unchanged: the task process takes
the target's lock and the protocol's hidden folder, every partition writes its part file(s)
into that folder on a worker (``part-<i>`` where ``i`` is the partition number; with
``partition_by`` one file per partition and Hive folder it holds), and the task process
commits them all at once.  Parts of partitions that hold no row are removed before the
commit, unless no partition holds any (then one empty part remains, as the pandas engine
writes).  A single-file target (``out.csv``) is written from one partition.  Files are
written by the pandas engine's own writer (io_write._write_file), so their bytes are the
pandas engine's.

PostgreSQL sinks are fed from the computed frame (io_postgres), as the pandas engine does.

``cluster`` is the engine's engines/dask/waiting.Waiting: its one computation of the parts
also computes and judges the checks and metrics waiting for it, before anything is committed
(a failed check leaves the target as it was; the protocol's hidden folder, or this attempt's
staged parts, removed).

The staging hand-off writes one Parquet part per partition and commits the manifest
through staging.commit_parts.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ... import hive
from ...commit import Commit
from ...errors import StepError
from ...file_layout import key_files, outside, part_name, write_target


def _write_partition(part, number: int, folder: str, fmt: str, opts: Mapping,
                     typed: tuple, partition_by: list[str], run_key: str | None,
                     files: Mapping | None):
    """One partition's files under ``folder``: a list of (relative path, rows, bytes);
    ``typed``: (declared columns, plan types of undeclared computed decimals and dates,
    dataset name) for io_write.write_frame; ``files``: the column types the files are
    written with (io_write.file_columns)."""
    import pandas as pd

    from ...io_write import _write_file, naming, write_frame

    declared, extra, dataset = typed
    name = part_name(opts, fmt, number, run_key)
    with naming(dataset, f"{name} (partition {number})"):  # rows count within the partition
        part = write_frame(part, declared, extra, dataset)
    base = Path(folder)
    if not partition_by:
        with naming(dataset, name):
            nbytes = _write_file(part, base / name, fmt, opts, files)
        return pd.DataFrame({"rel": [name], "rows": [len(part)], "bytes": [nbytes]})
    out = []
    data_cols = [c for c in part.columns if c not in partition_by]
    for key, rows in part.groupby(list(partition_by), dropna=False, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        rel = "/".join(hive.segment(str(c), v) for c, v in zip(partition_by, key))
        with naming(dataset, f"{rel}/{name}"):
            nbytes = _write_file(rows[data_cols], base / rel / name, fmt, opts, files)
        out.append((f"{rel}/{name}", len(rows), nbytes))
    return pd.DataFrame(out, columns=["rel", "rows", "bytes"])


def _written(cluster, ddf, folder: Path, target, files: Mapping | None, typed: tuple) -> Any:
    import pandas as pd

    meta = pd.DataFrame({"rel": pd.Series([], dtype=object), "rows": pd.Series([], dtype="int64"),
                         "bytes": pd.Series([], dtype="int64")})
    parts = [ddf.partitions[i].map_partitions(
        _write_partition, i, str(folder), target.fmt, dict(target.options), typed,
        list(target.partition_by), target.run_key, files, meta=meta, enforce_metadata=False)
        for i in range(ddf.npartitions)]
    frames = cluster.compute(*parts)
    return pd.concat(frames, ignore_index=True) if frames else meta


def write(cluster, ddf, dataset: Mapping[str, Any], mode: str | None, macros, root,
          append_key: str | None, connections=None, json: list[str] = (),
          types: Mapping[str, Any] | None = None) -> dict:
    """Write ``ddf`` to the dataset; {"path", "rows", "bytes", "partitions"} (``json``: the
    columns the plan types json, io_write.file_columns; ``types``: the step's plan types,
    which give undeclared computed decimals and dates their type, plan_types.undeclared_types)."""
    from ...io_write import dataset_name, file_columns
    from ...plan_types import undeclared_types

    target = write_target(dataset, mode, macros, root, append_key, list(ddf.columns))
    if target.fmt == "postgres":
        from ...io_write import write_dataset

        (frame,) = cluster.compute(ddf)
        return write_dataset(frame.reset_index(drop=True), dataset, target.mode, macros, root,
                             append_key, connections=connections, json=json, types=types)
    extra = undeclared_types(target.declared, types, [str(c) for c in ddf.columns])
    typed = (target.declared, extra, dataset_name(dataset))
    files = file_columns({**(target.declared or {}), **extra} or None, list(json))
    if target.single and ddf.npartitions > 1:
        ddf = ddf.repartition(npartitions=1)
    with Commit(target.path, fmt=target.fmt, single=target.single) as tx:
        folder = tx.new.parent if target.single else tx.new
        if target.single:
            from ...io_write import _write_file, naming, write_frame

            (frame,) = cluster.compute(ddf)
            frame = write_frame(frame.reset_index(drop=True), *typed)
            with naming(typed[2]):
                nbytes = _write_file(frame, tx.new, target.fmt, dict(target.options), files)
            tx.commit()
            return {"path": str(target.path), "rows": len(frame), "bytes": nbytes,
                    "partitions": 1}
        parts = _drop_empty(_written(cluster, ddf, folder, target, files, typed), folder,
                            target)
        written = sorted({rel.rpartition("/")[0] for rel in parts["rel"]})
        if target.mode == "overwrite":
            tx.commit()
        elif target.mode == "overwrite_partitions":
            tx.commit(outside(written))
        else:
            own = key_files(dict(target.options), target.fmt, target.run_key)
            tx.commit(lambda rel: not own(rel.name))
    return {"path": str(target.path), "rows": int(parts["rows"].sum()),
            "bytes": int(parts["bytes"].sum()), "partitions": len(written)}


def _drop_empty(files, folder: Path, target):
    """Remove the parts of empty partitions (one remains where every partition is empty)."""
    if target.partition_by:
        return files
    empty = files["rows"] == 0
    if empty.all():
        empty.iloc[0] = False
    for rel in files.loc[empty, "rel"]:
        (folder / rel).unlink()
    return files[~empty]


def _stage_partition(part, number: int, folder: str, attempt: str, types, step):
    import pandas as pd
    import pyarrow.parquet as pq

    from ...io_write import naming
    from ...staging import staged_table

    name = f"part-{number:05d}-{attempt}.parquet"
    with naming(None, name):
        table = staged_table(part.reset_index(drop=True), types, step)[0]
    pq.write_table(table, Path(folder) / name)
    return pd.DataFrame({"name": [name], "rows": [len(part)]})


def stage(cluster, ddf, folder: Path, *, meta: dict, before_commit=None,
          types: Mapping | None = None) -> dict:
    """One Parquet part per partition, then the manifest (staging.commit_parts); computed
    decimals and dates in their plan ``types`` (staging.staged_table)."""
    import pandas as pd

    from ...staging import commit_parts, staged_table

    types = dict(types or {})
    _, schema, dtypes = staged_table(ddf._meta, types, meta.get("step"))
    out_meta = pd.DataFrame({"name": pd.Series([], dtype=object),
                             "rows": pd.Series([], dtype="int64")})

    def write_parts(folder: Path, attempt: str):
        parts = [ddf.partitions[i].map_partitions(_stage_partition, i, str(folder), attempt,
                                                  types, meta.get("step"),
                                                  meta=out_meta, enforce_metadata=False)
                 for i in range(ddf.npartitions)]
        try:
            done = pd.concat(cluster.compute(*parts), ignore_index=True)
        except BaseException:   # a failed check (or part): this attempt's parts go
            for name in range(ddf.npartitions):
                (folder / f"part-{name:05d}-{attempt}.parquet").unlink(missing_ok=True)
            raise
        keep = done["rows"] > 0
        if not keep.any():
            keep.iloc[0] = True
        for name in done.loc[~keep, "name"]:
            (folder / name).unlink()
        done = done[keep]
        return list(done["name"]), [int(r) for r in done["rows"]], schema

    if not ddf.columns.is_unique:
        raise StepError(None, f"duplicate column names {list(ddf.columns)}")
    return commit_parts(folder, write_parts, meta=meta, before_commit=before_commit,
                        dtypes=dtypes)
