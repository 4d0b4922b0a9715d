"""Parsed expressions kept between processes, so that a run of an unchanged spec never
imports lark nor loads the grammar's parser (about 0.05 s of every `etlc run` and task).

The trees live in one pickle in etlc's per-user cache folder (grammar_cache.cache_folder,
the same trust as lark's own grammar cache there), named by the Python version and the size
and modification time of every source of this package and of lark's, so an edit of the
grammar or the tree builder starts a new file (and removes the old one).  A file that is
not the user's own or that others may write is ignored.  New trees are added when the
process exits (one write, atomic by rename; the newest 5,000 kept).  Text that does not
parse raises as before and is never stored.  Where the folder cannot be read or written,
parsing works as without the cache.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import pickle
import sys
from importlib.util import find_spec
from pathlib import Path

from .ast import Expr

LIMIT = 5000
_UNREADABLE = (OSError, EOFError, ValueError, TypeError, AttributeError, ImportError,
               IndexError, KeyError, pickle.UnpicklingError)
_memo: dict[str, Expr] | None = None
_added = False


def cache_file() -> Path:
    from .grammar_cache import cache_folder

    h = hashlib.sha256(sys.version.encode())
    lark = find_spec("lark")
    for folder in (Path(__file__).parent, Path(lark.origin).parent if lark and lark.origin
                   else None):
        for path in sorted(folder.iterdir()) if folder else ():
            if path.suffix in (".py", ".lark"):
                st = path.stat()
                h.update(f"{path.name}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return cache_folder() / f"expr-ast-{h.hexdigest()[:24]}.pickle"


def _load() -> dict[str, Expr]:
    global _memo
    if _memo is None:
        _memo = {}
        try:
            path = cache_file()
            with path.open("rb") as fh:
                st = os.fstat(fh.fileno())
                if st.st_uid == os.getuid() and not st.st_mode & 0o022:
                    data = pickle.load(fh)
                    if isinstance(data, dict):
                        _memo = data
        except _UNREADABLE:  # no file yet, or one this version cannot read: parse as usual
            _memo = {}
    return _memo


def _save() -> None:
    memo = _memo or {}
    try:
        path = cache_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        keep = dict(list(memo.items())[-LIMIT:])
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(keep, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        for old in path.parent.glob("expr-ast-*.pickle"):  # of sources since edited
            if old != path:
                old.unlink(missing_ok=True)
    except (OSError, pickle.PicklingError):  # a cache that cannot be written only costs time
        return


def parse(text: str) -> Expr:
    """parser.parse(text), from the cache when an earlier process parsed the same text."""
    global _added
    memo = _load()
    tree = memo.get(text) if isinstance(text, str) else None
    if tree is not None:
        return tree
    from .parser import parse as parse_text

    tree = parse_text(text)
    memo[text] = tree
    if not _added:
        _added = True
        atexit.register(_save)
    return tree


__all__ = ["cache_file", "parse"]
