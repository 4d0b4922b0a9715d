"""The duckdb engine: a fused chain of steps is one DuckDB query.

Every method builds SQL (engines/duckdb/sql_build.py: one CTE per stage, bound but not run);
rows move only when a write (``COPY (query) TO``), the staging hand-off, a check, a metric or
``to_arrow`` asks for them, so DuckDB plans reads, transforms and the write together, pushes
projections and filters into the scans, streams, and spills to disk past ``memory_limit``.

Resources: ``TaskResources.memory_limit`` becomes ``SET memory_limit`` (DuckDB's default
otherwise), ``threads`` ``SET threads``, and ``spill_dir`` (the executor's folder under the
staging root; a private temporary folder when none is given, removed on close) ``SET
temp_directory``.

Nothing on this path imports pandas, PostgreSQL reads and writes included (pg_read and
io_postgres move Arrow tables).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

from ..plain import plain
from . import capabilities as _capabilities
from .base import StepContext, TaskResources
from .duckdb import csv_typed, quality
from .duckdb import read as _read
from .duckdb import write as _write
from .duckdb.sql_build import Builder, Rel


class DuckDBEngine:
    name: ClassVar[str] = "duckdb"
    capabilities: ClassVar[frozenset[str]] = _capabilities("duckdb")

    def __init__(self, resources: TaskResources | None = None):
        import duckdb

        self.resources = resources or TaskResources()
        self._own_spill: Path | None = None
        spill = self.resources.spill_dir
        if spill is None:
            spill = self._own_spill = Path(tempfile.mkdtemp(prefix="etlc-duckdb-spill-"))
        # the folders made here go again on close, so a task that fails before any output
        # (an unsafe path, a bad input) leaves the project as it found it
        self._made = [d for d in (Path(spill), *Path(spill).parents) if not d.exists()]
        Path(spill).mkdir(parents=True, exist_ok=True)
        self.con = duckdb.connect(":memory:")
        self.con.execute("SET enable_progress_bar = false")
        # timestamptz values are shown and computed in UTC (docs/types.md), whatever the host's zone
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute(f"SET temp_directory = {_read.sql_literal(str(spill))}")
        # Parquet min/max statistics leave NaN out (pyarrow's, by the spec): without this,
        # DuckDB prunes row groups and answers min/max from them as if no NaN were there
        # (`f > 1.5` dropped a NaN row, duckdb/duckdb#25521; docs/expressions.md, "NaN")
        self.con.execute("SET parquet_can_have_nan = true")
        if self.resources.memory_limit:
            self.con.execute(f"SET memory_limit = {_read.sql_literal(str(self.resources.memory_limit))}")
        if self.resources.threads:
            self.con.execute(f"SET threads = {int(self.resources.threads)}")
        self.b = Builder(self.con)
        self._arrow: list[Any] = []  # tables registered by from_arrow, kept alive
        self._read_errors: dict[str, dict] = {}  # read relation -> its on_error tally
        self._s3 = None  # the S3Options whose filesystem the connection holds
        self._reads: list[tuple[Mapping[str, Any], Rel]] = []  # read: an R040's row (read_rows)
        self._csv_text: dict[str, str] = {}  # view of an Arrow CSV scan -> its text twin

    # -- relations in and out -------------------------------------------------------
    def read(self, dataset: Mapping[str, Any], ctx: StepContext,
             columns: Sequence[str] | None = None) -> Rel:
        counts: dict = {}
        rel = _read.read(self.b, dataset, ctx.macros, ctx.root, columns=columns,
                         connections=ctx.connections, from_arrow=self.from_arrow,
                         counts=counts, fallbacks=self._csv_text, keep=self._arrow)
        self._reads.append((dataset, rel))
        if counts:
            self._read_errors[rel.name] = counts
        return rel

    def accepts_s3(self, options) -> bool:
        """True once the S3 filesystem of ``options`` is registered with the connection
        (DuckDB then reads ``s3://`` URLs through it); a connection holds one, so a second
        dataset with other credentials in the same task is read from a local copy."""
        if self._s3 is None:
            from ..s3_read import duckdb_filesystem
            self.con.register_filesystem(duckdb_filesystem(options))
            self._s3 = options
        return self._s3 == options

    def read_errors(self, rel: Rel) -> dict:
        """What ``on_error: null | skip`` let through in the read of ``rel`` (counted)."""
        return dict(self._read_errors.get(rel.name) or {})

    def read_staged(self, manifest_path: str | Path) -> Rel:
        from ..staging import manifest_parts

        parts = manifest_parts(manifest_path)
        if not parts:
            import pyarrow as pa
            return self.from_arrow(pa.table({}))
        return self.b.source(f"read_parquet({_read._list(parts)}, union_by_name = true, "
                             f"hive_partitioning = false)")

    def to_arrow(self, rel: Rel):
        return self._run(lambda: self.con.sql(rel.query()).to_arrow_table())

    def _run(self, run, *args, **kwargs):
        """``run(*args, **kwargs)``, once more over the text path where an Arrow CSV scan
        refused a value (csv_typed: the result and any R040 are then the text path's), an
        R040 raised in SQL with its dataset and row found (read_rows.py)."""
        with self._read_rows():
            try:
                return run(*args, **kwargs)
            except Exception as exc:
                if not (csv_typed.refused(exc) and csv_typed.fall_back(self.con,
                                                                       self._csv_text)):
                    raise
            return run(*args, **kwargs)

    @contextmanager
    def _read_rows(self):
        """An R040 a read raised in SQL, with its dataset and row found (read_rows.py)."""
        try:
            yield
        except Exception as exc:
            from .duckdb.read_rows import locate
            found = locate(self.b, self._reads, exc)
            if found is None:
                raise
            raise found from exc

    def from_arrow(self, table) -> Rel:
        name = f"__etlc_arrow_{next(self.b._ids)}"
        self.con.register(name, table)
        self._arrow.append(table)
        return self.b.source(_read.q(name))

    # -- steps ----------------------------------------------------------------------
    def transform(self, step: Mapping[str, Any], inputs: Mapping[str, Any], ctx: StepContext,
                  base: Any | None = None) -> Rel:
        # a union's type checks count values: a scan
        return self._run(self.b.apply, step, inputs, ctx.params, base=base)

    def explain_error(self, exc: BaseException, step: Mapping[str, Any],
                      inputs: Mapping[str, Any], params: Mapping[str, Any]) -> Any:
        """The R041 (``expr.EvalError``: expression, row, value) a DuckDB conversion error
        of ``step``'s query stands for; None when it is not one (expr_errors.py)."""
        from .duckdb import expr_errors

        return expr_errors.explain(self.b, exc, expr_errors.step_stages(self.b, step, inputs,
                                                                        params), params)

    def cast_error(self, err: Any, step: Mapping[str, Any], inputs: Mapping[str, Any],
                   params: Mapping[str, Any]) -> Any:
        """The R040 ``err`` of ``step``'s ``cast:`` with the row and value of the first value
        the cast refuses; None when it refuses none (cast_rows.py)."""
        from .duckdb.cast_rows import cast_error

        return cast_error(self.b, err, step, inputs, params)

    def count(self, rel: Rel) -> int | None:
        return None  # counting would run the chain once more; writes and checks count

    def check(self, rel: Rel, checks: Mapping[str, Any], ctx: StepContext) -> None:
        self._run(self._check, rel, checks, ctx)

    def _check(self, rel: Rel, checks: Mapping[str, Any], ctx: StepContext) -> None:
        try:
            quality.run_checks(self.b, rel, checks, ctx.params, step=ctx.step)
        except Exception as exc:
            found = self._quality_error(exc, rel, checks, None, ctx.params)
            if found is None:
                raise
            raise found from exc

    def metrics(self, rel: Rel, metrics: Mapping[str, str], ctx: StepContext) -> dict[str, Any]:
        return self._run(self._metrics, rel, metrics, ctx)

    def _metrics(self, rel: Rel, metrics: Mapping[str, str], ctx: StepContext
                 ) -> dict[str, Any]:
        try:
            return {k: plain(v) for k, v in quality.metrics(self.b, rel, metrics,
                                                             ctx.params).items()}
        except Exception as exc:
            found = self._quality_error(exc, rel, None, metrics, ctx.params)
            if found is None:
                raise
            raise found from exc

    def _quality_error(self, exc: Exception, rel: Rel, checks, metrics, params
                       ) -> Exception | None:
        """The R041 a check's or metric's conversion error stands for; None for any other
        error (an R040 of a read fails here too), which is raised as it is."""
        from .duckdb import expr_errors

        return expr_errors.explain(self.b, exc, expr_errors.quality_stages(rel, checks, metrics),
                                   params)

    # -- outputs --------------------------------------------------------------------
    def write(self, rel: Rel, dataset: Mapping[str, Any], mode: str | None,
              ctx: StepContext) -> dict:
        from ..plan_types import json_columns
        declared = dataset.get("columns") or {}
        json = [c for c in json_columns(ctx.types) if c in rel.columns and c not in declared]
        if json:  # JSON text held as VARCHAR (from another engine): JSON, so written nested
            rel = self.b.cast(rel, {c: "json" for c in json})
        return self._run(_write.write, self.b, rel, dataset, mode, ctx.macros, ctx.root,
                         ctx.append_key, connections=ctx.connections, to_arrow=self.to_arrow)

    def stage(self, rel: Rel, folder: Path, *, partitions: int, meta: dict,
              before_commit: Any = None, types: Mapping[str, Any] | None = None) -> dict:
        # DuckDB holds every column in its exact type already: ``types`` has nothing to add
        return self._run(_write.stage, self.b, rel, folder, partitions=partitions, meta=meta,
                         before_commit=before_commit)

    def close(self) -> None:
        try:
            self.con.close()
        finally:
            self._arrow.clear()
            if self._own_spill is not None:
                shutil.rmtree(self._own_spill, ignore_errors=True)
                self._own_spill = None
            for folder in self._made:          # innermost first; only while empty
                try:
                    folder.rmdir()
                except OSError:
                    break
            self._made = []
