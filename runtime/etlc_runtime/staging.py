"""Staged hand-off between tasks: Parquet parts plus a manifest committed last.

Layout: ``{staging}/{pipeline}/{run_id}/{step}/part-00000-<attempt>.parquet ...`` and
``_manifest.json``::

    {"etlc": 1, "pipeline": ..., "run_id": ..., "step": ..., "attempt": "<hex>",
     "parts": ["part-00000-<attempt>.parquet", ...],   # relative to the manifest's folder
     "part_rows": [n0, n1, ...], "rows": n, "bytes": b,
     "schema": {"column": "etlc type"}, "dtypes": {"column": "pandas dtype"}}

The run's folder holds the marker ``_etlc_run.json`` (written before the first part) that
proves it is etlc's; :mod:`etlc_runtime.retention` says when a run's staging is removed.

Commit protocol: parts are written under names unique to this attempt, then the manifest
is written to a temporary file and renamed over ``_manifest.json`` (atomic on POSIX), then
the parts of earlier attempts are deleted.  A reader trusts only the committed manifest and
reads only the parts it lists, so an attempt killed before its commit leaves the previous
committed output (or none) visible, never a partial one; a retried step rewrites its own
folder and nothing else.
"""

from __future__ import annotations

import json
import os
import re
import secrets  # not uuid: it imports platform, 5 ms of every task's start
from pathlib import Path
from typing import Any

from .errors import StagingError
from .paths import ensure_writable, local_path
from .retention import mark_run, sweep_quietly

MANIFEST = "_manifest.json"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.+-]")


def safe_name(text: str) -> str:
    """A file-system-safe rendering of a run id (``manual__2025-01-01T00:00:00+00:00``)."""
    return _UNSAFE.sub("_", str(text))


def staging_root(staging: dict | str | None, root) -> Path:
    path = staging.get("path") if isinstance(staging, dict) else staging
    return ensure_writable(local_path(path or ".etlc/staging", root), root, what="staging")


def step_dir(base: Path, pipeline: str, run_id: str, step: str) -> Path:
    return Path(base) / safe_name(pipeline) / safe_name(run_id) / safe_name(step)


def _split(n: int, parts: int) -> list[tuple[int, int]]:
    parts = max(1, min(int(parts or 1), n)) if n else 1
    size, extra = divmod(n, parts)
    out, start = [], 0
    for i in range(parts):
        stop = start + size + (1 if i < extra else 0)
        out.append((start, stop))
        start = stop
    return out


def write_stage(df, folder: Path, *, partitions: int = 1, meta: dict | None = None,
                before_commit=None, types: dict | None = None) -> dict:
    """Write ``df`` as parts and commit the manifest.  Returns the manifest dict, with
    ``"manifest"`` set to the manifest's path.

    ``types``: the step's plan types; computed decimals and dates (which a pandas frame holds
    as Float64 and datetime64) are staged in those types (io_write.typed_table).
    ``before_commit`` is a hook called after the parts and before the manifest (tests use
    it to simulate a worker killed at the worst moment).
    """
    import pyarrow.parquet as pq

    table, schema, dtypes = staged_table(df, types, (meta or {}).get("step"))

    def write_parts(folder: Path, attempt: str):
        names, rows = [], []
        for i, (lo, hi) in enumerate(_split(len(df), partitions)):
            name = f"part-{i:05d}-{attempt}.parquet"
            pq.write_table(table.slice(lo, hi - lo), folder / name)
            names.append(name)
            rows.append(hi - lo)
        return names, rows, schema

    return commit_parts(folder, write_parts, meta=meta, before_commit=before_commit,
                        dtypes=dtypes)


def staged_table(frame, types: dict | None, step: str | None):
    """(Arrow table, manifest schema, manifest dtypes) of a pandas frame to stage: the
    columns the plan types as computed decimals or dates converted (io_write.typed_table)."""
    import pyarrow as pa

    from .dtypes import arrow_to_frame, type_name
    from .plan_types import undeclared_types

    extra = undeclared_types(None, types, [str(c) for c in frame.columns])
    dtypes = {str(c): str(t) for c, t in frame.dtypes.items()}
    if not extra:
        return (pa.Table.from_pandas(frame, preserve_index=False),
                {c: type_name(t) for c, t in zip(dtypes, frame.dtypes)}, dtypes)
    from .io_write import typed_table

    table = typed_table(frame, extra, f"the staged output of step {step}")
    back = arrow_to_frame(table.schema.empty_table()).dtypes
    dtypes.update({c: str(back[c]) for c in extra})
    return table, {c: type_name(dtypes[c]) for c in dtypes}, dtypes


def _run_of(folder: Path, meta: dict | None) -> tuple[str, str] | None:
    """(pipeline, run_id) when ``folder`` is a step folder of the staging layout."""
    pipeline, run_id = (meta or {}).get("pipeline"), (meta or {}).get("run_id")
    if pipeline and run_id and folder.parent.name == safe_name(run_id) \
            and folder.parent.parent.name == safe_name(pipeline):
        return str(pipeline), str(run_id)
    return None


def read_manifest(address: str | os.PathLike) -> dict:
    path = Path(address)
    if path.is_dir():
        path = path / MANIFEST
    if not path.is_file():
        raise StagingError(f"no committed staging manifest at {path}: the producing task has "
                           f"not finished (or its output was removed)")
    try:
        with open(path, encoding="utf-8") as fh:
            manifest = json.load(fh)
    except (OSError, ValueError) as exc:
        raise StagingError(f"unreadable staging manifest {path}: {exc}") from exc
    manifest["manifest"] = str(path)
    return manifest


def manifest_parts(address: str | os.PathLike) -> list[Path]:
    """The part files a committed manifest lists (StagingError when one is missing)."""
    manifest = read_manifest(address)
    folder = Path(manifest["manifest"]).parent
    parts = [folder / name for name in manifest.get("parts", [])]
    for part in parts:
        if not part.is_file():
            raise StagingError(f"staging part {part} listed in the manifest is missing")
    return parts


def read_stage(address: str | os.PathLike):
    """Read the DataFrame a committed manifest describes (only the parts it lists)."""
    import pandas as pd
    import pyarrow.parquet as pq

    manifest = read_manifest(address)
    folder = Path(manifest["manifest"]).parent
    tables = []
    for name in manifest.get("parts", []):
        part = folder / name
        if not part.is_file():
            raise StagingError(f"staging part {part} listed in the manifest is missing")
        tables.append(pq.read_table(part))
    if not tables:
        return pd.DataFrame()
    import pyarrow as pa
    table = pa.concat_tables(tables, promote_options="default")  # parts of a dask stage differ
    from .dtypes import arrow_to_frame  # ints with nulls stay exact, NaN apart from null
    return arrow_to_frame(table)


def manifest_summary(manifest: dict[str, Any]) -> dict:
    return {"manifest": manifest.get("manifest"), "rows": manifest.get("rows"),
            "partitions": len(manifest.get("parts", []))}


def commit_parts(folder: Path, write_parts, *, meta: dict | None = None,
                 before_commit=None, dtypes: dict[str, str] | None = None) -> dict:
    """The staging commit, for every engine: ``write_parts(folder, attempt)`` writes the
    Parquet parts under names unique to ``attempt`` and returns ``(names, part_rows, schema
    {column: etlc type})``; then the manifest is committed and earlier attempts' files
    removed (the module doc's protocol).  ``dtypes``: the pandas dtypes to record, when the
    engine knows them (else derived from the etlc types)."""
    folder = Path(folder)
    run = _run_of(folder, meta)
    if run is not None:
        mark_run(folder.parent, *run, "running")
    folder.mkdir(parents=True, exist_ok=True)
    attempt = secrets.token_hex(6)
    names, rows, schema = write_parts(folder, attempt)
    if before_commit is not None:
        before_commit(folder, names)
    manifest = {
        "etlc": 1, **(meta or {}), "attempt": attempt, "parts": list(names),
        "part_rows": list(rows), "rows": sum(rows),
        "bytes": sum((folder / n).stat().st_size for n in names), "schema": dict(schema),
        "dtypes": dtypes if dtypes is not None
        else {c: _PANDAS_DTYPES.get(t, "object") for c, t in schema.items()},
    }
    tmp = folder / f".{MANIFEST}.{attempt}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=1, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, folder / MANIFEST)
    keep = set(names) | {MANIFEST}
    for entry in folder.iterdir():
        if entry.name not in keep and entry.is_file():
            try:
                entry.unlink()
            except OSError:
                pass
    manifest["manifest"] = str(folder / MANIFEST)
    if run is not None:
        sweep_quietly(folder.parent, run[1])
    return manifest


# the pandas dtype each etlc type reads back as (dtypes.pandas_dtype), for the manifest
_PANDAS_DTYPES = {"int": "Int64", "float": "Float64", "decimal": "Float64", "string": "string",
                  "bool": "boolean", "date": "date32[day][pyarrow]",
                  "timestamp": "datetime64[us]", "vector": "object"}
