"""Reads of ``s3://`` datasets straight from the object store, no local copy.

:func:`listing` lists the dataset's current version (object_store: the manifest's parts, or
every visible object of a prefix etlc did not write) with each part's Hive ``col=value``
values, and drops the parts the read step's filter can never keep (partition_prune; only for
a version etlc wrote, whose parts hold no partition columns).  The executor hands the engine
the dataset with the :class:`S3Listing` under :data:`LISTING`; the engines read the listed
parts themselves, with the same type rules as local files:

- duckdb: ``read_parquet`` over the ``s3://`` URLs through the s3fs filesystem registered
  with its connection (``register_filesystem``; DuckDB 2.0 has no downloadable httpfs here),
  so DuckDB fetches only the row groups and columns the query needs;
- pandas (io_read) and dask (each worker reads its share of the parts, the filesystem built
  there from the listing's options): pyarrow over the same filesystem, the declared columns
  the task uses only.

Formats other than Parquet (csv, json, fixed-width: whole files either way) are fetched part
by part into the task's folder by s3_bridge and read there, pruned the same way.
"""

from __future__ import annotations

import functools
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import object_store as ob
from .hive import parse_segment

LISTING = "_etlc_s3"          # the key the executor adds to a read's dataset
DIRECT = frozenset({"parquet"})


@dataclass(frozen=True)
class S3Listing:
    """The parts one read takes: ``files`` (``s3://`` URLs) with their Hive values."""

    url: str
    files: tuple[str, ...]
    hive: Mapping[str, Mapping[str, str | None]]
    options: ob.S3Options = field(repr=False)
    listed: int = 0               # parts in the version, before pruning

    def key(self, url: str) -> str:
        """The ``bucket/key`` form of a part URL (what s3fs and pyarrow take)."""
        return ob.split(url)


@functools.lru_cache(maxsize=8)
def filesystem(options: ob.S3Options):
    """One s3fs filesystem per process and options (dask workers build theirs once).  Reads
    fetch exactly the byte ranges DuckDB and pyarrow ask for (s3fs's read-ahead of 50 MiB
    blocks would fetch the columns a query leaves out)."""
    import s3fs

    return s3fs.S3FileSystem(skip_instance_cache=True, default_cache_type="none",
                             **options.fsspec())


def _values(rel: str) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for segment in posixpath.dirname(rel).split("/"):
        parsed = parse_segment(segment) if segment else None
        if parsed is not None:
            out[parsed[0]] = parsed[1]
    return out


def listing(dataset: Mapping[str, Any], url: str, options: ob.S3Options,
            step: Mapping[str, Any] | None = None,
            params: Mapping[str, Any] | None = None) -> S3Listing:
    """The parts of the dataset's current version that the read ``step`` needs (module doc);
    FileNotFoundError when the version has none."""
    from .partition_prune import partition_filter

    fs = filesystem(options)
    base = ob.split(url)
    single = fs.isfile(base)
    parts, ours = ([f"s3://{base}"], False) if single else ob.version_parts(fs, url)
    if not parts:
        raise FileNotFoundError(f"no {dataset.get('format')} object at {url}")
    hive = {} if single else {p: _values(ob.split(p)[len(base) + 1:]) for p in parts}
    keep = partition_filter(step or {}, dataset, params) if ours else None
    # every part pruned: one is still read (the filter drops its rows), so the engine
    # builds the result's columns and types as for any read
    files = [p for p in parts if keep is None or keep(hive[p])] or parts[:1]
    return S3Listing(url, tuple(files), {p: hive[p] for p in files} if hive else {},
                     options, len(parts))
