"""Staging retention: which staging folders are etlc's, when they expire, removing them.

A staging *run* is ``{staging}/{pipeline}/{run_id}/``.  :func:`etlc_runtime.staging.write_stage`
writes the run marker ``_etlc_run.json`` there (``{"etlc": 1, "pipeline", "run_id",
"status"}``) before the first part, and ``etlc run`` rewrites it with ``"status": "success"`` or
``"failed"`` when the run ends.  Only a folder whose marker names it (or, for runs staged
before markers, whose every entry is a step folder with a committed manifest of that run)
is ever removed; anything else under the staging root is left alone.

When a run expires (``staging_retention``: ``ETLC_STAGING_RETENTION``, else ``[tool.etlc]
staging_retention`` in pyproject.toml; a duration ``0``, ``90s``, ``30m``, ``12h``, ``7d``,
``2w``), counted from the run's last staging write or status change:

- a run that ``etlc run`` saw succeed: after the retention, default ``0``: its staging is
  removed as the run ends;
- every other run (Airflow runs, whose tasks read each other's staging and whose end no
  task sees; failed runs, kept for inspection; killed runs): after the retention but never
  less than one day, default seven days.

Expired runs of a pipeline are removed by its later tasks (after their own staging commit)
and at the end of ``etlc run``; ``etlc clean`` removes the rest on demand.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import re
import secrets
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import StagingError

log = logging.getLogger("etlc_runtime")

RUN_MARKER = "_etlc_run.json"
ENV = "ETLC_STAGING_RETENTION"
SETTING = "staging_retention"
DEFAULT_AFTER_SUCCESS = _dt.timedelta(0)
DEFAULT_IDLE = _dt.timedelta(days=7)
MIN_IDLE = _dt.timedelta(days=1)
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class RetentionError(StagingError):
    """R020: a staging retention setting that is not a duration."""

    code = "R020"

    def __init__(self, where: str, value: Any):
        self.where, self.value = where, value
        super().__init__(f"{self.code} {where}: {value!r} is not a duration "
                         f"(0, 90s, 30m, 12h, 7d, 2w)")


def parse_duration(text: Any, where: str = "duration") -> _dt.timedelta:
    match = _DURATION.match(str(text)) if isinstance(text, (str, int)) else None
    if match is None or isinstance(text, bool):
        raise RetentionError(where, text)
    return _dt.timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


@dataclass(frozen=True)
class Retention:
    after_success: _dt.timedelta
    idle: _dt.timedelta
    source: str


def configured(root: str | os.PathLike | None) -> Retention:
    """The project's retention; raises :class:`RetentionError` for a value that is not one."""
    if os.environ.get(ENV, "").strip():
        value, where = os.environ[ENV], ENV
    else:
        from .paths import configured

        value = configured(Path(root)).get(SETTING) if root else None
        where = f"[tool.etlc] {SETTING}"
    if value is None:
        return Retention(DEFAULT_AFTER_SUCCESS, DEFAULT_IDLE, "default")
    duration = parse_duration(value, where)
    return Retention(duration, max(duration, MIN_IDLE), where)


def mark_run(run_dir: Path, pipeline: str, run_id: str, status: str) -> None:
    """Write the run marker (atomically: a temporary file renamed over it)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    marker = {"etlc": 1, "pipeline": pipeline, "run_id": run_id, "status": status,
              "at": _dt.datetime.now(_dt.UTC).isoformat()}
    tmp = run_dir / f".{RUN_MARKER}.{secrets.token_hex(6)}.tmp"
    tmp.write_text(json.dumps(marker, sort_keys=True), encoding="utf-8")
    os.replace(tmp, run_dir / RUN_MARKER)


@dataclass(frozen=True)
class StagingRun:
    path: Path
    status: str                   # running | success | failed | unknown (staged before markers)
    last_write: _dt.datetime

    def expired(self, retention: Retention, now: _dt.datetime) -> bool:
        keep = retention.after_success if self.status == "success" else retention.idle
        return self.last_write + keep <= now


def _json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("etlc") == 1 else None


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def staging_run(run_dir: Path) -> StagingRun | None:
    """The staging run in ``run_dir``, or None when nothing proves that etlc staged it."""
    from .staging import MANIFEST, safe_name

    if run_dir.is_symlink() or not run_dir.is_dir():
        return None
    marker = _json(run_dir / RUN_MARKER)
    times = [_mtime(run_dir / RUN_MARKER)] if marker else []
    if marker is not None:
        if (safe_name(marker.get("run_id")) != run_dir.name
                or safe_name(marker.get("pipeline")) != run_dir.parent.name):
            return None
        status = str(marker.get("status") or "running")
    else:
        status = "unknown"
    steps = [e for e in run_dir.iterdir()
             if e.name != RUN_MARKER and not e.name.startswith(f".{RUN_MARKER}.")]
    for entry in steps:
        manifest = _json(entry / MANIFEST) if entry.is_dir() and not entry.is_symlink() else None
        if manifest is not None and safe_name(manifest.get("run_id")) == run_dir.name:
            times.append(_mtime(entry / MANIFEST))
        elif marker is None:
            return None
        times.append(_mtime(entry))
    if not times:
        return None
    when = _dt.datetime.fromtimestamp(max(times), _dt.UTC)
    return StagingRun(run_dir, status, when)


def find_runs(base: Path, pipeline: str | None = None) -> list[StagingRun]:
    """Every staging run etlc made under the staging root ``base`` (of one pipeline)."""
    from .staging import safe_name

    base = Path(base)
    folders = [base / safe_name(pipeline)] if pipeline else \
        [p for p in sorted(base.iterdir()) if p.is_dir() and not p.is_symlink()] \
        if base.is_dir() else []
    runs = []
    for folder in folders:
        if folder.is_dir() and not folder.is_symlink():
            runs.extend(r for r in map(staging_run, sorted(folder.iterdir())) if r is not None)
    return runs


def size_of(path: Path) -> int:
    if path.is_symlink() or path.is_file():
        return path.lstat().st_size
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                pass
    return total


def remove_run(run: StagingRun) -> int:
    """Remove a run's staging (once more checked to be etlc's); returns the bytes freed."""
    if staging_run(run.path) is None:
        raise StagingError(f"{run.path} is no longer an etlc staging run; left alone")
    freed = size_of(run.path)
    shutil.rmtree(run.path)
    try:
        run.path.parent.rmdir()           # the pipeline's folder, when that was its last run
    except OSError:
        pass
    return freed


def sweep(base: Path, pipeline: str, retention: Retention, *, keep: Iterable[str] = (),
          now: _dt.datetime | None = None) -> list[StagingRun]:
    """Remove the pipeline's expired staging runs (not those named in ``keep``)."""
    from .staging import safe_name

    now = now or _dt.datetime.now(_dt.UTC)
    kept = {safe_name(k) for k in keep}
    removed = []
    for run in find_runs(base, pipeline):
        if run.path.name not in kept and run.expired(retention, now):
            try:
                remove_run(run)
                removed.append(run)
            except OSError as exc:
                log.warning("etlc: could not remove expired staging %s: %s", run.path, exc)
    return removed


def sweep_quietly(run_dir: Path, run_id: str) -> None:
    """The sweep a task runs after its staging commit: never fails the task."""
    from .paths import find_project_root

    try:
        retention = configured(find_project_root(starts=[run_dir]))
        sweep(run_dir.parent.parent, run_dir.parent.name, retention, keep=[run_id])
    except Exception as exc:  # noqa: BLE001 - clean-up must not fail a task
        log.warning("etlc: staging clean-up skipped: %s", exc)


def finish_run(pipeline_plan: Mapping[str, Any], run_id: str, ok: bool,
               project_root: str | os.PathLike | None) -> list[Path]:
    """End of ``etlc run``: mark the run's staging and remove what has expired (the run's
    own staging when it succeeded and the retention is 0).  Returns the removed folders."""
    from .paths import find_project_root
    from .s3_staging import is_s3_staging
    from .staging import safe_name, staging_root

    pipeline = str(pipeline_plan.get("pipeline") or "pipeline")
    removed: list[Path] = []
    try:
        root = find_project_root(pipeline_plan.get("spec"), root=project_root)
        settings = {json.dumps(t.get("staging"), sort_keys=True): t.get("staging")
                    for t in pipeline_plan.get("tasks") or []}
        retention = configured(root)
        for staging in settings.values():
            if is_s3_staging(staging):     # S3 staging runs are not swept yet (s3_staging)
                continue
            run_dir = staging_root(staging, root) / safe_name(pipeline) / safe_name(run_id)
            if run_dir.is_dir() and staging_run(run_dir) is not None:
                mark_run(run_dir, pipeline, run_id, "success" if ok else "failed")
            removed += [r.path for r in sweep(run_dir.parent.parent, pipeline, retention)]
    except Exception as exc:  # noqa: BLE001 - clean-up must not fail a run
        log.warning("etlc: staging clean-up skipped: %s", exc)
    return removed
