"""Write datasets to local files, idempotently.

Modes (``mode:`` of a write step):

- ``overwrite`` -- the whole target is replaced.  Parquet and csv folders: the new files are
  written into a temporary sibling folder, then the old folder is moved aside, the new one
  renamed into place and the old one removed.  A single file (``out.csv``,
  ``out.parquet``): written to a temporary sibling file and renamed over the target.
- ``overwrite_partitions`` -- needs ``partition_by``: only the ``key=value/`` folders present
  in the data are replaced (each one by a rename from the temporary sibling folder); other
  partitions stay as they are.
- ``append`` -- new part files are added, named after the run's logical date (its run id
  when it has none): ``part-<key>-00000.parquet``.  A write first removes the part files of
  its own key, so a retry, or a new run of the same date, replaces that date's rows instead
  of adding a second copy.

Postgres tables (``format: postgres``; modes ``append``, ``overwrite``, ``upsert``) are
written by :mod:`etlc_runtime.io_postgres`: COPY into a staging table, then merge in one
transaction.

With ``partition_by`` files go to Hive-style folders ``col=value/`` (values percent-encoded,
nulls as ``__HIVE_DEFAULT_PARTITION__``) and the partition columns are not stored inside the
files, as Hive, Spark, DuckDB and pyarrow expect.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd

from . import dtypes
from .errors import NotAvailable, StepError
from .io_read import dataset_location
from .paths import ensure_writable, local_path
from .staging import safe_name

HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"
MODES = ("append", "overwrite", "overwrite_partitions")


def _is_single_file(text: str, fmt: str) -> bool:
    if text.endswith(("/", os.sep)):
        return False
    return Path(text).suffix.lower() in {
        "parquet": (".parquet", ".pq"), "csv": (".csv", ".txt", ".tsv"),
        "json": (".json", ".jsonl", ".ndjson")}.get(fmt, ())


def _partition_value(value: Any) -> str:
    if value is None or (not isinstance(value, (list, tuple)) and pd.isna(value)):
        return HIVE_NULL
    if hasattr(value, "isoformat") and not isinstance(value, pd.Timestamp):
        text = value.isoformat()
    elif isinstance(value, pd.Timestamp):
        text = value.isoformat(sep=" ") if (value.hour or value.minute or value.second) \
            else value.strftime("%Y-%m-%d")
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    else:
        text = str(value)
    return quote(text, safe=" -_.:+@")


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


def _ext(fmt: str) -> str:
    return {"parquet": ".parquet", "csv": ".csv", "json": ".jsonl"}[fmt]


def _part_name(opts: Mapping, fmt: str, i: int, run_key: str | None) -> str:
    pattern = opts.get("file_name")
    if pattern:
        name = pattern.replace("{i}", f"{i:05d}")
        if run_key:
            stem, dot, ext = name.partition(".")
            name = f"{stem}-{run_key}{dot}{ext}"
        return name
    return f"part-{run_key}-{i:05d}{_ext(fmt)}" if run_key else f"part-{i:05d}{_ext(fmt)}"


def _own_prefix(opts: Mapping, fmt: str, run_key: str) -> str:
    full = _part_name(opts, fmt, 0, run_key)
    return full[: full.index(run_key) + len(run_key)]


def _write_folder(df: pd.DataFrame, folder: Path, fmt: str, opts: Mapping,
                  columns: Mapping | None, partition_by: list[str], run_key: str | None
                  ) -> tuple[list[str], int]:
    """Write ``df`` into ``folder`` (Hive sub-folders when partitioned).  Returns the
    partition folders written (relative) and the bytes written."""
    folder.mkdir(parents=True, exist_ok=True)
    nbytes = 0
    if not partition_by:
        nbytes += _write_file(df, folder / _part_name(opts, fmt, 0, run_key), fmt, opts, columns)
        return [""], nbytes
    written = []
    data_cols = [c for c in df.columns if c not in partition_by]
    grouped = df.groupby(list(partition_by), dropna=False, sort=True)
    for key, part in grouped:
        key = key if isinstance(key, tuple) else (key,)
        rel = "/".join(f"{quote(str(c), safe='')}={_partition_value(v)}"
                       for c, v in zip(partition_by, key))
        target = folder / rel
        nbytes += _write_file(part[data_cols], target / _part_name(opts, fmt, 0, run_key), fmt,
                              opts, columns)
        written.append(rel)
    return written, nbytes


def _remove(path: Path):
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _swap_in(new: Path, target: Path):
    """Replace ``target`` by ``new`` (both folders or both files, same file system)."""
    if new.is_file():
        os.replace(new, target)
        return
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.etlc-old-{uuid.uuid4().hex[:8]}")
        os.replace(target, old)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(new, target)
    if old is not None:
        _remove(old)


def write_dataset(df: pd.DataFrame, dataset: Mapping[str, Any], mode: str | None,
                  macros: Mapping[str, Any], root, run_id: str,
                  connections: Mapping[str, Any] | None = None) -> dict:
    """Write ``df`` to the dataset.  Returns {"path", "rows", "bytes", "partitions"}."""
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
    text = dataset_location(dataset, macros, root)
    target = ensure_writable(local_path(text, root), root)
    opts = dict(dataset.get("options") or {})
    columns = dataset.get("columns") or None
    partition_by = list(dataset.get("partition_by") or [])
    missing = [c for c in partition_by if c not in df.columns]
    if missing:
        raise StepError(None, f"partition_by column(s) {missing} are not in the data")
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
    token = uuid.uuid4().hex[:8]
    tmp = target.with_name(f".{target.name}.etlc-tmp-{token}")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        if single:
            tmp_file = tmp.with_suffix(target.suffix)
            nbytes = _write_file(df, tmp_file, fmt, opts, columns)
            os.replace(tmp_file, target)
            return {"path": str(target), "rows": len(df), "bytes": nbytes, "partitions": 1}
        written, nbytes = _write_folder(df, tmp, fmt, opts, columns, partition_by, run_key)
        if mode == "overwrite":
            _swap_in(tmp, target)
        elif mode == "overwrite_partitions":
            for rel in written:
                _swap_in(tmp / rel, target / rel)
        else:  # append, keyed by run id
            prefix = _own_prefix(opts, fmt, run_key)
            if target.exists():
                for own in target.rglob(f"{prefix}*"):
                    if own.is_file():
                        own.unlink()
            for rel in written:
                dest = target / rel if rel else target
                dest.mkdir(parents=True, exist_ok=True)
                for f in (tmp / rel if rel else tmp).iterdir():
                    if f.is_file():
                        os.replace(f, dest / f.name)
        return {"path": str(target), "rows": len(df), "bytes": nbytes,
                "partitions": len(written)}
    finally:
        if tmp.exists():
            _remove(tmp)
