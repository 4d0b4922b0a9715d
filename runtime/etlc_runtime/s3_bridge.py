"""``s3://`` file datasets on every engine: what is not read in place goes through a local folder.

Parquet reads go to the object store itself (s3_read: the manifest's parts, pruned by the
read step's filter, read in place by DuckDB through pyarrow's S3 client registered with it
and by pandas and dask through pyarrow); the rest goes through a private local folder of the
task (``<project root>/.etlc/s3/<run>-<token>/``, removed when the task ends):

- **read** of csv, json and fixed-width objects (whole files either way), or of a second
  S3 connection in one duckdb task: the listed (pruned) parts are downloaded there, keeping
  the Hive ``col=value/`` folders, and the engine reads that folder with the same rules as a
  local dataset.
- **write**: the engine writes the dataset into an empty folder there with the step's mode
  (so partitions and append keys are named as locally), then every file is uploaded as a new
  part object and :class:`.object_store.ObjectCommit` publishes the manifest (the commit
  point) and removes what no version lists.

Costs: a write holds the written files on local disk once.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import object_store as ob

SINGLE_SUFFIXES = (".parquet", ".csv", ".json", ".jsonl", ".txt", ".tsv", ".ndjson")


def is_s3_dataset(dataset: Mapping[str, Any]) -> bool:
    return isinstance(dataset.get("path"), str) and ob.is_s3(dataset["path"])


class S3Bridge:
    """One task's S3 datasets (see the module doc); :meth:`close` removes its local folder."""

    def __init__(self, root: Path, run_id: str, connections: Mapping[str, Any] | None):
        from .staging import safe_name

        self.folder = Path(root) / ".etlc" / "s3" / f"{safe_name(run_id)}-{secrets.token_hex(4)}"
        self.connections = dict(connections or {})
        self._n = 0

    def _fs(self, dataset: Mapping[str, Any]):
        """The process's s3fs filesystem for the dataset's options (its client is built once:
        botocore's set-up costs about a second)."""
        from .s3_read import filesystem

        return filesystem(ob.s3_options(dataset, self.connections))

    def _scratch(self, what: str) -> Path:
        self._n += 1
        path = self.folder / f"{what}-{self._n}"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def read_view(self, dataset: Mapping[str, Any], macros: Mapping[str, Any],
                  step: Mapping[str, Any] | None = None, params: Mapping[str, Any] | None = None,
                  engine=None) -> dict:
        """``dataset`` as ``engine`` reads it: with its listed parts (s3_read: pruned by the
        step's filter) where the engine reads them in place, else a copy whose path is a
        local folder holding those parts (Hive folders kept)."""
        from .s3_read import DIRECT, LISTING, filesystem, listing

        url = _location(dataset, macros)
        options = ob.s3_options(dataset, self.connections)
        found = listing(dataset, url, options, step, params)
        if dataset.get("format") in DIRECT and engine is not None \
                and engine.accepts_s3(options):
            return {**dataset, "path": url, LISTING: found, "connection": None}
        fs = filesystem(options)
        local = self._scratch("read")
        local.mkdir(parents=True)
        key = ob.split(url)
        if not found.hive and found.files == (f"s3://{key}",):      # one object
            target = local / Path(key).name
            fs.get(key, str(target))
            return {**dataset, "path": str(target), "connection": None}
        for part in found.files:
            dest = local / ob.split(part)[len(key) + 1:]
            dest.parent.mkdir(parents=True, exist_ok=True)
            fs.get(ob.split(part), str(dest))
        return {**dataset, "path": str(local) + "/", "connection": None}

    def write(self, engine, rel, dataset: Mapping[str, Any], mode: str | None, ctx) -> dict:
        """Write ``rel`` to the S3 dataset; returns the engine's result with the S3 path."""
        url = _location(dataset, ctx.macros)
        fs = self._fs(dataset)
        local = self._scratch("write")
        single = url.lower().endswith(SINGLE_SUFFIXES) and not dataset.get("partition_by")
        path = str(local / Path(ob.split(url)).name) if single else str(local) + "/"
        written = engine.write(rel, {**dataset, "path": path, "connection": None}, mode, ctx)
        if single:                      # one object: a single PUT replaces it atomically
            fs.put(path, ob.split(url))
            return {**written, "path": url}
        files = sorted(p for p in local.rglob("*") if p.is_file()
                       and not any(s.startswith(".") for s in p.relative_to(local).parts))
        tx = ob.ObjectCommit(fs, url, mode or "overwrite", ext=files[0].suffix if files
                             else str(dataset.get("format")), fmt=str(dataset.get("format")),
                             append_key=ctx.append_key)
        parts = []
        for i, f in enumerate(files):
            partition = str(f.parent.relative_to(local))
            target = tx.part_url(i, None if partition == "." else partition)
            fs.put(str(f), ob.split(target))
            parts.append((target, _rows(f), f.stat().st_size))
        tx.commit(parts)
        shutil.rmtree(local, ignore_errors=True)
        return {**written, "path": url}

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def _location(dataset: Mapping[str, Any], macros: Mapping[str, Any]) -> str:
    """The dataset's rendered ``s3://`` URL (templated as local paths are)."""
    from .templating import render

    return render(dataset["path"], macros)


def _rows(path: Path) -> int | None:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq
        return pq.read_metadata(path).num_rows
    return None
