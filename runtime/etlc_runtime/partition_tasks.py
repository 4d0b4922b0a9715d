"""`parallelism: airflow` at run time: one mapped task instance per partition, then a commit.

The compiler (compiler/etlc_compiler/partition_map.py) splits a partition-local task into

- a mapped task whose plan carries ``partition_of`` (the partition count); each instance gets
  its ``partition`` index from Airflow's ``expand`` (or from ``etlc run``, in order), reads its
  share of the dataset's files (the dask engine's rule: a contiguous run of files, or a row
  slice of a file when there are fewer files than partitions), runs the chain on the step's
  engine and stages its rows in its own folder ``{step}/partition-NNNNN/`` with the staging
  commit protocol: a retried instance replaces its own part and nothing else;
- a commit task whose plan lists the mapped output under ``partitioned`` (step -> count): it
  commits one manifest over every partition's committed parts at once (a missing partition
  stops it), then runs the write step, if any, from that staged input through the dataset's
  own commit protocol, so the target gets all partitions' rows once, or none.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import StagingError
from .staging import MANIFEST, commit_parts, read_manifest

PART_FOLDER = "partition-{:05d}"


def partition_of(plan: Mapping[str, Any]) -> tuple[int, int] | None:
    """(index, count) of a mapped instance's plan; None for any other task."""
    count = plan.get("partition_of")
    if not count:
        return None
    index = plan.get("partition")
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < int(count):
        raise StagingError(f"task {plan.get('task')!r} runs one of {count} partitions and needs "
                           f"its partition index (0 to {int(count) - 1}), got {index!r}")
    return index, int(count)


def part_folder(step_folder: Path, index: int) -> Path:
    return Path(step_folder) / PART_FOLDER.format(index)


def read_partition(engine, dataset: Mapping[str, Any], ctx, select, index: int, count: int):
    """Partition ``index`` of ``count`` of a file dataset, as a relation of ``engine``: the
    rows the dask engine's partition ``index`` reads (io_read.read_dataset over the share)."""
    from .engines.dask.read import dataset_files, read_share, shares

    share = shares(dataset_files(dataset, ctx.macros, ctx.root), count)[index]
    frame = read_share(share, dataset, ctx.macros, str(ctx.root), list(select) if select else None)
    if engine.name == "pandas":
        return frame
    from .engines.pandas_engine import PandasEngine
    return engine.from_arrow(PandasEngine().to_arrow(frame))


def commit_partitions(step_folder: Path, count: int, meta: Mapping[str, Any]) -> dict:
    """One manifest in ``step_folder`` over the committed parts of partitions 0..count-1
    (each listed as ``partition-NNNNN/<part>``), committed at once; returns it."""
    step_folder = Path(step_folder)
    manifests = []
    for index in range(count):
        folder = part_folder(step_folder, index)
        try:
            manifests.append(read_manifest(folder / MANIFEST))
        except StagingError as exc:
            raise StagingError(f"partition {index} of {count} has no committed output: {exc}") from exc
    schema: dict[str, str] = {}
    for m in manifests:  # an empty partition may know fewer types: the first full one decides
        if m.get("rows"):
            schema = dict(m.get("schema") or {})
            break
    else:
        schema = dict(manifests[0].get("schema") or {}) if manifests else {}

    def write_parts(folder: Path, attempt: str):
        names, rows = [], []
        for index, m in enumerate(manifests):
            names += [f"{PART_FOLDER.format(index)}/{n}" for n in m.get("parts", [])]
            rows += list(m.get("part_rows", []))
        return names, rows, schema

    dtypes = next((m.get("dtypes") for m in manifests if m.get("rows")), None)
    return commit_parts(step_folder, write_parts, meta=dict(meta), dtypes=dtypes)


def run_in_order(run_task, plan: Mapping[str, Any], context: Mapping[str, Any], on_event) -> dict:
    """``etlc run`` of a task: a mapped one runs its instances one after another, as
    Airflow runs mapped instances, and reports their rows and seconds together."""
    count = int(plan.get("partition_of") or 0)
    if not count:
        return run_task(plan, dict(context), on_event=on_event)
    results = [run_task({**plan, "partition": i}, dict(context), on_event=on_event)
               for i in range(count)]
    return {"manifest": None, "rows": sum(int(r.get("rows") or 0) for r in results),
            "partitions": count, "seconds": round(sum(r["seconds"] for r in results), 6),
            "steps": [s for r in results for s in r.get("steps", [])]}
