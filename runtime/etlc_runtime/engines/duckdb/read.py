"""Reads of the DuckDB engine: table functions in.

``read_parquet`` / ``read_csv`` / ``read_json`` over the files file_layout lists (each
passed through paths.ensure_readable), Hive ``col=value`` folders decoded by hive.py (not by
DuckDB's hive_partitioning: the values join in from a small VALUES table keyed by file
name), declared columns converted in SQL as dtypes.conform does.  Fixed-width files are
lines (``read_csv`` with one VARCHAR column and a separator that is never in a record) cut
by ``substring`` in SQL.  PostgreSQL tables are read by io_postgres (pandas) and handed in as
Arrow, for now.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ...errors import NotAvailable
from ...expr.sql import quote_ident as q
from ...expr.sql import sql_literal
from ...expr.types import Type
from ...file_layout import (
    dataset_location,
    hive_values,
    list_files,
)
from ...paths import ensure_readable, local_path
from .sql_build import Builder, Rel, conform, from_text, typed

FILE_COLUMN = "__etlc_file"
_NEVER = "\x1e"  # the record separator: a fixed-width line never holds it


def _list(paths: list[Path]) -> str:
    return "[" + ", ".join(sql_literal(str(p)) for p in paths) + "]"


def _csv_source(files: list[Path], opts: Mapping[str, Any], declared: Mapping | None) -> str:
    args = [_list(files), f"header = {'true' if opts.get('header', True) else 'false'}",
            f"delim = {sql_literal(opts.get('delimiter', ','))}",
            f"quote = {sql_literal(opts.get('quote', chr(34)))}",
            f"skip = {int(opts.get('skip_rows', 0) or 0)}", "union_by_name = true",
            "hive_partitioning = false"]
    if opts.get("escape"):
        args.append(f"escape = {sql_literal(opts['escape'])}")
    if opts.get("comment"):
        args.append(f"comment = {sql_literal(opts['comment'])}")
    if opts.get("encoding"):
        args.append(f"encoding = {sql_literal(opts['encoding'])}")
    comp = opts.get("compression")
    if comp and comp not in ("none", "infer"):
        args.append(f"compression = {sql_literal(comp)}")
    if int(opts.get("skip_footer", 0) or 0):
        raise NotAvailable("csv option skip_footer is not supported by the duckdb engine yet; "
                           "use `engine: pandas` for this read")
    if declared:
        # text in, converted as dtypes.convert_text does (null_value after stripping)
        args += ["all_varchar = true", f"nullstr = {sql_literal(opts.get('null_value', ''))}"]
        if not opts.get("header", True):
            args.append("names = [" + ", ".join(sql_literal(c) for c in declared) + "]")
    return f"read_csv({', '.join(args)})"


def _json_source(files: list[Path], opts: Mapping[str, Any], declared: Mapping | None) -> str:
    fmt = "newline_delimited" if opts.get("lines", True) else "auto"  # an array or one object
    args = [_list(files), f"format = {sql_literal(fmt)}", "hive_partitioning = false"]
    if declared:
        args.append("columns = {" + ", ".join(f"{sql_literal(c)}: 'VARCHAR'" for c in declared)
                    + "}")
    return f"read_json({', '.join(args)})"


def _fixed_width(b: Builder, files: list[Path], opts: Mapping[str, Any],
                 declared: Mapping | None) -> Rel:
    if not declared:
        raise ValueError("a fixed_width dataset must declare its columns with spans")
    if int(opts.get("skip_footer", 0) or 0):
        raise NotAvailable("fixed_width option skip_footer is not supported by the duckdb "
                           "engine yet; use `engine: pandas` for this read")
    src = (f"read_csv({_list(files)}, columns = {{'line': 'VARCHAR'}}, header = false, "
           f"delim = {sql_literal(_NEVER)}, quote = '', escape = '', auto_detect = false, "
           f"skip = {int(opts.get('skip_rows', 0) or 0)}, hive_partitioning = false, "
           f"encoding = {sql_literal(opts.get('encoding', 'utf-8'))})")
    spans = {}
    for name, col in declared.items():
        span = (col or {}).get("span") if isinstance(col, Mapping) else None
        if not span or len(span) != 2:
            raise ValueError(f"fixed_width column '{name}' needs a span [first, last]")
        lo, hi = int(span[0]), int(span[1])
        spans[name] = f"NULLIF(substring(line, {lo}, {hi - lo + 1}), '')"
    where = "line IS NOT NULL AND NOT regexp_full_match(line, '\\s*')"
    if opts.get("record_types"):
        kinds = ", ".join(sql_literal(str(r).strip()) for r in opts["record_types"])
        where += f" AND trim({next(iter(spans.values()))}) IN ({kinds})"
    null_value = opts.get("null_value", "")
    items = [f"{from_text(sql, declared[n], n, null_value=null_value, strict=False, implied_scale=True)}"
             f" AS {q(n)}" for n, sql in spans.items()]
    return b.new(f"SELECT {', '.join(items)} FROM {src} WHERE {where}", prefix="read")


def read(b: Builder, dataset: Mapping[str, Any], macros, root, columns=None,
         connections=None, from_arrow=None) -> Rel:
    """A relation over the dataset, typed by its declared columns."""
    fmt = dataset.get("format")
    if fmt == "postgres":
        import pyarrow as pa

        from ...io_postgres import read_postgres
        frame = read_postgres(dataset, macros, connections)
        rel = from_arrow(pa.Table.from_pandas(frame, preserve_index=False))
        return b.select(rel, list(columns)) if columns else rel
    text = dataset_location(dataset, macros)
    target = local_path(text, root)
    ensure_readable(target, root)
    opts = dict(dataset.get("options") or {})
    declared = dataset.get("columns") or None
    files = [f for f in list_files(target, text, fmt) if ensure_readable(f, root)]
    if not files:
        raise FileNotFoundError(f"no {fmt} file at {target}" +
                                (f" (from {text!r})" if text != str(target) else ""))
    if fmt == "fixed_width":
        rel = _fixed_width(b, files, opts, declared)
        return _finish(b, rel, declared, columns, conformed=True)
    hive = {f: hive_values(f, target) for f in files} if target.is_dir() else {}
    keys = list(dict.fromkeys(k for v in hive.values() for k in v))
    if fmt == "parquet":
        src = f"read_parquet({_list(files)}, union_by_name = true, hive_partitioning = false"
        src += f", filename = {sql_literal(FILE_COLUMN)})" if keys else ")"
    elif fmt == "csv":
        src = _csv_source(files, opts, declared)
    elif fmt == "json":
        src = _json_source(files, opts, declared)
    else:
        raise NotAvailable(f"format {fmt!r} is not readable by this runtime")
    if keys and fmt != "parquet":
        src = src[:-1] + f", filename = {sql_literal(FILE_COLUMN)})"
    rel = b.source(src)
    if keys:
        rows = ", ".join(
            "(" + ", ".join([sql_literal(str(f))] + [f"CAST({sql_literal(hive[f].get(k))} AS VARCHAR)"
                                                     for k in keys]) + ")" for f in files)
        own = [c for c in rel.columns if c != FILE_COLUMN]
        items = [f"p.{q(c)}" for c in own] + [f"h.{q(k)}" for k in keys if k not in own]
        names = ", ".join(map(q, [FILE_COLUMN, *keys]))
        rel = b.new(f"SELECT {', '.join(items)} FROM {q(rel.name)} AS p LEFT JOIN "
                    f"(VALUES {rows}) AS h({names}) ON p.{q(FILE_COLUMN)} = h.{q(FILE_COLUMN)}",
                    rel)
    if declared and fmt == "csv":
        missing = [c for c in declared if c not in rel.columns]
        if missing:
            raise ValueError(f"columns declared but absent from {files[0]}: {missing}")
    return _finish(b, rel, declared, columns, strict=True)


def _finish(b: Builder, rel: Rel, declared, columns, *, strict: bool = True,
            conformed: bool = False) -> Rel:
    if declared:
        items = []
        for name, spec in declared.items():
            want = Type.from_spec(spec)
            if conformed:
                sql = q(name)
            elif name in rel.columns:
                sql = conform(q(name), rel.types[name], spec, name, strict=strict)
            else:
                sql = typed("NULL", want)
            if isinstance(spec, Mapping) and spec.get("nullable") is False:
                msg = sql_literal(f"column '{name}' is declared nullable: false but a row "
                                  f"holds null")
                sql = f"(CASE WHEN {sql} IS NULL THEN error({msg}) ELSE {sql} END)"
            items.append(f"{typed(sql, want)} AS {q(name)}")
        rel = b.new(f"SELECT {', '.join(items)} FROM {q(rel.name)}", rel)
    if columns:
        missing = [c for c in columns if c not in rel.columns]
        if missing:
            raise ValueError(f"select names unknown column(s): {missing}")
        rel = b.select(rel, list(columns))
    return rel
