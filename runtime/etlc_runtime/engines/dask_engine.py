"""The dask engine (and dask-cuda): a fused chain of steps as one lazy Dask graph.

A relation is a Dask DataFrame whose partitions are pandas frames of the runtime's
representation (the pandas engine's dtypes), so each partition is transformed by the same
code as the pandas engine and values and types agree with it.  The task's ``partitions``
(TaskResources.partitions) split the reads (engines/dask/read.py); transforms stay lazy
(engines/dask/transform.py); rows move when a write (each partition writes its own part,
committed at once: engines/dask/write.py), the staging hand-off (one part per partition),
``to_arrow``/``to_pandas``, or the executor's ``settle_quality`` asks for them.  A step's
checks and metrics (engines/dask/quality.py) wait for the next of these and are computed
with it, from the same graph (engines/dask/waiting.py): read once, committed after they pass.

Where it runs: engines/dask/cluster.py (a LocalCluster of the task's own, started on the
first computation, or a running scheduler from ``ETLC_DASK_SCHEDULER`` / the Airflow
connection ``dask_default``).  Nothing here imports dask until a method runs.

``dask-cuda`` (:class:`DaskCudaEngine`) refuses at once, with R050, a machine without a GPU
or without the ``gpu`` extra; where both exist it runs the same graph on a LocalCUDACluster.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from ..templating import shippable
from . import capabilities as _capabilities
from .base import StepContext, TaskResources
from .dask import cluster as _cluster


class DaskEngine:
    name: ClassVar[str] = "dask"
    capabilities: ClassVar[frozenset[str]] = _capabilities("dask")
    gpu: ClassVar[bool] = False

    def __init__(self, resources: TaskResources | None = None):
        import dask

        from .dask.waiting import Waiting

        # Dask turns object columns into strings by default (from_pandas, reads): decimals
        # and booleans held as objects would become text.  Values stay as they are.
        dask.config.set({"dataframe.convert-string": False})
        self.resources = resources or TaskResources()
        self.partitions = max(1, int(self.resources.partitions or 1))
        threads = self.resources.threads or min(self.partitions, os.cpu_count() or 1)
        address = _cluster.scheduler_address(getattr(self.resources, "cluster", None))
        self.cluster = _cluster.Cluster(address=address, threads=threads, gpu=self.gpu)
        self._types: dict[str, dict] = {}   # relation name -> etlc types derived on it
        self._snapshots: list = []   # PostgreSQL transactions holding a read's snapshot
        self._read_errors: dict[str, Any] = {}   # read relation -> tally, or what counts it
        self._held: list = []   # Futures the graphs use: the cluster keeps their data while held
        self._waiting = Waiting(self.cluster)   # checks and metrics for the next computation

    def compute(self, *objs):
        """Compute on the cluster, with the waiting checks and metrics (judged first)."""
        return self._waiting.compute(*objs)

    # -- relations in and out -------------------------------------------------------
    def read(self, dataset: Mapping[str, Any], ctx: StepContext,
             columns: Sequence[str] | None = None):
        import dask.dataframe as dd

        from ..io_read import read_dataset
        from .dask import read as _read

        select = list(columns) if columns else None
        fmt = dataset.get("format")
        if fmt == "postgres":
            return self._read_postgres(dataset, ctx, select)
        if fmt not in ("parquet", "csv", "json"):  # fixed_width: read here, split
            frame = read_dataset(dataset, ctx.macros, ctx.root, select=select,
                                 connections=ctx.connections)
            rel = self._declared(self.from_pandas(frame), dataset, frame)
            from ..io_read import READ_ERRORS
            self._read_errors[rel._name] = dict(frame.attrs.get(READ_ERRORS) or {})
            return rel
        files = _read.dataset_files(dataset, ctx.macros, ctx.root)
        shares = _read.shares(files, self.partitions)
        args = (dict(dataset), shippable(ctx.macros), str(ctx.root), select)
        meta = _read.declared_meta(dataset, files, select)
        if meta is not None:   # every column declared: nothing is read until the graph runs
            reads, first = _read.share_reads(shares, *args)[0], None
            # each partition's dtypes checked against the declared ones when it is read
            rel = dd.from_delayed(reads, meta=meta, verify_meta=True)
        else:
            # the first read, made now for the column types, stays on the cluster for the
            # relation's partitions (not read again when the relation runs)
            reads, first_read = _read.share_reads(shares, *args, submit=self.cluster.submit)
            self._held.append(first_read)   # the graph names its key only
            first = first_read.result()
            rel = dd.from_delayed(reads, meta=first.iloc[:0], verify_meta=False)
        if (dataset.get("options") or {}).get("on_error") in ("null", "skip"):
            self._read_errors[rel._name] = [(_read.share_errors, (s, *args)) for s in shares]
        return self._declared(rel, dataset, first)

    def accepts_s3(self, options) -> bool:
        return True   # each worker reads its share of the listed parts through s3fs

    def read_errors(self, rel) -> dict:
        """What ``on_error: null | skip`` let through in the read of ``rel``: each
        partition's tally (its share read once more, on the workers: the ``(function,
        args)`` pairs the read left), summed."""
        import dask

        from ..errors import merge_read_errors

        found = self._read_errors.get(rel._name)
        if not isinstance(found, list):
            return dict(found or {})
        tallies = self.compute(*[dask.delayed(fn)(*args) for fn, args in found])
        total: dict = {}
        for tally in tallies:
            merge_read_errors(total, tally)
        self._read_errors[rel._name] = total
        return dict(total)

    def _read_postgres(self, dataset: Mapping[str, Any], ctx: StepContext,
                       select: list[str] | None):
        """One range query of the first key column per partition (pg_read.key_ranges)."""
        import dask.dataframe as dd

        from ..pg_read import SNAPSHOT, export_snapshot, key_ranges, read_part

        if self.partitions > 1 and dataset.get("key"):   # every range sees the same rows
            conn, snapshot = export_snapshot(dataset, ctx.connections)
            self._snapshots.append(conn)   # open until close(): the partitions run later
            dataset = {**dataset, SNAPSHOT: snapshot}
        ranges = key_ranges(dataset, ctx.macros, ctx.connections, self.partitions)
        args = (dict(dataset), shippable(ctx.macros), dict(ctx.connections or {}), select)
        first = read_part(ranges[0], *args)
        rel = dd.from_map(read_part, ranges, args=args, meta=first.iloc[:0],
                          enforce_metadata=False)
        if (dataset.get("options") or {}).get("on_error") in ("null", "skip"):
            from ..pg_read import part_errors
            self._read_errors[rel._name] = [(part_errors, (r, *args)) for r in ranges]
        return self._declared(rel, dataset, first)

    def _declared(self, rel, dataset: Mapping[str, Any] | None = None, sample=None):
        """Remember the column types for the steps that follow: those a sample of the rows
        shows (an empty partition cannot tell decimals or dates from text), then the
        dataset's declared ones."""
        from .. import _expr
        from ..expr.pandas_columns import frame_types

        known = dict(frame_types(sample)) if sample is not None and len(sample) else {}
        declared = {c: t for c, t in ((dataset or {}).get("columns") or {}).items()
                    if c in rel.columns}
        try:
            known.update(_expr.types_of(declared) or {})
        except (TypeError, ValueError, KeyError):
            pass
        self._types[rel._name] = known
        return rel

    def read_staged(self, manifest_path: str | Path):
        import dask.dataframe as dd

        from ..staging import manifest_parts
        from .dask.read import read_staged_part

        parts = manifest_parts(manifest_path)
        if not parts:
            import pandas as pd
            return self.from_pandas(pd.DataFrame())
        meta = read_staged_part(str(parts[0]))   # one part here: its types, and the meta
        rel = dd.from_map(read_staged_part, [str(p) for p in parts], meta=meta.iloc[:0],
                          enforce_metadata=False)
        return self._declared(rel, None, meta)

    # partitions are the pandas engine's frames: its conversions, so hand-offs agree
    def to_arrow(self, rel):
        from .pandas_engine import PandasEngine

        return PandasEngine().to_arrow(self.to_pandas(rel))

    def from_arrow(self, table):
        from .pandas_engine import PandasEngine

        return self.from_pandas(PandasEngine().from_arrow(table))

    def to_pandas(self, rel):
        (frame,) = self.compute(rel)
        return frame.reset_index(drop=True)

    def from_pandas(self, df):
        import dask.dataframe as dd

        df = df.reset_index(drop=True)
        rel = dd.from_pandas(df, npartitions=max(1, min(self.partitions, len(df))),
                             sort=False)
        return self._declared(rel, None, df)

    # -- steps ----------------------------------------------------------------------
    def transform(self, step: Mapping[str, Any], inputs: Mapping[str, Any], ctx: StepContext,
                  base: Any | None = None):
        from .. import _expr
        from .dask.transform import apply

        known: dict = {}
        for rel in (*inputs.values(), base):
            if rel is not None:
                known.update(self._types.get(rel._name, {}))
        known.update(_expr.types_of(ctx.types) or {})
        out, types = apply(step, inputs, ctx.params, base=base, types=known or None,
                           compute=self.compute)
        self._types[out._name] = types
        return out

    def call_partitions(self, inputs: list, step: Mapping[str, Any],
                        macros: Mapping[str, Any]):
        """A ``per_partition`` call step: the function on each partition, on the workers."""
        from .dask.partition_call import map_call

        out, types = map_call(self.cluster, inputs, step, macros, hold=self._held.append)
        self._types[out._name] = types
        return out

    def _known(self, rel, ctx: StepContext) -> dict | None:
        """The etlc types of the relation's columns: the plan's, and those derived."""
        from .. import _expr

        return {**self._types.get(rel._name, {}), **(_expr.types_of(ctx.types) or {})} or None

    def count(self, rel) -> int | None:
        return None  # counting would run the graph once more; writes and checks count

    def check(self, rel, checks: Mapping[str, Any], ctx: StepContext) -> None:
        from .dask.quality import run_checks

        run_checks(self.cluster, rel, checks, ctx.params, step=ctx.step,
                   types=self._known(rel, ctx))

    def metrics(self, rel, metrics: Mapping[str, str], ctx: StepContext) -> dict[str, Any]:
        from ..plain import plain
        from .dask import quality

        out = quality.metrics(self.cluster, rel, metrics, ctx.params,
                              types=self._known(rel, ctx))
        return {k: plain(v) for k, v in out.items()}

    def defer_quality(self, rel, checks: Mapping[str, Any] | None,
                      metrics: Mapping[str, str] | None, ctx: StepContext) -> None:
        """The step's checks and metrics, planned now (a misnamed column, a syntax or type
        error raised here) and computed with the engine's next computation."""
        from .dask import quality
        from .dask.waiting import Quality

        types = self._known(rel, ctx)
        self._waiting.add(Quality(
            ctx.step,
            quality.plan_checks(self.cluster, rel, checks, ctx.params, ctx.step, types)
            if checks else None,
            quality.plan_metrics(rel, metrics, ctx.params, types) if metrics else None))

    def settle_quality(self, compute: bool = True) -> dict[str | None, dict[str, Any]]:
        """Judge what waits (``compute``: computing it now if no computation took it along;
        a failed check raises CheckFailed) and hand over the metric values computed so far,
        {step: {name: plain value}}."""
        from ..plain import plain

        if compute:
            self._waiting.settle()
        return {step: {k: plain(v) for k, v in values.items()}
                for step, values in self._waiting.take_metrics().items()}

    # -- outputs --------------------------------------------------------------------
    def write(self, rel, dataset: Mapping[str, Any], mode: str | None,
              ctx: StepContext) -> dict:
        from ..plan_types import json_columns
        from .dask.write import write

        return write(self._waiting, rel, dataset, mode, ctx.macros, ctx.root, ctx.append_key,
                     connections=ctx.connections, json=json_columns(ctx.types),
                     types=ctx.types)

    def stage(self, rel, folder: Path, *, partitions: int, meta: dict,
              before_commit: Any = None, types: Mapping[str, Any] | None = None) -> dict:
        from .dask.write import stage

        return stage(self._waiting, rel, folder, meta=meta, before_commit=before_commit,
                     types=types)

    def close(self) -> None:
        self._held.clear()
        self.cluster.close()
        for conn in self._snapshots:
            conn.close()
        self._snapshots.clear()


class DaskCudaEngine(DaskEngine):
    """The dask engine on GPUs: refused at once (R050) where a GPU or the gpu extra is
    missing; otherwise its cluster is a LocalCUDACluster (or the scheduler named as for
    dask)."""

    name: ClassVar[str] = "dask-cuda"
    capabilities: ClassVar[frozenset[str]] = _capabilities("dask-cuda")
    gpu: ClassVar[bool] = True

    def __init__(self, resources: TaskResources | None = None):
        _cluster.require_gpu()
        super().__init__(resources)
