"""Staging on S3 (``staging: {connection: lake, path: "s3://bucket/prefix/"}``) through the
staging layer's own code.

The engines stage into, and read staged inputs from, local folders with staging.py's layout
and commit (Parquet parts under names unique to the attempt, then ``_manifest.json``).  With
an ``s3://`` staging root, that folder is a mirror inside the task's private folder
(s3_bridge: ``.etlc/s3/<run>-<token>/staging/``, removed when the task ends), and:

- **publish** (after the engine's local commit): every part the manifest lists is uploaded to
  ``<root>/<pipeline>/<run_id>/<step>/``, then the manifest, one PUT: the commit point on S3
  (a consumer trusts only the manifest, so a producer killed before it leaves the previous
  attempt's output, or none, visible); then the objects of that folder the manifest does not
  list (earlier attempts') are removed;
- **fetch** (a consumer task): the step's manifest, then the parts it lists, into the mirror;
  the engine reads them there (StagingError when the producer has not committed).

The connection gives the credentials (never written into a manifest).  Not yet: Airflow
``parallelism: airflow`` partitions staged on S3, and the retention of S3 staging runs
(``etlc clean`` and the sweep remove local runs only).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import object_store as ob
from .errors import StagingError
from .staging import MANIFEST, safe_name


def is_s3_staging(staging: Mapping[str, Any] | str | None) -> bool:
    path = staging.get("path") if isinstance(staging, Mapping) else staging
    return isinstance(path, str) and ob.is_s3(path)


class S3Staging:
    """One task's view of an ``s3://`` staging root, mirrored under ``mirror``."""

    def __init__(self, staging: Mapping[str, Any], connections: Mapping[str, Any] | None,
                 mirror: Path):
        from .s3_read import filesystem

        self.url = str(staging["path"]).rstrip("/")
        self.fs = filesystem(ob.s3_options(staging, connections))
        self.mirror = Path(mirror)

    def key(self, pipeline: str, run_id: str, step: str) -> str:
        """``bucket/prefix/<pipeline>/<run_id>/<step>`` of a step's staged output."""
        return "/".join([ob.split(self.url), safe_name(pipeline), safe_name(run_id),
                         safe_name(step)])

    def publish(self, manifest: dict, pipeline: str, run_id: str, step: str) -> dict:
        """Upload a locally committed stage (``manifest``: staging.commit_parts' result) and
        commit it on S3 (module doc).  Returns the manifest with its ``s3://`` address."""
        local = Path(manifest["manifest"]).parent
        key = self.key(pipeline, run_id, step)
        for name in manifest["parts"]:
            self.fs.put(str(local / name), f"{key}/{name}")
        self.fs.put(str(local / MANIFEST), f"{key}/{MANIFEST}")        # the commit point
        keep = {f"{key}/{name}" for name in manifest["parts"]} | {f"{key}/{MANIFEST}"}
        stale = [p for p in self.fs.find(key) if p not in keep]
        if stale:
            self.fs.rm(stale)
        return {**manifest, "manifest": f"s3://{key}/{MANIFEST}"}

    def fetch(self, pipeline: str, run_id: str, step: str) -> Path:
        """The step's committed stage, copied into the mirror; its local manifest's path."""
        key = self.key(pipeline, run_id, step)
        local = self.mirror / "inputs" / safe_name(step)
        local.mkdir(parents=True, exist_ok=True)
        try:
            body = self.fs.cat(f"{key}/{MANIFEST}")
        except FileNotFoundError:
            raise StagingError(f"no committed staging manifest at s3://{key}/{MANIFEST}: the "
                               f"producing task has not finished (or its output was "
                               f"removed)") from None
        try:
            parts = json.loads(body)["parts"]
        except (ValueError, KeyError, TypeError) as exc:
            raise StagingError(f"unreadable staging manifest s3://{key}/{MANIFEST}: "
                               f"{exc}") from exc
        for name in parts:
            try:
                self.fs.get(f"{key}/{name}", str(local / name))
            except FileNotFoundError:
                raise StagingError(f"staging part s3://{key}/{name} listed in the manifest is "
                                   f"missing") from None
        (local / MANIFEST).write_bytes(body)
        return local / MANIFEST
