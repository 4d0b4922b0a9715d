"""Write datasets to local files, idempotently, through the commit protocol.

Every file write goes through :mod:`etlc_runtime.commit`: the target's lock is taken, leftovers
of earlier attempts are rolled forward or removed, the new files are written into a hidden
folder the protocol hands out, and one commit makes them the dataset.  Modes (``mode:`` of a
write step):

- ``overwrite`` -- the whole target is replaced.  A folder is swapped for the new one in one
  step; a single file (``out.csv``, ``out.parquet``) is renamed over.
- ``overwrite_partitions`` -- needs ``partition_by``: the ``col=value/`` folders present in
  the data are replaced, the other partitions are carried into the new version unchanged.
- ``append`` -- new part files are added, named after the run's append key (its logical date,
  :func:`etlc_runtime.commit.append_key`): ``part-<key>-00000.parquet``.  The commit drops the parts of that key
  from the current version, so a retry, or a new run of the same date, replaces that date's
  rows instead of adding a second copy.

Postgres tables (``format: postgres``; modes ``append``, ``overwrite``, ``upsert``) are
written by :mod:`etlc_runtime.io_postgres`: COPY into a staging table, then merge in one
transaction.

With ``partition_by`` files go to Hive-style folders ``col=value/`` named by
:mod:`etlc_runtime.hive`, and the partition columns are not stored inside the files, as Hive,
Spark, DuckDB and pyarrow expect.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from . import dtypes, hive
from .commit import Commit, _fault
from .errors import NotAvailable, StepError
from .file_layout import is_single_file as _is_single_file
from .file_layout import key_files as _key_files
from .file_layout import outside as _outside
from .file_layout import part_name as _part_name
from .io_read import dataset_location
from .paths import ensure_writable, local_path
from .staging import safe_name

HIVE_NULL = hive.HIVE_NULL
MODES = ("append", "overwrite", "overwrite_partitions")


def _arrow_table(df: pd.DataFrame, columns: Mapping | None):
    import pyarrow as pa

    table = pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False)
    if not columns:
        return table
    fields = []
    for field in table.schema:
        wanted = dtypes.arrow_type(columns[field.name]) if field.name in columns else None
        fields.append(pa.field(field.name, wanted or field.type))
    try:
        return table.cast(pa.schema(fields, metadata=table.schema.metadata))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return table


def _write_file(df: pd.DataFrame, path: Path, fmt: str, opts: Mapping, columns: Mapping | None):
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        comp = opts.get("compression") or "snappy"
        kwargs = {"compression": None if comp == "none" else comp}
        if opts.get("row_group_size"):
            kwargs["row_group_size"] = int(opts["row_group_size"])
        pq.write_table(_arrow_table(df, columns), path, **kwargs)
    elif fmt == "csv":
        comp = opts.get("compression")
        out = df.copy()
        for name in out.columns:
            if dtypes.type_name(out[name].dtype) == "bool":
                out[name] = out[name].map(lambda v: v if pd.isna(v) else ("true" if v else "false"))
        out.to_csv(path, index=False, sep=opts.get("delimiter", ","),
                   quotechar=opts.get("quote", '"'), header=opts.get("header", True),
                   na_rep=opts.get("null_value", ""), encoding=opts.get("encoding", "utf-8"),
                   escapechar=opts.get("escape"), doublequote=not opts.get("escape"),
                   compression=None if comp in (None, "none", "infer") else comp,
                   lineterminator="\n")
    elif fmt == "json":
        records = df.to_json(orient="records", lines=True, date_format="iso")
        with open(path, "w", encoding=opts.get("encoding", "utf-8")) as fh:
            fh.write(records)
    else:
        raise NotAvailable(f"writing format {fmt!r} is not supported by this runtime")
    return path.stat().st_size


def _write_folder(df: pd.DataFrame, folder: Path, fmt: str, opts: Mapping,
                  columns: Mapping | None, partition_by: list[str], run_key: str | None
                  ) -> tuple[list[str], int]:
    """Write ``df`` into ``folder`` (Hive sub-folders when partitioned).  Returns the
    partition folders written (relative) and the bytes written."""
    nbytes = 0
    if not partition_by:
        nbytes += _write_file(df, folder / _part_name(opts, fmt, 0, run_key), fmt, opts, columns)
        _fault("part_written")
        return [""], nbytes
    written = []
    data_cols = [c for c in df.columns if c not in partition_by]
    grouped = df.groupby(list(partition_by), dropna=False, sort=True)
    for key, part in grouped:
        key = key if isinstance(key, tuple) else (key,)
        rel = "/".join(hive.segment(str(c), v) for c, v in zip(partition_by, key))
        if rel in written:
            raise StepError(None, f"partition values {key!r} give the folder {rel!r} of "
                                  f"another partition")
        nbytes += _write_file(part[data_cols], folder / rel / _part_name(opts, fmt, 0, run_key),
                              fmt, opts, columns)
        _fault("part_written")
        written.append(rel)
    return written, nbytes


def write_dataset(df: pd.DataFrame, dataset: Mapping[str, Any], mode: str | None,
                  macros: Mapping[str, Any], root, run_id: str,
                  connections: Mapping[str, Any] | None = None) -> dict:
    """Write ``df`` to the dataset.  Returns {"path", "rows", "bytes", "partitions"}.

    ``run_id`` is the run's append key (:func:`etlc_runtime.commit.append_key` of its logical date)."""
    fmt = dataset.get("format")
    mode = mode or "append"
    if fmt == "postgres":
        if mode not in ("append", "overwrite", "upsert"):
            raise StepError(None, f"mode: {mode} does not apply to postgres tables")
        from .io_postgres import write_postgres
        return write_postgres(df, dataset, mode, macros, connections, append_key=run_id)
    if mode == "upsert":
        raise NotAvailable(f"mode: upsert ({fmt}) arrives with the services issue "
                           f"(qdrant sinks); file datasets take append, overwrite or "
                           f"overwrite_partitions")
    if mode not in MODES:
        raise StepError(None, f"unknown write mode {mode!r}")
    if fmt not in ("parquet", "csv", "json"):
        raise NotAvailable(f"writing format {fmt!r} is not supported by this runtime")
    text = dataset_location(dataset, macros, root)
    target = ensure_writable(local_path(text, root), root, what="dataset")
    opts = dict(dataset.get("options") or {})
    columns = dataset.get("columns") or None
    partition_by = list(dataset.get("partition_by") or [])
    missing = [c for c in partition_by if c not in df.columns]
    if missing:
        raise StepError(None, f"partition_by column(s) {missing} are not in the data")
    hidden = [c for c in partition_by if str(c).startswith((".", "_"))]
    if hidden:  # Hive, Spark and etlc's readers skip such folders: the rows would vanish
        raise StepError(None, f"partition_by column(s) {hidden} start with '.' or '_', which "
                              f"readers skip; rename them")
    if columns:
        present = {c: v for c, v in columns.items() if c in df.columns}
        df = dtypes.conform(df, present, keep_extra=True) if present else df
    single = _is_single_file(text, fmt) and not partition_by
    if mode == "overwrite_partitions" and not partition_by:
        raise StepError(None, "mode: overwrite_partitions needs partition_by on the dataset")
    run_key = safe_name(run_id) if mode == "append" else None
    if single and mode == "append":
        raise StepError(None, f"mode: append needs a folder path (ending in /), not the single "
                              f"file {text!r}: appended runs are kept as separate part files")
    _part_name(opts, fmt, 0, None)  # an unsafe file_name is refused before anything is touched
    with Commit(target, fmt=fmt, single=single) as tx:
        if single:
            nbytes = _write_file(df, tx.new, fmt, opts, columns)
            _fault("part_written")
            tx.commit()
            return {"path": str(target), "rows": len(df), "bytes": nbytes, "partitions": 1}
        written, nbytes = _write_folder(df, tx.new, fmt, opts, columns, partition_by, run_key)
        if mode == "overwrite":
            tx.commit()
        elif mode == "overwrite_partitions":
            tx.commit(_outside(written))
        else:
            own = _key_files(opts, fmt, run_key)
            tx.commit(lambda rel: not own(rel.name))
    return {"path": str(target), "rows": len(df), "bytes": nbytes, "partitions": len(written)}
