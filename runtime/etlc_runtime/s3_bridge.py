"""``s3://`` file datasets on every engine, through the engines' own local reads and writes.

An engine reads and writes local files with all of etlc's type rules (docs/types.md); rather
than a second implementation of those rules per engine for S3, a task's S3 dataset goes
through a private local folder of the task (``<project root>/.etlc/s3/<run>-<token>/``,
removed when the task ends):

- **read**: the dataset's current version (the manifest's parts, :mod:`.object_store`; or
  every visible object of a prefix etlc did not write) is downloaded there, keeping the
  Hive ``col=value/`` folders, and the engine reads that folder: the values are the same as
  from a local dataset, byte for byte the same files.
- **write**: the engine writes the dataset into an empty folder there with the step's mode
  (so partitions and append keys are named as locally), then every file is uploaded as a new
  part object and :class:`.object_store.ObjectCommit` publishes the manifest (the commit
  point) and removes what no version lists.

Costs and limits: a read downloads the whole current version (no partition pruning or column
pushdown against S3 yet), a write holds the written files on local disk once.
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
        return ob.filesystem(ob.s3_options(dataset, self.connections))

    def _scratch(self, what: str) -> Path:
        self._n += 1
        path = self.folder / f"{what}-{self._n}"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def read_view(self, dataset: Mapping[str, Any], macros: Mapping[str, Any]) -> dict:
        """A copy of ``dataset`` whose path is a local folder holding its current version."""
        url = _location(dataset, macros)
        fs = self._fs(dataset)
        local = self._scratch("read")
        key = ob.split(url)
        if url.lower().endswith(SINGLE_SUFFIXES) and fs.isfile(key):
            target = local / Path(key).name
            target.parent.mkdir(parents=True)
            fs.get(key, str(target))
            return {**dataset, "path": str(target), "connection": None}
        parts = ob.current_parts(fs, url)
        if not parts:
            raise FileNotFoundError(f"no {dataset.get('format')} object at {url}")
        local.mkdir(parents=True)
        for part in parts:
            rel = ob.split(part)[len(key) + 1:]
            dest = local / rel
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
            parts.append((target, _rows(f)))
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
