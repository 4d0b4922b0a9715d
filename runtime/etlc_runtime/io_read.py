"""Read datasets from local files: csv, parquet, json (JSON Lines), fixed_width.

Paths are rendered with the run's macros (``{{ ds_nodash }}``), resolved against the project
root, and may be glob patterns (``data/*.csv``) or folders (every data file inside, Hive
``key=value/`` folders included).  When the dataset declares ``columns`` the result has
exactly those columns, in that order, typed as :mod:`etlc_runtime.dtypes` says.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from . import dtypes
from .errors import NotAvailable

# the file layout lives in one pandas-free place, shared with the duckdb engine
from .file_layout import dataset_location as _location
from .file_layout import hive_values as _hive_values
from .file_layout import list_files
from .paths import ensure_readable, local_path


def dataset_location(dataset: Mapping[str, Any], macros: Mapping[str, Any], root=None) -> str:
    """The rendered path of a file dataset (``root`` is accepted for old callers)."""
    return _location(dataset, macros)


def _read_text_lines(path: Path, encoding: str, compression: str | None) -> list[str]:
    import bz2
    import gzip
    opener = open
    comp = (compression or "infer").lower()
    if comp == "infer":
        comp = {".gz": "gzip", ".bz2": "bz2"}.get(path.suffix.lower(), "none")
    if comp == "gzip":
        opener = gzip.open
    elif comp == "bz2":
        opener = bz2.open
    with opener(path, "rt", encoding=encoding, newline="") as fh:
        return fh.read().splitlines()


def _read_csv(path: Path, opts: Mapping[str, Any], columns: Mapping | None) -> pd.DataFrame:
    header = opts.get("header", True)
    kwargs: dict[str, Any] = {
        "sep": opts.get("delimiter", ","),
        "quotechar": opts.get("quote", '"'),
        "encoding": opts.get("encoding", "utf-8"),
        "skiprows": int(opts.get("skip_rows", 0) or 0),
        "dtype": str if columns else None,
        "keep_default_na": not columns,
        "na_values": [opts.get("null_value", "")] if columns else None,
        "header": 0 if header else None,
    }
    if opts.get("escape"):
        kwargs["escapechar"] = opts["escape"]
        kwargs["doublequote"] = False
    if opts.get("comment"):
        kwargs["comment"] = opts["comment"]
    comp = opts.get("compression")
    if comp and comp not in ("none", "infer"):
        kwargs["compression"] = comp
    footer = int(opts.get("skip_footer", 0) or 0)
    if footer:
        kwargs["skipfooter"] = footer
        kwargs["engine"] = "python"
    if not header and columns:
        kwargs["names"] = list(columns)
    frame = pd.read_csv(path, **kwargs)
    if not header and not columns:
        frame.columns = [f"column{i}" for i in range(frame.shape[1])]
    return frame


def _read_json(path: Path, opts: Mapping[str, Any]) -> pd.DataFrame:
    encoding = opts.get("encoding", "utf-8")
    if opts.get("lines", True):
        records = []
        for number, line in enumerate(_read_text_lines(path, encoding, opts.get("compression")),
                                      start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not a JSON object: {exc}") from None
    else:
        with open(path, encoding=encoding) as fh:
            records = json.load(fh)
        if isinstance(records, dict):
            records = [records]
    frame = pd.DataFrame.from_records(records)
    return frame.astype(object) if len(frame.columns) else frame


def _read_fixed_width(path: Path, opts: Mapping[str, Any], columns: Mapping) -> pd.DataFrame:
    if not columns:
        raise ValueError("a fixed_width dataset must declare its columns with spans")
    lines = _read_text_lines(path, opts.get("encoding", "utf-8"), opts.get("compression"))
    skip = int(opts.get("skip_rows", 0) or 0)
    footer = int(opts.get("skip_footer", 0) or 0)
    lines = lines[skip: len(lines) - footer if footer else None]
    text = pd.Series([ln for ln in lines if ln.strip()], dtype="string")
    spans = {}
    for name, col in columns.items():
        span = dtypes.spec_of(col).get("span")
        if not span or len(span) != 2:
            raise ValueError(f"fixed_width column '{name}' needs a span [first, last]")
        start, end = int(span[0]), int(span[1])
        spans[name] = (start - 1, end)
    record_types = opts.get("record_types")
    if record_types:
        first = next(iter(spans))
        lo, hi = spans[first]
        keep = text.str.slice(lo, hi).str.strip().isin([str(r).strip() for r in record_types])
        text = text[keep.fillna(False)].reset_index(drop=True)
    raw = {}
    for name, (lo, hi) in spans.items():
        field = text.str.slice(lo, hi)
        # a line too short for the span holds no value
        raw[name] = field.mask(field.str.len() == 0)
    return pd.DataFrame(raw, index=text.index)


def _read_parquet_files(files: list[Path], base: Path, columns: Mapping | None,
                        select: list[str] | None) -> pd.DataFrame:
    import pyarrow.parquet as pq

    frames = []
    wanted = list(columns) if columns else (list(select) if select else None)
    for f in files:
        hive = _hive_values(f, base) if base.is_dir() else {}
        schema_names = pq.read_schema(f).names
        read_cols = [c for c in wanted if c in schema_names] if wanted else None
        frame = pq.read_table(f, columns=read_cols).to_pandas()
        for key, value in hive.items():
            if key not in frame.columns and (wanted is None or key in wanted):
                frame[key] = pd.Series([value] * len(frame), dtype="string", index=frame.index)
        frames.append(frame)
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def read_dataset(dataset: Mapping[str, Any], macros: Mapping[str, Any], root,
                 select: list[str] | None = None,
                 connections: Mapping[str, Any] | None = None,
                 files: list[Path] | None = None) -> pd.DataFrame:
    """Read a dataset into a pandas DataFrame typed by its declared columns."""
    fmt = dataset.get("format")
    if fmt == "postgres":
        from .io_postgres import read_postgres
        frame = read_postgres(dataset, macros, connections)
        return frame[list(select)] if select else frame
    text = dataset_location(dataset, macros, root)
    target = local_path(text, root)
    ensure_readable(target, root)
    opts = dict(dataset.get("options") or {})
    columns = dataset.get("columns") or None
    # files: a share of the dataset's files its caller listed (a dask partition's)
    files = [f for f in (list_files(target, text, fmt) if files is None else files)
             if ensure_readable(f, root)]
    if not files:
        raise FileNotFoundError(f"no {fmt} file at {target}" +
                                (f" (from {text!r})" if text != str(target) else ""))
    if fmt == "parquet":
        frame = _read_parquet_files(files, target if target.is_dir() else target.parent,
                                    columns, select)
        strict = True
    else:
        frames = []
        for f in files:
            if fmt == "csv":
                part = _read_csv(f, opts, columns)
            elif fmt == "json":
                part = _read_json(f, opts)
            elif fmt == "fixed_width":
                part = _read_fixed_width(f, opts, columns)
            else:
                raise NotAvailable(f"format {fmt!r} is not readable by this runtime")
            if target.is_dir():
                for key, value in _hive_values(f, target).items():
                    if key not in part.columns:
                        part[key] = value
            frames.append(part)
        frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        strict = fmt != "fixed_width"
    if columns:
        missing = [c for c in columns if c not in frame.columns and fmt == "csv"]
        if missing:
            raise ValueError(f"columns declared but absent from {files[0]}: {missing}")
        null_value = opts.get("null_value", "")
        if fmt == "fixed_width":
            frame = pd.DataFrame({
                name: dtypes.convert_text(frame[name], col, name, strict=False,
                                          null_value=null_value, implied_scale=True)
                for name, col in columns.items()}, index=frame.index)
        else:
            frame = dtypes.conform(frame, columns, strict=strict)
        for name, col in columns.items():
            if dtypes.spec_of(col).get("nullable") is False:
                nulls = int(frame[name].isna().sum())
                if nulls:
                    raise ValueError(f"column '{name}' is declared nullable: false but "
                                     f"{nulls} row(s) hold null")
    if select:
        missing = [c for c in select if c not in frame.columns]
        if missing:
            raise ValueError(f"select names unknown column(s): {missing}")
        frame = frame[list(select)]
    return frame.reset_index(drop=True)
