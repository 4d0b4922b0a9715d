"""Staging on S3 (issue 12), against moto's S3 server on loopback: a producer task's staged
output is committed under the s3:// staging root (parts, then the manifest), a consumer task
on the same or another engine reads exactly those rows, a retry replaces the attempt's parts,
nothing is staged on the local disk, and a consumer before its producer is a staging error."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
import test_s3_object_store as moto_s3
from etlc_runtime import executor
from etlc_runtime import object_store as ob
from etlc_runtime.errors import StepError
from rt_service_helpers import service_plan

endpoint, fs = moto_s3.endpoint, moto_s3.fs   # the moto server's fixtures

CSV = "id,name,amount\n1,a,1.50\n2,,-3.25\n3,c,\n4,dd,1000000.01\n"
COLUMNS = {"id": {"type": "int"}, "name": {"type": "string"},
           "amount": {"type": "decimal", "scale": 2}}


def plans(bucket_url: str, producer: str, consumer: str) -> tuple[dict, dict]:
    staging = {"connection": "lake", "path": bucket_url.replace("/tables/t/", "/stage/")}
    datasets = {"src": {"format": "csv", "path": "data/in.csv", "columns": COLUMNS},
                "back": {"format": "parquet", "path": "out/back/"}}
    first = service_plan([{"name": "raw", "read": "src"},
                          {"name": "big", "from": "raw", "filter": "id > 1"}], datasets, "big",
                         engine=producer, connections={"lake": "lake_t"})
    first.update(output="big", staging=staging)
    second = service_plan([{"name": "save", "from": "big", "write": "back",
                            "mode": "overwrite"}], datasets, "save", engine=consumer,
                          connections={"lake": "lake_t"})
    second.update(inputs={"big": "big"}, staging=staging)
    return first, second


@pytest.mark.parametrize(("producer", "consumer"), [("duckdb", "duckdb"), ("pandas", "duckdb"),
                                                    ("duckdb", "dask")])
def test_a_stage_on_s3_hands_the_rows_over(fs, project, producer, consumer):
    fs, url = fs
    (project / "data").mkdir()
    (project / "data" / "in.csv").write_text(CSV)
    first, second = plans(url, producer, consumer)
    done = executor.run_task(first, {"run_id": "manual__1"})
    key = ob.split(first["staging"]["path"]) + "/p/manual__1/big"
    assert done["manifest"] == f"s3://{key}/_manifest.json"
    manifest = json.loads(fs.cat(f"{key}/_manifest.json"))
    assert manifest["rows"] == 3 and b"Secret" not in fs.cat(f"{key}/_manifest.json")
    assert sorted(p.rsplit("/", 1)[1] for p in fs.find(key)) == sorted(
        manifest["parts"] + ["_manifest.json"])

    executor.run_task(second, {"run_id": "manual__1"})
    got = pq.read_table(project / "out" / "back").sort_by("id").to_pylist()
    assert [(r["id"], r["name"], None if r["amount"] is None else str(r["amount"]))
            for r in got] == [(2, None, "-3.25"), (3, "c", None), (4, "dd", "1000000.01")]

    executor.run_task(first, {"run_id": "manual__1"})        # a retry: its own parts only
    again = json.loads(fs.cat(f"{key}/_manifest.json"))
    assert again["attempt"] != manifest["attempt"]
    assert sorted(p.rsplit("/", 1)[1] for p in fs.find(key)) == sorted(
        again["parts"] + ["_manifest.json"])
    assert not (project / ".etlc" / "staging").exists()
    assert not any((project / ".etlc" / "s3").glob("*/*"))


def test_a_consumer_before_its_producer_is_a_staging_error(fs, project):
    fs, url = fs
    _, second = plans(url, "duckdb", "duckdb")
    with pytest.raises(StepError) as info:
        executor.run_task(second, {"run_id": "manual__none"})
    assert "no committed staging manifest at s3://" in str(info.value)
