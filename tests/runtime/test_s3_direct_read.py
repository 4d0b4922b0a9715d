"""Reads of s3:// Parquet datasets in place (issue 12), against moto's S3 server on loopback:
every engine reads the manifest's parts itself, no local copy; a filter on a partition
column leaves the other partitions' objects unread; the columns a task does not use are not
fetched; a prefix etlc did not write is read whole (its files may hold the columns)."""

from __future__ import annotations

import secrets

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import test_s3_object_store as moto_s3
from etlc_runtime import executor
from etlc_runtime import object_store as ob
from rt_service_helpers import service_plan

endpoint, fs = moto_s3.endpoint, moto_s3.fs   # the moto server's fixtures

ENGINES = ["duckdb", "pandas", "dask"]
COLUMNS = {"id": {"type": "int"}, "day": {"type": "date"}, "note": {"type": "string"},
           "pad": {"type": "string"}}


def plan(engine, steps, datasets, task):
    return service_plan(steps, datasets, task, engine=engine, connections={"lake": "lake_t"})


def lake(url: str) -> dict:
    return {"format": "parquet", "path": url, "connection": "lake", "partition_by": ["day"],
            "columns": COLUMNS}


def load(project, url: str, rows: int = 30, pad: int = 10) -> None:
    """``rows`` rows over three days written to the S3 dataset by etlc (duckdb engine)."""
    (project / "data").mkdir(exist_ok=True)
    import datetime as dt
    pq.write_table(pa.table({
        "id": pa.array(range(rows), pa.int64()),
        "day": pa.array([dt.date(2026, 1, 1 + i % 3) for i in range(rows)], pa.date32()),
        "note": pa.array([f"n{i}" for i in range(rows)]),
        "pad": pa.array([secrets.token_hex(4 * pad) for i in range(rows)])}),   # incompressible
        project / "data" / "in.parquet")
    datasets = {"src": {"format": "parquet", "path": "data/in.parquet", "columns": COLUMNS},
                "lake": lake(url)}
    executor.run_task(plan("duckdb", [{"name": "raw", "read": "src"},
                                      {"name": "up", "from": "raw", "write": "lake",
                                       "mode": "overwrite"}], datasets, "up"),
                      {"run_id": "manual__load"})


def read_back(project, engine: str, url: str, read_step: dict) -> list[tuple]:
    datasets = {"lake": lake(url), "back": {"format": "parquet", "path": "out/back/"}}
    executor.run_task(plan(engine, [{"name": "get", "read": "lake", **read_step},
                                    {"name": "save", "from": "get", "write": "back",
                                     "mode": "overwrite"}], datasets, "save"),
                      {"run_id": "manual__read"})
    table = pq.read_table(project / "out" / "back")
    return sorted(tuple(r.values()) for r in table.to_pylist())


def part_of(fs, url: str, day: str) -> str:
    return next(p for p in ob.current_parts(fs, url) if f"day={day}/" in p)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_filter_on_the_partition_column_reads_only_its_partitions(fs, project, engine):
    """The other days' parts are made unreadable: the pruned read never touches them (and
    equals the rows the filter keeps); an unfiltered read does touch them and fails."""
    fs, url = fs
    load(project, url)
    for day in ("2026-01-01", "2026-01-03"):
        fs.pipe(ob.split(part_of(fs, url, day)), b"not parquet at all")
    got = read_back(project, engine, url, {"filter": "day = date '2026-01-02' and id >= 0",
                                           "select": ["id", "note"]})
    assert got == [(i, f"n{i}") for i in range(30) if i % 3 == 1]
    got = read_back(project, engine, url, {
        "filter": "not (day not between date '2026-01-02' and date '2026-01-02') "
                  "or day is null or day in (date '2027-01-01')", "select": ["id"]})
    assert got == [(i,) for i in range(30) if i % 3 == 1]
    for other in ({"select": ["id"]}, {"filter": "day = date '2026-01-02' or id < 0"}):
        with pytest.raises(Exception) as info:
            read_back(project, engine, url, other)     # every part is read: one is garbage
        assert "part-" in str(info.value) or "parquet" in str(info.value).lower()


@pytest.mark.parametrize("engine", ENGINES)
def test_a_filter_that_keeps_no_partition_gives_no_rows(fs, project, engine):
    fs, url = fs
    load(project, url)
    assert read_back(project, engine, url, {"filter": "day > date '2030-01-01'",
                                            "select": ["id"]}) == []


@pytest.mark.parametrize("engine", ["duckdb", "pandas"])
def test_only_the_columns_used_are_fetched(fs, project, engine, monkeypatch):
    """A read of the small columns fetches well under the objects' size (the wide ``pad``
    column stays on S3); reading ``pad`` too fetches at least its bytes.  The bytes are
    counted in s3fs, which pyarrow's client is swapped for here (through pyarrow's
    PyFileSystem: the same ranges asked)."""
    import s3fs.core
    from etlc_runtime import s3_read
    from pyarrow import fs as pafs

    fs, url = fs
    load(project, url, rows=24000, pad=40)   # parts over 2 MB: DuckDB fetches a small one whole
    total = sum(fs.size(ob.split(p)) for p in ob.current_parts(fs, url))
    fetched = []
    real = s3fs.core.S3File._fetch_range

    def counting(self, start, end):
        data = real(self, start, end)
        fetched.append(len(data))
        return data

    monkeypatch.setattr(s3fs.core.S3File, "_fetch_range", counting)
    monkeypatch.setattr(s3_read, "arrow_filesystem", lambda options: pafs.PyFileSystem(
        pafs.FSSpecHandler(s3_read.filesystem(options))))
    s3_read.duckdb_filesystem.cache_clear()
    try:
        read_back(project, engine, url, {"select": ["id", "day"]})
        small = sum(fetched)
        fetched.clear()
        read_back(project, engine, url, {"select": ["id", "pad"]})
        wide = sum(fetched)
    finally:
        s3_read.duckdb_filesystem.cache_clear()
    assert 0 < small < total / 4 and wide > total / 2, (small, wide, total)


@pytest.mark.parametrize("engine", ENGINES)
def test_no_local_copy_is_made(fs, project, engine, monkeypatch):
    """The read goes to the object store: the bridge's download is never called."""
    from etlc_runtime import s3_bridge

    fs, url = fs
    load(project, url)
    monkeypatch.setattr(s3_bridge.S3Bridge, "_scratch",
                        lambda *a: pytest.fail("a local copy was made"))
    got = read_back(project, engine, url, {"select": ["id", "day"]})
    assert [r[0] for r in got] == list(range(30))


@pytest.mark.parametrize("engine", ENGINES)
def test_a_foreign_prefix_is_never_pruned(fs, project, engine):
    """Data etlc did not write (no manifest) may hold the partition column in its files: a
    folder saying day=2026-01-09 over rows of 2026-01-02 keeps its rows (the files win)."""
    import datetime as dt

    fs, url = fs
    foreign = url.replace("/t/", "/raw/")
    with fs.open(ob.split(foreign) + "/day=2026-01-09/a.parquet", "wb") as f:
        pq.write_table(pa.table({"id": [1], "day": pa.array([dt.date(2026, 1, 2)]),
                                 "note": ["x"], "pad": ["y"]}), f)
    got = read_back(project, engine, foreign, {"filter": "day = date '2026-01-02'",
                                               "select": ["id"]})
    assert got == [(1,)]


def test_the_manifest_records_each_parts_bytes(fs, project):
    fs, url = fs
    load(project, url)
    manifest = ob.read_manifest(fs, url)
    sizes = {p["path"]: p["bytes"] for p in manifest["parts"]}
    assert len(sizes) == 3
    assert sizes == {ob.split(u)[len(ob.split(url)) + 1:]: fs.size(ob.split(u))
                     for u in ob.current_parts(fs, url)}


def test_duckdb_opens_a_listed_part_once(fs, project, caplog):
    """The sizes come from the manifest and each part is opened once: one HEAD (pyarrow's
    open) for the one part read (DuckDB asked for existence, size and time and reopened it
    per bind and thread: 16 HEADs)."""
    import logging

    fs, url = fs
    load(project, url)
    caplog.set_level(logging.INFO, logger="werkzeug")
    got = read_back(project, "duckdb", url, {"filter": "day = date '2026-01-02'",
                                             "select": ["id", "note"]})
    assert got == [(i, f"n{i}") for i in range(30) if i % 3 == 1]
    requests = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert any('"GET /' in m and "/part-" in m for m in requests)      # the log is seen
    assert len([m for m in requests if '"HEAD /' in m and "/part-" in m]) == 1


@pytest.mark.parametrize("day, change", [("2026-01-02", "shorter"), ("2026-01-01", "longer")])
def test_a_part_rewritten_after_its_commit_fails_naming_it(fs, project, day, change):
    """Not a silent read of other bytes: a part whose size no longer matches its manifest
    entry is R220 naming it, whether this process opened it for an earlier read (day 2) or
    not (day 1, pruned by the first read)."""
    fs, url = fs
    load(project, url)
    part = part_of(fs, url, day)
    assert read_back(project, "duckdb", url, {"filter": "day = date '2026-01-02'",
                                              "select": ["id"]})
    body = fs.cat(ob.split(part))
    fs.pipe(ob.split(part), body[:-1] if change == "shorter" else body + b"x")
    with pytest.raises(Exception) as info:
        read_back(project, "duckdb", url, {"select": ["id"]})
    assert "R220" in str(info.value) and ob.split(part) in str(info.value)


def test_duckdb_fetches_a_parts_footer_once_per_read(fs, project, caplog):
    """R040's schema check, the bind and the scan share one fetch of each part's Parquet
    footer (DuckDB's metadata cache): a read costs the footer's GET once, then the data's;
    a second read of the same part in this process fetches as many as the first."""
    import logging

    fs, url = fs
    load(project, url)
    caplog.set_level(logging.INFO, logger="werkzeug")
    step = {"filter": "day = date '2026-01-02'", "select": ["id", "note"]}
    gets = []
    for _ in range(2):
        caplog.clear()
        assert read_back(project, "duckdb", url, step) == \
            [(i, f"n{i}") for i in range(30) if i % 3 == 1]
        gets.append(len([r for r in caplog.records if r.name == "werkzeug"
                         and "GET /" in r.getMessage() and "/part-" in r.getMessage()]))
    # one GET for the footer and one for this small part's columns (5 before: the footer
    # was fetched again by the bind and by the scan)
    assert gets[0] == gets[1] <= 2
