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
  the dataset's ``file_name`` pattern (``{i}`` is the part number);
- a write is checked once, before anything is touched, by :func:`write_target`, whose
  :class:`WriteTarget` both engines' writers follow.
"""

from __future__ import annotations

import glob as _glob
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import NotAvailable, StepError, UnsafePath
from .hive import parse_segment
from .paths import ensure_readable, has_glob, local_path, scheme_of
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


def no_files(fmt: str, target: Path | None, text: str) -> FileNotFoundError:
    """The error of a read whose path names no file."""
    return FileNotFoundError(f"no {fmt} file at {target}" +
                             (f" (from {text!r})" if text != str(target) else ""))


def local_files(dataset: Mapping[str, Any], macros: Mapping[str, Any], root,
                files: Sequence[Path] | None = None) -> tuple[str, Path, list[Path]]:
    """The rendered path of a local file dataset, its local target and the files to read:
    those it names (:func:`list_files`), or ``files`` when the caller listed a share of
    them; each inside the project's readable roots.  No file is :func:`no_files`."""
    fmt = dataset.get("format")
    text = dataset_location(dataset, macros)
    target = local_path(text, root)
    ensure_readable(target, root)
    found = [f for f in (list_files(target, text, fmt) if files is None else files)
             if ensure_readable(f, root)]
    if not found:
        raise no_files(fmt, target, text)
    return text, target, found


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


WRITE_MODES = {"postgres": ("append", "overwrite", "upsert"),
               "file": ("append", "overwrite", "overwrite_partitions")}
WRITE_FORMATS = ("parquet", "csv", "json")


@dataclass(frozen=True)
class WriteTarget:
    """A write checked before anything is touched (the rules of every engine's writer).

    ``path`` is the resolved local target (None for a postgres table), ``text`` the rendered
    path, ``single`` whether it names one file, ``run_key`` the append key of an append's
    part files (None for other modes)."""

    fmt: str
    mode: str
    text: str | None = None
    path: Path | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    declared: Mapping[str, Any] | None = None
    partition_by: tuple[str, ...] = ()
    single: bool = False
    run_key: str | None = None


def write_target(dataset: Mapping[str, Any], mode: str | None, macros: Mapping[str, Any], root,
                 append_key: str | None, columns: Sequence[str]) -> WriteTarget:
    """Check a write of data with ``columns`` to ``dataset`` (mode, format, path, partition
    columns, part names) and resolve where it goes; raises before any file is touched."""
    from .paths import ensure_writable, local_path
    from .staging import safe_name

    fmt = dataset.get("format")
    mode = mode or "append"
    declared = dataset.get("columns") or None
    if fmt == "postgres":
        if mode not in WRITE_MODES["postgres"]:
            raise StepError(None, f"mode: {mode} does not apply to postgres tables")
        return WriteTarget(fmt, mode, declared=declared)
    if mode == "upsert":
        raise NotAvailable(f"mode: upsert ({fmt}) arrives with the services issue "
                           f"(qdrant sinks); file datasets take append, overwrite or "
                           f"overwrite_partitions")
    if mode not in WRITE_MODES["file"]:
        raise StepError(None, f"unknown write mode {mode!r}")
    if fmt not in WRITE_FORMATS:
        raise NotAvailable(f"writing format {fmt!r} is not supported by this runtime")
    text = dataset_location(dataset, macros)
    path = ensure_writable(local_path(text, root), root, what="dataset")
    opts = dict(dataset.get("options") or {})
    partition_by = tuple(dataset.get("partition_by") or ())
    missing = [c for c in partition_by if c not in columns]
    if missing:
        raise StepError(None, f"partition_by column(s) {missing} are not in the data")
    hidden = [c for c in partition_by if str(c).startswith((".", "_"))]
    if hidden:  # Hive, Spark and etlc's readers skip such folders: the rows would vanish
        raise StepError(None, f"partition_by column(s) {hidden} start with '.' or '_', which "
                              f"readers skip; rename them")
    if mode == "overwrite_partitions" and not partition_by:
        raise StepError(None, "mode: overwrite_partitions needs partition_by on the dataset")
    single = is_single_file(text, fmt) and not partition_by
    if single and mode == "append":
        raise StepError(None, f"mode: append needs a folder path (ending in /), not the single "
                              f"file {text!r}: appended runs are kept as separate part files")
    part_name(opts, fmt, 0, None)  # an unsafe file_name is refused before anything is touched
    run_key = safe_name(append_key) if mode == "append" else None
    return WriteTarget(fmt, mode, text, path, opts, declared, partition_by, single, run_key)
