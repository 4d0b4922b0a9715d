"""timestamptz into PostgreSQL (issue 10): a timestamptz column loads as the same instants
into a ``timestamptz`` column (auto-created from the declared type or from the Arrow type),
microseconds and nulls kept, years 1 and 9999 included, on every engine."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from etlc_runtime.dtypes import arrow_to_frame
from etlc_runtime.engines import get_engine
from etlc_runtime.engines.base import StepContext, TaskResources
from test_postgres_fidelity import CONNS, _rows, _types, pg  # noqa: F401 (pg: the fixture)

pytestmark = pytest.mark.postgres
U = dt.UTC
INSTANTS = [dt.datetime(2025, 1, 16, 9, 30, 0, 123456, tzinfo=U), None,
            dt.datetime(1, 1, 1, tzinfo=U), dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=U)]
TABLE = pa.table({"id": pa.array([1, 2, 3, 4], pa.int64()),
                  "z": pa.array(INSTANTS, pa.timestamp("us", "UTC"))})


def _load(engine: str, table: pa.Table, dataset: dict, root) -> None:
    eng = get_engine(engine, TaskResources(spill_dir=root / ".spill"))
    try:
        rel = eng.from_pandas(arrow_to_frame(table)) if engine == "pandas" else \
            eng.from_arrow(table)
        eng.write(rel, dataset, "upsert", StepContext(
            root=root, params={}, macros={}, connections=CONNS, append_key="k", step="load"))
    finally:
        eng.close()


@pytest.mark.parametrize("declared", [True, False], ids=["declared", "from-arrow"])
@pytest.mark.parametrize("engine", ["pandas", "duckdb", "dask"])
def test_instants_load_unchanged_into_timestamptz(pg, tmp_path, engine, declared):  # noqa: F811
    ds = {"format": "postgres", "connection": "dwh", "table": f"{pg}.t", "key": ["id"]}
    if declared:
        ds["columns"] = {"id": "int", "z": "timestamptz"}
    _load(engine, TABLE, ds, tmp_path)
    assert _types(pg) == {"id": "bigint", "z": "timestamp with time zone"}
    got = [z for _id, z in _rows(pg)]
    assert [None if v is None else v.astimezone(U) for v in got] == INSTANTS
