"""MLflow tracking of a pipeline's runs (the spec's top-level ``tracking:`` block).

One MLflow run per DAG run (the *parent*), found again by its tags, so that retries and the
later tasks of the same DAG run continue it; under it, one nested run per task (found again
by the DAG run id and the task id, so a retry reuses it).  The executor hands each finished
step to :meth:`Tracker.step` and calls :meth:`Tracker.finish` once when the task ends; only
then is MLflow imported and reached (one batch per run), so a spec without ``tracking``
never imports it.

Where the runs go (never from the spec's text):

1. ``tracking.connection`` names a connection (Airflow's, or ``AIRFLOW_CONN_<ID>``): its
   extra's ``tracking_uri`` when set, else ``<scheme>://host[:port][/schema]`` with the
   scheme from the connection type (``http``/``https``; any other type means ``http``, or the
   extra's ``scheme``).  Its login and password go to MLflow as ``MLFLOW_TRACKING_USERNAME``/
   ``MLFLOW_TRACKING_PASSWORD`` while etlc talks to the server, and nowhere else.
2. else ``MLFLOW_TRACKING_URI`` from the environment (a database URI keeps new experiments'
   artifacts under ``.etlc/mlruns/artifacts``, not in the current directory);
3. else a local SQLite store, ``<project root>/.etlc/mlruns/mlflow.db``, with its artifacts
   under ``.etlc/mlruns/artifacts``.

What is logged (keys are ``<step>.<name>``): the run's resolved params (on the parent), each
step's ``rows``, ``seconds`` and ``bytes`` (writes), each step's ``metrics:``, ``checks``
(the number of checks a step passed), the task plan and the spec as artifacts
(``etlc/plans/<task>.json``, ``etlc/spec/<file>``), tags ``etlc.pipeline``, ``etlc.run_id``,
``etlc.logical_date``, ``airflow.dag_id`` (and ``etlc.task`` on the nested runs).  MLflow
keeps metrics as doubles: a value a double cannot hold unchanged (a decimal, an int beyond
2**53) is logged as the nearest double *and* as its exact text in the tag
``etlc.metric.<step>.<name>``; a value that is no number (text, a date, null) goes to that tag
only.  A metric whose latest logged value is already the same is not logged again, so a retry
adds nothing.  A failure to reach MLflow fails the task with :class:`TrackingError` (R310).
"""

from __future__ import annotations

import contextlib
import decimal
import json
import logging
import math
import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from .connections import resolve
from .errors import EtlcRuntimeError

log = logging.getLogger("etlc_runtime")

LOCAL_STORE = Path(".etlc") / "mlruns"
TAG_RUN_ID = "etlc.run_id"
TAG_KIND = "etlc.kind"           # "dag_run" (the parent) or "task"
TAG_TASK = "etlc.task"
MAX_PARAM = 6000                 # MLflow's limit on a param value
MAX_TAG = 8000
_EXACT = 2 ** 53


class TrackingError(EtlcRuntimeError):
    """R310: the task's MLflow run could not be written (names the tracking URI, never a
    password)."""

    code = "R310"

    def __init__(self, uri: str, reason: str):
        self.uri, self.reason = uri, reason
        super().__init__(f"{self.code} MLflow tracking at {uri}: {reason}")


def tracking_target(tracking: Mapping[str, Any], connections: Mapping[str, Any] | None,
                    root: Path) -> tuple[str, dict[str, str], str | None]:
    """(tracking URI, credential environment, artifact location for a new experiment)."""
    logical = tracking.get("connection")
    if logical:
        conn = resolve(logical, connections)
        extra = conn.extra or {}
        creds = {}
        if conn.login:
            creds["MLFLOW_TRACKING_USERNAME"] = conn.login
        if conn.password:
            creds["MLFLOW_TRACKING_PASSWORD"] = conn.password
        if extra.get("tracking_uri"):
            return str(extra["tracking_uri"]), creds, None
        if not conn.host:
            raise TrackingError(f"connection '{logical}'", "the connection has no host and no "
                                "tracking_uri in its extra")
        ctype = (conn.conn_type or "").lower()
        scheme = ctype if ctype in ("http", "https") else str(extra.get("scheme") or "http")
        uri = f"{scheme}://{conn.host}" + (f":{conn.port}" if conn.port else "")
        if conn.schema:
            uri += "/" + conn.schema.strip("/")
        return uri, creds, None
    env = os.environ.get("MLFLOW_TRACKING_URI")
    store = (root / LOCAL_STORE).resolve()
    artifacts = (store / "artifacts").as_uri()   # else MLflow's default: ./mlruns of the cwd
    if env:
        return env, {}, None if env.lower().startswith(("http:", "https:")) else artifacts
    store.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{store / 'mlflow.db'}", {}, artifacts


@contextlib.contextmanager
def _environ(values: Mapping[str, str]) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def metric_value(value: Any) -> tuple[float | None, str | None]:
    """(the double MLflow stores or None, the exact text for the tag or None)."""
    if isinstance(value, bool) or value is None:
        return None, None if value is None else str(value).lower()
    if isinstance(value, int):
        return float(value), None if abs(value) <= _EXACT else str(value)
    if isinstance(value, float):
        return value, None
    if isinstance(value, decimal.Decimal):
        if value.is_nan():
            return math.nan, None
        as_float = float(value)
        exact = math.isfinite(as_float) and decimal.Decimal(as_float) == value
        return as_float, None if exact else str(value)
    try:                                     # numpy / Arrow scalars
        item = value.item() if hasattr(value, "item") else value.as_py()
    except Exception:  # noqa: BLE001 - not a scalar of a known library
        item = None
    if item is not None and item is not value and not isinstance(item, (str, bytes)):
        return metric_value(item)
    if hasattr(value, "isoformat"):
        return None, value.isoformat()
    return None, str(value)


def count_checks(checks: Mapping[str, Any]) -> int:
    """How many checks a step's ``checks:`` holds (one per listed column or condition)."""
    return sum(len(v) if isinstance(v, (list, tuple)) else 1 for v in checks.values())


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


class Tracker:
    """Collects one task's step results; :meth:`finish` writes them to MLflow."""

    def __init__(self, plan: Mapping[str, Any], run_id: str, logical_date: Any,
                 params: Mapping[str, Any], root: Path, ctx: Mapping[str, Any] | None = None):
        self.plan = plan
        self.tracking = dict(plan.get("tracking") or {})
        self.run_id = run_id
        self.logical_date = logical_date
        self.params = dict(params or {})
        self.root = Path(root)
        self.pipeline = plan.get("pipeline") or "pipeline"
        self.task = plan.get("task") or "task"
        ctx = ctx or {}
        dag = ctx.get("dag")
        self.dag_id = getattr(dag, "dag_id", None) or self.pipeline
        self.values: dict[str, Any] = {}

    def step(self, stat: Mapping[str, Any], extra: Mapping[str, Any],
             checks: Mapping[str, Any] | None = None) -> None:
        """Record one finished step (its stat line, the executor's ``extra`` and the step's
        ``checks``, all passed when it gets here)."""
        name = stat.get("step")
        for key in ("rows", "seconds"):
            if stat.get(key) is not None:
                self.values[f"{name}.{key}"] = stat[key]
        if extra.get("bytes") is not None:
            self.values[f"{name}.bytes"] = extra["bytes"]
        if checks:
            self.values[f"{name}.checks"] = count_checks(checks)
        for metric, value in (extra.get("metrics") or {}).items():
            self.values[f"{name}.{metric}"] = value

    # -- MLflow -----------------------------------------------------------------------------
    def finish(self, result: Mapping[str, Any] | None = None,
               error: BaseException | None = None) -> None:
        """Write the task's run (and the parent's share); on ``error`` the task run is marked
        FAILED and a tracking failure is only logged (the task's own error wins)."""
        uri = "?"
        try:
            uri, creds, artifacts = tracking_target(self.tracking, self.plan.get("connections"),
                                                    self.root)
            with _environ(creds):
                self._write(uri, artifacts, error)
        except Exception as exc:
            if error is not None:
                log.warning("etlc: MLflow tracking of a failed task failed too: %s", exc)
                return
            if isinstance(exc, TrackingError):
                raise
            raise TrackingError(uri, f"{type(exc).__name__}: {exc}") from exc

    def _write(self, uri: str, artifacts: str | None, error: BaseException | None) -> None:
        from mlflow.entities import Metric, Param, RunTag
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=uri)
        experiment = self._experiment(client, artifacts)
        tags = {"etlc.pipeline": self.pipeline, TAG_RUN_ID: self.run_id,
                "airflow.dag_id": self.dag_id, "etlc.logical_date": str(self.logical_date)}
        parent = self._run(client, experiment, {**tags, TAG_KIND: "dag_run"},
                           f"tags.`{TAG_KIND}` = 'dag_run'", self.run_id)
        child = self._run(client, experiment,
                          {**tags, TAG_KIND: "task", TAG_TASK: self.task,
                           "mlflow.parentRunId": parent.info.run_id},
                          f"tags.`{TAG_KIND}` = 'task' and tags.`{TAG_TASK}` = '{_quote(self.task)}'",
                          self.task)
        now = int(time.time() * 1000)
        metrics, exact = [], {}
        for key, value in self.values.items():
            number, text = metric_value(value)
            if number is not None:
                metrics.append((key, number))
            if text is not None:
                exact[f"etlc.metric.{key}"] = text[:MAX_TAG]
        params, skipped = self._params(parent)
        for run, extra_params in ((parent, params), (child, [])):
            have = run.data.metrics
            new = [Metric(k, v, now, 0) for k, v in metrics if k not in have or not _same(have[k], v)]
            tag_list = [RunTag(k, v) for k, v in exact.items() if run.data.tags.get(k) != v]
            if run is parent and skipped:
                tag_list.append(RunTag("etlc.params_not_logged", ",".join(skipped)[:MAX_TAG]))
            client.log_batch(run.info.run_id, metrics=new,
                             params=[Param(k, v) for k, v in extra_params], tags=tag_list)
        self._artifacts(client, parent.info.run_id)
        status = "FAILED" if error is not None else "FINISHED"
        if error is not None:
            code = getattr(error, "code", None) or type(error).__name__
            client.set_tag(child.info.run_id, "etlc.error", f"{code}: {error}"[:MAX_TAG])
        client.set_terminated(child.info.run_id, status)
        client.set_terminated(parent.info.run_id, status)

    def _experiment(self, client, artifacts: str | None) -> str:
        name = self.tracking.get("experiment") or self.pipeline
        found = client.get_experiment_by_name(name)
        if found is not None:
            if found.lifecycle_stage == "deleted":
                client.restore_experiment(found.experiment_id)
            return found.experiment_id
        try:
            return client.create_experiment(name, artifact_location=artifacts)
        except Exception:  # another task created it at the same moment
            found = client.get_experiment_by_name(name)
            if found is None:
                raise
            return found.experiment_id

    def _run(self, client, experiment: str, tags: dict[str, str], extra_filter: str,
             run_name: str):
        """The run with these tags (created when missing; of two created at once, the
        earlier stays and the other is deleted)."""
        query = f"tags.`{TAG_RUN_ID}` = '{_quote(self.run_id)}' and {extra_filter}"
        found = _oldest(client.search_runs([experiment], query, max_results=50))
        if found is not None:
            if found.info.status != "RUNNING":
                client.update_run(found.info.run_id, status="RUNNING")
            return client.get_run(found.info.run_id)
        mine = client.create_run(experiment, tags=tags, run_name=run_name)
        winner = _oldest(client.search_runs([experiment], query, max_results=50))
        if winner is not None and winner.info.run_id != mine.info.run_id:
            client.delete_run(mine.info.run_id)
            return client.get_run(winner.info.run_id)
        return client.get_run(mine.info.run_id)

    def _params(self, parent) -> tuple[list[tuple[str, str]], list[str]]:
        have = parent.data.params
        out, skipped = [], []
        for key, value in sorted(self.params.items()):
            text = value if isinstance(value, str) else _json(value)
            if len(text) > MAX_PARAM:
                skipped.append(key)          # in the plan artifact, not cut short here
            elif key not in have:
                out.append((key, text))
            elif have[key] != text:
                log.warning("etlc: param %s of run %s differs from the value already in its "
                            "MLflow run; the MLflow run keeps the first", key, self.run_id)
        return out, skipped

    def _artifacts(self, client, run_id: str) -> None:
        body = _json(self.plan, indent=2)
        client.log_text(run_id, body, f"etlc/plans/{self.task}.json")
        spec = self.plan.get("spec")
        if spec:
            path = Path(spec) if Path(spec).is_absolute() else self.root / spec
            if path.is_file():
                client.log_text(run_id, path.read_text(encoding="utf-8"),
                                f"etlc/spec/{path.name}")


def _json(value: Any, indent: int | None = None) -> str:
    """JSON text of a param or a plan (dates and decimals as their exact text)."""
    def other(v):
        return v.isoformat() if hasattr(v, "isoformat") else str(v)
    return json.dumps(value, indent=indent, sort_keys=True, default=other)


def _quote(text: str) -> str:
    return str(text).replace("\\", "\\\\").replace("'", "\\'")


def _oldest(runs):
    runs = [r for r in runs if r.info.lifecycle_stage == "active"]
    if not runs:
        return None
    return min(runs, key=lambda r: (r.info.start_time or 0, r.info.run_id))
