"""Regression tests named after issue 8's findings on file writes."""

from __future__ import annotations

import datetime as dt
import fcntl
import os

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from etlc_runtime import commit, executor, hive
from etlc_runtime.commit import CommitError, append_key
from etlc_runtime.io_read import read_dataset
from etlc_runtime.io_write import write_dataset
from etlc_runtime.templating import macros
from rt_helpers import task_plan

M = macros("r", "2025-01-02", {})


def ids_frame(ids, g="a"):
    return pd.DataFrame({"id": pd.array(ids, dtype="Int64"),
                         "g": pd.array([g] * len(ids), dtype="string")})


def read_ids(root, ds):
    return sorted(read_dataset(ds, M, root)["id"].tolist())


def test_two_runs_do_not_share_a_temp_file(project):
    target = project / "out" / "out.csv"
    a = commit.Commit(target, fmt="csv", single=True)
    b = commit.Commit(target, fmt="csv", single=True)
    assert a.new != b.new and a.journal != b.journal
    for tx in (a, b):
        assert tx.new.parent == target.parent
        assert tx.new.name.startswith(".out.csv.etlc-tmp-") and tx.new.name.endswith(".csv")
        assert tx.token in tx.new.name and tx.new.name != ".out.csv.csv"


def test_leftover_old_folder_is_not_read(project, duck):
    ds = {"format": "parquet", "path": "out/p/", "partition_by": ["g"]}
    write_dataset(ids_frame([1, 2], "0"), ds, "overwrite_partitions", M, project, "k")
    # what a killed run of the old writer left behind, inside and beside the dataset
    stale = project / "out" / "p" / ".g=0.etlc-old-1234abcd"
    stale.mkdir()
    pq.write_table(pa.table({"id": [99]}), stale / "part-00000.parquet")
    beside = project / "out" / ".p.etlc-tmp-5678"
    (beside / "g=0").mkdir(parents=True)
    pq.write_table(pa.table({"id": [98]}), beside / "g=0" / "part-00000.parquet")
    stray = project / "out" / "p" / "g=0" / ".part-00000.parquet.etlc-tmp-9"
    pq.write_table(pa.table({"id": [97]}), stray)
    assert read_ids(project, ds) == [1, 2]
    write_dataset(ids_frame([3], "1"), ds, "overwrite_partitions", M, project, "k")
    assert not stale.exists() and not beside.exists() and not stray.exists()
    assert sorted(r[0] for r in duck.sql(
        f"select id from read_parquet('{project}/out/p/**/*.parquet')").fetchall()) == [1, 2, 3]


def test_leftovers_of_earlier_attempts_are_removed(project):
    ds = {"format": "csv", "path": "out/c/"}
    write_dataset(ids_frame([1]), ds, "overwrite", M, project, "k")
    out = project / "out"
    for name in (".c.etlc-tmp-aa", ".c.etlc-old-bb", ".c.etlc-tmp-cc.journal"):
        (out / name).mkdir() if "journal" not in name else (out / name).write_text("{")
    (out / ".c.etlc-tmp-aa" / "big.csv").write_text("id\n1\n" * 1000)
    (out / ".other.etlc-tmp-dd").mkdir()  # another target's: not ours to remove
    write_dataset(ids_frame([2]), ds, "overwrite", M, project, "k")
    assert sorted(p.name for p in out.iterdir()) == [".other.etlc-tmp-dd", "c"]
    assert sorted(p.name for p in (out / "c").iterdir()) == [".etlc-dataset", "part-00000.csv"]


def test_null_and_default_partition_name_do_not_collide(project):
    ds = {"format": "parquet", "path": "out/n/", "partition_by": ["g"]}
    df = pd.DataFrame({"id": pd.array([1, 2, 3], dtype="Int64"),
                       "g": pd.array([None, hive.HIVE_NULL, ""], dtype="string")})
    info = write_dataset(df, ds, "overwrite", M, project, "k")
    assert info["partitions"] == 3
    names = sorted(p.name for p in (project / "out" / "n").iterdir())
    assert names == [".etlc-dataset", "g=", "g=%5F_HIVE_DEFAULT_PARTITION__",
                     "g=__HIVE_DEFAULT_PARTITION__"]
    back = read_dataset(ds, M, project).sort_values("id")
    assert back["g"].tolist()[1:] == [hive.HIVE_NULL, ""] and pd.isna(back["g"].iloc[0])


def test_subsecond_timestamps_get_distinct_partitions(project):
    base = pd.Timestamp("2025-01-02 03:04:05")
    stamps = [base + pd.Timedelta(microseconds=us) for us in (0, 1, 999, 1000, 500000, 999999)]
    stamps += [base + pd.Timedelta(seconds=s) for s in (1, 60)]
    stamps += [pd.Timestamp("2025-01-02"), pd.Timestamp("2025-01-02 00:00:00.000001")]
    ids = list(range(len(stamps))) + [100, 101, 102, 103]
    stamps += stamps[:4]
    ds = {"format": "csv", "path": "out/ts/", "partition_by": ["ts"],
          "columns": {"id": {"type": "int"}, "ts": {"type": "timestamp"}}}
    df = pd.DataFrame({"id": pd.array(ids, dtype="Int64"),
                       "ts": pd.Series(stamps, dtype="datetime64[us]")})
    info = write_dataset(df, ds, "overwrite", M, project, "k")
    assert info["rows"] == 14 and info["partitions"] == 10
    back = read_dataset(ds, M, project)
    assert len(back) == 14
    assert sorted(zip(back["id"].tolist(), back["ts"].tolist())) == sorted(zip(ids, stamps))


def test_rerun_same_date_replaces_append(project):
    ds = {"format": "parquet", "path": "out/a/", "partition_by": ["g"]}
    day1, day2 = append_key(dt.date(2025, 1, 1)), append_key(dt.date(2025, 1, 2))
    write_dataset(ids_frame([1, 2], "x"), ds, "append", M, project, day1)
    write_dataset(pd.concat([ids_frame([3], "x"), ids_frame([4], "y")]), ds, "append", M,
                  project, day2)
    # the rerun of day 2 has no "y" rows: that date's "y" part goes in the same commit
    write_dataset(ids_frame([5], "x"), ds, "append", M, project, day2)
    assert read_ids(project, ds) == [1, 2, 5]
    assert not (project / "out" / "a" / "g=y").exists() or not any(
        (project / "out" / "a" / "g=y").iterdir())


def test_append_key_is_the_logical_date():
    utc = dt.UTC
    assert append_key(dt.date(2025, 1, 2)) == "date_2025-01-02"
    assert append_key("2025-01-02") == append_key(dt.datetime(2025, 1, 2, tzinfo=utc))
    assert append_key(dt.datetime(2025, 1, 2)) == "date_2025-01-02"
    hourly = append_key(dt.datetime(2025, 1, 2, 6, tzinfo=utc))
    assert hourly.startswith("date_2025-01-02T06") and ":" not in hourly
    assert append_key(dt.datetime(2025, 1, 2, 6, 0, 0, 1, tzinfo=utc)) != hourly


def test_runs_without_a_date_append_todays_rows_once(project):
    (project / "data").mkdir()
    (project / "data" / "in.csv").write_text("id\n1\n2\n")
    datasets = {"src": {"format": "csv", "path": "data/in.csv", "columns": {"id": {"type": "int"}}},
                "lake": {"format": "parquet", "path": "out/lake/"}}
    plan = task_plan([{"name": "raw", "read": "src"},
                      {"name": "save", "from": "raw", "write": "lake", "mode": "append"}],
                     datasets)
    for run in range(3):  # each run has its own run id (microseconds), no logical date
        executor.run_task(plan, {"run_id": executor.local_run_id()})
    assert read_ids(project, datasets["lake"]) == [1, 2]
    today = dt.datetime.now(dt.UTC).date()
    assert [p.name for p in (project / "out" / "lake").glob("*.parquet")] == [
        f"part-date_{today.isoformat()}-00000.parquet"]


def test_overwrite_refuses_unmarked_folder(project):
    folder = project / "out" / "mine"
    folder.mkdir(parents=True)
    (folder / "notes.txt").write_text("keep me")
    ds = {"format": "parquet", "path": "out/mine/"}
    for mode in ("overwrite", "append", "overwrite_partitions"):
        with pytest.raises(CommitError) as err:
            write_dataset(ids_frame([1]), {**ds, "partition_by": ["g"]}, mode, M, project, "k")
        assert err.value.code == "R210" and err.value.path == str(folder)
        assert str(folder) in str(err.value)
    assert (folder / "notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in folder.parent.iterdir()) == ["mine"]


def test_overwrite_refuses_a_file_that_is_not_a_dataset_file(project):
    out = project / "out"
    out.mkdir()
    (out / "t.parquet").write_text("not parquet at all")
    with pytest.raises(CommitError) as err:
        write_dataset(ids_frame([1]), {"format": "parquet", "path": "out/t.parquet"},
                      "overwrite", M, project, "k")
    assert err.value.code == "R211" and err.value.path == str(out / "t.parquet")
    (out / "t.jsonl").write_bytes(b"\x00\x01binary")
    with pytest.raises(CommitError, match="R211"):
        write_dataset(ids_frame([1]), {"format": "json", "path": "out/t.jsonl"}, "overwrite",
                      M, project, "k")
    (out / "f").write_text("a file where a dataset folder goes")
    with pytest.raises(CommitError, match="R211"):
        write_dataset(ids_frame([1]), {"format": "csv", "path": "out/f/"}, "overwrite", M,
                      project, "k")
    (out / "d.csv").mkdir()
    with pytest.raises(CommitError, match="R211"):
        write_dataset(ids_frame([1]), {"format": "csv", "path": "out/d.csv"}, "overwrite", M,
                      project, "k")
    assert (out / "t.parquet").read_text() == "not parquet at all"


def test_empty_folder_is_adopted_and_marked(project):
    folder = project / "out" / "e"
    folder.mkdir(parents=True)
    write_dataset(ids_frame([1]), {"format": "csv", "path": "out/e/"}, "overwrite", M, project,
                  "k")
    assert (folder / commit.MARKER).is_file()
    assert read_ids(project, {"format": "csv", "path": "out/e/"}) == [1]


def test_commit_holds_the_lock_for_the_whole_write(project):
    target = project / "out" / "l"
    lock = project / "out" / ".l.etlc-lock"
    with commit.Commit(target, fmt="csv", single=False) as tx:
        fd = os.open(lock, os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
        (tx.new / "part-00000.csv").write_text("id\n1\n")
        tx.commit()
    assert not lock.exists()
    assert read_ids(project, {"format": "csv", "path": "out/l/"}) == [1]


def test_a_failed_write_leaves_the_dataset_and_no_leftovers(project):
    ds = {"format": "csv", "path": "out/f/"}
    write_dataset(ids_frame([1]), ds, "overwrite", M, project, "k")
    with pytest.raises(StopIteration), \
            commit.Commit(project / "out" / "f", fmt="csv", single=False) as tx:
        (tx.new / "part-00000.csv").write_text("id\n2\n")
        raise StopIteration
    assert read_ids(project, ds) == [1]
    assert sorted(p.name for p in (project / "out").iterdir()) == ["f"]


def test_exchange_swaps_two_folders(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "x").write_text("a")
    assert commit.exchange(tmp_path / "a", tmp_path / "b")  # Linux: renameat2 is there
    assert (tmp_path / "b" / "x").read_text() == "a" and not any((tmp_path / "a").iterdir())


def test_a_swap_that_fails_after_the_commit_point_is_finished_by_the_next_write(
        project, monkeypatch):
    ds = {"format": "csv", "path": "out/s/"}
    write_dataset(ids_frame([1]), ds, "overwrite", M, project, "k")
    monkeypatch.setattr(commit, "use_exchange", False)
    real_rename = os.rename

    def second_rename_fails(src, dst):
        if ".etlc-tmp-" in str(src) and str(dst).endswith("/s"):  # new -> target
            raise OSError(5, "I/O error (injected)")
        return real_rename(src, dst)

    monkeypatch.setattr(commit.os, "rename", second_rename_fails)
    with pytest.raises(OSError, match="injected"):
        write_dataset(ids_frame([2]), ds, "overwrite", M, project, "k")
    monkeypatch.setattr(commit.os, "rename", real_rename)
    assert not (project / "out" / "s").exists()  # moved aside; the new version is kept
    write_dataset(ids_frame([2, 3]), {**ds, "path": "out/other/"}, "overwrite", M, project, "k")
    with commit.Commit(project / "out" / "s", fmt="csv", single=False):
        pass
    assert read_ids(project, ds) == [2]
