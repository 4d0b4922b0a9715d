"""The engine boundary: what the executor asks of an engine, and nothing more.

The executor dispatches on step kind only; everything that touches a dataframe library
happens inside an engine.  An engine keeps its own representation of a relation (``Rel``:
a pandas DataFrame, a DuckDB relation, a Dask DataFrame, ...) and talks to other engines,
``call`` steps and sinks through Arrow.  Engines are imported lazily by name
(:func:`etlc_runtime.engines.get_engine`); nothing here imports a dataframe library.

Every method receives what it needs explicitly (:class:`StepContext`: params, macros, the
step's column types, the project root, connections); no context variables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

# What a step can ask of an engine.  The compiler checks specs against these sets (a
# positioned diagnostic instead of a run-time failure); `AVAILABLE` in
# etlc_runtime.engines (name -> ("module:Class", capabilities)) is the table it reads,
# without importing any engine (`etlc_runtime.engines.capabilities(name)`).
ALL_CAPABILITIES = frozenset({
    "read:parquet", "read:csv", "read:json", "read:fixed_width", "read:postgres",
    "write:parquet", "write:csv", "write:json", "write:postgres",
    "transform", "join", "union", "aggregate", "sort", "distinct", "cast", "limit",
    "checks", "metrics", "call", "partitions", "spill",
})

# A step's transform keys, in the fixed order an engine applies them (DESIGN.md; SQL's
# order of evaluation).  `group_by` and `having` go with `aggregate`.
TRANSFORM_ORDER = ("join", "union", "filter", "derive", "qualify", "aggregate", "select", "rename",
                   "drop", "cast", "distinct", "sort", "limit")
TRANSFORM_KEYS = frozenset(TRANSFORM_ORDER) | {"group_by", "having"}


@dataclass(frozen=True)
class StepContext:
    """The state one step needs, handed in explicitly."""

    root: Path                                   # project root (local paths resolve here)
    params: Mapping[str, Any]                    # resolved param values
    macros: Mapping[str, Any]                    # template macros (ds, run_id, ...)
    connections: Mapping[str, Any] = field(default_factory=dict)
    types: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # {col: {"type", "scale"?}}
    append_key: str | None = None                # the run's logical-date key for appends
    step: str | None = None                      # the step's name (for error messages)


@dataclass(frozen=True)
class TaskResources:
    """What the task lends its engine: partitions, a spill folder, a memory bound."""

    partitions: int = 1
    spill_dir: Path | None = None
    memory_limit: str | None = None              # e.g. "2GB"; None: the engine's default
    threads: int | None = None


class Engine(Protocol):
    """One engine.  ``Rel`` is whatever the engine uses for a relation.

    The registry builds one instance per engine per task as ``cls(resources)`` (a
    :class:`TaskResources`) and calls :meth:`close` when the task ends, failed or not.

    Optional: ``to_pandas(rel)`` and ``from_pandas(df)``.  A ``call`` step's function
    receives a pandas DataFrame whatever the chain's engine; call.py converts through
    :meth:`to_arrow` / :meth:`from_arrow` unless the engine defines these shorter paths
    (the pandas engine: identity; the chain's frame then reaches the function unchanged).

    Optional: ``defer_quality(rel, checks, metrics, ctx)`` and ``settle_quality(compute)``.
    An engine with them (dask) plans a step's checks and metrics instead of running
    :meth:`check` and :meth:`metrics`, computes them with its next computation (judging the
    checks before a write or staging hand-off commits) and hands the metric values over,
    {step: {name: value}}, when the executor settles (step_quality.py).
    """

    name: ClassVar[str]
    capabilities: ClassVar[frozenset[str]]

    def read(self, dataset: Mapping[str, Any], ctx: StepContext,
             columns: Sequence[str] | None = None) -> Any:
        """A relation over the dataset (``columns``: a projection the engine may push down)."""

    def accepts_s3(self, options: Any) -> bool:
        """Whether :meth:`read` takes an ``s3://`` dataset's parts straight from the object
        store with these credentials (``object_store.S3Options``; the dataset then carries
        an ``s3_read.S3Listing``); False: the executor hands it a local copy instead."""

    def read_errors(self, rel: Any) -> dict:
        """The tally of a read relation's values that ``on_error: null | skip`` nulled or
        left out, ``{column: {"nulled" | "skipped": n}}`` (errors.count_read_errors); ``{}``
        when none.  The executor puts it in the task result."""

    def read_staged(self, manifest_path: str | Path) -> Any:
        """A relation over a committed staging manifest (see staging.py)."""

    def transform(self, step: Mapping[str, Any], inputs: Mapping[str, Any],
                  ctx: StepContext, base: Any | None = None) -> Any:
        """Apply a step's transform keys (join, union, filter, derive, group_by/aggregate/
        having, select, rename, drop, cast, distinct, sort, limit) in the documented order.
        ``inputs`` maps step names to relations; ``base`` is the relation a read or call
        step produced itself."""

    def count(self, rel: Any) -> int | None:
        """The number of rows, for the per-step stats; ``None`` where counting would force
        work the engine otherwise avoids (a lazy relation not yet executed): the stats then
        show no count for that step.  Checks and writes count for themselves."""

    def check(self, rel: Any, checks: Mapping[str, Any], ctx: StepContext) -> None:
        """Evaluate the step's checks; raise errors.CheckFailed naming the failing check."""

    def metrics(self, rel: Any, metrics: Mapping[str, str], ctx: StepContext) -> dict[str, Any]:
        """Evaluate aggregate expressions over the relation; plain Python values."""

    def write(self, rel: Any, dataset: Mapping[str, Any], mode: str | None,
              ctx: StepContext) -> dict:
        """Write through the commit protocol (commit.py) or a sink (io_postgres.py).
        Returns {"path", "rows", "bytes", "partitions"}."""

    def stage(self, rel: Any, folder: Path, *, partitions: int, meta: dict,
              before_commit: Any = None, types: Mapping[str, Any] | None = None) -> dict:
        """Write the staging hand-off (Parquet parts + manifest, staging.py's layout and
        commit order; ``before_commit(folder, part_names)`` runs between the two).  Returns
        the manifest dict with ``"manifest"`` set to its path (as staging.write_stage).
        ``types``: the step's plan types, which every column is staged in (a computed
        decimal as that decimal, whatever the engine's frame holds it as)."""

    def to_arrow(self, rel: Any) -> Any:
        """A pyarrow.Table of the relation (call steps, sinks, other engines)."""

    def from_arrow(self, table: Any) -> Any:
        """A relation over a pyarrow.Table."""

    def close(self) -> None:
        """Release what the engine holds (connections, clusters, spill files)."""
