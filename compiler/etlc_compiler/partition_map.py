"""`parallelism: airflow`: a partition-local task as mapped Airflow task instances and a commit.

A fused task maps over its partitions when its last step says `parallelism: airflow` with
`partitions` above 1 and every step of it is partition-local: the task starts with a read
of a file dataset (parquet, csv, json on local paths: files split into partitions), and no
step shuffles (join, union, group_by/aggregate, distinct, sort, limit, qualify, a window in
derive: W301 says so at the step), runs Python (`call`), or computes over all rows
(`checks`, `metrics`). Anything else runs as one task, as before.

The task then becomes two (runtime/etlc_runtime/partition_tasks.py runs them):

    <task>__partitions   EtlcOperator.partial(...).expand(partition=[0, ..., n-1])
                         the chain but its write; each instance stages its partition's rows
    <task>               the commit: all partitions' parts at once, then the write step

so retrying one instance replaces only its own part, and the target sees every partition's
rows once (the write step's own commit protocol) or none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from etlc_runtime import plan_types

from .model import PipelineSpec, Step

FILE_FORMATS = ("parquet", "csv", "json")
ALL_ROWS_KEYS = ("checks", "metrics", "call")
SUFFIX = "__partitions"


def _windowed(derive: Any) -> bool:
    if not isinstance(derive, Mapping):
        return False
    from etlc_runtime.expr.parser import parse
    from etlc_runtime.expr.typecheck import has_window

    for text in derive.values():
        try:
            if isinstance(text, str) and has_window(parse(text)):
                return True
        except Exception:  # noqa: BLE001 - the typing pass reports what does not parse
            return True
    return False


def hands_off(up: Step, step: Step) -> bool:
    """Whether fusion stops between ``up`` and its consumer ``step``: a step mapped over
    partitions (`parallelism: airflow`) ends its task when its consumer is not."""
    return up.settings.get("parallelism") == "airflow" and step.settings.get("parallelism") != "airflow"


def partition_count(spec: PipelineSpec, chain: Sequence[str], has_consumers: bool) -> int | None:
    """How many mapped instances the task of ``chain`` runs as, or None for one task."""
    last = spec.steps[chain[-1]]
    count = last.settings.get("partitions")
    if last.settings.get("parallelism") != "airflow" or isinstance(count, bool) \
            or not isinstance(count, int) or count < 2:
        return None
    if last.kind != "write" and not has_consumers:
        return None
    first = spec.steps[chain[0]]
    dataset = spec.datasets.get(first.reads) if first.kind == "read" else None
    if dataset is None or dataset.raw.get("format") not in FILE_FORMATS \
            or str(dataset.raw.get("path") or "").lower().startswith("s3://"):
        return None
    for name in chain:
        step = spec.steps[name]
        if step.kind not in ("read", "transform", "write") or step.needs_shuffle \
                or any(k in step.raw for k in ALL_ROWS_KEYS) or _windowed(step.raw.get("derive")) \
                or any(u not in chain for u in step.inputs):
            return None
    return count


def mapped_id(task_id: str, taken: Sequence[str]) -> str:
    """The mapped task's id: ``<task>__partitions``, lengthened while a step has that name."""
    name = task_id + SUFFIX
    while name in taken:
        name += "_"
    return name


def split_payload(payload: Mapping[str, Any], count: int, mapped: str) -> tuple[dict, dict]:
    """(the mapped instances' plan, the commit task's plan) of a task's plan."""
    steps = list(payload["steps"])
    write = [steps.pop()] if steps[-1]["kind"] == "write" else []
    local = steps[-1]["name"]
    reads = {s.get("read") for s in steps}
    full = plan_types.step_types(payload, local)
    parts = {**payload, "task": mapped, "steps": steps, "output": local, "partitions": 1,
             "partition_of": count,
             "datasets": {d: v for d, v in payload["datasets"].items() if d in reads}}
    commit = {**payload, "steps": write, "inputs": {local: mapped}, "partitioned": {local: count},
              "datasets": {d: v for d, v in payload["datasets"].items() if d not in reads},
              "types": {local: {"cols": full}} if full else {}}   # what the write writes
    if not write:
        commit["output"] = local
    return parts, commit
