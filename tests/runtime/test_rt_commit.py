"""The commit protocol under SIGKILL: a write killed at every step of the protocol, then rerun,
leaves exactly a clean run's rows; a reader between any two steps sees the old or the new
dataset; concurrent writers never mix (issue 8)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from etlc_runtime import commit
from etlc_runtime.io_read import read_dataset
from etlc_runtime.io_write import write_dataset
from etlc_runtime.templating import macros
from rt_commit_worker import frame

WORKER = Path(__file__).with_name("rt_commit_worker.py")
M = macros("r", "2025-01-02", {})
COLUMNS = {"id": {"type": "int"}, "g": {"type": "string"}, "v": {"type": "float"}}
D1, D2 = "date_2025-01-01", "date_2025-01-02"
KILLED = -signal.SIGKILL
SWAPS = ("exchanged", "moved_in", "renamed", "replaced")


class Worker:
    """The fork server of rt_commit_worker.py, one per test module."""

    def __init__(self):
        # the worker imports the etlc_runtime this process imported (under `make mutation`,
        # the mutated copy; otherwise the installed one is the same code)
        path = [str(Path(commit.__file__).resolve().parents[1]), os.environ.get("PYTHONPATH")]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in path if p)}
        self.proc = subprocess.Popen([sys.executable, str(WORKER)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=env)

    def run(self, writes, fault=None, log=None, exchange=True) -> list[int]:
        self.proc.stdin.write(json.dumps({"writes": writes, "fault": fault, "fault_log": log,
                                          "exchange": exchange}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, "the fork server died"
        return json.loads(line)["status"]

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


@pytest.fixture(scope="module")
def worker():
    w = Worker()
    yield w
    w.close()


def rows(ids, g="a") -> dict:
    ids = list(ids)
    return {"id": ids, "g": [g] * len(ids), "v": [i * 1.5 for i in ids]}


def plus(*parts: dict) -> dict:
    return {k: [x for p in parts for x in p[k]] for k in ("id", "g", "v")}


def write(root: Path, case: dict, data: dict, key: str) -> dict:
    return {"rows": data, "dataset": case["ds"], "mode": case["mode"], "key": key,
            "root": str(root)}


def write_here(root: Path, case: dict, data: dict, key: str):
    write_dataset(frame(data), case["ds"], case["mode"], M, root, key)


def read(root: Path, ds: dict):
    """Sorted (id, g, v) rows, or None when there is no dataset to read."""
    try:
        df = read_dataset({**ds, "columns": COLUMNS}, M, root)
    except FileNotFoundError:
        return None
    return sorted(zip(df["id"].tolist(), df["g"].tolist(), df["v"].tolist()))


def leftovers(root: Path, ds: dict) -> list[str]:
    """Names the protocol made that are still there (the dataset marker aside)."""
    target = root / ds["path"].rstrip("/")
    found = [p.name for p in target.parent.iterdir() if commit.is_internal(p.name)]
    if target.is_dir():
        found += [str(p) for p in target.rglob("*")
                  if commit.is_internal(p.name) and p.name != commit.MARKER]
    return found


CASES = {
    "parquet_overwrite": {"ds": {"format": "parquet", "path": "out/t/"}, "mode": "overwrite",
                          "before": [(rows([1, 2, 3]), D1)], "after": (rows([10, 11, 12]), D1)},
    "csv_overwrite": {"ds": {"format": "csv", "path": "out/t/"}, "mode": "overwrite",
                      "before": [(rows([1, 2]), D1)], "after": (rows([10, 11, 12]), D1)},
    "json_overwrite": {"ds": {"format": "json", "path": "out/t/"}, "mode": "overwrite",
                       "before": [(rows([1, 2]), D1)], "after": (rows([10, 11, 12]), D1)},
    "parquet_file": {"ds": {"format": "parquet", "path": "out/t.parquet"}, "mode": "overwrite",
                     "before": [(rows([1, 2]), D1)], "after": (rows([10, 11]), D1)},
    "csv_file": {"ds": {"format": "csv", "path": "out/t.csv"}, "mode": "overwrite",
                 "before": [(rows([1, 2]), D1)], "after": (rows([10, 11]), D1)},
    "json_file": {"ds": {"format": "json", "path": "out/t.jsonl"}, "mode": "overwrite",
                  "before": [(rows([1, 2]), D1)], "after": (rows([10, 11]), D1)},
    "parquet_overwrite_partitions": {
        "ds": {"format": "parquet", "path": "out/t/", "partition_by": ["g"]},
        "mode": "overwrite_partitions",
        "before": [(plus(rows([1, 2], "a"), rows([3], "b")), D1)],
        "after": (plus(rows([30, 31], "b"), rows([40], "c")), D1)},
    "csv_overwrite_partitions": {
        "ds": {"format": "csv", "path": "out/t/", "partition_by": ["g"]},
        "mode": "overwrite_partitions",
        "before": [(plus(rows([1, 2], "a"), rows([3], "b")), D1)],
        "after": (plus(rows([30], "b"), rows([40], "c")), D1)},
    "csv_append": {"ds": {"format": "csv", "path": "out/t/"}, "mode": "append",
                   "before": [(rows([1, 2]), D1), (rows([3]), D2)],
                   "after": (rows([30, 31]), D2)},
    "parquet_partitioned_append": {
        "ds": {"format": "parquet", "path": "out/t/", "partition_by": ["g"]}, "mode": "append",
        "before": [(plus(rows([1, 2], "a"), rows([3], "b")), D1),
                   (plus(rows([4], "a"), rows([5], "c")), D2)],
        "after": (plus(rows([40], "a"), rows([41], "b")), D2)},
    "json_append": {"ds": {"format": "json", "path": "out/t/"}, "mode": "append",
                    "before": [(rows([1, 2]), D1)], "after": (rows([30]), D2)},
}
FALLBACK = ["parquet_overwrite", "parquet_overwrite_partitions", "parquet_partitioned_append",
            "csv_file"]


def setup(root: Path, case: dict):
    for data, key in case["before"]:
        write_here(root, case, data, key)
    return read(root, case["ds"])


def fault_points(tmp_path: Path, worker: Worker, case: dict, exchange: bool) -> list[str]:
    probe = tmp_path / "probe"
    setup(probe, case)
    log = tmp_path / "points.log"
    data, key = case["after"]
    assert worker.run([write(probe, case, data, key)], fault="never", log=str(log),
                      exchange=exchange) == [0]
    return [line.split()[1] for line in log.read_text().splitlines()]


@pytest.mark.parametrize("name,exchange", [(n, True) for n in CASES] +
                         [(n, False) for n in FALLBACK])
def test_kill_at_every_step_then_rerun_gives_a_clean_run(tmp_path, worker, monkeypatch, name,
                                                          exchange):
    case = CASES[name]
    monkeypatch.setattr(commit, "use_exchange", exchange)
    clean = tmp_path / "clean"
    old = setup(clean, case)
    data, key = case["after"]
    write_here(clean, case, data, key)
    new = read(clean, case["ds"])
    assert old and new and old != new
    points = fault_points(tmp_path, worker, case, exchange)
    assert "part_written" in points and points[-1] in ("cleaned", "replaced")
    swap = min(points.index(p) for p in SWAPS if p in points)  # the step readers switch at
    for n, point in enumerate(points, start=1):
        root = tmp_path / f"kill{n}"
        setup(root, case)
        assert worker.run([write(root, case, data, key)], fault=str(n),
                          exchange=exchange) == [KILLED], point
        seen = read(root, case["ds"])
        if point == "moved_aside":  # the fallback's one window: no dataset, never a mix
            assert seen is None
        else:
            assert seen == (old if n - 1 < swap else new), point
        write_here(root, case, data, key)
        assert read(root, case["ds"]) == new, point
        assert leftovers(root, case["ds"]) == [], point


def test_kill_between_renames_keeps_dataset(tmp_path, worker):
    """Fallback swap killed between its two renames: the next write rolls the journal
    forward first, so the killed run's complete new version is what it builds on."""
    case = CASES["parquet_partitioned_append"]
    setup(tmp_path, case)
    data, key = case["after"]
    target = tmp_path / "out" / "t"
    assert worker.run([write(tmp_path, case, data, key)], fault="moved_aside",
                      exchange=False) == [KILLED]
    assert not target.exists()
    assert [p.name for p in target.parent.iterdir() if ".etlc-commit-" in p.name]
    with commit.Commit(target, fmt="parquet", single=False):
        pass  # entering recovers: journal rolled forward, leftovers removed
    assert read(tmp_path, case["ds"]) == sorted(
        [(1, "a", 1.5), (2, "a", 3.0), (3, "b", 4.5), (40, "a", 60.0), (41, "b", 61.5)])
    assert leftovers(tmp_path, case["ds"]) == []


def test_kill_after_journal_before_swap_rolls_forward(tmp_path, worker):
    case = CASES["parquet_overwrite"]
    old = setup(tmp_path, case)
    data, key = case["after"]
    assert worker.run([write(tmp_path, case, data, key)], fault="journal_committed") == [KILLED]
    assert read(tmp_path, case["ds"]) == old
    with commit.Commit(tmp_path / "out" / "t", fmt="parquet", single=False):
        pass
    assert read(tmp_path, case["ds"]) == sorted(zip(data["id"], data["g"], data["v"]))


@pytest.mark.parametrize("ds", [{"format": "parquet", "path": "out/t/"},
                                {"format": "csv", "path": "out/t.csv"},
                                {"format": "parquet", "path": "out/p/", "partition_by": ["g"]}])
def test_concurrent_overwrites_give_one_writers_rows(tmp_path, worker, ds):
    case = {"ds": ds, "mode": "overwrite"}
    a, b = rows(range(300), "a"), plus(rows(range(1000, 1200), "b"), rows([7], "c"))
    expect = [sorted(zip(r["id"], r["g"], r["v"])) for r in (a, b)]
    for _ in range(3):
        assert worker.run([write(tmp_path, case, a, D1), write(tmp_path, case, b, D1)]) == [0, 0]
        assert read(tmp_path, ds) in expect
        assert leftovers(tmp_path, ds) == []


def test_concurrent_appends_of_two_dates_keep_both(tmp_path, worker):
    case = {"ds": {"format": "parquet", "path": "out/a/", "partition_by": ["g"]},
            "mode": "append"}
    a, b = rows(range(100), "x"), plus(rows(range(500, 600), "x"), rows([9], "y"))
    for _ in range(3):
        assert worker.run([write(tmp_path, case, a, D1), write(tmp_path, case, b, D2)]) == [0, 0]
        assert read(tmp_path, case["ds"]) == sorted(
            zip(a["id"] + b["id"], a["g"] + b["g"], a["v"] + b["v"]))
