"""Where a file dataset's files are, and how its part files are named: no dataframe library.

The engine-neutral half of io_read.py and io_write.py, in one place: the pandas engine's
reader and writer import these rules, and engines that must not import pandas (duckdb) use
them directly.

- a path names a file, a folder (every data file inside, recursively, skipping names that
  start with ``.`` or ``_``, as Hive and Spark do, so the commit protocol's hidden files are
  never read) or a glob;
- partition folders ``col=value`` give the files below them those column values
  (:mod:`etlc_runtime.hive` unescapes them);
- part files are ``part-NNNNN.<ext>``, ``part-<append key>-NNNNN.<ext>`` for appends, or
  the dataset's ``file_name`` pattern (``{i}`` is the part number).
"""

from __future__ import annotations

import glob as _glob
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import NotAvailable, StepError, UnsafePath
from .hive import parse_segment
from .paths import has_glob, scheme_of
from .templating import render

EXTENSIONS = {"csv": (".csv", ".txt", ".tsv", ".csv.gz"), "json": (".json", ".jsonl", ".ndjson"),
              "parquet": (".parquet", ".pq"), "fixed_width": ()}
WRITE_EXT = {"parquet": ".parquet", "csv": ".csv", "json": ".jsonl"}


def dataset_location(dataset: Mapping[str, Any], macros: Mapping[str, Any]) -> str:
    """The rendered path of a file dataset (not yet resolved to a local path)."""
    fmt = dataset.get("format")
    if fmt == "qdrant":
        raise NotAvailable("qdrant datasets arrive with the services issue; this runtime "
                           "reads and writes local files and postgres tables only")
    path = dataset.get("path")
    if not path:
        raise StepError(None, f"a {fmt} dataset needs a path")
    rendered = render(path, macros)
    if scheme_of(rendered) != "file":
        raise NotAvailable(f"{scheme_of(rendered)}:// paths arrive with the services issue; "
                           f"this runtime reads and writes local paths only ({rendered!r})")
    return rendered


def _hidden(path: Path, base: Path) -> bool:
    return any(p.startswith((".", "_")) for p in path.relative_to(base).parts)


def list_files(target: Path, text: str, fmt: str) -> list[Path]:
    """The files a path names (see the module doc), sorted."""
    if has_glob(text):
        files = [Path(p) for p in _glob.glob(str(target), recursive=True)]
        files = [f for f in files if f.is_file()]
    elif target.is_dir():
        files = [f for f in target.rglob("*") if f.is_file() and not _hidden(f, target)]
        exts = EXTENSIONS.get(fmt) or ()
        matching = [f for f in files if f.name.lower().endswith(exts)] if exts else []
        files = matching or files
    elif target.is_file():
        files = [target]
    else:
        files = []
    return sorted(files)


def hive_values(path: Path, base: Path) -> dict[str, str | None]:
    """The ``col=value`` folders between ``base`` and the file ``path``."""
    out: dict[str, str | None] = {}
    try:
        parts = path.relative_to(base).parts[:-1]
    except ValueError:
        return out
    for part in parts:
        parsed = parse_segment(part)
        if parsed is not None:
            out[parsed[0]] = parsed[1]
    return out


def is_single_file(text: str, fmt: str) -> bool:
    """Whether a write path names one file (``out.csv``) rather than a dataset folder."""
    if text.endswith(("/", os.sep)):
        return False
    return Path(text).suffix.lower() in {
        "parquet": (".parquet", ".pq"), "csv": (".csv", ".txt", ".tsv"),
        "json": (".json", ".jsonl", ".ndjson")}.get(fmt, ())


# the schema's file_name pattern: a part file stays inside its folder and visible
_PLAIN_NAME = re.compile(r"(?!.*\.etlc-)[A-Za-z0-9{][^/\\\x00-\x1f\x7f]*\Z")


def part_name(opts: Mapping, fmt: str, i: int | str, run_key: str | None) -> str:
    index = f"{i:05d}" if isinstance(i, int) else i
    pattern = opts.get("file_name")
    if pattern:
        if not _PLAIN_NAME.match(pattern):
            raise UnsafePath(pattern, "options.file_name must be a plain file name (no slash "
                             "or backslash, not starting with '.' or '_', no '.etlc-')",
                             what="part file")
        name = pattern.replace("{i}", index)
        if run_key:
            stem, dot, ext = name.partition(".")
            name = f"{stem}-{run_key}{dot}{ext}"
        return name
    ext = WRITE_EXT[fmt]
    return f"part-{run_key}-{index}{ext}" if run_key else f"part-{index}{ext}"


def key_files(opts: Mapping, fmt: str, run_key: str) -> Callable[[str], bool]:
    """Whether a file name is one of ``run_key``'s part files."""
    sentinel = "\x00"
    name = re.escape(part_name(opts, fmt, sentinel, run_key))
    rx = re.compile(name.replace(re.escape(sentinel), r"\d{5}") + r"\Z")
    return lambda file_name: rx.match(file_name) is not None


def outside(partitions: list[str]) -> Callable[[PurePosixPath], bool]:
    """Whether a relative file path lies outside every one of ``partitions``."""
    prefixes = [PurePosixPath(p).parts for p in partitions]
    return lambda rel: not any(rel.parts[:len(p)] == p for p in prefixes)
