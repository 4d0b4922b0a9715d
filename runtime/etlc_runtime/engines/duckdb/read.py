"""Reads of the DuckDB engine: table functions in.

``read_parquet`` / ``read_csv`` over the files file_layout lists (each passed through
paths.ensure_readable), Hive ``col=value`` folders decoded by hive.py (not by DuckDB's
hive_partitioning: the values join in from a small VALUES table keyed by file name).
Declared columns come in exactly or the query raises R040 (docs/types.md, Reading files):
text through conversions.from_text, typed Parquet columns through read_sql.lossless, a
declared column a Parquet file lacks refused from its schema before any row moves.  CSV
files are read one by one with their header's columns (VARCHAR when declared, the sniffer's
types otherwise), strict: a row with more or fewer fields than the header stops the read
with its line.  JSON is parsed by read_text (DuckDB's reader holds numbers as doubles) and
handed in as Arrow. Fixed-width files come in as their lines and line numbers (read_text,
Arrow without pandas), cut by ``substring`` and converted by from_text in SQL, by the pandas
engine's rules (an R040 names the file's line). With ``on_error: null | skip`` the read
counts what it let through (``counts``: one extra scan; CSV rows with more or fewer fields
than the header that ``skip`` leaves out from DuckDB's rejects tables, a second scan).
PostgreSQL tables are read by pg_read (COPY into Arrow, the step's columns and filter pushed
down) and handed in.  An ``s3://`` Parquet dataset comes with its listed parts (s3_read:
pruned, with their Hive values) and is read in place: as one pyarrow dataset (s3_scan) where
its types read as ``read_parquet`` reads them, else by ``read_parquet`` through the
registered filesystem.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ...errors import ON_ERROR, ROW, DataError, NotAvailable, count_read_errors
from ...expr.sql import quote_ident as q
from ...expr.sql import sql_literal, sql_type
from ...expr.types import Type
from ...file_layout import (
    dataset_location,
    hive_values,
    list_files,
)
from ...paths import ensure_readable, local_path
from ...s3_read import LISTING
from .conversions import MARK, decimal_sql, from_text
from . import csv_typed
from .csv_source import FILE_COLUMN, _list, csv_files
from .read_sql import lossless
from .sql_build import Builder, Rel, etlc_type, typed

LINE_COLUMN = "__etlc_line"   # a fixed-width row's line in its file


def _json_table(files: list[Path], opts: Mapping[str, Any], declared: Mapping | None,
                name: str):
    """JSON read by read_text (numbers keep every digit, which DuckDB's reader does not), as
    one Arrow table with the file of each row (for hive values and errors)."""
    import pyarrow as pa

    from ...arrow_convert import Where
    from ...read_text import read_json_table
    tables = []
    for f in files:
        t = read_json_table(f, opts, declared, Where(name, str(f)))
        tables.append(t.append_column(FILE_COLUMN, pa.array([str(f)] * t.num_rows,
                                                            pa.string())))
    return pa.concat_tables(tables, promote_options="permissive") if len(tables) > 1 \
        else tables[0]


def _fixed_width(b: Builder, files: list[Path], opts: Mapping[str, Any], declared: Mapping,
                 name: str, from_arrow, counts: dict | None) -> Rel:
    """Fixed-width files: their lines and line numbers from read_text (Arrow, no pandas),
    cut by ``substring`` and converted by from_text, as the pandas engine's reader does: a
    field blank or equal to ``null_value`` after stripping is null, a decimal without a
    point takes its ``scale`` last digits as the fraction, any other field that does not
    convert is R040 naming the file's line (or follows ``on_error``, counted)."""
    from ...read_text import fixed_width_lines, fixed_width_spans

    spans = fixed_width_spans(declared)
    skip = int(opts.get("skip_rows", 0) or 0)
    lines = [from_arrow(fixed_width_lines(f, opts, name)) for f in files]
    union = " UNION ALL ".join(
        f"SELECT line, n + {skip} AS {q(LINE_COLUMN)}, {sql_literal(str(f))} AS "
        f"{q(FILE_COLUMN)} FROM {q(r.name)}" for f, r in zip(files, lines))
    where = kept_lines(spans, opts)
    cut = ", ".join(f"substring(line, {lo + 1}, {hi - lo}) AS {q(n)}"
                    for n, (lo, hi) in spans.items())
    rel = b.new(f"SELECT {cut}, {q(LINE_COLUMN)}, {q(FILE_COLUMN)} FROM ({union}) "
                f"WHERE {where}", *lines, prefix="read")
    null_value = str(opts.get("null_value", "") or "")
    on_error = opts.get("on_error", "fail")
    items, failed = [], {}
    for col, spec in declared.items():
        text = q(col)
        if Type.from_spec(spec).name == "decimal" and int(spec.get("scale") or 0):
            text = _implied(text, int(spec["scale"]))
        sql = from_text(text, spec, col, null_value=null_value, strict=False)
        if Type.from_spec(spec).name != "string":
            present = f"NULLIF(NULLIF(trim({q(col)}), ''), {sql_literal(null_value)})"
            failed[col] = f"{present} IS NOT NULL AND {sql} IS NULL"
            if on_error == "fail":
                error = typed(_fixed_width_error(col, spec), Type.from_spec(spec))
                sql = f"(CASE WHEN {failed[col]} THEN {error} ELSE {sql} END)"
        items.append(f"{sql} AS {q(col)}")
    if counts is not None and on_error != "fail" and failed:
        _count(b, rel, failed, on_error, counts)
    keep = " AND ".join(f"NOT ({c})" for c in failed.values()) if on_error == "skip" else ""
    return b.new(f"SELECT {', '.join(items)} FROM {q(rel.name)}"
                 + (f" WHERE {keep}" if keep else ""), rel)


def kept_lines(spans: Mapping[str, tuple[int, int]], opts: Mapping[str, Any]) -> str:
    """SQL true for a fixed-width line that holds a row: not blank, and of one of the
    ``record_types`` where they are given (in the first column's span)."""
    where = "NOT regexp_full_match(line, '\\s*')"
    if opts.get("record_types"):
        lo, hi = next(iter(spans.values()))
        kinds = ", ".join(sql_literal(str(r).strip()) for r in opts["record_types"])
        where += f" AND trim(substring(line, {lo + 1}, {hi - lo})) IN ({kinds})"
    return where


def _implied(x: str, scale: int) -> str:
    """SQL text of a fixed-width decimal field: digits without a point take their ``scale``
    last digits as the fraction (read_text._implied, in SQL; text, so nothing is rounded)."""
    t = f"trim({x})"
    digits = f"regexp_replace({t}, '^[+-]', '')"
    padded = f"lpad({digits}, CAST(greatest(length({digits}), {scale + 1}) AS INTEGER), '0')"
    return (f"(CASE WHEN regexp_full_match({t}, '[+-]?[0-9]+') THEN "
            f"regexp_extract({t}, '^[+-]?') || left({padded}, length({padded}) - {scale}) "
            f"|| '.' || right({padded}, {scale}) ELSE {x} END)")


def _fixed_width_error(col: str, spec: Any) -> str:
    """SQL raising R040 for column ``col`` of a fixed-width row: its value, file and line."""
    want = Type.from_spec(spec)
    reason = f"not a valid {want.name}"
    fields = (f"json_object('reason', {sql_literal(reason)}, 'column', {sql_literal(col)}, "
              f"'value', {q(col)}, 'file', {q(FILE_COLUMN)}, 'line', {q(LINE_COLUMN)})")
    return (f"error(concat({sql_literal(f'R040 column {col!r}: {reason}: value ')}, {q(col)}, "
            f"{sql_literal(' ' + MARK)}, CAST({fields} AS VARCHAR), ']'))")


def read(b: Builder, dataset: Mapping[str, Any], macros, root, columns=None,
         connections=None, from_arrow=None, counts: dict | None = None,
         fallbacks: dict | None = None, keep: list | None = None) -> Rel:
    """A relation over the dataset, typed by its declared columns (``counts``: the tally of
    values ``on_error: null | skip`` let through, errors.count_read_errors' shape;
    ``fallbacks``: where a CSV read whose dates pyarrow parses keeps its text
    twin, csv_typed, with the scans it registers kept alive in ``keep``; None: the text
    path only)."""
    fmt = dataset.get("format")
    if fmt == "postgres":   # COPY into Arrow, no pandas (pg_read)
        from ...pg_read import read_arrow
        return from_arrow(read_arrow(dataset, macros, connections,
                                     list(columns) if columns else None, counts=counts))
    opts = dict(dataset.get("options") or {})
    declared = dataset.get("columns") or None
    remote = dataset.get(LISTING)   # an s3:// dataset's parts (s3_read), read in place
    scan = None
    if remote is not None:
        if fmt != "parquet":
            raise NotAvailable(f"{fmt} objects are read from a local copy (s3_bridge)")
        text, target, files = remote.url, None, list(remote.files)
        from .s3_scan import parquet_dataset
        scan = parquet_dataset(remote, FILE_COLUMN)    # None: read_parquet's types needed
        if scan is None:
            # each part's footer is fetched once, not once per pass (R040's schema check,
            # the bind, the scan): parts are never rewritten (s3_read: R220 at open all the
            # same), and DuckDB re-reads the footer of a file modified within 10 s of
            # caching it
            b.con.execute("SET parquet_metadata_cache = true")
    else:
        text = dataset_location(dataset, macros)
        target = local_path(text, root)
        ensure_readable(target, root)
        files = [f for f in list_files(target, text, fmt) if ensure_readable(f, root)]
    if not files:
        raise FileNotFoundError(f"no {fmt} file at {target}" +
                                (f" (from {text!r})" if text != str(target) else ""))
    name = dataset.get("name") or text
    rejects = None   # CSV rows that on_error: skip leaves out: DuckDB's rejects tables, source
    if fmt == "fixed_width":
        if not declared:
            raise ValueError("a fixed_width dataset must declare its columns with spans")
        rel = _fixed_width(b, files, opts, declared, name, from_arrow, counts)
        return _finish(b, rel, declared, columns, conformed=True)
    if remote is not None:
        hive = dict(remote.hive)
    else:
        hive = {f: hive_values(f, target) for f in files} if target.is_dir() else {}
    keys = list(dict.fromkeys(k for v in hive.values() for k in v))
    if fmt == "parquet" and scan is not None:
        dataset_, schemas = scan
        if declared:
            _declared_present(files, {f: set(schemas[f].names) for f in files}, declared,
                              hive, name)
        rel = from_arrow(dataset_)
    elif fmt == "parquet":
        if declared:
            _parquet_columns(b, files, declared, hive, name)
        src = f"read_parquet({_list(files)}, union_by_name = true, hive_partitioning = false"
        src += f", filename = {sql_literal(FILE_COLUMN)})" if (keys or declared) else ")"
        rel = b.source(src)
    elif fmt == "csv":
        src = None if keys else csv_typed.source(b, files, opts, declared, fallbacks,
                                                  keep if keep is not None else [])
        src = src or csv_files(files, opts, declared, b)
        if opts.get("on_error") == "skip" and counts is not None and declared:
            tables: list[str] = []
            rejects = (tables, csv_files(files, opts, declared, b, tables))
        if keys and not declared and not opts.get("header", True):
            src = src[:-1] + f", filename = {sql_literal(FILE_COLUMN)})"
        rel = b.source(src)
    elif fmt == "json":
        rel = from_arrow(_json_table(files, opts, declared, name))
    else:
        raise NotAvailable(f"format {fmt!r} is not readable by this runtime")
    if not (declared or keys) and FILE_COLUMN in rel.columns:
        rel = b.select(rel, [c for c in rel.columns if c != FILE_COLUMN])
    if keys:
        rows = ", ".join(
            "(" + ", ".join([sql_literal(str(f))] + [f"CAST({sql_literal(hive[f].get(k))} AS VARCHAR)"
                                                     for k in keys]) + ")" for f in files)
        own = [c for c in rel.columns if c != FILE_COLUMN]
        items = [f"p.{q(c)}" for c in own] + [f"h.{q(k)}" for k in keys if k not in own]
        if declared:
            items.append(f"p.{q(FILE_COLUMN)}")
        names = ", ".join(map(q, [FILE_COLUMN, *keys]))
        rel = b.new(f"SELECT {', '.join(items)} FROM {q(rel.name)} AS p LEFT JOIN "
                    f"(VALUES {rows}) AS h({names}) ON p.{q(FILE_COLUMN)} = h.{q(FILE_COLUMN)}",
                    rel)
    if declared and fmt == "csv":
        missing = [c for c in declared if c not in rel.columns]
        if missing:
            raise DataError("a declared column is absent from the file", dataset=name,
                            column=missing[0], file=str(files[0]))
    return _finish(b, rel, declared, columns, on_error=opts.get("on_error", "fail"),
                   counts=counts, rejects=rejects)


def _parquet_columns(b: Builder, files: list[Path], declared: Mapping, hive: Mapping,
                     name: str) -> None:
    """R040 for a declared column that a Parquet file (with its Hive folders) lacks."""
    rows = b.con.execute(f"SELECT file_name, name FROM parquet_schema({_list(files)})"
                         ).fetchall()
    have: dict[str, set] = {}
    for file_name, col in rows:
        have.setdefault(str(file_name), set()).add(col)
    _declared_present(files, {f: have.get(str(f), set()) for f in files}, declared, hive,
                      name)


def _declared_present(files, have: Mapping[Any, set], declared: Mapping, hive: Mapping,
                      name: str) -> None:
    for f in files:
        present = set(have[f]) | set(hive.get(f, {}))
        for col in declared:
            if col not in present:
                raise DataError("a declared column is absent from the file", dataset=name,
                                column=col, file=str(f))


def _declared_types(declared: Mapping) -> dict[str, Type] | None:
    """The etlc types DuckDB binds the declared columns' casts to, where every column is
    cast (no binding of the conversion's large SQL needed); None where one is not."""
    out = {}
    for name, spec in declared.items():
        want = Type.from_spec(spec)
        if want.name in ("null", "unknown", "vector"):
            return None
        out[name] = etlc_type(decimal_sql(spec) if want.name == "decimal" else sql_type(want))
    return out


def _finish(b: Builder, rel: Rel, declared, columns, *, on_error: str = "fail",
            conformed: bool = False, counts: dict | None = None,
            rejects: tuple[list[str], str] | None = None) -> Rel:
    """The declared columns, converted (``on_error``: ``fail`` raises R040 in SQL, ``null``
    nulls a value that does not convert, ``skip`` leaves its row out)."""
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error must be one of {', '.join(ON_ERROR)}, not {on_error!r}")
    strict = on_error == "fail"
    skips: list[str] = []
    failed: dict[str, str] = {}   # column -> SQL true where its value did not convert
    if declared:
        items = []
        raw = (dict(rel.raw) or dict(b.describe(rel.query()))) if not conformed else {}
        file_sql = q(FILE_COLUMN) if FILE_COLUMN in rel.columns else None
        for name, spec in declared.items():
            want = Type.from_spec(spec)
            if conformed:
                sql = q(name)
            elif name in rel.columns:
                sql = lossless(q(name), raw.get(name, "VARCHAR"), spec, name, file_sql,
                               strict)
                if not strict:
                    failed[name] = f"{q(name)} IS NOT NULL AND {sql} IS NULL"
                if on_error == "skip":
                    skips.append(f"NOT ({failed[name]})")
            else:
                sql = typed("NULL", want)
            if isinstance(spec, Mapping) and spec.get("nullable") is False:
                msg = sql_literal(f"column '{name}' is declared nullable: false but a row "
                                  f"holds null")
                sql = f"(CASE WHEN {sql} IS NULL THEN error({msg}) ELSE {sql} END)"
            out = f"CAST({sql} AS {decimal_sql(spec)})" if want.name == "decimal" else \
                typed(sql, want)
            items.append(f"{out} AS {q(name)}")
        if counts is not None and (failed or rejects):
            _count(b, rel, failed, on_error, counts, rejects)
        where = f" WHERE {' AND '.join(skips)}" if skips else ""
        rel = b.new(f"SELECT {', '.join(items)} FROM {q(rel.name)}{where}", rel,
                    types=_declared_types(declared))
    if columns:
        missing = [c for c in columns if c not in rel.columns]
        if missing:
            raise ValueError(f"select names unknown column(s): {missing}")
        rel = b.select(rel, list(columns))
    return rel


def _count(b: Builder, rel: Rel, failed: Mapping[str, str], on_error: str, counts: dict,
           rejects: tuple[list[str], str] | None = None) -> None:
    """Tally what ``on_error: null | skip`` lets through (scans of the source, run here):
    per column the values that did not convert; the CSV rows with more or fewer fields than
    the header that ``skip`` leaves out, from the rejects tables of a source of their own
    (``rejects``: the tables and that source, scanned once; a table exists once a row went
    to it).  Each result is fetched whole: one left open keeps its scan unfinished."""
    import duckdb
    if failed:
        items = ", ".join(f"count(*) FILTER (WHERE {cond})" for cond in failed.values())
        found = b.con.execute(rel.query(items)).fetchall()[0]
        for name, n in zip(failed, found):
            count_read_errors(counts, name, on_error, n)
    if rejects:
        tables, source = rejects
        b.con.execute(f"SELECT count(*) FROM {source}").fetchall()
        for table in tables:
            try:
                (n,) = b.con.execute(f"SELECT count(*) FROM {q(table)}").fetchall()[0]
            except duckdb.CatalogException:
                n = 0
            count_read_errors(counts, ROW, "skip", n)
