"""Qdrant datasets in Qdrant's local mode (issue 12): a write creates the collection, a
reload replaces points (uuid5 ids from the key), overwrite swaps an alias, a read gives back
every value; a null key is R230 before anything is written."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import qdrant_client
from etlc_runtime import executor
from etlc_runtime.errors import StepError
from etlc_runtime.qdrant_io import LOCAL_FOLDER, QdrantDataError, point_id
from rt_service_helpers import service_plan

VEC = {"format": "qdrant", "collection": "docs", "key": ["doc_id"], "vector": "embedding",
       "distance": "cosine", "payload": ["doc_id", "title", "updated_at"],
       "options": {"batch_size": 2},
       "columns": {"doc_id": {"type": "string"}, "title": {"type": "string"},
                   "updated_at": {"type": "timestamp"},
                   "embedding": {"type": "vector", "size": 3}}}


def source(project, rows):
    (project / "data").mkdir(exist_ok=True)
    table = pa.table({
        "doc_id": pa.array([r[0] for r in rows], pa.string()),
        "title": pa.array([r[1] for r in rows], pa.string()),
        "updated_at": pa.array([r[2] for r in rows], pa.timestamp("us")),
        "embedding": pa.array([r[3] for r in rows], pa.list_(pa.float32()))})
    pq.write_table(table, project / "data" / "docs.parquet")
    return table


def plan(engine, steps, task):
    return service_plan(steps, {"docs": {"format": "parquet", "path": "data/docs.parquet"},
                                "vectors": VEC,
                                "back": {"format": "parquet", "path": "out/back/"}},
                        task, engine=engine)


def load(engine, mode):
    return plan(engine, [{"name": "raw", "read": "docs"},
                         {"name": "put", "from": "raw", "write": "vectors", "mode": mode}], "put")


def unload(engine):
    return plan(engine, [{"name": "got", "read": "vectors"},
                         {"name": "save", "from": "got", "write": "back", "mode": "overwrite"}],
                "save")


def points(project):
    client = qdrant_client.QdrantClient(path=str(project / LOCAL_FOLDER))
    try:
        aliases = {a.alias_name: a.collection_name for a in client.get_aliases().aliases}
        names = [c.name for c in client.get_collections().collections]
        got = client.scroll("docs", limit=100, with_vectors=True)[0]
        return aliases, names, {p.id: p for p in got}
    finally:
        client.close()


T = dt.datetime(2026, 1, 2, 3, 4, 5, 123456)
ROWS = [("a", "first", T, [0.5, 0.25, -1.0]), ("b", None, None, [1.0, 0.0, 0.125]),
        ("c", "third", T, [3.0, 2.0, 1.0])]


@pytest.mark.parametrize("engine", ["duckdb", "pandas"])
def test_write_reload_overwrite_and_read_back(project, engine):
    table = source(project, ROWS)
    executor.run_task(load(engine, "upsert"), {"run_id": "manual__1"})
    executor.run_task(load(engine, "upsert"), {"run_id": "manual__2"})       # a reload
    aliases, names, got = points(project)
    assert set(got) == {point_id([k]) for k in ("a", "b", "c")}         # replaced, not added
    assert got[point_id(["a"])].vector == [0.5, 0.25, -1.0]            # local mode: unchanged
    assert got[point_id(["b"])].payload == {"doc_id": "b", "title": None, "updated_at": None}

    executor.run_task(unload(engine), {"run_id": "manual__3"})
    back = pq.read_table(project / "out" / "back").sort_by("doc_id")
    want = table.select(["doc_id", "title", "updated_at"])
    assert back.select(["doc_id", "title", "updated_at"]).cast(want.schema).equals(want)
    assert back.column("embedding").type.value_type == pa.float32()

    # overwrite: a new collection behind the alias, the old one dropped
    source(project, [("z", "only", T, [0.0, 1.0, 0.0])])
    executor.run_task(load(engine, "overwrite"), {"run_id": "manual__4"})
    aliases, names, got = points(project)
    assert set(got) == {point_id(["z"])}
    assert aliases["docs"] in names and "docs" not in names and len(names) == 1
    executor.run_task(load(engine, "overwrite"), {"run_id": "manual__5"})
    aliases2, names2, got2 = points(project)
    assert set(got2) == set(got) and names2 == [aliases2["docs"]] != names


def test_a_null_key_is_r230_before_any_write(project):
    source(project, [("a", "x", T, [1.0, 2.0, 3.0]), (None, "y", T, [1.0, 2.0, 3.0])])
    with pytest.raises(StepError) as info:
        executor.run_task(load("duckdb", "upsert"), {"run_id": "manual__k"})
    cause = info.value.__cause__
    assert isinstance(cause, QdrantDataError) and cause.code == "R230"
    assert (cause.column, cause.row) == ("doc_id", 1)
    client = qdrant_client.QdrantClient(path=str(project / LOCAL_FOLDER))
    try:
        assert not client.collection_exists("docs")
    finally:
        client.close()


def _write(project, table, size=3):
    from etlc_runtime.qdrant_io import write_qdrant

    dataset = {**VEC, "payload": ["doc_id"], "columns": {
        "doc_id": {"type": "string"}, "embedding": {"type": "vector", "size": size}}}
    return write_qdrant(table, dataset, "upsert", {}, {}, project)


@pytest.mark.parametrize("vectors, row, what", [
    ([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], None], 2, "null vector"),
    ([[1.0, 2.0, 3.0], [1.0, 2.0]], 1, "wrong length"),
    ([[1.0, 2.0, 3.0], [1.0, None, 3.0]], 1, "null value inside")])
def test_a_bad_vector_is_r230_naming_its_row(project, vectors, row, what):
    table = pa.table({"doc_id": [f"d{i}" for i in range(len(vectors))],
                      "embedding": pa.array(vectors, pa.list_(pa.float32()))})
    with pytest.raises(QdrantDataError) as info:
        _write(project, table)
    assert (info.value.code, info.value.column, info.value.row) == ("R230", "embedding", row)


@pytest.mark.parametrize("kind", [pa.float32(), pa.float64(), pa.int64()])
def test_vectors_arrive_as_the_client_would_get_them_and_one_sync(project, kind):
    """Each value as ``float(x)`` of pyarrow's own value (float32 widened exactly), from a
    sliced, chunked column; the collection's SQLite file is in WAL mode (qdrant_local)."""
    import sqlite3

    values = [[0.1, -2.5, 3e38], [1e-45, 7.0, -0.0], [16777217.0, 2.0, 3.0]]
    if kind == pa.int64():
        values = [[1, -2, 2**53 + 1], [0, 7, -9], [4, 5, 6]]
    column = pa.chunked_array([pa.array(values[:1], pa.list_(kind)),
                               pa.array([[9, 9, 9]] + values[1:], pa.list_(kind)).slice(1)])
    table = pa.table({"doc_id": ["a", "b", "c"], "embedding": column})
    _write(project, table)
    client = qdrant_client.QdrantClient(path=str(project / LOCAL_FOLDER))
    try:
        got = {p.payload["doc_id"]: p.vector for p in
               client.scroll("docs", limit=10, with_vectors=True)[0]}
    finally:
        client.close()
    want = {d: [float(x) for x in v] for d, v in zip(["a", "b", "c"], column.to_pylist())}
    assert got == want
    [store] = (project / LOCAL_FOLDER).rglob("storage.sqlite")
    with sqlite3.connect(store) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
