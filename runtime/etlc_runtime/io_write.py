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
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from . import dtypes, hive
from .arrow_convert import nearest_doubles
from .commit import Commit, _fault
from .errors import NotAvailable, StepError
from .file_layout import key_files as _key_files
from .file_layout import outside as _outside
from .file_layout import part_name as _part_name
from .file_layout import write_target
from .plan_types import json_columns
from .text_write import write_text

HIVE_NULL = hive.HIVE_NULL
MODES = ("append", "overwrite", "overwrite_partitions")


def _arrow_table(df: pd.DataFrame, columns: Mapping | None):
    """``df`` as Arrow, declared columns in their declared Arrow types; a value that the
    declared type cannot hold unchanged is an R040 error naming the column and the value
    (never a silent fall back to the data's own types)."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    if not columns:
        return table
    for i, field in enumerate(table.schema):
        wanted = dtypes.arrow_type(columns[field.name]) if field.name in columns else None
        if wanted is None or wanted == field.type:
            continue
        values = table.column(i)
        try:
            cast = values.cast(wanted)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise _cast_error(values, wanted, field.name, exc) from None
        if pa.types.is_floating(field.type) and pa.types.is_decimal(wanted):
            _same_floats(values, cast, wanted, field.name)  # Arrow rounds these silently
        table = table.set_column(i, pa.field(field.name, wanted), cast)
    return table


def _holds(dtype, column) -> bool:
    """Whether a column of ``dtype`` needs no conversion before the Arrow cast of
    :func:`_arrow_table`: it holds the declared type already (Int64 for int, ...), or it is an
    Arrow decimal going to a decimal, which that cast changes only where no digit is lost
    (else R040 naming the value)."""
    wanted = dtypes.arrow_type(column)
    numeric = str(dtype).lower().startswith(("float", "double")) or "decimal" in str(dtype)
    if wanted is not None and numeric and (pa.types.is_integer(wanted)
                                           or pa.types.is_decimal(wanted)):
        return True   # the Arrow cast refuses lost digits (R040), never rounds them away
    if isinstance(dtype, pd.ArrowDtype):  # an Arrow decimal to a decimal returned above
        return dtype.pyarrow_dtype == wanted
    wanted = dtypes.pandas_dtype(column)
    return wanted is not object and str(dtype) == str(wanted)


def _same_floats(values, cast, wanted, name: str) -> None:
    """R040 for the first float that the decimal does not hold exactly (1.005 -> 1.00): the
    decimal's nearest double must be the float itself."""
    import numpy as np

    floats = np.asarray(values.cast(pa.float64()))
    changed = np.asarray(values.is_valid()) & (nearest_doubles(cast.combine_chunks()) != floats)
    if changed.any():
        from .errors import DataError
        row = int(np.flatnonzero(changed)[0])
        raise DataError(f"does not fit the declared type {wanted} without losing digits",
                        column=name, row=row + 1, value=values[row].as_py())


def _cast_error(values, wanted, name: str, exc: Exception) -> Exception:
    """The first value of ``values`` that does not cast to ``wanted``."""
    from .errors import DataError

    for row in range(len(values)):
        try:
            values.slice(row, 1).cast(wanted)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return DataError(f"does not fit the declared type {wanted} ({exc})", column=name,
                             row=row + 1, value=values[row].as_py())
    return DataError(f"does not fit the declared type {wanted} ({exc})", column=name)


def _write_file(df: pd.DataFrame, path: Path, fmt: str, opts: Mapping, columns: Mapping | None):
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        kwargs = {"compression": opts.get("compression") or "snappy"}  # pyarrow reads "none"
        if opts.get("row_group_size"):
            kwargs["row_group_size"] = int(opts["row_group_size"])
        pq.write_table(_arrow_table(df, columns), path, **kwargs)
    elif fmt in ("csv", "json"):
        return write_text(_arrow_table(df, columns), path, fmt, opts, json_columns(columns))
    else:
        raise NotAvailable(f"writing format {fmt!r} is not supported by this runtime")
    return path.stat().st_size


def _write_folder(df: pd.DataFrame, folder: Path, fmt: str, opts: Mapping,
                  columns: Mapping | None, partition_by: list[str], run_key: str | None
                  ) -> tuple[list[str], int]:
    """Write ``df`` into ``folder`` (Hive sub-folders when partitioned).  Returns the
    partition folders written (relative) and the bytes written."""
    if not partition_by:
        nbytes = _write_file(df, folder / _part_name(opts, fmt, 0, run_key), fmt, opts, columns)
        _fault("part_written")
        return [""], nbytes
    written, nbytes = [], 0
    data_cols = [c for c in df.columns if c not in partition_by]
    for key, part in df.groupby(list(partition_by), dropna=False):  # keys are tuples
        rel = "/".join(hive.segment(str(c), v) for c, v in zip(partition_by, key))
        if rel in written:
            raise StepError(None, f"partition values {key!r} give the folder {rel!r} of "
                                  f"another partition")
        nbytes += _write_file(part[data_cols], folder / rel / _part_name(opts, fmt, 0, run_key),
                              fmt, opts, columns)
        _fault("part_written")
        written.append(rel)
    return written, nbytes


def file_columns(declared: Mapping | None, json: list[str]) -> Mapping | None:
    """The column types a file is written with: the declared ones, and json for the columns
    the plan types json (a JSON Lines file writes their values nested)."""
    extra = {c: "json" for c in json if c not in (declared or {})}
    return {**extra, **declared} if declared and extra else (declared or extra or None)


def dataset_name(dataset: Mapping[str, Any]) -> str | None:
    """What an error calls the dataset: its name where the plan gives it, else its place."""
    return dataset.get("name") or dataset.get("table") or dataset.get("path")


@contextmanager
def naming(dataset: str | None, file: str | None = None):
    """R040s raised inside name ``dataset`` (the file writers know columns and rows only) and
    ``file``, where the row counts from (a dask partition's part file)."""
    from .errors import DataError

    try:
        yield
    except DataError as exc:
        if (exc.dataset or not dataset) and (exc.file or not file):
            raise
        raise DataError(exc.reason, dataset=exc.dataset or dataset, column=exc.column,
                        file=exc.file or file, line=exc.line, row=exc.row,
                        value=exc.value) from exc


def check_dates(df: pd.DataFrame, columns: Mapping[str, Any], dataset: str | None) -> None:
    """R040 for the first value with a time of day in a column written as a date (a
    computed date is held as datetime64 at midnight; anything else is no date, and is never
    truncated to one, as the duckdb engine refuses it too)."""
    import numpy as np

    from .errors import DataError

    for col, spec in columns.items():
        if col not in df.columns or dtypes.spec_of(spec).get("type") != "date":
            continue
        s = df[col]
        if not pd.api.types.is_datetime64_any_dtype(s.dtype):
            continue
        timed = (s.notna() & (s != s.dt.normalize())).to_numpy(dtype=bool, na_value=False)
        if timed.any():
            row = int(np.flatnonzero(timed)[0])
            raise DataError("a date with a time of day (a date column holds dates only)",
                            dataset=dataset, column=str(col), row=row + 1,
                            value=str(s.iloc[row]))


def write_frame(df: pd.DataFrame, declared: Mapping | None, extra: Mapping | None,
                dataset: str | None) -> pd.DataFrame:
    """The frame a writer writes: the declared columns and ``extra`` (the plan types of
    undeclared computed decimals and dates, plan_types.undeclared_types) converted to their
    types where the frame does not hold them already, the declared columns first and the
    others in their own order.  A decimal's digits are checked when the file is written
    (:func:`_arrow_table`)."""
    declared = declared or {}
    columns = {**declared, **(extra or {})}
    if not columns:
        return df
    check_dates(df, columns, dataset)
    convert = {c: v for c, v in columns.items() if c in df.columns
               and not _holds(df[c].dtype, v)}
    before = [c for c in df.columns if c not in declared]
    with naming(dataset):
        out = dtypes.conform(df, convert, keep_extra=True) if convert else df
    return out[[c for c in declared if c in out.columns] + before]


def typed_table(df: pd.DataFrame, extra: Mapping[str, Any], dataset: str | None):
    """``df`` as Arrow with ``extra`` (plan_types.undeclared_types: computed decimals and
    dates) in their plan types, every digit checked (R040 naming ``dataset``):
    what a staging hand-off writes, so that the next task, on any engine, reads a decimal as
    that decimal and a date as a date, never a double or a timestamp."""
    with naming(dataset):
        return _arrow_table(write_frame(df, None, extra, dataset), extra or None)


def write_dataset(df: pd.DataFrame, dataset: Mapping[str, Any], mode: str | None,
                  macros: Mapping[str, Any], root, run_id: str,
                  connections: Mapping[str, Any] | None = None, json: list[str] = (),
                  types: Mapping[str, Any] | None = None) -> dict:
    """Write ``df`` to the dataset.  Returns {"path", "rows", "bytes", "partitions"}.

    ``run_id`` is the run's append key (:func:`etlc_runtime.commit.append_key` of its logical date);
    ``json``: the columns the plan types json (:func:`file_columns`); ``types``: the step's
    plan types, for the columns the dataset does not declare (:func:`undeclared_types`)."""
    from .plan_types import undeclared_types

    spot = write_target(dataset, mode, macros, root, run_id, [str(c) for c in df.columns])
    extra = undeclared_types(spot.declared, types, [str(c) for c in df.columns])
    name = dataset_name(dataset)
    columns = {**(spot.declared or {}), **extra} or None
    typed = write_frame(df, spot.declared, extra, name)
    if spot.fmt == "postgres":  # the values checked as a file's are (R040, never rounded)
        from .io_postgres import write_postgres
        with naming(name):  # in the data's column order; plan types are in the Arrow types
            return write_postgres(_arrow_table(typed[list(df.columns)], columns), dataset,
                                  spot.mode, macros, connections, append_key=run_id)
    fmt, opts, target, df = spot.fmt, dict(spot.options), spot.path, typed
    files = file_columns(columns, list(json))
    with naming(name), Commit(target, fmt=fmt, single=spot.single) as tx:
        if spot.single:
            nbytes = _write_file(df, tx.new, fmt, opts, files)
            _fault("part_written")
            tx.commit()
            return {"path": str(target), "rows": len(df), "bytes": nbytes, "partitions": 1}
        written, nbytes = _write_folder(df, tx.new, fmt, opts, files, list(spot.partition_by),
                                        spot.run_key)
        if spot.mode == "overwrite":
            tx.commit()
        elif spot.mode == "overwrite_partitions":
            tx.commit(_outside(written))
        else:
            own = _key_files(opts, fmt, spot.run_key)
            tx.commit(lambda rel: not own(rel.name))
    return {"path": str(target), "rows": len(df), "bytes": nbytes, "partitions": len(written)}
