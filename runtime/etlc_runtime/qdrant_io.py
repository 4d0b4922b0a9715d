"""``format: qdrant`` datasets: a vector collection, written and read through Arrow tables.

Engine-agnostic: the executor hands a write the step's Arrow table (``engine.to_arrow``) and
gives a read's table to ``engine.from_arrow``.

- **Where**: the dataset's connection (``host``/``port``, or the extra's ``url``; the password
  is the API key), else Qdrant's local mode in ``<project root>/data/qdrant`` (one process at a
  time holds that folder; the client is closed after each read or write).
- **Write**: the collection is created when missing (vector size from the vector column's
  declared ``size``, else the first vector's length; ``distance`` default cosine). Point ids
  are uuid5 of the ``key`` columns' values (JSON of the list), so a reload replaces a point
  instead of adding one; a null key or a vector that is null or of the wrong length stops the
  write with R230 naming the column and row, before anything is sent. The payload holds the
  ``payload`` columns (default: all but the vector); dates and timestamps as ISO text,
  decimals as their exact text. Upserts go in batches of ``options.batch_size`` (default 256);
  in local mode the disk is synced once, after the last batch (``qdrant_local``).
  ``append``/``upsert`` upsert into the collection (through its alias when it is one);
  ``overwrite`` fills a new collection ``<name>__etlc_<token>`` and then points the alias
  ``<name>`` at it in one alias operation, and drops the previous one. A write that ends
  drops the ``<name>__etlc_*`` collections that killed overwrites left (one writer per
  collection at a time), so a rerun after a kill leaves one collection behind the alias.
- **Read**: scrolls every point (payload and vector) into a table with the declared columns'
  types (the vector column a list of float32 for ``vector`` columns). The read step's filter
  goes down as a payload filter where it can (``qdrant_filter``), the engine still applying
  all of it; vectors are not fetched when the step does not use the vector column.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import json
import logging
import secrets
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .connections import resolve
from .errors import EtlcRuntimeError
from .pg_pushdown import PUSHDOWN  # the key the executor adds to a read's dataset

log = logging.getLogger("etlc_runtime")

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://etlc/qdrant-point")
DEFAULT_BATCH = 256
LOCAL_FOLDER = Path("data") / "qdrant"


class QdrantDataError(EtlcRuntimeError):
    """R230: a row that cannot become a point unchanged (names collection, column, row)."""

    code = "R230"

    def __init__(self, collection: str, column: str, row: int, reason: str):
        self.collection, self.column, self.row, self.reason = collection, column, row, reason
        super().__init__(f"{self.code} qdrant collection {collection!r}, column {column!r}, "
                         f"row {row}: {reason}")


def client_for(dataset: Mapping[str, Any], connections: Mapping[str, Any] | None, root: Path):
    from qdrant_client import QdrantClient

    logical = dataset.get("connection")
    if not logical:
        folder = Path(root) / LOCAL_FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        return QdrantClient(path=str(folder))
    conn = resolve(logical, connections)
    extra = conn.extra or {}
    if extra.get("url"):
        return QdrantClient(url=str(extra["url"]), api_key=conn.password)
    return QdrantClient(host=conn.host, port=conn.port or 6333, api_key=conn.password,
                        https=bool(extra.get("https", False)))


def point_id(values: Sequence[Any]) -> str:
    return str(uuid.uuid5(NAMESPACE, json.dumps([_json(v) for v in values])))


def _json(value: Any) -> Any:
    if isinstance(value, (_dt.date, _dt.datetime, _dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def _target(client, name: str) -> str | None:
    """The physical collection behind ``name`` (an alias or a collection), or None."""
    for alias in client.get_aliases().aliases:
        if alias.alias_name == name:
            return alias.collection_name
    return name if client.collection_exists(name) else None


def _drop_leftovers(client, name: str, keep: str) -> None:
    """Drop the ``<name>__etlc_*`` collections of killed overwrites (never behind the alias)."""
    for collection in client.get_collections().collections:
        if collection.name.startswith(f"{name}__etlc_") and collection.name != keep:
            client.delete_collection(collection.name)


def _points(table, dataset: Mapping[str, Any], name: str):
    from qdrant_client import models

    vector = dataset["vector"]
    key = list(dataset.get("key") or [])
    payload_cols = list(dataset.get("payload") or [c for c in table.column_names if c != vector])
    size = ((dataset.get("columns") or {}).get(vector) or {}).get("size")
    for k in key:
        _no_null(table.column(k), name, k, "a null key gives no point id")
    vectors, size = _vectors(table.column(vector), name, vector, size)
    rows = table.select(list(dict.fromkeys([*key, *payload_cols]))).to_pylist()
    points = []
    for row, vec in zip(rows, vectors):
        pid = point_id([row[k] for k in key]) if key else str(uuid.uuid4())
        # checked above, so built without pydantic's validation of every float again
        points.append(models.PointStruct.model_construct(
            id=pid, vector=vec, payload={c: _json(row[c]) for c in payload_cols}))
    return points, size


def _no_null(column, name: str, col: str, reason: str) -> None:
    if column.null_count:
        import pyarrow.compute as pc

        first = pc.index(pc.is_null(column), True).as_py()
        raise QdrantDataError(name, col, first, reason)


def _vectors(column, name: str, col: str, size: int | None) -> tuple[list, int | None]:
    """The vectors as lists of Python floats (each value widened exactly, as ``float``
    would), after R230 for a null vector, a null inside one or a length other than
    ``size`` (default: the first vector's)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    _no_null(column, name, col, "a null vector")
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    lengths = pc.list_value_length(column).to_numpy(zero_copy_only=False)
    size = size or (int(lengths[0]) if len(lengths) else None)
    wrong = np.flatnonzero(lengths != size)
    if wrong.size:
        raise QdrantDataError(name, col, int(wrong[0]), f"{lengths[wrong[0]]} values, the "
                                                        f"collection's vectors have {size}")
    values = pc.list_flatten(column)
    if values.null_count:
        at = pc.index(pc.is_null(values), True).as_py()
        raise QdrantDataError(name, col, at // size, "a null value inside the vector")
    if not (pa.types.is_floating(values.type) or pa.types.is_integer(values.type)):
        return [[float(x) for x in v] for v in column.to_pylist()], size
    flat = values.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    return flat.reshape(len(column), size or 0).tolist(), size


def write_qdrant(table, dataset: Mapping[str, Any], mode: str | None, macros,
                 connections: Mapping[str, Any] | None, root: Path) -> dict:
    """Write an Arrow table to the collection; returns {"path", "rows", "bytes",
    "partitions"} like a file write."""
    from qdrant_client import models

    from .qdrant_local import deferred_sync
    from .templating import render

    name = str(render(dataset["collection"], macros))
    points, size = _points(table, dataset, name)
    distance = getattr(models.Distance, str(dataset.get("distance") or "cosine").upper())
    batch = int((dataset.get("options") or {}).get("batch_size") or DEFAULT_BATCH)
    client = client_for(dataset, connections, root)
    try:
        current = _target(client, name)
        if mode == "overwrite" or current is None:
            into = f"{name}__etlc_{secrets.token_hex(4)}"
        else:
            into = current
        if into != current:
            client.create_collection(into, vectors_config=models.VectorParams(
                size=int(size or 1), distance=distance))
        durable = deferred_sync(client, into)     # local mode: one disk sync, not one a point
        for start in range(0, len(points), batch):
            client.upsert(into, points[start:start + batch], wait=True)
        if durable is not None:
            durable()
        if into != current:
            actions = []
            if current is not None and current == name:      # a plain collection, no alias
                client.delete_collection(name)
            elif current is not None:
                actions.append(models.DeleteAliasOperation(
                    delete_alias=models.DeleteAlias(alias_name=name)))
            actions.append(models.CreateAliasOperation(create_alias=models.CreateAlias(
                collection_name=into, alias_name=name)))
            client.update_collection_aliases(change_aliases_operations=actions)
            if current is not None and current != name:
                client.delete_collection(current)
        _drop_leftovers(client, name, into)
    finally:
        client.close()
    return {"path": f"qdrant:{name}", "rows": len(points), "bytes": None, "partitions": 1}


def read_qdrant(dataset: Mapping[str, Any], macros, connections: Mapping[str, Any] | None,
                root: Path, columns: Sequence[str] | None = None):
    """Every point of the collection as an Arrow table (declared columns, typed)."""
    import pyarrow as pa

    from .templating import render

    name = str(render(dataset["collection"], macros))
    vector = dataset["vector"]
    scroll_filter = None
    pushdown = dataset.get(PUSHDOWN)
    if pushdown:
        from .qdrant_filter import payload_filter

        scroll_filter, pushed = payload_filter(pushdown["filter"], pushdown.get("params"),
                                               dataset)
        if pushed:
            log.info("etlc qdrant read of %s: filter pushed down: %s", name, " and ".join(pushed))
    with_vectors = not columns or vector in columns
    client = client_for(dataset, connections, root)
    records = []
    try:
        offset = None
        while True:
            page, offset = client.scroll(name, limit=1024, offset=offset, with_payload=True,
                                         with_vectors=with_vectors, scroll_filter=scroll_filter)
            records += page
            if offset is None:
                break
    finally:
        client.close()
    declared = dataset.get("columns") or {}
    listed = set(dataset.get("payload") or declared)   # present even when no point matched
    names = [c for c in declared
             if c == vector or c in listed or any(c in (r.payload or {}) for r in records)]
    if not declared:
        names = list(dict.fromkeys(k for r in records for k in (r.payload or {}))) + [vector]
    data = {}
    for col in names:
        if col == vector:
            values = [list(r.vector) if r.vector is not None else None for r in records]
            data[col] = pa.array(values, pa.list_(pa.float32()))
        else:
            data[col] = _typed([(r.payload or {}).get(col) for r in records],
                               declared.get(col) or {})
    table = pa.table(data)
    return table.select([c for c in columns if c in table.column_names]) if columns else table


def _typed(values: list, column: Mapping[str, Any]):
    import pyarrow as pa

    kind = column.get("type")
    if kind == "timestamp":
        return pa.array([None if v is None else _dt.datetime.fromisoformat(v) for v in values],
                        pa.timestamp("us", tz="UTC" if any(
                            v and ("+" in v[10:] or v.endswith("Z")) for v in values) else None))
    if kind == "date":
        return pa.array([None if v is None else _dt.date.fromisoformat(v) for v in values],
                        pa.date32())
    if kind == "decimal":
        scale = int(column.get("scale") or 0)
        return pa.array([None if v is None else decimal.Decimal(v) for v in values],
                        pa.decimal128(int(column.get("precision") or 38), scale))
    types = {"int": pa.int64(), "float": pa.float64(), "string": pa.string(),
             "bool": pa.bool_()}
    return pa.array(values, types.get(kind)) if kind in types else pa.array(values)
