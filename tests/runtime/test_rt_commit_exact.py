"""The commit protocol's parts, exactly (runtime/etlc_runtime/commit.py): the names it uses, the
ownership rules and their R-codes, append keys, the atomic exchange, recovery from journals,
what a commit leaves and what a failed attempt removes. Written against the mutants mutmut
found alive; the end-to-end and SIGKILL tests are in test_rt_commit*.py."""

from __future__ import annotations

import ctypes
import datetime as dt
import errno
import fcntl
import json
import logging
import os
import stat
import time
from pathlib import Path, PurePosixPath
from types import SimpleNamespace

import pytest
from etlc_runtime import commit as C
from etlc_runtime.errors import StepError

PARQUET = b"PAR1" + b"\x00" * 8 + b"PAR1"


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# -- names and keys -------------------------------------------------------------------------

def test_every_name_is_a_hidden_sibling_with_the_attempt_token(tmp_path):
    tx = C.Commit(tmp_path / "sales.csv", fmt="csv", single=True)
    assert len(tx.token) == 16 and int(tx.token, 16) >= 0
    assert tx.new == tmp_path / f".sales.csv.etlc-tmp-{tx.token}.csv"
    assert tx.journal == tmp_path / f".sales.csv.etlc-commit-{tx.token}.json"
    assert tx._lock.path == tmp_path / ".sales.csv.etlc-lock"
    folder = C.Commit(tmp_path / "by_day", fmt="parquet", single=False)
    assert folder.new == tmp_path / f".by_day.etlc-tmp-{folder.token}"
    assert folder.token != tx.token and folder.committed is False
    dotted = C.Commit(tmp_path / "sales.v2", fmt="csv", single=False)  # a folder: no suffix
    assert dotted.new == tmp_path / f".sales.v2.etlc-tmp-{dotted.token}"
    assert C.is_internal(".x.etlc-lock") and C.is_internal(C.MARKER)
    assert not C.is_internal("part-0.parquet") and not C.is_internal("etlc.csv")


@pytest.mark.parametrize("when, key", [
    ("2025-01-02", "date_2025-01-02"),
    (dt.date(2025, 1, 2), "date_2025-01-02"),
    (dt.datetime(2025, 1, 2), "date_2025-01-02"),                       # naive is UTC
    ("2025-01-02T00:00:00-03:00", "date_2025-01-02T03_00_00+00_00"),   # not midnight UTC
    (dt.datetime(2025, 1, 2, 23, tzinfo=dt.timezone(dt.timedelta(hours=-3))),
     "date_2025-01-03T02_00_00+00_00"),
    ("2025-01-02T03:04:05.123456+02:00", "date_2025-01-02T01_04_05.123456+00_00"),
])
def test_append_key(when, key):
    assert C.append_key(when) == key


def test_append_key_needs_a_date():
    with pytest.raises(StepError) as info:
        C.append_key(5)
    assert type(info.value) is StepError and "5" in info.value.message


# -- ownership ------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt, content, ok", [
    ("parquet", PARQUET, True),
    ("parquet", b"", True),
    ("parquet", b"PAR1" + b"\x00" * 8 + b"PAR2", False),
    ("parquet", b"PAR0" + b"\x00" * 8 + b"PAR1", False),
    ("csv", b"a,b\n1,2\n", True),
    ("csv", b"\x1f\x8b\x08\x00compressed", True),     # gzip
    ("csv", b"PK\x03\x04zip", True),
    ("csv", b"a,b\x00\n", False),                     # binary, not ours
    ("json", b'  {"a": 1}\n', True),
    ("json", b"[1]", True),
    ("json", b"not json", False),
])
def test_which_single_files_may_be_replaced(tmp_path, fmt, content, ok):
    target = tmp_path / f"out.{fmt}"
    target.write_bytes(content)
    if ok:
        C.check_owned(target, fmt, single=True)
        return
    with pytest.raises(C.CommitError) as info:
        C.check_owned(target, fmt, single=True)
    assert (info.value.code, info.value.path) == ("R211", str(target))


def test_folders_etlc_did_not_create_are_refused(tmp_path):
    C.check_owned(tmp_path / "absent", "csv", single=False)
    C.check_owned(tmp_path / "absent.csv", "csv", single=True)
    empty = tmp_path / "empty"
    empty.mkdir()
    C.check_owned(empty, "parquet", single=False)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "part.parquet").write_bytes(PARQUET)
    (mine / C.MARKER).write_text("{}")
    C.check_owned(mine, "parquet", single=False)
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("x")
    cases = [(theirs, False, "R210"), (theirs, True, "R211"), (mine / "part.parquet", False, "R211")]
    for target, single, code in cases:
        with pytest.raises(C.CommitError) as info:
            C.check_owned(target, "parquet", single=single)
        assert (info.value.code, info.value.path, info.value.step) == (code, str(target), None)


# -- primitives -----------------------------------------------------------------------------

def test_exchange_swaps_two_paths_atomically(tmp_path, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("A")
    b.mkdir()
    (b / "f").write_text("B")
    assert C.exchange(a, b) is True
    assert (a / "f").read_text() == "B" and b.read_text() == "A"
    monkeypatch.setattr(C, "use_exchange", False)
    assert C.exchange(a, b) is False and b.read_text() == "A"


def test_exchange_of_a_missing_path_is_an_error(tmp_path):
    (tmp_path / "a").write_text("A")
    with pytest.raises(FileNotFoundError):
        C.exchange(tmp_path / "a", tmp_path / "missing")


def test_remove_takes_a_link_not_what_it_points_to(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "keep").write_text("k")
    link = tmp_path / "link"
    link.symlink_to(data, target_is_directory=True)
    C.remove(link)
    assert not os.path.lexists(link) and (data / "keep").read_text() == "k"
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    C.remove(dangling)
    assert not os.path.lexists(dangling)
    C.remove(tmp_path / "never-there")
    C.remove(data)
    assert not data.exists()


def test_lock_file_exists_only_while_held(tmp_path):
    lock = C._Lock(tmp_path / ".t.etlc-lock")
    lock.release()  # never acquired: nothing to release
    assert lock.acquire() is lock and lock.fd is not None
    assert (tmp_path / ".t.etlc-lock").exists()
    lock.release()
    assert lock.fd is None and not (tmp_path / ".t.etlc-lock").exists()
    lock.release()  # twice is harmless
    assert lock.acquire().fd is not None
    lock.release()


def test_a_lock_file_removed_while_waiting_is_locked_anew(tmp_path, monkeypatch):
    """The holder before us releases (removes the file) while we wait in flock: we hold a
    lock on a file no other attempt can open, so we lock the file at the path instead."""
    path = tmp_path / ".t.etlc-lock"
    calls = []

    def flock(fd, op):
        calls.append(op)
        if len(calls) == 1:
            path.unlink()   # the previous holder's release
        fcntl.flock(fd, op)

    monkeypatch.setattr(C, "fcntl", SimpleNamespace(flock=flock, LOCK_EX=fcntl.LOCK_EX))
    lock = C._Lock(path).acquire()
    st = os.fstat(lock.fd)
    assert len(calls) == 2 and C._identity(path) == (st.st_dev, st.st_ino)
    path.unlink()   # gone before the release (a swept folder): releasing is no error
    lock.release()
    assert lock.fd is None


def test_lock_file_is_created_rw_r_r(tmp_path):
    old = os.umask(0o022)
    try:
        lock = C._Lock(tmp_path / ".t.etlc-lock").acquire()
    finally:
        os.umask(old)
    try:
        assert stat.S_IMODE(os.stat(lock.path).st_mode) == 0o644
    finally:
        lock.release()


# -- one commit -----------------------------------------------------------------------------

def test_folder_commit_marks_links_kept_files_and_leaves_nothing_else(tmp_path):
    target = tmp_path / "ds"
    with C.Commit(target, fmt="parquet", single=False) as tx:
        (tx.new / "k=a").mkdir()
        (tx.new / "k=a" / "part-0.parquet").write_bytes(PARQUET + b"a")
        (tx.new / "k=b").mkdir()
        (tx.new / "k=b" / "part-0.parquet").write_bytes(PARQUET + b"b")
        tx.commit()
    assert tx.committed
    assert json.loads((target / C.MARKER).read_text()) == {"etlc": 1, "format": "parquet"}
    old_b = os.stat(target / "k=b" / "part-0.parquet").st_ino
    with C.Commit(target, fmt="parquet", single=False) as tx:
        (tx.new / "k=a").mkdir()
        (tx.new / "k=a" / "part-0.parquet").write_bytes(PARQUET + b"A")
        seen = []
        tx.commit(lambda rel: seen.append(rel) or rel.parts[0] != "k=a")
    # every data file of the current version is offered; the marker never is
    assert sorted(seen) == [PurePosixPath("k=a/part-0.parquet"), PurePosixPath("k=b/part-0.parquet")]
    assert files(target) == {C.MARKER: (target / C.MARKER).read_bytes(),
                             "k=a/part-0.parquet": PARQUET + b"A",
                             "k=b/part-0.parquet": PARQUET + b"b"}
    assert os.stat(target / "k=b" / "part-0.parquet").st_ino == old_b  # linked, not copied
    assert sorted(os.listdir(tmp_path)) == ["ds"]  # no lock, tmp, old or journal left


def test_carry_keeps_the_new_versions_own_file(tmp_path):
    target = tmp_path / "ds"
    for content in (b"old", b"new"):
        with C.Commit(target, fmt="csv", single=False) as tx:
            (tx.new / "f.csv").write_bytes(content)
            tx.commit(lambda rel: True)
    assert (target / "f.csv").read_bytes() == b"new"


def test_fallback_without_exchange_gives_the_same_result(tmp_path, monkeypatch):
    monkeypatch.setattr(C, "use_exchange", False)
    target = tmp_path / "ds"
    for content in (b"one", b"two"):
        with C.Commit(target, fmt="csv", single=False) as tx:
            (tx.new / "f.csv").write_bytes(content)
            tx.commit()
    assert (target / "f.csv").read_bytes() == b"two"
    assert sorted(os.listdir(tmp_path)) == ["ds"]


def test_fallback_moves_the_old_version_aside_under_the_attempts_token(tmp_path, monkeypatch):
    monkeypatch.setattr(C, "use_exchange", False)
    target = tmp_path / "ds"
    seen = {}
    monkeypatch.setattr(C, "_fault",
                        lambda point: seen.setdefault(point, sorted(os.listdir(tmp_path))))
    for content in (b"one", b"two"):
        with C.Commit(target, fmt="csv", single=False) as tx:
            (tx.new / "f.csv").write_bytes(content)
            tx.commit()
    # between the two renames: the current version aside, the new one not yet in place
    assert seen["moved_aside"] == sorted([f".ds.etlc-commit-{tx.token}.json", ".ds.etlc-lock",
                                          f".ds.etlc-old-{tx.token}", tx.new.name])
    assert sorted(os.listdir(tmp_path)) == ["ds"]


def test_single_file_commit_replaces_the_file(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("a\n1\n")
    with C.Commit(target, fmt="csv", single=True) as tx:
        assert not tx.new.exists()  # a file: the writer creates it
        tx.new.write_text("a\n2\n")
        tx.commit()
        assert tx.committed is True
    assert target.read_text() == "a\n2\n" and sorted(os.listdir(tmp_path)) == ["out.csv"]


def test_an_attempt_that_does_not_commit_leaves_the_old_version(tmp_path):
    target = tmp_path / "ds"
    with C.Commit(target, fmt="csv", single=False) as tx:
        (tx.new / "f.csv").write_text("old")
        tx.commit()
    with pytest.raises(RuntimeError), C.Commit(target, fmt="csv", single=False) as tx:
        (tx.new / "f.csv").write_text("half")
        raise RuntimeError("the writer failed")
    assert (target / "f.csv").read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == ["ds"]


def test_a_refused_target_releases_the_lock(tmp_path):
    target = tmp_path / "theirs"
    target.mkdir()
    (target / "notes.txt").write_text("x")
    with pytest.raises(C.CommitError), C.Commit(target, fmt="csv", single=False):
        pass
    assert sorted(os.listdir(tmp_path)) == ["theirs"]


# -- recovery -------------------------------------------------------------------------------

def _committed_but_not_swapped(tmp_path) -> tuple[Path, Path]:
    """A target at version 1 and a complete version 2 whose journal is in place (a kill
    between the commit point and the swap)."""
    target = tmp_path / "ds"
    with C.Commit(target, fmt="csv", single=False) as tx:
        (tx.new / "f.csv").write_text("v1")
        tx.commit()
    new = tmp_path / ".ds.etlc-tmp-0123456789abcdef"
    new.mkdir()
    (new / "f.csv").write_text("v2")
    (new / C.MARKER).write_text("{}")
    st = os.stat(new)
    journal = tmp_path / ".ds.etlc-commit-0123456789abcdef.json"
    journal.write_text(json.dumps({"new": new.name, "dev": st.st_dev, "ino": st.st_ino,
                                   "token": "0123456789abcdef"}))
    return target, journal


def test_recover_rolls_a_committed_journal_forward(tmp_path):
    target, journal = _committed_but_not_swapped(tmp_path)
    assert journal.exists()
    (tmp_path / ".ds.etlc-tmp-ffff").mkdir()              # an earlier attempt's leftover
    (tmp_path / ".ds.etlc-old-eeee").write_text("x")      # another
    (tmp_path / ".other.etlc-tmp-dddd").write_text("y")   # another dataset's: not ours
    (tmp_path / ".ds.etlc-commit-1.txt").write_text("z")  # not a journal
    (tmp_path / ".abc").write_text("w")                   # sorts before the journal: skipped
    C.recover(target)
    assert (target / "f.csv").read_text() == "v2"
    assert sorted(os.listdir(tmp_path)) == [".abc", ".ds.etlc-commit-1.txt",
                                            ".other.etlc-tmp-dddd", "ds"]


def test_a_fallback_roll_forward_moves_aside_under_the_journals_token(tmp_path, monkeypatch):
    target, _journal = _committed_but_not_swapped(tmp_path)
    monkeypatch.setattr(C, "use_exchange", False)
    seen = {}
    monkeypatch.setattr(C, "_fault",
                        lambda point: seen.setdefault(point, sorted(os.listdir(tmp_path))))
    C.recover(target)
    assert ".ds.etlc-old-0123456789abcdef" in seen["moved_aside"]
    assert (target / "f.csv").read_text() == "v2" and sorted(os.listdir(tmp_path)) == ["ds"]


def test_recover_after_the_swap_only_removes_the_journal(tmp_path):
    target, journal = _committed_but_not_swapped(tmp_path)
    C.recover(target)
    C.recover(target)  # idempotent
    data = json.loads(journal.read_text()) if journal.exists() else None
    assert data is None and (target / "f.csv").read_text() == "v2"


def test_a_new_attempt_recovers_first(tmp_path):
    target, _ = _committed_but_not_swapped(tmp_path)
    with C.Commit(target, fmt="csv", single=False) as tx:
        assert (target / "f.csv").read_text() == "v2"
        (tx.new / "g.csv").write_text("v3")
        tx.commit(lambda rel: True)
    assert files(target)["f.csv"] == b"v2" and files(target)["g.csv"] == b"v3"


@pytest.mark.parametrize("content", ["{not json", '{"new": "x"}', "[1, 2]"])
def test_an_unreadable_journal_is_r212(tmp_path, content):
    target = tmp_path / "ds"
    target.mkdir()
    journal = tmp_path / ".ds.etlc-commit-abc.json"
    journal.write_text(content)
    with pytest.raises(C.CommitError) as info:
        C.recover(target)
    assert (info.value.code, info.value.path) == ("R212", str(journal))
    assert journal.exists()  # left for a person to inspect


def test_fault_points_are_logged_in_order(tmp_path, monkeypatch):
    log = tmp_path / "faults.log"
    monkeypatch.setenv(C.FAULT_ENV, "no-such-point")
    monkeypatch.setenv(C.FAULT_LOG_ENV, str(log))
    monkeypatch.setattr(C, "_fault_count", 0)
    with C.Commit(tmp_path / "ds", fmt="csv", single=False) as tx:
        (tx.new / "f.csv").write_text("x")
        tx.commit()
    assert log.read_text().splitlines() == [
        "1 synced", "2 journal_written", "3 journal_committed", "4 renamed",
        "5 journal_removed", "6 cleaned"]


# -- the system call and its failures ------------------------------------------------------

def test_renameat2_is_bound_with_errno(tmp_path):
    fn = C._renameat2()
    assert fn is not None and fn.restype is ctypes.c_int
    assert fn.argtypes == [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                           ctypes.c_uint]
    (tmp_path / "a").write_text("A")
    (tmp_path / "b").write_text("B")
    a, b = os.fsencode(tmp_path / "a"), os.fsencode(tmp_path / "b")
    assert fn(-100, a, -100, b, 2) == 0 and (tmp_path / "a").read_text() == "B"
    ctypes.set_errno(0)
    assert fn(-100, a, -100, os.fsencode(tmp_path / "none"), 2) == -1
    assert ctypes.get_errno() == errno.ENOENT


@pytest.mark.parametrize("err, supported", [(errno.EINVAL, False), (errno.ENOSYS, False),
                                            (errno.ENOTSUP, False), (errno.EPERM, None)])
def test_exchange_falls_back_only_where_the_system_cannot(tmp_path, monkeypatch, err, supported):
    def refuse(*args):
        ctypes.set_errno(err)
        return -1
    monkeypatch.setattr(C, "_RENAMEAT2", refuse)
    a, b = tmp_path / "a", tmp_path / "b"
    if supported is False:
        assert C.exchange(a, b) is False
        return
    with pytest.raises(OSError) as info:
        C.exchange(a, b)
    assert (info.value.errno, info.value.strerror, info.value.filename) == \
        (err, os.strerror(err), str(b))


def test_append_key_does_not_depend_on_the_local_time_zone(monkeypatch):
    monkeypatch.setenv("TZ", "America/Sao_Paulo")
    time.tzset()
    try:
        assert C.append_key(dt.datetime(2025, 1, 2, 3, 4, 5)) == "date_2025-01-02T03_04_05+00_00"
        assert C.append_key("2025-01-02T12:00:00+01:00") == "date_2025-01-02T11_00_00+00_00"
        assert C.append_key(dt.datetime(2025, 1, 2)) == "date_2025-01-02"
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize("fmt, content, ok", [
    ("csv", b"a" * 8192 + b"\x00", True),   # only the first 8 KiB are sniffed
    ("parquet", b"PAR1", True),             # head and tail are the same 4 bytes
    ("json", b"  \n", True),                # blank: an empty dataset
])
def test_dataset_file_sniffing_edges(tmp_path, fmt, content, ok):
    target = tmp_path / f"out.{fmt}"
    target.write_bytes(content)
    assert C._is_dataset_file(target, fmt) is ok


def test_fault_log_names_the_exchange(tmp_path, monkeypatch):
    target = tmp_path / "ds"
    with C.Commit(target, fmt="csv", single=False) as tx:
        (tx.new / "f.csv").write_text("1")
        tx.commit()
    log = tmp_path / "faults.log"
    monkeypatch.setenv(C.FAULT_ENV, "no-such-point")
    monkeypatch.setenv(C.FAULT_LOG_ENV, str(log))
    monkeypatch.setattr(C, "_fault_count", 0)
    with C.Commit(target, fmt="csv", single=False) as tx:
        (tx.new / "f.csv").write_text("2")
        tx.commit()
    assert [line.split()[1] for line in log.read_text().splitlines()] == [
        "synced", "journal_written", "journal_committed", "exchanged", "journal_removed",
        "cleaned"]


def test_a_folder_commit_syncs_each_file_and_folder_of_the_new_version_once(tmp_path,
                                                                             monkeypatch):
    """Before the journal (the commit point) every file of the new version, the marker
    included, and every folder holding them are on disk, each synced once; then the draft
    journal and the parent after each rename."""
    target = tmp_path / "ds"
    events: list[str] = []
    real = C._fsync

    def fsync(path):
        events.append(f"fsync {Path(path).relative_to(tmp_path).as_posix()}")
        real(path)

    monkeypatch.setattr(C, "_fsync", fsync)
    monkeypatch.setattr(C, "_fault", lambda point: events.append(point))
    with C.Commit(target, fmt="parquet", single=False) as tx:
        new = tx.new.name
        (tx.new / "g=1").mkdir()
        (tx.new / "g=1" / "part-0.parquet").write_bytes(PARQUET)
        (tx.new / "part-1.parquet").write_bytes(PARQUET)
        tx.commit()
    before = events[:events.index("synced")]
    assert sorted(before) == sorted([f"fsync {new}/{p}" for p in (
        "g=1/part-0.parquet", "g=1", "part-1.parquet", C.MARKER)] + [f"fsync {new}"])
    assert before.index(f"fsync {new}/g=1") > before.index(f"fsync {new}/g=1/part-0.parquet")
    assert before.index(f"fsync {new}") > before.index(f"fsync {new}/{C.MARKER}")
    after = events[events.index("synced"):]
    assert after[:5] == ["synced", f"fsync .ds.etlc-tmp-{tx.token}.journal", "journal_written",
                         "fsync .", "journal_committed"]
    assert json.loads((target / C.MARKER).read_text()) == {"etlc": 1, "format": "parquet"}


# -- carrying files over --------------------------------------------------------------------

def _current(tmp_path) -> Path:
    cur = tmp_path / "cur"
    for k in range(20):
        (cur / "a=1" / "b=2").mkdir(parents=True, exist_ok=True)
        (cur / "a=1" / "b=2" / f"f{k:02}.csv").write_text(f"old {k}")
    (cur / "a=1" / "b=2" / "link.csv").symlink_to("f00.csv")
    return cur


def test_carry_over_links_every_kept_file_at_any_depth(tmp_path):
    cur, new = _current(tmp_path), tmp_path / "new"
    new.mkdir()
    C._carry_over(cur, new, lambda rel: True)
    got = new / "a=1" / "b=2"
    assert sorted(p.name for p in got.iterdir()) == sorted(p.name for p in (cur / "a=1" / "b=2").iterdir())
    assert os.path.islink(got / "link.csv") and os.readlink(got / "link.csv") == "f00.csv"
    assert os.stat(got / "f03.csv").st_ino == os.stat(cur / "a=1" / "b=2" / "f03.csv").st_ino


def test_carry_over_skips_only_the_files_the_new_version_has(tmp_path):
    cur, new = _current(tmp_path), tmp_path / "new"
    (new / "a=1" / "b=2").mkdir(parents=True)
    for k in range(20):
        if k != 7:
            (new / "a=1" / "b=2" / f"f{k:02}.csv").write_text(f"new {k}")
    C._carry_over(cur, new, lambda rel: True)
    got = new / "a=1" / "b=2"
    assert (got / "f07.csv").read_text() == "old 7" and (got / "f08.csv").read_text() == "new 8"
    assert os.path.islink(got / "link.csv")


def test_carry_over_copies_where_links_are_refused(tmp_path, monkeypatch):
    cur, new = _current(tmp_path), tmp_path / "new"
    new.mkdir()

    def no_links(*args, **kw):
        raise OSError(errno.EXDEV, "cross-device link")
    monkeypatch.setattr(C.os, "link", no_links)
    C._carry_over(cur, new, lambda rel: rel.name in ("f01.csv", "link.csv"))
    got = new / "a=1" / "b=2"
    assert sorted(p.name for p in got.iterdir()) == ["f01.csv", "link.csv"]
    assert (got / "f01.csv").read_text() == "old 1"
    assert os.stat(got / "f01.csv").st_ino != os.stat(cur / "a=1" / "b=2" / "f01.csv").st_ino
    assert os.path.islink(got / "link.csv")


def test_carry_over_other_link_errors_are_raised(tmp_path, monkeypatch):
    cur, new = _current(tmp_path), tmp_path / "new"
    new.mkdir()

    def broken(*args, **kw):
        raise OSError(errno.EIO, "I/O error")
    monkeypatch.setattr(C.os, "link", broken)
    with pytest.raises(OSError) as info:
        C._carry_over(cur, new, lambda rel: True)
    assert info.value.errno == errno.EIO


@pytest.mark.parametrize("single, exchange, carry, points", [
    (True, True, False, ["synced", "replaced"]),
    (False, False, False, ["synced", "journal_written", "journal_committed", "moved_aside",
                           "moved_in", "journal_removed", "cleaned"]),
    (False, True, True, ["synced", "carried", "journal_written", "journal_committed",
                         "exchanged", "journal_removed", "cleaned"]),
])
def test_fault_points_of_a_file_and_of_the_fallback(tmp_path, monkeypatch, single, exchange,
                                                    carry, points):
    monkeypatch.setattr(C, "use_exchange", exchange)
    target = tmp_path / ("out.csv" if single else "ds")
    for content in ("1", "2"):
        log = tmp_path / f"faults-{content}.log"
        monkeypatch.setenv(C.FAULT_ENV, "no-such-point")
        monkeypatch.setenv(C.FAULT_LOG_ENV, str(log))
        with C.Commit(target, fmt="csv", single=single) as tx:
            (tx.new if single else tx.new / f"f{content}.csv").write_text(content)
            tx.commit((lambda rel: True) if carry else None)
    assert [line.split()[1] for line in log.read_text().splitlines()] == points


def _still_written(path):
    raise OSError(errno.ENOTEMPTY, "Directory not empty", str(path))


def test_a_failed_cleanup_does_not_replace_the_writers_error(tmp_path, monkeypatch, caplog):
    # a writer that outlives its attempt (a cancelled dask task's thread) keeps adding parts
    target = tmp_path / "ds"
    with (caplog.at_level(logging.WARNING, logger="etlc_runtime"),
          pytest.raises(RuntimeError, match="the writer failed"),
          C.Commit(target, fmt="csv", single=False) as tx):
        (tx.new / "f.csv").write_text("half")
        monkeypatch.setattr(C, "remove", _still_written)
        raise RuntimeError("the writer failed")
    monkeypatch.undo()
    # the leftover is reported on the runtime's logger: what was left, why, which target
    [record] = [r for r in caplog.records if r.name == "etlc_runtime"]
    assert record.levelno == logging.WARNING
    left, err, of = record.args
    assert (left, of) == (tx.new, target) and err.errno == errno.ENOTEMPTY
    assert sorted(os.listdir(tmp_path)) == [tx.new.name]  # the lock was released
    with C.Commit(target, fmt="csv", single=False) as again:  # and the next attempt sweeps
        (again.new / "f.csv").write_text("whole")
        again.commit()
    assert sorted(os.listdir(tmp_path)) == ["ds"] and (target / "f.csv").read_text() == "whole"


def test_a_failed_cleanup_without_an_error_in_flight_is_raised(tmp_path, monkeypatch):
    target = tmp_path / "ds"
    with pytest.raises(OSError) as caught:
        with C.Commit(target, fmt="csv", single=False):
            monkeypatch.setattr(C, "remove", _still_written)
    assert caught.value.errno == errno.ENOTEMPTY
