"""Build the expression grammar's LALR parser once per installation, not once per process.

Building the parser tables from ``grammar.lark`` takes about 0.25 s, which every `etlc`
command and every Airflow task paid again; lark's own cache turns that into a 0.02 s load.
The cache file lives in etlc's per-user cache folder (``cache_folder``; not a shared
temporary folder, since lark's cache is a pickle another user could plant there), named by a digest of the grammar and
the lark and Python versions, and written and read under a lock (``flock``) so that a
concurrent process meets a complete file or none.  Lark checks the grammar's digest on load.
Where the folder cannot be written, the parser is built in memory as before.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import sys
from pathlib import Path
from typing import Any


def cache_folder() -> Path:
    """etlc's per-user cache folder: ``ETLC_CACHE_DIR``, else ``$XDG_CACHE_HOME/etlc``, else
    ``~/.cache/etlc`` (the compiler's operator check keeps its verdicts here too)."""
    env = os.environ.get("ETLC_CACHE_DIR")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "etlc"


def cached_lark(text: str, **options: Any):
    """``Lark(text, **options)``, loaded from or saved to the cache where possible."""
    import lark

    digest = hashlib.sha256("\0".join([text, lark.__version__, sys.version,
                                       repr(sorted(options))]).encode()).hexdigest()
    folder = cache_folder()
    final = folder / f"expr-grammar-{digest[:24]}.lark"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = open(folder / "expr-grammar.lock", "a")  # noqa: SIM115 (closed below)
    except OSError:
        return lark.Lark(text, **options)
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
        except OSError:
            return lark.Lark(text, **options)
        # lark names the cache path in the digest it checks, so the file is written in
        # place; the lock keeps a reader from meeting a half-written one
        return lark.Lark(text, cache=str(final), **options)
