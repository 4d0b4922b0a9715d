"""Reads for the dask engine: a dataset as a Dask DataFrame of the task's ``partitions``.

A file dataset's files are listed once, on the task process (file_layout's rules); each
partition then reads its own share on a worker:

- as many files as partitions or more: each partition reads a contiguous run of files;
- fewer files than partitions: each file is cut into pieces: a Parquet file with at least as
  many row groups as pieces by runs of row groups (each piece reads only its own), any other
  file by row slices (the file is read once, each slice keeps its rows).

Each share is read by the pandas engine's reader (io_read.read_dataset over the share's
files: declared columns converted without loss, Hive ``col=value`` folders, R040 on a value
that would change), so partitions are pandas frames of the runtime's representation.
Fixed-width files are read on the task process by io_read and split; PostgreSQL tables are
read one key range per partition (pg_read.key_ranges, dask_engine).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...s3_read import LISTING
from ...staging import _split


@dataclass(frozen=True)
class Share:
    """What one partition reads: files, or one slice of one file."""

    files: tuple[str, ...]
    piece: int = 0
    pieces: int = 1


def dataset_files(dataset: Mapping[str, Any], macros: Mapping[str, Any], root) -> list:
    """A file dataset's files (file_layout's rules), every one readable; FileNotFoundError
    when there is none.  An ``s3://`` dataset's: its listed parts' URLs (each worker reads
    its own through s3fs, credentials from the listing's options, never in a repr)."""
    from ...file_layout import local_files

    if dataset.get(LISTING) is not None:   # an s3:// dataset's listed parts (s3_read)
        return list(dataset[LISTING].files)
    return local_files(dataset, macros, root)[2]


def shares(files: Sequence[Path], partitions: int) -> list[Share]:
    """Split the files over ``partitions`` partitions (see the module doc)."""
    names = [str(f) for f in files]
    partitions = max(1, int(partitions or 1))
    if len(names) >= partitions:
        return [Share(tuple(names[lo:hi])) for lo, hi in _split(len(names), partitions)]
    out = []
    for i, name in enumerate(names):
        pieces = partitions // len(names) + (1 if i < partitions % len(names) else 0)
        out += [Share((name,), p, pieces) for p in range(pieces)]
    return out


def read_share(share: Share, dataset: Mapping[str, Any], macros: Mapping[str, Any],
               root: str, select: list | None):
    """One partition: the share's rows exactly as the pandas engine reads the dataset
    (io_read.read_dataset over the share's files; a pandas frame)."""
    from ...io_read import read_dataset

    groups = _row_groups(share, dataset)
    frame = read_dataset(dataset, macros, Path(root), select=select,
                         files=_paths(share, dataset), row_groups=groups)
    return _slice(frame, share) if share.pieces > 1 and groups is None else frame


def share_reads(shares: Sequence[Share], dataset: Mapping[str, Any], *args,
                submit=lambda read: read) -> tuple[list, Any]:
    """A ``dask.delayed`` read per share (``args``: read_share's after the dataset), and the
    first read made, passed through ``submit`` (the engine starts it on the cluster, where
    its result stays, and takes the column types from it).  The pieces of a file cut by rows
    share one read of the whole file, each keeping its slice (not ``pieces`` reads).  The
    reads are impure: a key named by the arguments alone (the paths) would hand a later read
    of a rewritten file the result Dask still holds for the old one."""
    import dask

    whole: dict = {}
    out, first = [], None
    for share in shares:
        if share.pieces > 1 and _row_groups(share, dataset) is None:
            if share.files not in whole:
                read = dask.delayed(read_share, pure=False)(Share(share.files), dataset, *args)
                whole[share.files] = read if first is not None else submit(read)
                first = whole[share.files] if first is None else first
            out.append(dask.delayed(_slice, pure=True)(whole[share.files], share))
        else:
            read = dask.delayed(read_share, pure=False)(share, dataset, *args)
            if first is None:
                read = first = submit(read)
            out.append(read)
    return out, first


def declared_meta(dataset: Mapping[str, Any], files: Sequence, select: list | None):
    """The empty frame every share's read gives when every column read is declared, built
    without reading a row: io_read's own conversion (conform_table, then
    dtypes.arrow_to_frame) applied to no rows of what the reader gets from a file: text for
    the declared columns of CSV and JSON Lines, the first file's stored types for Parquet
    (its footer; a Hive folder's value is text).  None when a column read is not declared,
    for an ``s3://`` dataset, or when the conversion refuses the stored types (the read
    itself reports that, with its position)."""
    import pyarrow as pa

    from ...arrow_convert import conform_table
    from ...dtypes import arrow_to_frame
    from ...errors import DataError

    columns = dict(dataset.get("columns") or {})
    fmt = dataset.get("format")
    if fmt not in ("parquet", "csv", "json") or not columns or not files \
            or dataset.get(LISTING) is not None or any(c not in columns for c in select or ()):
        return None
    if select:   # each column converts on its own: those read are enough
        columns = {c: t for c, t in columns.items() if c in select}
    stored = {}
    if fmt == "parquet":
        import pyarrow.parquet as pq

        stored = {f.name: f.type for f in pq.read_schema(files[0]) if f.name in columns}
    empty = pa.schema([(c, stored.get(c, pa.string())) for c in columns]).empty_table()
    try:
        frame = arrow_to_frame(conform_table(empty, columns, text=fmt != "parquet"))
    except DataError:
        return None
    return frame[list(select)] if select else frame


def _slice(frame, share: Share):
    lo, hi = _split(len(frame), share.pieces)[share.piece] if len(frame) else (0, 0)
    return frame.iloc[lo:hi].reset_index(drop=True)


def share_errors(share: Share, dataset: Mapping[str, Any], macros: Mapping[str, Any],
                 root: str, select: list | None) -> dict:
    """The ``on_error`` tally of one share's read (a file cut into slices counts once)."""
    from ...io_read import READ_ERRORS, read_dataset

    if share.piece:
        return {}
    frame = read_dataset(dataset, macros, Path(root), select=select,
                         files=_paths(share, dataset))
    return dict(frame.attrs.get(READ_ERRORS) or {})


def _paths(share: Share, dataset: Mapping[str, Any]) -> list:
    """The share's files as read_dataset takes them (``s3://`` URLs stay text)."""
    return list(share.files) if dataset.get(LISTING) is not None \
        else [Path(f) for f in share.files]


def _row_groups(share: Share, dataset: Mapping[str, Any]) -> range | None:
    """The row groups a piece of a Parquet file reads, when the file has one per piece or
    more (None: read the file and slice its rows)."""
    if share.pieces <= 1 or dataset.get("format") != "parquet":
        return None
    import pyarrow.parquet as pq

    remote = dataset.get(LISTING)
    if remote is not None:
        from ...s3_read import arrow_filesystem
        count = pq.ParquetFile(remote.key(share.files[0]), filesystem=arrow_filesystem(
            remote.options)).metadata.num_row_groups
    else:
        count = pq.ParquetFile(share.files[0]).metadata.num_row_groups
    if count < share.pieces:
        return None
    lo, hi = _split(count, share.pieces)[share.piece]
    return range(lo, hi)


def read_staged_part(path: str):
    """One staged part as the pandas engine reads a hand-off (its from_arrow, the conversion
    of staging.read_stage)."""
    import pyarrow.parquet as pq

    from ..pandas_engine import PandasEngine

    return PandasEngine().from_arrow(pq.read_table(path)).reset_index(drop=True)
