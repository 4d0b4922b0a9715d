"""The duckdb engine's read of s3:// Parquet through a pyarrow dataset (engines/duckdb/s3_scan):
the columns come out with the types and values of a local read (DuckDB's ``read_parquet``),
declared or not, decimals, dates, timestamps with a zone, nulls and empty strings included;
a part of another type is read through ``read_parquet`` as before; a listed part that is gone
or was rewritten is R220 naming it.  Against moto's S3 server on loopback."""

from __future__ import annotations

import datetime as dt
import decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import test_s3_object_store as moto_s3
from etlc_runtime import executor
from etlc_runtime import object_store as ob
from etlc_runtime.engines.duckdb import s3_scan
from exact_rows import assert_same
from rt_service_helpers import service_plan

endpoint, fs = moto_s3.endpoint, moto_s3.fs   # the moto server's fixtures

D = decimal.Decimal


def plain() -> pa.Table:
    """Every plain type, each with a null; strings with an empty one."""
    return pa.table({
        "id": pa.array([1, 2, 3], pa.int64()),
        "small": pa.array([-1, None, 7], pa.int8()),
        "big": pa.array([2**64 - 1, None, 0], pa.uint64()),
        "amount": pa.array([D("1.23"), None, D("-99999999999.99")], pa.decimal128(14, 2)),
        "wide": pa.array([D("0.1234567890123456789012345678901234567"), None, D(0)],
                         pa.decimal128(38, 37)),
        "day": pa.array([dt.date(1, 1, 1), None, dt.date(9999, 12, 31)], pa.date32()),
        "at": pa.array([1, None, 1_700_000_000_123_456], pa.timestamp("us")),
        "at_ms": pa.array([1, None, 1_700_000_000_123], pa.timestamp("ms")),
        "at_ns": pa.array([1, None, 1_700_000_000_123_456_789], pa.timestamp("ns")),
        "at_zone": pa.array([1, None, 1_700_000_000_123_456],
                            pa.timestamp("us", tz="America/Sao_Paulo")),
        "at_s_zone": pa.array([1, None, -5], pa.timestamp("s", tz="UTC")),
        "clock": pa.array([1, None, 86_399_999], pa.time32("ms")),
        "score": pa.array([1.5, None, float("nan")]),
        "half": pa.array([1.5, None, 65504], pa.float16()),
        "flag": pa.array([True, None, False]),
        "note": pa.array(["", None, "é\x00x"]),
        "long": pa.array(["a", None, ""], pa.large_string()),
        "kind": pa.array(["a", None, "a"]).dictionary_encode(),
        "blob": pa.array([b"", None, b"\xff"], pa.large_binary()),
        "day64": pa.array([0, None, 86_400_000 * 3], pa.date64()),
    })


DECLARED = {"id": {"type": "int"}, "amount": {"type": "decimal", "precision": 14, "scale": 2},
            "day": {"type": "date"}, "at_zone": {"type": "timestamptz"},
            "at": {"type": "timestamp"}, "note": {"type": "string"},
            "score": {"type": "float"}, "flag": {"type": "bool"}}


def read_to_local(project, url_or_path: str, columns, out: str, connection=None) -> pa.Table:
    source = {"format": "parquet", "path": url_or_path, "connection": connection}
    if columns:
        source["columns"] = columns
    datasets = {"src": source, "back": {"format": "parquet", "path": f"out/{out}/"}}
    executor.run_task(service_plan([{"name": "get", "read": "src"},
                                    {"name": "save", "from": "get", "write": "back",
                                     "mode": "overwrite"}], datasets, "save",
                                   connections={"lake": "lake_t"}), {"run_id": "manual__r"})
    return pq.read_table(project / "out" / out)


def both_ways(fs, project, table: pa.Table, columns, **write) -> tuple[pa.Table, pa.Table]:
    """``table`` read by the duckdb engine from S3 (data etlc did not write) and locally."""
    fs, url = fs
    (project / "data").mkdir(exist_ok=True)
    pq.write_table(table, project / "data" / "x.parquet", **write)
    fs.put(str(project / "data" / "x.parquet"), ob.split(url) + "/x.parquet")
    remote = read_to_local(project, url, columns, "s3", connection="lake")
    local = read_to_local(project, "data/x.parquet", columns, "local")
    return remote, local


def schema(table: pa.Table) -> pa.Schema:
    """The written columns' names and types; not whether each is marked required, which
    DuckDB derives from a local file's statistics (a column without nulls is written
    required) and not from a pyarrow dataset's."""
    return pa.schema([f.with_nullable(True) for f in table.schema])


@pytest.fixture
def scans(monkeypatch):
    """What each s3 read's parquet_dataset gave: True where the dataset was used."""
    seen: list[bool] = []
    real = s3_scan.parquet_dataset

    def spy(*args, **kwargs):
        found = real(*args, **kwargs)
        seen.append(found is not None)
        return found

    monkeypatch.setattr(s3_scan, "parquet_dataset", spy)
    return seen


@pytest.mark.parametrize("columns", [None, DECLARED], ids=["undeclared", "declared"])
@pytest.mark.parametrize("int96", [False, True], ids=["timestamps", "int96"])
def test_the_dataset_read_gives_a_local_reads_types_and_values(fs, project, scans, columns,
                                                               int96):
    if columns and int96:     # INT96 holds no zone
        columns = {**columns, "at_zone": {"type": "timestamp"}}
    remote, local = both_ways(fs, project, plain(), columns,
                              use_deprecated_int96_timestamps=int96)
    assert scans == [True]
    assert schema(remote) == schema(local)
    assert_same(remote, local)
    assert remote.num_rows == 3 and remote.column("note").to_pylist().count("") == 1


def test_other_types_are_read_through_read_parquet_as_before(fs, project, scans):
    """A nested or duration column: not known to scan as read_parquet reads it, so the
    read goes the old way, with the same result as a local read."""
    table = pa.table({"id": pa.array([1, 2], pa.int64()),
                      "tags": pa.array([[1, 2], None], pa.list_(pa.int64())),
                      "took": pa.array([5, None], pa.duration("s"))})
    remote, local = both_ways(fs, project, table, None)
    assert scans == [False]
    assert remote.schema.remove_metadata() == local.schema.remove_metadata()
    assert_same(remote, local)


def _listing(fs, parts: dict[str, int | None]):
    from etlc_runtime.s3_read import S3Listing

    fs, url = fs
    options = ob.s3_options({"connection": "lake"}, {"lake": "lake_t"})
    return S3Listing(url, tuple(parts), {}, options, len(parts),
                     {u: n for u, n in parts.items() if n is not None})


def test_a_listed_part_gone_or_rewritten_is_r220_naming_it(fs):
    base = fs[1].rstrip("/")
    part = f"{base}/part-0123456789abcdef-00000.parquet"
    with fs[0].open(ob.split(part), "wb") as f:
        pq.write_table(pa.table({"v": [1]}), f)
    size = fs[0].size(ob.split(part))
    assert s3_scan.parquet_dataset(_listing(fs, {part: size}), "__f") is not None
    for parts in ({part: size + 1}, {f"{base}/part-0123456789abcdef-00001.parquet": 10}):
        with pytest.raises(ob.ObjectStoreError) as info:
            s3_scan.parquet_dataset(_listing(fs, parts), "__f")
        assert info.value.code == "R220" and ob.split(next(iter(parts))) in info.value.url


def test_a_declared_column_a_part_lacks_is_r040_naming_it_as_locally(fs, project, scans):
    from etlc_runtime.errors import DataError

    columns = {"id": {"type": "int"}, "nope": {"type": "string"}}
    found = []
    for where in ("s3", "local"):
        with pytest.raises(Exception) as info:
            if where == "s3":
                both_ways(fs, project, plain(), columns)
            else:
                read_to_local(project, "data/x.parquet", columns, "local")
        err = DataError.from_exception(info.value)
        assert err is not None and err.code == "R040"
        found.append((err.column, err.file.rsplit("/", 1)[-1]))
    assert scans == [True]
    assert found == [("nope", "x.parquet")] * 2
