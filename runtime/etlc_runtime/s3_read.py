"""Reads of ``s3://`` datasets straight from the object store, no local copy.

:func:`listing` lists the dataset's current version (object_store: the manifest's parts, or
every visible object of a prefix etlc did not write) with each part's Hive ``col=value``
values, and drops the parts the read step's filter can never keep (partition_prune; only for
a version etlc wrote, whose parts hold no partition columns).  The executor hands the engine
the dataset with the :class:`S3Listing` under :data:`LISTING`; the engines read the listed
parts themselves, with the same type rules as local files:

- duckdb: the listed parts as one pyarrow dataset on :func:`arrow_filesystem`, scanned by
  DuckDB with its columns and filter pushed down (engines/duckdb/s3_scan); parts whose types
  that scan would not give as ``read_parquet`` does are read by ``read_parquet`` over the
  ``s3://`` URLs through pyarrow's S3 client wrapped as an fsspec filesystem and registered
  with the connection (``register_filesystem``; DuckDB 2.0 has no downloadable httpfs
  here), each listed part's size from its manifest and opened once per read (``ArrowS3``).
  Either way DuckDB fetches only the row groups and columns the query needs;
- pandas (io_read) and dask (each worker reads its share of the parts, the client built
  there from the listing's options): pyarrow's S3 client, the declared columns the task
  uses only.

Formats other than Parquet (csv, json, fixed-width: whole files either way) are fetched part
by part into the task's folder by s3_bridge and read there, pruned the same way.
"""

from __future__ import annotations

import datetime as dt
import functools
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import object_store as ob
from .hive import parse_segment

LISTING = "_etlc_s3"          # the key the executor adds to a read's dataset
DIRECT = frozenset({"parquet"})
_EPOCH = dt.datetime.fromtimestamp(0, dt.UTC)
_KNOWN_MAX = 100_000          # parts whose size a DuckDB filesystem holds (then forgets all)


@dataclass(frozen=True)
class S3Listing:
    """The parts one read takes: ``files`` (``s3://`` URLs) with their Hive values."""

    url: str
    files: tuple[str, ...]
    hive: Mapping[str, Mapping[str, str | None]]
    options: ob.S3Options = field(repr=False)
    listed: int = 0               # parts in the version, before pruning
    sizes: Mapping[str, int] = field(default_factory=dict, repr=False)  # the manifest's bytes

    def key(self, url: str) -> str:
        """The ``bucket/key`` form of a part URL (what s3fs and pyarrow take)."""
        return ob.split(url)


@functools.lru_cache(maxsize=8)
def filesystem(options: ob.S3Options):
    """One s3fs filesystem per process and options (its botocore client is built once,
    about a second): writes' listings and manifests, uploads, downloads (a read's listing
    and manifest go through :func:`duckdb_filesystem`).  Reads fetch exactly the ranges
    asked (s3fs's read-ahead of 50 MiB blocks would fetch what a query leaves out)."""
    import s3fs

    # no listings cache: another writer's manifest and parts must be seen as they are now
    return s3fs.S3FileSystem(skip_instance_cache=True, default_cache_type="none",
                             use_listings_cache=False, **options.fsspec())


@functools.lru_cache(maxsize=8)
def arrow_filesystem(options: ob.S3Options):
    """pyarrow's own S3 client (C++) for these options: what the parts are read with."""
    from pyarrow import fs as pafs

    kwargs: dict[str, Any] = {}
    if options.key:
        kwargs.update(access_key=options.key, secret_key=options.secret)
    if options.token:
        kwargs["session_token"] = options.token
    if options.endpoint_url:
        scheme, _, rest = options.endpoint_url.partition("://")
        kwargs.update(endpoint_override=rest or scheme, scheme=scheme if rest else "https")
    if options.region:
        kwargs["region"] = options.region
    return pafs.S3FileSystem(**kwargs)


@functools.lru_cache(maxsize=8)
def duckdb_filesystem(options: ob.S3Options):
    """:func:`arrow_filesystem` as an fsspec filesystem of the ``s3`` protocol: a read's
    listing and manifest (about three times as fast as s3fs), and DuckDB's
    ``register_filesystem`` where it reads with ``read_parquet`` (about twice as fast as
    s3fs there, and as pyarrow's reads)."""
    import threading

    from fsspec.implementations.arrow import ArrowFile, ArrowFSWrapper

    class PositionalFile(ArrowFile):
        """DuckDB's threads share a handle, each a ``seek`` then a ``read``; pyarrow lets
        go of the GIL in both, so a shared position would mix their ranges: each thread
        keeps its own and reads at it (``read_at``)."""

        def __init__(self, *args, shared: bool = False, **kwargs):
            self._shared, self._done = shared, False
            super().__init__(*args, **kwargs)
            self._at, self._size = threading.local(), self.stream.size()

        @property
        def closed(self) -> bool:
            return self._done if self._shared else self.stream.closed

        def close(self) -> None:    # a shared handle (a known part's) stays open
            if self._shared:
                self._done = True
            else:
                self.stream.close()

        def seek(self, offset: int, whence: int = 0) -> int:
            base = {0: 0, 1: self.tell(), 2: self._size}[whence]
            self._at.pos = base + offset
            return self._at.pos

        def tell(self) -> int:
            return getattr(self._at, "pos", 0)

        def read(self, length: int = -1) -> bytes:
            pos = self.tell()
            length = self._size - pos if length is None or length < 0 else length
            data = self.stream.read_at(max(0, min(length, self._size - pos)), pos)
            self._at.pos = pos + len(data)
            return data

    class ArrowS3(ArrowFSWrapper):
        """Parts whose size their manifest records (:meth:`remember`) are known without
        asking the store, and each is opened once per read (DuckDB asks for a file's
        existence, size and time and opens it again for every bind and thread, pyarrow's
        open asks for its size: each a HEAD, 16 for one part in one task here).  A part's
        name carries its attempt's random token and is never written twice; one that was
        rewritten all the same (its size differs from the manifest's) is R220 when opened.
        (pyarrow pads a read past an object's end with zeros, so a handle must not outlive
        the read it was opened for.)"""

        protocol = ("s3", "s3a")
        root_marker = ""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._sizes: dict[str, int] = {}       # bucket/key -> bytes
            self._handles: dict[str, Any] = {}     # bucket/key -> open pyarrow file

        def remember(self, sizes: Mapping[str, int]) -> None:
            """A new read of these parts (``s3://`` URL -> bytes): each is opened afresh,
            once, its size checked against the manifest's."""
            if len(self._sizes) + len(sizes) > _KNOWN_MAX:
                self._sizes.clear()
                self._handles.clear()
            for url, size in sizes.items():
                self._sizes[ob.split(url)] = size
                self._handles.pop(ob.split(url), None)

        def info(self, path, **kwargs):
            key = self._strip_protocol(path)
            if key not in self._sizes:
                return super().info(path, **kwargs)
            return {"name": key, "size": self._sizes[key], "type": "file", "mtime": _EPOCH}

        def exists(self, path, **kwargs):
            return self._strip_protocol(path) in self._sizes or super().exists(path)

        def modified(self, path):   # DuckDB asks; a store without one gives the epoch
            return self.info(path).get("mtime") or _EPOCH

        def _open(self, path, mode="rb", block_size=None, seekable=True, **kwargs):
            if mode != "rb" or not seekable:
                return super()._open(path, mode, block_size, seekable, **kwargs)
            key = self._strip_protocol(path)
            if key not in self._sizes:
                return PositionalFile(self, self.fs.open_input_file(key), path, mode,
                                      block_size, **kwargs)
            stream = self._handles.get(key)          # read_at is safe from any thread
            if stream is None:
                stream = self.fs.open_input_file(key)
                if stream.size() != self._sizes[key]:
                    raise rewritten(key, self._sizes[key])
                stream = self._handles.setdefault(key, stream)
            return PositionalFile(self, stream, path, mode, block_size, shared=True,
                                  **kwargs)

    return ArrowS3(arrow_filesystem(options))


def rewritten(key: str, size: int) -> ob.ObjectStoreError:
    return ob.ObjectStoreError(f"s3://{key}", f"the part no longer holds the {size} bytes "
                               "its manifest lists: it was rewritten after its commit")


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

    # pyarrow's client (C++): the manifest's GET in about a third of s3fs's time
    fs = duckdb_filesystem(options)
    base = ob.split(url)
    single = not url.endswith("/") and fs.isfile(base)      # a folder URL is no object
    version = ob.Version((f"s3://{base}",), False) if single else ob.version_parts(fs, url)
    parts, ours = list(version.parts), version.ours
    if version.sizes:
        fs.remember(version.sizes)
    if not parts:
        raise FileNotFoundError(f"no {dataset.get('format')} object at {url}")
    hive = {} if single else {p: _values(ob.split(p)[len(base) + 1:]) for p in parts}
    keep = partition_filter(step or {}, dataset, params) if ours else None
    # every part pruned: one is still read (the filter drops its rows), so the engine
    # builds the result's columns and types as for any read
    files = [p for p in parts if keep is None or keep(hive[p])] or parts[:1]
    return S3Listing(url, tuple(files), {p: hive[p] for p in files} if hive else {},
                     options, len(parts), {p: version.sizes[p] for p in files
                                           if p in version.sizes})
