"""The dask engine's read of a dataset whose columns are all declared: its meta (the column
types the graph is built with) comes from the declared types, with no file read until the
graph runs, and is exactly what every partition's read gives, for every column type, on
Parquet (files storing the declared types, and files storing others that convert), CSV and
JSON Lines, with and without a selection of columns."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from etlc_runtime import io_read
from etlc_runtime.engines import get_engine
from etlc_runtime.engines.base import StepContext, TaskResources
from etlc_runtime.engines.dask import read as dask_read

COLUMNS = {
    "i": {"type": "int"}, "f": {"type": "float"},
    "d": {"type": "decimal", "precision": 15, "scale": 2}, "s": {"type": "string"},
    "b": {"type": "bool"}, "day": {"type": "date"}, "ts": {"type": "timestamp"},
    "tz": {"type": "timestamptz"}, "v": {"type": "vector", "size": 2}, "j": {"type": "json"},
}
ROWS = [
    {"i": 1, "f": 0.5, "d": Decimal("1.25"), "s": "a", "b": True, "day": date(2024, 1, 2),
     "ts": datetime(2024, 1, 2, 3, 4, 5), "tz": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
     "v": [0.5, 1.0], "j": '{"k":1}'},
    {"i": None, "f": None, "d": None, "s": None, "b": None, "day": None, "ts": None,
     "tz": None, "v": None, "j": None},
    {"i": -7, "f": 2.0, "d": Decimal("-3.10"), "s": "é", "b": False, "day": date(1999, 12, 31),
     "ts": datetime(1999, 12, 31, 23, 59, 59), "tz": datetime(2000, 1, 1, tzinfo=UTC),
     "v": [1.5, -2.0], "j": "[1,2]"},
]
CSV_ROWS = [
    '1,0.5,1.25,a,true,2024-01-02,2024-01-02 03:04:05,2024-01-02 03:04:05Z,"[0.5, 1.0]",'
    '"{""k"":1}"',
    ",,,,,,,,,",
    '-7,2.0,-3.10,é,false,1999-12-31,1999-12-31 23:59:59,2000-01-01 00:00:00Z,"[1.5, -2.0]",'
    '"[1,2]"',
]


# Parquet files storing the declared types, and others that convert without loss (a date
# read as timestamptz stays zone-less, a vector keeps its stored list type)
STORED = {
    "parquet": pa.schema([("i", pa.int64()), ("f", pa.float64()), ("d", pa.decimal128(15, 2)),
                          ("s", pa.string()), ("b", pa.bool_()), ("day", pa.date32()),
                          ("ts", pa.timestamp("us")), ("tz", pa.timestamp("us", "UTC")),
                          ("v", pa.list_(pa.float64())), ("j", pa.string())]),
    "parquet-other": pa.schema([("i", pa.int32()), ("f", pa.float32()),
                                ("d", pa.decimal128(9, 2)), ("s", pa.large_string()),
                                ("b", pa.bool_()), ("day", pa.timestamp("ms")),
                                ("ts", pa.timestamp("ns")), ("tz", pa.date32()),
                                ("v", pa.list_(pa.float32())), ("j", pa.large_string())]),
}


def _write(root, fmt: str) -> dict:
    """Two files of the three rows each; the dataset declaring every column."""
    (root / "in").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    for n in range(2):
        path = root / "in" / f"f{n}.{ {'csv': 'csv', 'json': 'jsonl'}.get(fmt, 'parquet')}"
        if fmt in STORED:
            rows = [{**r, "tz": r["tz"] and r["tz"].date(),
                     "day": r["day"] and datetime(*r["day"].timetuple()[:3])} for r in ROWS] \
                if fmt == "parquet-other" else ROWS
            pq.write_table(pa.Table.from_pylist(rows, schema=STORED[fmt]), path)
        elif fmt == "csv":
            path.write_text(",".join(COLUMNS) + "\n" + "\n".join(CSV_ROWS) + "\n")
        else:
            path.write_text("".join(json.dumps(
                {k: (str(v) if isinstance(v, (Decimal, date)) else v) for k, v in r.items()
                 if v is not None}) + "\n" for r in ROWS))
    return {"format": fmt.split("-")[0], "path": "in/", "columns": COLUMNS}


@pytest.mark.parametrize("fmt", ["parquet", "parquet-other", "csv", "json"])
@pytest.mark.parametrize("parts", [1, 3])
@pytest.mark.parametrize("select", [None, ["tz", "d", "i"]])
def test_meta_is_every_partitions_dtypes_and_nothing_is_read_to_build_it(
        tmp_path, monkeypatch, fmt, parts, select):
    root = tmp_path / "p"
    dataset = _write(root, fmt)
    reads = []
    real = io_read.read_dataset
    monkeypatch.setattr(io_read, "read_dataset",
                        lambda *a, **k: reads.append(k.get("files")) or real(*a, **k))
    ctx = StepContext(root=root, params={}, macros={"ds": "2024-01-01"},
                      append_key="date_2024-01-01", step="s", types=COLUMNS)
    engine = get_engine("dask", TaskResources(partitions=parts))
    try:
        rel = engine.read(dataset, ctx, select)
        built = engine.transform({"filter": "i is null or i > -100"}, {"t": rel}, ctx, base=rel)
        # the graph is built: no file read, no cluster started, no task run
        assert reads == [] and engine.cluster._client is None
        meta = rel._meta
        frames = engine.compute(*rel.to_delayed())
        total = len(engine.to_pandas(built))
    finally:
        engine.close()
    assert list(meta.columns) == (select or list(COLUMNS)) and len(meta) == 0
    assert len(frames) == parts and sum(len(f) for f in frames) == total == 6
    for frame in frames:
        assert list(frame.columns) == list(meta.columns)
        assert dict(frame.dtypes) == dict(meta.dtypes)
    # the same dtypes the pandas engine's reader gives the whole dataset
    whole = real(dataset, ctx.macros, root, select=select)
    assert dict(whole.dtypes) == dict(meta.dtypes)


def test_meta_is_learned_from_a_read_when_a_column_is_not_declared(tmp_path):
    root = tmp_path / "p"
    dataset = _write(root, "parquet")
    files = sorted((root / "in").iterdir())
    partial = {**dataset, "columns": {"i": {"type": "int"}}}
    assert dask_read.declared_meta(partial, files, ["i", "s"]) is None
    assert dask_read.declared_meta({**dataset, "columns": None}, files, None) is None
    assert dask_read.declared_meta({**dataset, "format": "fixed_width"}, files, None) is None
    # a stored type the declared one cannot take: the read reports it (R040 at the column)
    assert dask_read.declared_meta({**dataset, "columns": {"b": {"type": "date"}}}, files,
                                   None) is None
    assert list(dask_read.declared_meta(partial, files, None).columns) == ["i"]
