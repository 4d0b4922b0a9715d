"""The pandas engine: one partition, in memory, eager.

It wraps the runtime's pandas code behind the protocol of :mod:`etlc_runtime.engines.base`:
reads (io_read), the transforms of a step (steps), checks (checks), metrics (the pandas
evaluator through _expr), writes through the commit protocol (io_write, io_postgres) and the
staging hand-off (staging).  A relation is a pandas DataFrame with a plain RangeIndex.

pandas, pyarrow and the modules above are imported when a method runs, never when this
module is imported: choosing another engine costs nothing of pandas.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from ..plain import plain
from . import capabilities as _capabilities
from .base import StepContext, TaskResources


class PandasEngine:
    name: ClassVar[str] = "pandas"
    capabilities: ClassVar[frozenset[str]] = _capabilities("pandas")

    def __init__(self, resources: TaskResources | None = None):
        self.resources = resources or TaskResources()

    # -- relations in and out -------------------------------------------------------
    def read(self, dataset: Mapping[str, Any], ctx: StepContext,
             columns: Sequence[str] | None = None):
        from ..io_read import read_dataset

        return read_dataset(dataset, ctx.macros, ctx.root,
                            select=list(columns) if columns else None,
                            connections=ctx.connections)

    def accepts_s3(self, options) -> bool:
        return True   # io_read reads the listed parts through s3fs

    def read_errors(self, rel) -> dict:
        """What ``on_error: null | skip`` let through in the read of ``rel``."""
        from ..io_read import READ_ERRORS

        return dict(rel.attrs.get(READ_ERRORS) or {})

    def read_staged(self, manifest_path: str | Path):
        from ..staging import read_stage

        return read_stage(manifest_path)

    def to_arrow(self, rel):
        import pyarrow as pa

        return pa.Table.from_pandas(rel, preserve_index=False)

    def from_arrow(self, table):
        # the same conversion as a staged hand-off read back (staging.read_stage): the
        # pandas engine's representation, ints with nulls exact, NaN apart from null
        from ..dtypes import arrow_to_frame
        return arrow_to_frame(table)

    def to_pandas(self, rel):
        return rel

    def from_pandas(self, df):
        return df.reset_index(drop=True)

    # -- steps ----------------------------------------------------------------------
    def transform(self, step: Mapping[str, Any], inputs: Mapping[str, Any], ctx: StepContext,
                  base: Any | None = None):
        from .. import _expr
        from ..steps import apply_transform

        return apply_transform(step, inputs, ctx.params, base=base,
                               types=_expr.types_of(ctx.types))

    def count(self, rel) -> int:
        return len(rel)

    def check(self, rel, checks: Mapping[str, Any], ctx: StepContext) -> None:
        from .. import _expr
        from ..checks import run_checks

        run_checks(rel, checks, ctx.params, step=ctx.step, types=_expr.types_of(ctx.types))

    def metrics(self, rel, metrics: Mapping[str, str], ctx: StepContext) -> dict[str, Any]:
        from .. import _expr

        types = _expr.types_of(ctx.types)
        return {name: plain(_expr.metric(text, rel, ctx.params, types))
                for name, text in metrics.items()}

    # -- outputs --------------------------------------------------------------------
    def write(self, rel, dataset: Mapping[str, Any], mode: str | None,
              ctx: StepContext) -> dict:
        from ..io_write import write_dataset
        from ..plan_types import json_columns

        return write_dataset(rel, dataset, mode, ctx.macros, ctx.root, ctx.append_key,
                             connections=ctx.connections, json=json_columns(ctx.types),
                             types=ctx.types)

    def stage(self, rel, folder: Path, *, partitions: int, meta: dict,
              before_commit: Any = None, types: Mapping[str, Any] | None = None) -> dict:
        from ..staging import write_stage

        return write_stage(rel, folder, partitions=partitions, meta=meta,
                           before_commit=before_commit, types=dict(types or {}))

    def close(self) -> None:
        pass
