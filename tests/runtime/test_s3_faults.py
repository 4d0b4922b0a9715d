"""A writer of an s3:// dataset SIGKILLed mid-upload (issue 12's faults), against moto's S3
server on loopback: a subprocess runs the task's ``overwrite_partitions`` write and is killed
after its first part is uploaded, after every part (before the manifest), or after the
manifest (before the old parts are removed); the next read sees one whole version (the old
one, or the new one once the manifest is published), and the retry leaves exactly a clean
run's rows and no object the manifest does not list."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest
import test_s3_object_store as moto_s3
from etlc_runtime import executor
from etlc_runtime import object_store as ob
from rt_service_helpers import service_plan

endpoint, fs = moto_s3.endpoint, moto_s3.fs   # the moto server's fixtures

COLUMNS = {"id": {"type": "int"}, "day": {"type": "date"}}
FIRST = "id,day\n" + "".join(f"{i},2026-01-0{1 + i % 3}\n" for i in range(30))
SECOND = "id,day\n" + "".join(f"{100 + i},2026-01-0{2 + 2 * (i % 2)}\n" for i in range(20))

CHILD = """
import json, sys, time
from pathlib import Path
from etlc_runtime import executor, object_store as ob

plan, marker, where = json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2]), sys.argv[3]

def stop(*args, **kwargs):
    marker.write_text("stopped")
    time.sleep(600)                      # SIGKILLed here by the test

if where == "part":                      # the second part's name: the first is uploaded
    real = ob.ObjectCommit.part_url
    def part_url(self, index, partition=None):
        if index == 1:
            stop()
        return real(self, index, partition)
    ob.ObjectCommit.part_url = part_url
elif where == "manifest":                # every part uploaded, no manifest
    ob.ObjectCommit.commit = stop
else:                                    # the manifest published, the old parts not removed
    ob.ObjectCommit.collect = stop
executor.run_task(plan, {"run_id": "manual__2"})
"""


def plans(url: str) -> tuple[dict, dict]:
    datasets = {"src": {"format": "csv", "path": "data/in.csv", "columns": COLUMNS},
                "lake": {"format": "parquet", "path": url, "connection": "lake",
                         "partition_by": ["day"], "columns": COLUMNS},
                "back": {"format": "parquet", "path": "out/back/"}}
    conns = {"lake": "lake_t"}
    load = service_plan([{"name": "raw", "read": "src"},
                         {"name": "up", "from": "raw", "write": "lake",
                          "mode": "overwrite_partitions"}], datasets, "up", connections=conns)
    down = service_plan([{"name": "get", "read": "lake"},
                         {"name": "save", "from": "get", "write": "back", "mode": "overwrite"}],
                        datasets, "save", connections=conns)
    return load, down


def rows(project, down: dict) -> list[tuple]:
    executor.run_task(down, {"run_id": "manual__read"})
    table = pq.read_table(project / "out" / "back")
    return sorted(zip(table.column("id").to_pylist(), map(str, table.column("day").to_pylist())))


def load_csv(project, load: dict, text: str, run_id: str) -> None:
    (project / "data" / "in.csv").write_text(text)
    executor.run_task(load, {"run_id": run_id})


def stray(fs, url: str) -> set[str]:
    base = ob.split(url)
    listed = {p["path"] for p in json.loads(fs.cat(f"{base}/{ob.MANIFEST}"))["parts"]}
    return {p[len(base) + 1:] for p in fs.find(base)} - listed - {ob.MANIFEST}


def kill_mid_write(project, load: dict, where: str) -> None:
    """Run the load in a subprocess, wait until it stops at ``where``, SIGKILL it."""
    (project / "data" / "in.csv").write_text(SECOND)
    (project / "plan.json").write_text(json.dumps(load))
    (project / "child.py").write_text(CHILD)
    marker = project / "stopped"
    child = subprocess.Popen([sys.executable, str(project / "child.py"),
                              str(project / "plan.json"), str(marker), where],
                             cwd=project, env=dict(os.environ))
    try:
        for _ in range(1200):                 # a guard against a hung child, not a measure
            if marker.exists() or child.poll() is not None:
                break
            time.sleep(0.1)
        assert marker.exists(), f"the writer ended ({child.poll()}) before the kill point"
    finally:
        child.send_signal(signal.SIGKILL)
        assert child.wait() == -signal.SIGKILL


@pytest.mark.parametrize("where", ["part", "manifest", "cleanup"])
def test_a_writer_killed_mid_upload_leaves_one_version_and_the_retry_a_clean_one(
        fs, project, where):
    fs, url = fs
    (project / "data").mkdir()
    clean_url = url.rstrip("/") + "-clean/"
    for target in (url, clean_url):
        load, down = plans(target)
        load_csv(project, load, FIRST, "manual__1")
    old = rows(project, down)
    load, down = plans(clean_url)
    load_csv(project, load, SECOND, "manual__2")
    clean = rows(project, down)
    assert clean != old and len(clean) == 40    # days 01 and 03 kept, 02 replaced, 04 new

    load, down = plans(url)
    kill_mid_write(project, load, where)
    assert stray(fs, url)                       # the killed attempt's garbage is there
    assert rows(project, down) == (clean if where == "cleanup" else old)
    load_csv(project, load, SECOND, "manual__2")    # the retry
    assert rows(project, down) == clean
    assert stray(fs, url) == set()
