"""PostgreSQL load speed (issue 12): etlc's ``append`` and ``upsert`` against
``pandas.DataFrame.to_sql(method="multi")`` and ``psql \\copy`` of the same rows, in one run.

The rows (``--rows``, default 1,000,000): id bigint, name text ('' and nulls among them),
amount numeric(14, 2), day date, ts timestamp, ok bool, score double precision (NaN among
them); one Arrow table, as the duckdb engine hands it to io_postgres.write_postgres.

- ``copy``: ``psql -c "\\copy t FROM 'rows.csv' (FORMAT csv)"`` into an empty table created
  beforehand (the CSV file is written before the clock starts);
- ``to_sql``: ``frame.to_sql(..., method="multi", chunksize=1000)`` through SQLAlchemy and
  psycopg into a new table (``chunksize``: one statement of all rows would pass PostgreSQL's
  65,535 bind parameters);
- ``etlc append``: write_postgres(mode append, keyless, the run's append key) into a new
  table (etlc creates it);
- ``etlc upsert``: write_postgres(mode upsert, key id) into a table that already holds
  half of the keys (every other id, with another ``score``, loaded before the clock
  starts): half the rows update, half insert.

``--reads`` also reads a table of the same rows back (interleaved, best of ``--repeat``):
etlc's ``pg_read.read_arrow`` (every column, typed and checked) against hand-written
psycopg ``COPY ... TO STDOUT (FORMAT csv)`` parsed by ``pyarrow.csv`` with the types given,
and ``psql \\copy ... TO`` a file; etlc's table must equal psycopg's.

Each is run ``--repeat`` times into fresh tables (``to_sql`` once unless ``--repeat-to-sql``)
and the best wall time is kept.  Targets: both etlc modes at least 5x faster than
``to_sql``, ``append`` within 1.5x of ``\\copy``, ``upsert`` within 3x.

    python benchmarks/load_bench.py --rows 200000        # while the machine is shared
    python benchmarks/load_bench.py --rows 1000000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pyarrow as pa

URI = "postgresql://postgres@127.0.0.1:5432/test"


def rows(n: int) -> pa.Table:
    import numpy as np
    import pyarrow.compute as pc

    i = np.arange(n, dtype=np.int64)
    names = pa.array([f"name-{k}" for k in range(1000)])
    name = pc.take(names, pa.array(i % 1000))
    name = pc.if_else(pa.array(i % 97 == 0), pa.scalar(""), name)
    name = pc.if_else(pa.array(i % 89 == 0), pa.scalar(None, pa.string()), name)
    cents = pa.array((i * 7919) % 10_000_000 - 5_000_000)
    amount = pc.cast(pc.cast(cents, pa.string()), pa.decimal128(14, 0))
    amount = pc.divide(pc.cast(amount, pa.decimal128(16, 2)), pa.scalar(100, pa.decimal128(5, 0)))
    amount = pc.cast(amount, pa.decimal128(14, 2))
    day = pa.array((i % 20000).astype("int32"), pa.int32()).cast(pa.date32())
    ts = pa.array(i * 1_000_003 + 1_600_000_000_000_000, pa.int64()).cast(pa.timestamp("us"))
    score = np.where(i % 101 == 0, np.nan, (i % 1000) / 7.0)
    return pa.table({"id": i, "name": name, "amount": amount, "day": day, "ts": ts,
                     "ok": pa.array(i % 3 == 0), "score": score})


DDL = ("id bigint PRIMARY KEY, name text, amount numeric(14, 2), day date, ts timestamp, "
       "ok boolean, score double precision")


def _sql(statement: str) -> None:
    import psycopg

    with psycopg.connect(URI, autocommit=True) as conn:
        conn.execute(statement)


def _count(table: str) -> int:
    import psycopg

    with psycopg.connect(URI) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def bench_copy(data: pa.Table, schema: str, csv_path: Path, tag: str) -> float:
    table = f"{schema}.copy_{tag}"
    _sql(f"CREATE TABLE {table} ({DDL})")
    started = time.perf_counter()
    subprocess.run(["psql", "-q", "-X", "-v", "ON_ERROR_STOP=1", URI, "-c",
                    f"\\copy {table} FROM '{csv_path}' (FORMAT csv)"], check=True)
    took = time.perf_counter() - started
    assert _count(table) == data.num_rows
    return took


def bench_to_sql(data: pa.Table, schema: str, tag: str) -> float:
    import sqlalchemy

    frame = data.to_pandas()
    engine = sqlalchemy.create_engine(URI.replace("postgresql://", "postgresql+psycopg://"))
    started = time.perf_counter()
    frame.to_sql(f"to_sql_{tag}", engine, schema=schema, index=False, method="multi",
                 chunksize=1000)
    took = time.perf_counter() - started
    engine.dispose()
    assert _count(f"{schema}.to_sql_{tag}") == data.num_rows
    return took


def bench_etlc(data: pa.Table, schema: str, mode: str, tag: str) -> float:
    from etlc_runtime.io_postgres import write_postgres

    table = f"{schema}.{mode}_{tag}"
    dataset = {"format": "postgres", "connection": "bench", "table": table}
    if mode == "upsert":
        dataset["key"] = ["id"]
        _sql(f"CREATE TABLE {table} ({DDL})")
        import pyarrow.compute as pc
        half = data.filter(pc.equal(pc.bit_wise_and(data["id"], 1), 0))   # every other id
        half = half.set_column(half.schema.get_field_index("score"), "score",
                               pc.add(half["score"], 1.0))   # other values: real updates
        write_postgres(half, dataset, "upsert", {}, None)
    started = time.perf_counter()
    write_postgres(data, dataset, mode, {}, None, append_key="bench_2026-01-01")
    took = time.perf_counter() - started
    assert _count(table) == data.num_rows
    return took


READ_TYPES = {"id": pa.int64(), "name": pa.string(), "amount": pa.decimal128(14, 2),
              "day": pa.date32(), "ts": pa.timestamp("us"), "ok": pa.bool_(),
              "score": pa.float64()}


def bench_read_psql(table: str, out: Path) -> float:
    started = time.perf_counter()
    subprocess.run(["psql", "-q", "-X", "-v", "ON_ERROR_STOP=1", URI, "-c",
                    f"\\copy {table} TO '{out}' (FORMAT csv)"], check=True)
    return time.perf_counter() - started


def read_psycopg(table: str) -> pa.Table:
    """Hand-written: psycopg's COPY TO STDOUT as CSV, parsed by pyarrow with the types given
    (an unquoted empty field is null, a quoted one '')."""
    import io

    import psycopg
    import pyarrow.csv as pcsv

    buf = io.BytesIO()
    with psycopg.connect(URI) as conn, conn.cursor() as cur, \
            cur.copy(f"COPY {table} TO STDOUT (FORMAT csv)") as copy:
        for chunk in copy:
            buf.write(chunk)
    return pcsv.read_csv(io.BytesIO(buf.getvalue()),
                         pcsv.ReadOptions(column_names=list(READ_TYPES)),
                         convert_options=pcsv.ConvertOptions(
                             column_types=READ_TYPES, null_values=[""],   # not NaN
                             strings_can_be_null=True,
                             quoted_strings_can_be_null=False, true_values=["t"],
                             false_values=["f"]))


def read_etlc(table: str) -> pa.Table:
    from etlc_runtime.pg_read import read_arrow

    return read_arrow({"format": "postgres", "connection": "bench", "table": table}, {}, None)


def _timed(fn, *args):
    started = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - started, out


def bench_reads(data: pa.Table, schema: str, csv_path: Path, repeat: int, tmp: Path) -> dict:
    """Reads of one table loaded by ``\\copy``: psql's ``\\copy TO`` a file (the floor),
    psycopg COPY into pyarrow, etlc's pg_read; interleaved, best of ``repeat``; etlc's rows
    must equal the hand-written read's."""
    table = f"{schema}.read_src"
    _sql(f"CREATE TABLE {table} ({DDL})")
    subprocess.run(["psql", "-q", "-X", "-v", "ON_ERROR_STOP=1", URI, "-c",
                    f"\\copy {table} FROM '{csv_path}' (FORMAT csv)"], check=True)
    best: dict[str, float] = {}
    for _ in range(repeat):
        best["read psql copy"] = min(best.get("read psql copy", 1e9),
                                     bench_read_psql(table, tmp / "out.csv"))
        took, hand = _timed(read_psycopg, table)
        best["read psycopg"] = min(best.get("read psycopg", 1e9), took)
        took, ours = _timed(read_etlc, table)
        best["read etlc"] = min(best.get("read etlc", 1e9), took)
    hand, ours = hand.sort_by("id"), ours.sort_by("id")
    assert ours.num_rows == data.num_rows and all(
        _same(ours.column(c).cast(hand.schema.field(c).type), hand.column(c))
        for c in READ_TYPES), "etlc's read differs from psycopg's"
    return best


def _same(a, b) -> bool:
    """Equal values; floats bit for bit (NaN equals NaN, -0.0 is not 0.0)."""
    if not pa.types.is_floating(a.type):
        return a.equals(b)
    import numpy as np

    return a.null_count == b.null_count == 0 and np.array_equal(
        a.to_numpy().view(np.int64), b.to_numpy().view(np.int64))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--repeat-to-sql", type=int, default=1)
    ap.add_argument("--skip-to-sql", action="store_true", help="leave the slow baseline out")
    ap.add_argument("--reads", action="store_true",
                    help="also read the rows back: etlc's pg_read, psycopg COPY into "
                         "pyarrow, psql \\copy TO a file")
    ap.add_argument("--profile", choices=["append", "upsert"], help="cProfile one etlc load")
    args = ap.parse_args(argv)
    if shutil.which("psql") is None:
        sys.exit("psql is not on PATH")
    os.environ["AIRFLOW_CONN_BENCH"] = URI
    data = rows(args.rows)
    schema = f"etlc_bench_{uuid.uuid4().hex[:8]}"
    _sql(f"CREATE SCHEMA {schema}")
    best: dict[str, float] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            import pyarrow.csv as pcsv
            csv_path = Path(tmp) / "rows.csv"
            pcsv.write_csv(data, csv_path, pcsv.WriteOptions(include_header=False))
            if args.profile:
                import cProfile
                import pstats
                prof = cProfile.Profile()
                prof.runcall(bench_etlc, data, schema, args.profile, "p")
                pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
                return 0
            runs = {"copy": lambda t: bench_copy(data, schema, csv_path, t),
                    "etlc append": lambda t: bench_etlc(data, schema, "append", t),
                    "etlc upsert": lambda t: bench_etlc(data, schema, "upsert", t)}
            for name, run in runs.items():
                best[name] = min(run(f"{k}") for k in range(args.repeat))
            if args.reads:
                best.update(bench_reads(data, schema, csv_path, args.repeat, Path(tmp)))
            if not args.skip_to_sql:
                best["to_sql"] = min(bench_to_sql(data, schema, f"{k}")
                                     for k in range(args.repeat_to_sql))
    finally:
        _sql(f"DROP SCHEMA {schema} CASCADE")
    copy = best["copy"]
    print(f"{args.rows:,} rows into PostgreSQL (best of {args.repeat}):")
    for name, took in best.items():
        line = f"  {name:<12} {took:8.2f} s  {args.rows / took:>12,.0f} rows/s  " \
               f"{took / copy:5.2f}x copy"
        if "to_sql" in best and name != "to_sql":
            line += f"  {best['to_sql'] / took:6.1f}x faster than to_sql"
        print(line)
    checks = {"append <= 1.5x copy": best["etlc append"] <= 1.5 * copy,
              "upsert <= 3x copy": best["etlc upsert"] <= 3 * copy}
    if "read etlc" in best:
        print(f"  read etlc: {best['read etlc'] / best['read psycopg']:.2f}x psycopg COPY "
              f"into pyarrow, {best['read etlc'] / best['read psql copy']:.2f}x psql \\copy")
    if "to_sql" in best:
        checks["append >= 5x to_sql"] = best["to_sql"] >= 5 * best["etlc append"]
        checks["upsert >= 5x to_sql"] = best["to_sql"] >= 5 * best["etlc upsert"]
    for name, ok in checks.items():
        print(f"  {'met' if ok else 'NOT MET'}: {name}")
    print(json.dumps({"rows": args.rows, "seconds": {k: round(v, 3) for k, v in best.items()},
                      "targets": checks}))
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
