"""Writes of the DuckDB engine: ``COPY (query) TO`` out, and the staging hand-off.

Through commit.Commit exactly as io_write.py (same part names, modes and carry rules); each
part is one ``COPY``; ``partition_by`` writes one file per partition folder named by
hive.segment, partition columns not stored in the files.  PostgreSQL sinks get
``to_arrow(...).to_pandas()`` and io_postgres' writer, for now.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ... import hive
from ...commit import Commit, _fault
from ...errors import NotAvailable, StepError
from ...expr.sql import quote_ident as q
from ...expr.sql import sql_literal
from ...expr.types import Type
from ...file_layout import (
    dataset_location,
    is_single_file,
    key_files,
    outside,
    part_name,
)
from ...paths import ensure_writable, local_path
from ...staging import _split, commit_parts, safe_name
from .sql_build import Builder, Rel, conform, typed

MODES = ("append", "overwrite", "overwrite_partitions")


def _copy_options(fmt: str, opts: Mapping[str, Any]) -> str:
    if fmt == "parquet":
        comp = opts.get("compression") or "snappy"
        out = ["FORMAT parquet", f"COMPRESSION {'uncompressed' if comp == 'none' else comp}"]
        if opts.get("row_group_size"):
            out.append(f"ROW_GROUP_SIZE {int(opts['row_group_size'])}")
        return ", ".join(out)
    if fmt == "csv":
        out = ["FORMAT csv", f"HEADER {'true' if opts.get('header', True) else 'false'}",
               f"DELIMITER {sql_literal(opts.get('delimiter', ','))}",
               f"QUOTE {sql_literal(opts.get('quote', chr(34)))}",
               f"NULL {sql_literal(opts.get('null_value', ''))}"]
        if opts.get("escape"):
            out.append(f"ESCAPE {sql_literal(opts['escape'])}")
        comp = opts.get("compression")
        if comp and comp not in ("none", "infer"):
            out.append(f"COMPRESSION {comp}")
        return ", ".join(out)
    if fmt == "json":
        return "FORMAT json"
    raise NotAvailable(f"writing format {fmt!r} is not supported by this runtime")


def _out_items(rel: Rel, fmt: str, declared: Mapping | None, cols) -> str:
    """The written columns: declared ones first (io_write conforms them so), stored as the
    pandas engine stores them (Parquet decimals as decimal(38, s), dtypes.arrow_type); text
    formats get decimals as floats, as pandas."""
    items = []
    cols = [c for c in declared or () if c in cols] + [c for c in cols if c not in
                                                        (declared or ())]
    for c in cols:
        t = rel.types.get(c, Type("unknown"))
        sql = q(c)
        if declared and c in declared:
            want = Type.from_spec(declared[c])
            sql = conform(sql, t, declared[c], c)
            if want.name == "decimal" and fmt == "parquet":
                sql = f"CAST({sql} AS DECIMAL(38, {want.scale or 0}))"
            else:
                sql = typed(sql, want)
            t = want
        if t.name == "decimal" and fmt != "parquet":
            sql = f"CAST({sql} AS DOUBLE)"
        items.append(f"{sql} AS {q(c)}")
    return ", ".join(items)


def _copy(con, query: str, path: Path, fmt: str, opts: Mapping) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = con.execute(f"COPY ({query}) TO {sql_literal(str(path))} ({_copy_options(fmt, opts)})"
                       ).fetchall()  # fetch to the end: DuckDB holds an unfinished result
    return int(rows[0][0]) if rows else 0


def _partition_name(cols, values) -> str:
    # decimals name their folder as the pandas engine's floats do
    import decimal
    return "/".join(hive.segment(str(c), float(v) if isinstance(v, decimal.Decimal) else v)
                    for c, v in zip(cols, values))


def write(b: Builder, rel: Rel, dataset: Mapping[str, Any], mode: str | None, macros, root,
          append_key: str | None, connections=None, to_arrow=None) -> dict:
    """Write ``rel`` to the dataset (io_write.write_dataset's rules).  Returns {"path",
    "rows", "bytes", "partitions"}."""
    fmt = dataset.get("format")
    mode = mode or "append"
    if fmt == "postgres":
        if mode not in ("append", "overwrite", "upsert"):
            raise StepError(None, f"mode: {mode} does not apply to postgres tables")
        from ...io_postgres import write_postgres
        frame = to_arrow(rel).to_pandas()
        return write_postgres(frame, dataset, mode, macros, connections, append_key=append_key)
    if mode == "upsert":
        raise NotAvailable(f"mode: upsert ({fmt}) arrives with the services issue "
                           f"(qdrant sinks); file datasets take append, overwrite or "
                           f"overwrite_partitions")
    if mode not in MODES:
        raise StepError(None, f"unknown write mode {mode!r}")
    if fmt not in ("parquet", "csv", "json"):
        raise NotAvailable(f"writing format {fmt!r} is not supported by this runtime")
    text = dataset_location(dataset, macros)
    target = ensure_writable(local_path(text, root), root, what="dataset")
    opts = dict(dataset.get("options") or {})
    declared = dataset.get("columns") or None
    partition_by = list(dataset.get("partition_by") or [])
    missing = [c for c in partition_by if c not in rel.columns]
    if missing:
        raise StepError(None, f"partition_by column(s) {missing} are not in the data")
    hidden = [c for c in partition_by if str(c).startswith((".", "_"))]
    if hidden:  # Hive, Spark and etlc's readers skip such folders: the rows would vanish
        raise StepError(None, f"partition_by column(s) {hidden} start with '.' or '_', which "
                              f"readers skip; rename them")
    single = is_single_file(text, fmt) and not partition_by
    if mode == "overwrite_partitions" and not partition_by:
        raise StepError(None, "mode: overwrite_partitions needs partition_by on the dataset")
    run_key = safe_name(append_key) if mode == "append" else None
    if single and mode == "append":
        raise StepError(None, f"mode: append needs a folder path (ending in /), not the single "
                              f"file {text!r}: appended runs are kept as separate part files")
    part_name(opts, fmt, 0, None)  # an unsafe file_name is refused before anything is touched
    con = b.con
    with Commit(target, fmt=fmt, single=single) as tx:
        if not partition_by:
            query = rel.query(_out_items(rel, fmt, declared, rel.columns))
            path = tx.new if single else tx.new / part_name(opts, fmt, 0, run_key)
            rows = _copy(con, query, path, fmt, opts)
            _fault("part_written")
            written, nbytes = [""], path.stat().st_size
        else:
            rows, written, nbytes = _write_partitions(b, rel, tx.new, fmt, opts, declared,
                                                      partition_by, run_key)
        if single or mode == "overwrite":
            tx.commit()
        elif mode == "overwrite_partitions":
            tx.commit(outside(written))
        else:
            own = key_files(opts, fmt, run_key)
            tx.commit(lambda rel_path: not own(rel_path.name))
    return {"path": str(target), "rows": rows, "bytes": nbytes, "partitions": len(written)}


def _write_partitions(b: Builder, rel: Rel, folder: Path, fmt: str, opts, declared,
                      partition_by: list[str], run_key) -> tuple[int, list[str], int]:
    """One file per partition folder: the relation is computed once into a temporary table,
    then each partition is one COPY of a filter over it."""
    con = b.con
    table = f"__etlc_write_{next(b._ids)}"
    con.execute(f"CREATE TEMP TABLE {q(table)} AS {rel.query()}")
    try:
        key_sql = ", ".join(map(q, partition_by))
        groups = con.execute(f"SELECT DISTINCT {key_sql} FROM {q(table)} ORDER BY "
                             + ", ".join(f"{q(k)} NULLS LAST" for k in partition_by)).fetchall()
        data_cols = [c for c in rel.columns if c not in partition_by]
        items = _out_items(rel, fmt, declared, data_cols)
        written, rows, nbytes = [], 0, 0
        for values in groups:
            rel_dir = _partition_name(partition_by, values)
            if rel_dir in written:
                raise StepError(None, f"partition values {values!r} give the folder "
                                      f"{rel_dir!r} of another partition")
            cond = " AND ".join(f"{q(c)} IS NOT DISTINCT FROM {sql_literal(v)}"
                                for c, v in zip(partition_by, values))
            path = folder / rel_dir / part_name(opts, fmt, 0, run_key)
            rows += _copy(con, f"SELECT {items} FROM {q(table)} WHERE {cond}", path, fmt, opts)
            _fault("part_written")
            nbytes += path.stat().st_size
            written.append(rel_dir)
        return rows, written, nbytes
    finally:
        con.execute(f"DROP TABLE IF EXISTS {q(table)}")


def stage(b: Builder, rel: Rel, folder: Path, *, partitions: int, meta: dict,
          before_commit=None) -> dict:
    """The staging hand-off: DuckDB writes the Parquet parts, staging.commit_parts the
    manifest (the relation is computed once, into a temporary table, when it is split)."""
    con = b.con
    schema = {c: rel.types[c].name for c in rel.columns}

    def write_parts(folder: Path, attempt: str):
        if int(partitions or 1) <= 1:
            name = f"part-00000-{attempt}.parquet"
            return [name], [_copy(con, rel.query(), folder / name, "parquet", {})], schema
        table = f"__etlc_stage_{next(b._ids)}"
        con.execute(f"CREATE TEMP TABLE {q(table)} AS {rel.query()}")
        try:
            n = con.execute(f"SELECT count(*) FROM {q(table)}").fetchall()[0][0]
            names, rows = [], []
            for i, (lo, hi) in enumerate(_split(n, partitions)):
                name = f"part-{i:05d}-{attempt}.parquet"
                rows.append(_copy(con, f"SELECT * FROM {q(table)} WHERE rowid >= {lo} AND "
                                       f"rowid < {hi} ORDER BY rowid", folder / name,
                                  "parquet", {}))
                names.append(name)
            return names, rows, schema
        finally:
            con.execute(f"DROP TABLE IF EXISTS {q(table)}")

    return commit_parts(Path(folder), write_parts, meta=meta, before_commit=before_commit)
