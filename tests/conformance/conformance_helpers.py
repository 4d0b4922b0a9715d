"""Helpers of the conformance suite (conftest.py holds the engine fixture): the frame: every engine of the registry, one project per test, reads
and writes as the executor does them, and exact comparison of Arrow values.

Engines come from ``etlc_runtime.engines.installed()`` (the registry), except ``dask-cuda``,
which needs a GPU.  An engine instance serves a whole module (a Dask cluster starts once).
"""

from __future__ import annotations

import math
import struct
from pathlib import Path

import pyarrow as pa
import pytest
from etlc_runtime.engines import installed
from etlc_runtime.engines.base import StepContext
from etlc_runtime.errors import DataError

ENGINES = [name for name in installed() if name != "dask-cuda"]


def context(root: Path, types: dict | None = None) -> StepContext:
    return StepContext(root=root, params={}, macros={"ds": "2024-01-01"},
                       append_key="date_2024-01-01", step="s", types=types or {})


def make_project(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    return root


def read(engine, root: Path, dataset: dict) -> pa.Table:
    """The engine's read of ``dataset`` as Arrow (large strings as strings)."""
    rel = engine.read(dataset, context(root, dataset.get("columns")))
    return plain(engine.to_arrow(rel))


def read_error(engine, root: Path, dataset: dict) -> DataError:
    """The R040 a read must raise (the duckdb engine raises when rows move)."""
    with pytest.raises(Exception) as info:
        read(engine, root, dataset)
    err = DataError.from_exception(info.value)
    assert err is not None, f"not an R040 error: {type(info.value).__name__}: {info.value}"
    assert err.code == "R040"
    return err


def plain(table: pa.Table) -> pa.Table:
    fields = []
    for f in table.schema:
        t = f.type
        if pa.types.is_large_string(t):
            t = pa.string()
        fields.append(pa.field(f.name, t))
    return table.cast(pa.schema(fields))


def _key(v):
    """A value as compared: floats by their bits (NaN any NaN, -0.0 apart from 0.0)."""
    if isinstance(v, float):
        if math.isnan(v):
            return ("nan",)
        return ("float", struct.pack("<d", v))
    return (type(v).__name__, v)


def assert_same(got: pa.Table, want: pa.Table, what: str = "") -> None:
    """Same column names, Arrow types and values, exactly."""
    got, want = plain(got), plain(want)
    assert got.column_names == want.column_names, what
    for name in want.column_names:
        assert got.schema.field(name).type == want.schema.field(name).type, \
            f"{what} column {name}: {got.schema.field(name).type} != " \
            f"{want.schema.field(name).type}"
        g = [_key(v) for v in got.column(name).to_pylist()]
        w = [_key(v) for v in want.column(name).to_pylist()]
        assert g == w, f"{what} column {name}: {got.column(name).to_pylist()} != " \
                       f"{want.column(name).to_pylist()}"


class EngineCache:
    """One engine instance per name, made on first use and closed together (for tests that
    take the engine as a parameter of their own, next to hypothesis' examples)."""

    def __init__(self) -> None:
        self.engines: dict = {}

    def get(self, name: str, tmp_path_factory):
        if name not in self.engines:
            from etlc_runtime.engines import get_engine
            from etlc_runtime.engines.base import TaskResources
            self.engines[name] = get_engine(name, TaskResources(
                spill_dir=tmp_path_factory.mktemp("spill")))
        return self.engines[name]

    def close(self) -> None:
        while self.engines:
            self.engines.popitem()[1].close()


def written_back(engine, root: Path, columns: dict, out_fmt: str) -> pa.Table:
    """``in.parquet`` under ``root`` read by ``engine``, written as ``out_fmt`` (read ->
    identity -> write, overwrite) and read back: Parquet parts with pyarrow, text by the
    engine."""
    import pyarrow.parquet as pq

    ctx = context(root, columns)
    rel = engine.read({"format": "parquet", "path": "in.parquet", "columns": columns}, ctx)
    engine.write(rel, {"format": out_fmt, "path": "out/", "columns": columns}, "overwrite",
                 ctx)
    parts = sorted(p for p in (root / "out").rglob("*") if p.is_file()
                   and not p.name.startswith("."))
    assert parts, "nothing written"
    if out_fmt == "parquet":
        return pa.concat_tables([pq.read_table(p) for p in parts])
    return read(engine, root, {"format": out_fmt, "path": "out/", "columns": columns})
