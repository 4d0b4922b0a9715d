"""An ``s3://`` Parquet read of the DuckDB engine as one pyarrow dataset over the listed parts.

DuckDB scans a registered ``pyarrow.dataset.Dataset`` with the columns and filter it needs
pushed into pyarrow's scanner, which streams record batches (no whole-table
materialisation) read by pyarrow's own S3 client (C++ threads, no Python call per range),
cheaper than ``read_parquet`` through the fsspec filesystem registered with DuckDB, the
more so the larger the read (docs/services.md, Speed).  The dataset is built from the
manifest's parts only (the listing), so a concurrent or killed writer cannot make the read
see a mix.  Each part is asked for its size once (a HEAD: one gone, or rewritten after its
commit so that its size is no longer the manifest's, is R220 naming it) and its footer is
fetched once and kept by its fragment for the scan; each row carries its part's URL
(``file_column``) from its fragment, for the Hive values and R040's messages.  The columns
DuckDB writes from it are marked optional where, from a local file, DuckDB marks a column
without nulls required (from the file's statistics); types and values are the same.

The columns must come out as ``read_parquet`` gives them: :func:`duckdb_like` maps the
Arrow types pyarrow restores from a file's stored Arrow schema to the ones DuckDB reads
from the Parquet types (dictionaries decoded, timestamps in s or ms as us, INT96 as us,
half floats as floats, date64 as dates).  A part with another type (nested, duration,
null, extension types) or parts whose types differ give None: the caller reads those
through ``read_parquet`` (DuckDB's own rules, as for local files).
"""

from __future__ import annotations

from typing import Any

from ... import s3_read
from ...object_store import ObjectStoreError
from ...s3_read import S3Listing, rewritten

_PLAIN = ("is_integer", "is_floating", "is_boolean", "is_string", "is_large_string",
          "is_binary", "is_large_binary", "is_decimal128", "is_date32", "is_timestamp",
          "is_time32", "is_time64")


def duckdb_like(t) -> Any:
    """The Arrow type whose DuckDB type is the one ``read_parquet`` gives a column that
    pyarrow reads as ``t``; None where not known to be the same (module doc)."""
    import pyarrow as pa
    import pyarrow.types as pt

    if pt.is_dictionary(t):
        return duckdb_like(t.value_type)
    if pt.is_float16(t):
        return pa.float32()
    if pt.is_date64(t):
        return pa.date32()
    if pt.is_timestamp(t) and t.unit in ("s", "ms"):
        return pa.timestamp("us", tz=t.tz)
    if isinstance(t, pa.ExtensionType):
        return None
    return t if any(getattr(pt, test)(t) for test in _PLAIN) else None


def parquet_dataset(found: S3Listing, file_column: str):
    """``(dataset, {part URL: its Arrow schema})`` over the listed parts, or None where a
    part's types are not all known to read as ``read_parquet`` reads them (module doc)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as pds

    fs = s3_read.arrow_filesystem(found.options)    # looked up here: a test swaps it
    fmt = pds.ParquetFileFormat(read_options=pds.ParquetReadOptions(
        coerce_int96_timestamp_unit="us"))      # as DuckDB reads INT96

    def fragment(url: str):
        from pyarrow.fs import FileType

        key = found.key(url)
        info = fs.get_file_info(key)
        want = found.sizes.get(url)
        if info.type != FileType.File:
            raise ObjectStoreError(url, "a part its manifest lists is gone (a later "
                                        "commit removed it): the read can be run again")
        if want is not None and info.size != want:
            raise rewritten(key, want)
        frag = fmt.make_fragment(key, fs, file_size=info.size, partition_expression=(
            pc.field(file_column) == pa.scalar(url)))
        frag.ensure_complete_metadata()         # the footer, once: the scan reuses it
        return frag

    if len(found.files) > 1:
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(min(8, len(found.files))) as pool:
            frags = list(pool.map(fragment, found.files))
    else:
        frags = [fragment(found.files[0])]
    schemas = {url: f.physical_schema for url, f in zip(found.files, frags)}
    fields: dict[str, Any] = {}
    for schema in schemas.values():
        for f in schema:
            t = duckdb_like(f.type)
            seen = fields.setdefault(f.name.casefold(), (f.name, t))
            if t is None or seen != (f.name, t):
                return None     # read_parquet's own rules: its union_by_name, its types
    fields[file_column] = (file_column, pa.string())
    schema = pa.schema([pa.field(name, t) for name, t in fields.values()])
    return pds.FileSystemDataset(frags, schema, fmt, fs), schemas
