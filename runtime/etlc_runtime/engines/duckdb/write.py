"""Writes of the DuckDB engine: ``COPY (query) TO`` out, and the staging hand-off.

Through commit.Commit exactly as io_write.py (same part names, modes and carry rules); each
part is one ``COPY``; ``partition_by`` writes one file per partition folder named by
hive.segment, partition columns not stored in the files.  PostgreSQL sinks get
``to_arrow(...)`` (an Arrow table, no pandas) and io_postgres' writer.
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
from ...file_layout import key_files, outside, part_name, write_target
from ...staging import _split, commit_parts
from .conversions import conform, data_error
from .sql_build import Builder, Rel, typed

MODES = ("append", "overwrite", "overwrite_partitions")


def _copy_options(fmt: str, opts: Mapping[str, Any], force_quote: str | None = None) -> str:
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
        if force_quote:  # one text column with a null_value: an empty string is not a blank line
            out.append(f"FORCE_QUOTE ({q(force_quote)})")
        comp = opts.get("compression")
        if comp and comp not in ("none", "infer"):
            out.append(f"COMPRESSION {comp}")
        return ", ".join(out)
    if fmt == "json":
        return "FORMAT json"
    raise NotAvailable(f"writing format {fmt!r} is not supported by this runtime")


def _out_items(rel: Rel, fmt: str, declared: Mapping | None, cols) -> str:
    """The written columns: declared ones first (io_write conforms them so), in their
    declared types (dtypes.arrow_type: decimals with their precision, else 38 digits), text
    kept as it is (an empty string is never null on write); text formats get DuckDB's text
    forms, which are docs/types.md's (decimals with every digit, floats shortest, every NaN
    ``nan``)."""
    items = []
    cols = [c for c in declared or () if c in cols] + [c for c in cols if c not in
                                                        (declared or ())]
    for c in cols:
        t = rel.types.get(c, Type("unknown"))
        sql = q(c)
        if declared and c in declared:
            want = Type.from_spec(declared[c])
            if want.name == "decimal":
                spec = declared[c] if isinstance(declared[c], Mapping) else {}
                if t.name in ("string", "unknown"):
                    sql = conform(sql, t, {**spec, "scale": want.scale}, c, null_value=None)
                target = f"DECIMAL({int(spec.get('precision') or 38)}, {want.scale or 0})"
                sql = _lossless(sql, t, target, c)
            elif want.name == "int" and t.name in ("float", "decimal"):
                sql = _lossless(sql, t, "BIGINT", c)
            else:
                sql = typed(conform(sql, t, declared[c], c, null_value=None), want)
        out_t = Type.from_spec(declared[c]) if declared and c in declared else t
        if fmt == "csv" and out_t.name == "float":   # DuckDB writes a NaN with its sign bit '-nan'
            sql = f"(CASE WHEN isnan({sql}) THEN 'nan'::DOUBLE ELSE {sql} END)"
        items.append(f"{sql} AS {q(c)}")
    return ", ".join(items)


def _lossless(sql: str, current: Type, target: str, name: str) -> str:
    """``sql`` as ``target`` (BIGINT, DECIMAL(p, s)) where no digit is lost: a fraction an int
    cannot hold, or digits beyond the declared scale, are R040 naming the value (as the
    pandas engine's Arrow cast), never rounded on the way to the file."""
    if current.name not in ("float", "decimal"):
        return f"CAST({sql} AS {target})"
    back = "DOUBLE" if current.name == "float" else f"DECIMAL(38, {current.scale or 0})"
    if current.name == "decimal" and current.scale is None:
        back = "DOUBLE"
    bad = data_error(f"does not fit the declared type {target.lower()} without losing "
                     f"digits", name, sql)
    return (f"(CASE WHEN {sql} IS NOT NULL AND CAST(CAST({sql} AS {target}) AS {back}) "
            f"<> {sql} THEN CAST({bad} AS {target}) ELSE CAST({sql} AS {target}) END)")


def _force_quote(rel: Rel, fmt: str, opts: Mapping, cols) -> str | None:
    cols = list(cols)
    if fmt == "csv" and opts.get("null_value", "") != "" and len(cols) == 1 and \
            rel.types.get(cols[0], Type("unknown")).name in ("string", "unknown"):
        return cols[0]
    return None


def _copy(con, query: str, path: Path, fmt: str, opts: Mapping,
          force_quote: str | None = None) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    options = _copy_options(fmt, opts, force_quote)
    rows = con.execute(f"COPY ({query}) TO {sql_literal(str(path))} ({options})"
                       ).fetchall()  # fetch to the end: DuckDB holds an unfinished result
    return int(rows[0][0]) if rows else 0


def _partition_name(cols, values) -> str:
    # decimals name their folder with every digit of their scale, as the pandas engine's
    return "/".join(hive.segment(str(c), v) for c, v in zip(cols, values))


def write(b: Builder, rel: Rel, dataset: Mapping[str, Any], mode: str | None, macros, root,
          append_key: str | None, connections=None, to_arrow=None) -> dict:
    """Write ``rel`` to the dataset (io_write.write_dataset's rules).  Returns {"path",
    "rows", "bytes", "partitions"}."""
    spot = write_target(dataset, mode, macros, root, append_key, rel.columns)
    if spot.fmt == "postgres":
        from ...io_postgres import write_postgres
        return write_postgres(to_arrow(rel), dataset, spot.mode, macros, connections,
                              append_key=append_key)
    fmt, opts, declared, target = spot.fmt, dict(spot.options), spot.declared, spot.path
    single, partition_by, run_key, mode = (spot.single, list(spot.partition_by), spot.run_key,
                                           spot.mode)
    con = b.con
    with Commit(target, fmt=fmt, single=single) as tx:
        if not partition_by:
            query = rel.query(_out_items(rel, fmt, declared, rel.columns))
            path = tx.new if single else tx.new / part_name(opts, fmt, 0, run_key)
            rows = _copy(con, query, path, fmt, opts, _force_quote(rel, fmt, opts, rel.columns))
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
            rows += _copy(con, f"SELECT {items} FROM {q(table)} WHERE {cond}", path, fmt, opts,
                          _force_quote(rel, fmt, opts, data_cols))
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
