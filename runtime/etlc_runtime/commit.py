"""The commit protocol of file datasets: every engine writes through it.

One write of a target ``<parent>/<name>`` (a dataset folder, or a single file) is one
:class:`Commit`::

    with Commit(target, fmt="parquet", single=False) as tx:
        ...write the new part files under tx.new...
        tx.commit(carry)      # carry(rel) -> True keeps a file of the current version

Every name the protocol uses is a hidden sibling of the target carrying the attempt's
random token, so no two attempts ever share a file:

- ``.<name>.etlc-lock``               the lock (``fcntl.flock``), held from enter to exit;
- ``.<name>.etlc-tmp-<token>[.ext]``  the next version being built;
- ``.<name>.etlc-old-<token>``        the previous version, moved aside (fallback only);
- ``.<name>.etlc-commit-<token>.json`` the commit journal;
- ``<dataset>/.etlc-dataset``         marks a folder etlc created as a dataset.

A folder commit builds the *whole* next version of the dataset in the tmp folder: the new
files, plus hard links to the files of the current version that ``carry`` keeps (files of
the partitions or append keys not being replaced).  Once that folder is complete and
fsynced, the journal (``{"new", "dev", "ino"}``: which folder must end up at the target) is
written and renamed into place: that rename is the commit point.  Then
``renameat2(RENAME_EXCHANGE)`` swaps the new folder and the current one in one atomic step,
the journal is removed, and the previous version (now at the tmp name) is deleted.  So a
reader sees the old complete version or the new complete version, for every mode.

Where ``renameat2`` is missing (not Linux, an old kernel, a file system that answers
EINVAL/ENOSYS) the swap is two renames: current -> ``.etlc-old-<token>``, new -> target.
Between the two, the target does not exist (a reader fails, it never sees a mix).

Recovery: a write first takes the lock, then rolls every journal of its target forward (the
folder whose inode the journal names is moved to the target unless it is already there),
and removes every ``.<name>.etlc-tmp-*`` / ``.etlc-old-*`` leftover.  Without a journal the
target was never touched, so removing the leftovers is the roll-back.  A kill at any point
followed by a rerun therefore leaves exactly a clean run's files.

A single file is written to its tmp name and renamed over the target (atomic on POSIX).
"""

from __future__ import annotations

import ctypes
import datetime as _dt
import errno
import fcntl
import json
import logging
import os
import secrets
import shutil
import signal
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any, Self

from .errors import StepError
from .staging import safe_name

MARKER = ".etlc-dataset"
FAULT_ENV = "ETLC_FAULT_AT"
FAULT_LOG_ENV = "ETLC_FAULT_LOG"

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
use_exchange = True  # tests turn it off to exercise the two-rename fallback
_fault_count = 0


class CommitError(StepError):
    """A write the protocol refuses; ``code`` is the R-code, ``path`` the path it names."""

    def __init__(self, code: str, path: Path, message: str):
        self.code = code
        self.path = str(path)
        super().__init__(None, f"{code} {path}: {message}")


def _fault(point: str) -> None:
    """Fault-injection hook: SIGKILL this process at the N-th point (or the named one).

    ``ETLC_FAULT_AT=N`` kills at the N-th call, ``ETLC_FAULT_AT=<point>`` at that point;
    ``ETLC_FAULT_LOG=<file>`` appends ``N point`` per call.  Unset: one dict lookup.
    """
    spec = os.environ.get(FAULT_ENV)
    if not spec:
        return
    global _fault_count
    _fault_count += 1
    log = os.environ.get(FAULT_LOG_ENV)
    if log:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"{_fault_count} {point}\n")
    if spec in (str(_fault_count), point):
        os.kill(os.getpid(), signal.SIGKILL)


# -- file-system primitives --------------------------------------------------------------

def _renameat2():
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                   ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


_RENAMEAT2 = _renameat2()


def exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths atomically; False where the system cannot."""
    if not use_exchange or _RENAMEAT2 is None:
        return False
    if _RENAMEAT2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif os.path.lexists(path):
        path.unlink()


class _Lock:
    """An exclusive flock on ``path``; the file is removed on release (checked on acquire)."""

    def __init__(self, path: Path):
        self.path = path
        self.fd: int | None = None

    def acquire(self) -> _Lock:
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX)
            st = os.fstat(fd)
            if _identity(self.path) == (st.st_dev, st.st_ino):
                self.fd = fd
                return self
            os.close(fd)  # the holder before us removed this file: lock the new one

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)
        finally:
            os.close(self.fd)
            self.fd = None


def append_key(when: Any) -> str:
    """The append key of a run: ``date_<logical date>`` (``date_2025-01-02``; the time is
    kept, to the microsecond, only when it is not midnight UTC)."""
    if isinstance(when, str):
        when = _dt.datetime.fromisoformat(when)
    if isinstance(when, _dt.datetime):
        when = when if when.tzinfo else when.replace(tzinfo=_dt.UTC)
        when = when.astimezone(_dt.UTC)
        text = when.date().isoformat() if when.time() == _dt.time(0) else when.isoformat()
    elif isinstance(when, _dt.date):
        text = when.isoformat()
    else:
        raise StepError(None, f"append needs the run's logical date, got {when!r}")
    return safe_name("date_" + text)


# -- names --------------------------------------------------------------------------------

def _names(target: Path) -> dict[str, str]:
    n = target.name
    return {"lock": f".{n}.etlc-lock", "tmp": f".{n}.etlc-tmp-", "old": f".{n}.etlc-old-",
            "journal": f".{n}.etlc-commit-"}


def is_internal(name: str) -> bool:
    """A name the protocol made (leftovers and markers): never data.  They all start with
    '.'; a partition folder (``g=a.etlc-b``) or part file never does."""
    return name.startswith(".") and ".etlc-" in name


# -- ownership ----------------------------------------------------------------------------

_MAGIC_BINARY = (b"\x1f\x8b", b"BZh", b"PK\x03\x04", b"\xfd7zXZ", b"\x28\xb5\x2f\xfd")


def _is_dataset_file(path: Path, fmt: str) -> bool:
    size = path.stat().st_size
    if size == 0:
        return True
    with open(path, "rb") as fh:
        head = fh.read(8192)
        if fmt == "parquet":
            fh.seek(max(size - 4, 0))
            return head[:4] == b"PAR1" and fh.read(4) == b"PAR1"
    if head.startswith(_MAGIC_BINARY):
        return True
    if b"\x00" in head:
        return False
    if fmt == "json":
        return head.lstrip()[:1] in (b"{", b"[", b"")
    return True


def check_owned(target: Path, fmt: str, single: bool) -> None:
    """Refuse to replace what etlc did not create as a dataset of this kind."""
    if not os.path.lexists(target):
        return
    if single:
        if target.is_dir():
            raise CommitError("R211", target, f"is a folder, not a {fmt} file; refusing to "
                                              f"replace it")
        if not _is_dataset_file(target, fmt):
            raise CommitError("R211", target, f"is not a {fmt} file; refusing to replace it")
        return
    if not target.is_dir():
        raise CommitError("R211", target, "is a file, not a dataset folder; refusing to "
                                          "replace it")
    if (target / MARKER).is_file() or not any(target.iterdir()):
        return
    raise CommitError("R210", target, f"is a folder etlc did not create as a dataset (no "
                                      f"{MARKER} marker); refusing to write into it (if "
                                      f"an older etlc wrote it, create an empty {MARKER} "
                                      f"file in it)")


# -- recovery -----------------------------------------------------------------------------

def _swap(new: Path, target: Path, token: str) -> None:
    """Put ``new`` at ``target``; the previous version ends at a tmp/old name."""
    if not os.path.lexists(target):
        os.rename(new, target)
        _fault("renamed")
    elif exchange(new, target):
        _fault("exchanged")
    else:
        os.rename(target, target.with_name(f"{_names(target)['old']}{token}"))
        _fault("moved_aside")
        os.rename(new, target)
        _fault("moved_in")
    _fsync(target.parent)


def _cleanup(target: Path) -> None:
    names = _names(target)
    for entry in os.listdir(target.parent):
        if entry.startswith((names["tmp"], names["old"])):
            remove(target.parent / entry)


def recover(target: Path) -> None:
    """Roll forward committed journals of ``target``, then remove earlier attempts' leftovers.
    The caller holds the target's lock."""
    names = _names(target)
    parent = target.parent
    for entry in sorted(os.listdir(parent)):
        if not (entry.startswith(names["journal"]) and entry.endswith(".json")):
            continue
        journal = parent / entry
        try:
            plan = json.loads(journal.read_text(encoding="utf-8"))
            new, ident, token = parent / plan["new"], (plan["dev"], plan["ino"]), plan["token"]
        except (ValueError, KeyError, TypeError) as exc:
            raise CommitError("R212", journal, f"unreadable commit journal ({exc}); "
                                               f"inspect it and remove it") from None
        if _identity(target) != ident and _identity(new) == ident:
            _swap(new, target, token)
        journal.unlink()
        _fsync(parent)
    _cleanup(target)


# -- one attempt --------------------------------------------------------------------------

class Commit:
    """One attempt to write ``target``: lock, recover, hand out ``new``, commit, clean up."""

    def __init__(self, target: Path, *, fmt: str, single: bool):
        self.target = Path(target)
        self.fmt = fmt
        self.single = single
        self.token = secrets.token_hex(8)
        names = _names(self.target)
        suffix = self.target.suffix if single else ""
        self.new = self.target.with_name(f"{names['tmp']}{self.token}{suffix}")
        self.journal = self.target.with_name(f"{names['journal']}{self.token}.json")
        self._lock = _Lock(self.target.with_name(names["lock"]))
        self.committed = False

    def __enter__(self) -> Self:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self._lock.acquire()
        try:
            recover(self.target)
            check_owned(self.target, self.fmt, self.single)
            if not self.single:
                self.new.mkdir()
        except BaseException:
            self._lock.release()
            raise
        return self

    def __exit__(self, *exc) -> None:
        try:
            # past the commit point (journal in place) the next write rolls forward instead
            if (not self.committed and os.path.lexists(self.new)
                    and not os.path.lexists(self.journal)):
                self._discard(failing=exc[0] is not None)
        finally:
            self._lock.release()

    def _discard(self, failing: bool) -> None:
        """Remove the attempt's hidden sibling.  While the attempt's own error is on its way
        out, a failure to remove it (a writer still adding parts) must not replace that
        error: the next attempt's :func:`recover` removes what is left."""
        try:
            remove(self.new)
        except OSError as err:
            if not failing:
                raise
            logging.getLogger("etlc_runtime").warning(
                "could not remove the unfinished write %s (%s); the next write of %s removes it",
                self.new, err, self.target)

    def commit(self, carry: Callable[[PurePosixPath], bool] | None = None) -> None:
        """Make ``new`` the target.  Folders: files of the current version for which
        ``carry(relative path)`` is true are kept (hard-linked into the new version)."""
        if self.single:
            _fsync(self.new)
            _fault("synced")
            os.replace(self.new, self.target)
            _fsync(self.target.parent)
            self.committed = True
            _fault("replaced")
            return
        # the marker first, so one walk syncs it with the parts, each folder once
        (self.new / MARKER).write_text(json.dumps({"etlc": 1, "format": self.fmt}) + "\n",
                                       encoding="utf-8")
        _sync_tree(self.new)
        _fault("synced")
        if carry is not None and self.target.is_dir():
            _carry_over(self.target, self.new, carry)
            _fault("carried")
        dev, ino = _identity(self.new)
        draft = self.new.with_name(self.new.name + ".journal")
        draft.write_text(json.dumps({"new": self.new.name, "dev": dev, "ino": ino,
                                     "token": self.token}), encoding="utf-8")
        _fsync(draft)
        _fault("journal_written")
        os.rename(draft, self.journal)
        _fsync(self.target.parent)
        _fault("journal_committed")
        _swap(self.new, self.target, self.token)
        self.committed = True
        self.journal.unlink()
        _fault("journal_removed")
        _cleanup(self.target)
        _fault("cleaned")


def _sync_tree(folder: Path) -> None:
    for here, dirs, files in os.walk(folder):
        for name in files:
            _fsync(Path(here) / name)
        _fsync(Path(here))


def _carry_over(current: Path, new: Path, carry: Callable[[PurePosixPath], bool]) -> None:
    """Hard-link (copy where links are refused) the kept files of ``current`` into ``new``."""
    linked_dirs = set()
    for here, dirs, files in os.walk(current):
        dirs[:] = [d for d in dirs if not is_internal(d)]
        base = PurePosixPath(Path(here).relative_to(current).as_posix())
        for name in files:
            rel = base / name
            if is_internal(name) or name == MARKER or not carry(rel):
                continue
            dest = new / rel
            if os.path.lexists(dest):
                continue  # the new version has its own file there
            if dest.parent not in linked_dirs:
                dest.parent.mkdir(parents=True, exist_ok=True)
                linked_dirs.add(dest.parent)
            try:
                os.link(Path(here) / name, dest, follow_symlinks=False)
            except OSError as exc:
                if exc.errno not in (errno.EPERM, errno.EXDEV, errno.ENOTSUP, errno.EMLINK,
                                     errno.EACCES):
                    raise
                shutil.copy2(Path(here) / name, dest, follow_symlinks=False)
    for folder in linked_dirs:
        _fsync(folder)
    _fsync(new)
