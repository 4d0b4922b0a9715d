"""The object-store commit on S3 (issue 12), against moto's S3 server on loopback: every
mode's version is exactly what the manifest lists, a killed attempt's parts never show and the
next commit removes them, credentials come from the connection and never reach a manifest."""

from __future__ import annotations

import json
import re
import secrets

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from etlc_runtime import object_store as ob
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rt_service_helpers import moto_endpoint, service_plan

SECRET = "moto-Secret-Key-123"


@pytest.fixture(scope="module")
def endpoint():
    with moto_endpoint() as url:
        yield url


@pytest.fixture
def fs(endpoint, monkeypatch, request):
    monkeypatch.setenv("AIRFLOW_CONN_LAKE_T", json.dumps({
        "conn_type": "aws", "login": "AKIDTEST", "password": SECRET,
        "extra": {"endpoint_url": endpoint, "region_name": "us-east-1"}}))
    opts = ob.s3_options({"connection": "lake"}, {"lake": "lake_t"})
    assert opts.endpoint_url == endpoint and opts.key == "AKIDTEST"
    assert SECRET not in repr(opts)
    fs = ob.filesystem(opts)
    name = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[:40]
    bucket = f"b-{name.strip('-')}-{secrets.token_hex(3)}"
    import boto3
    boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="AKIDTEST",
                 aws_secret_access_key=SECRET, region_name="us-east-1").create_bucket(
        Bucket=bucket)
    return fs, f"s3://{bucket}/tables/t/"


def write_part(fs, url: str, rows: list[int]) -> tuple[str, int]:
    with fs.open(url.split("://", 1)[1], "wb") as f:
        pq.write_table(pa.table({"v": pa.array(rows, pa.int64())}), f)
    return url, len(rows)


def version(fs, url: str) -> list[int]:
    out = []
    for part in ob.current_parts(fs, url):
        with fs.open(part.split("://", 1)[1], "rb") as f:
            out += pq.read_table(f).column("v").to_pylist()
    return sorted(out)


def objects(fs, url: str) -> set[str]:
    base = ob.split(url)
    return {p[len(base) + 1:] for p in fs.find(base)}


def test_overwrite_replaces_and_removes_the_old_parts(fs):
    fs, url = fs
    tx = ob.ObjectCommit(fs, url, "overwrite", ext="parquet", fmt="parquet")
    tx.commit([write_part(fs, tx.part_url(0), [1, 2]), write_part(fs, tx.part_url(1), [3])])
    assert version(fs, url) == [1, 2, 3]
    tx2 = ob.ObjectCommit(fs, url, "overwrite", ext="parquet", fmt="parquet")
    manifest = tx2.commit([write_part(fs, tx2.part_url(0), [7])])
    assert version(fs, url) == [7] and manifest["rows"] == 1
    assert objects(fs, url) == {ob.MANIFEST, manifest["parts"][0]["path"]}


def test_a_killed_attempt_never_shows_and_the_next_commit_removes_it(fs):
    fs, url = fs
    tx = ob.ObjectCommit(fs, url, "overwrite", ext="parquet", fmt="parquet")
    tx.commit([write_part(fs, tx.part_url(0), [1])])
    killed = ob.ObjectCommit(fs, url, "overwrite", ext="parquet", fmt="parquet")
    orphan, _ = write_part(fs, killed.part_url(0), [666])     # no commit: killed here
    assert version(fs, url) == [1]                            # readers trust the manifest
    retry = ob.ObjectCommit(fs, url, "overwrite", ext="parquet", fmt="parquet")
    retry.commit([write_part(fs, retry.part_url(0), [2])])
    assert version(fs, url) == [2]
    assert not fs.exists(orphan.split("://", 1)[1])
    assert len(objects(fs, url)) == 2


def test_overwrite_partitions_keeps_the_partitions_not_written(fs):
    fs, url = fs
    tx = ob.ObjectCommit(fs, url, "overwrite", ext="parquet", fmt="parquet")
    tx.commit([write_part(fs, tx.part_url(0, "d=1"), [10]),
               write_part(fs, tx.part_url(1, "d=2"), [20, 21])])
    tx2 = ob.ObjectCommit(fs, url, "overwrite_partitions", ext="parquet", fmt="parquet")
    manifest = tx2.commit([write_part(fs, tx2.part_url(0, "d=2"), [22]),
                           write_part(fs, tx2.part_url(1, "d=3"), [30])])
    assert version(fs, url) == [10, 22, 30]
    assert sorted(p["path"].split("/")[0] for p in manifest["parts"]) == ["d=1", "d=2", "d=3"]
    assert manifest["rows"] == 3 and len(objects(fs, url)) == 4


def test_append_keeps_other_dates_and_a_rerun_replaces_its_own(fs):
    fs, url = fs
    for key, rows in (("20260101", [1, 2]), ("20260102", [3]), ("20260101", [5])):
        tx = ob.ObjectCommit(fs, url, "append", ext="parquet", fmt="parquet", append_key=key)
        tx.commit([write_part(fs, tx.part_url(0), rows)])
    assert version(fs, url) == [3, 5]
    with pytest.raises(ValueError):
        ob.ObjectCommit(fs, url, "append", ext="parquet", fmt="parquet")


def test_manifest_holds_no_secret_and_foreign_data_is_listed(fs):
    fs, url = fs
    tx = ob.ObjectCommit(fs, url, "overwrite", ext="parquet", fmt="parquet")
    tx.commit([write_part(fs, tx.part_url(0), [1])])
    body = fs.cat(f"{ob.split(url)}/{ob.MANIFEST}")
    assert SECRET.encode() not in body and b"AKIDTEST" not in body
    # a prefix etlc did not write: every object but hidden ones
    other = url.replace("/t/", "/raw/")
    write_part(fs, other + "a.parquet", [4])
    write_part(fs, other + "x=1/b.parquet", [5])
    write_part(fs, other + "_tmp/c.parquet", [6])
    write_part(fs, other + ".hidden.parquet", [7])
    assert version(fs, other) == [4, 5]


def test_a_broken_manifest_is_r220(fs):
    fs, url = fs
    fs.pipe(f"{ob.split(url)}/{ob.MANIFEST}", b"{not json")
    with pytest.raises(ob.ObjectStoreError) as info:
        ob.current_parts(fs, url)
    assert info.value.code == "R220" and info.value.url == url


# -- s3:// datasets through the executor, on each engine ------------------------------------

CSV = "id,day,amount\n1,2026-01-01,10.25\n2,2026-01-01,3.10\n3,2026-01-02,7.00\n4,2026-01-03,\n"
COLUMNS = {"id": {"type": "int"}, "day": {"type": "date"},
           "amount": {"type": "decimal", "scale": 2}}


def s3_plan(engine: str, steps, datasets, task: str):
    return service_plan(steps, datasets, task, engine=engine, connections={"lake": "lake_t"})


@pytest.mark.parametrize("engine", ["duckdb", "pandas"])
def test_a_dataset_on_s3_round_trips_through_the_engines(fs, project, duck, engine):
    """local csv -> s3 parquet (partitioned, overwrite_partitions) -> local parquet: the rows
    equal DuckDB's read of the csv; a rerun replaces the partitions it writes, keeps the
    others, and leaves only the manifest's objects; the task's local S3 folder is gone."""
    from etlc_runtime import executor

    fs, url = fs
    (project / "data").mkdir()
    (project / "data" / "in.csv").write_text(CSV)
    lake = {"format": "parquet", "path": url, "connection": "lake", "partition_by": ["day"],
            "columns": COLUMNS}
    datasets = {"src": {"format": "csv", "path": "data/in.csv", "columns": COLUMNS},
                "lake": lake, "back": {"format": "parquet", "path": "out/back/"}}
    load = s3_plan(engine, [{"name": "raw", "read": "src"},
                            {"name": "up", "from": "raw", "write": "lake",
                             "mode": "overwrite_partitions"}], datasets, "up")
    down = s3_plan(engine, [{"name": "get", "read": "lake"},
                            {"name": "save", "from": "get", "write": "back",
                             "mode": "overwrite"}], datasets, "save")
    executor.run_task(load, {"run_id": "manual__1"})
    executor.run_task(down, {"run_id": "manual__1"})
    q = ("select id, day, amount from {} order by id")
    want = duck.sql(q.format(f"read_csv('{project}/data/in.csv', columns={{id: 'BIGINT', "
                             f"day: 'DATE', amount: 'DECIMAL(18,2)'}}, header=true)")).fetchall()
    got = duck.sql(q.format(f"read_parquet('{project}/out/back/*.parquet')")).fetchall()
    assert got == want
    manifest = json.loads(fs.cat(f"{ob.split(url)}/{ob.MANIFEST}"))
    assert manifest["rows"] == 4 and len(manifest["parts"]) == 3

    # a rerun with day 2026-01-02 only: that partition replaced, the others kept
    (project / "data" / "in.csv").write_text("id,day,amount\n9,2026-01-02,1.50\n")
    executor.run_task(load, {"run_id": "manual__2"})
    executor.run_task(down, {"run_id": "manual__2"})
    got = duck.sql(q.format(f"read_parquet('{project}/out/back/*.parquet')")).fetchall()
    assert [r[0] for r in got] == [1, 2, 4, 9]
    assert objects(fs, url) == {ob.MANIFEST} | {p["path"] for p in json.loads(
        fs.cat(f"{ob.split(url)}/{ob.MANIFEST}"))["parts"]}
    assert not any((project / ".etlc" / "s3").glob("*/*"))


# -- the commit against a model -----------------------------------------------------------


WRITES = st.lists(st.tuples(
    st.sampled_from(["overwrite", "overwrite_partitions", "append"]),
    st.sampled_from(["k1", "k2"]),                               # the append key
    st.dictionaries(st.sampled_from(["d=1", "d=2", "d=3"]),      # partition -> rows
                    st.lists(st.integers(-2 ** 63, 2 ** 63 - 1), min_size=1, max_size=3),
                    min_size=1, max_size=3),
    st.booleans()), min_size=1, max_size=5)                     # killed before the commit


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(writes=WRITES)
@example(writes=[("append", "k1", {"d=1": [5]}, False), ("overwrite", "k1", {"d=2": [1]}, True),
                 ("append", "k2", {"d=1": [7]}, False), ("append", "k1", {"d=1": [6]}, False)])
@example(writes=[("overwrite", "k1", {"d=1": [1], "d=2": [2]}, False),
                 ("overwrite_partitions", "k1", {"d=2": [3], "d=3": [4]}, False),
                 ("append", "k1", {"d=1": [5]}, False)])
@example(writes=[("overwrite", "k1", {"d=1": [1]}, True)])
def test_any_sequence_of_writes_and_kills_equals_the_model(fs, writes):
    """After any sequence of committed and killed writes, the version is exactly the model's
    rows and the prefix holds only the manifest's objects (plus a killed attempt's parts when
    the last write was killed)."""
    fs, url = fs
    url = url.rstrip("/") + f"-{secrets.token_hex(4)}/"            # a fresh prefix
    model: dict[tuple[str, str], list[int]] = {}     # (partition, append key or '') -> rows
    for mode, key, data, killed in writes:
        key = key if mode == "append" else ""
        tx = ob.ObjectCommit(fs, url, mode, ext="parquet", fmt="parquet", append_key=key or None)
        parts = [write_part(fs, tx.part_url(i, p), rows)
                 for i, (p, rows) in enumerate(sorted(data.items()))]
        if killed:
            continue
        tx.commit(parts)
        if mode == "overwrite":
            model = {}
        elif mode == "overwrite_partitions":
            model = {pk: v for pk, v in model.items() if pk[0] not in data}
        else:
            model = {pk: v for pk, v in model.items() if pk[1] != key}
        for p, rows in data.items():
            model[(p, key)] = model.get((p, key), []) + rows
    assert version(fs, url) == sorted(v for rows in model.values() for v in rows)
    if not writes[-1][3]:
        listed = {p["path"] for p in json.loads(fs.cat(f"{ob.split(url)}/{ob.MANIFEST}"))["parts"]}
        assert objects(fs, url) == {ob.MANIFEST} | listed
