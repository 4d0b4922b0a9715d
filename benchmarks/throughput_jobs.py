"""The throughput benchmark's jobs written by hand (DuckDB, Polars, pandas, Dask), one per process.

    python benchmarks/throughput_jobs.py IMPL JOB --root DIR --rows N --out PATH

IMPL is duckdb, polars, pandas, dask (its threaded scheduler), dask-cluster (the same
on the LocalCluster etlc's dask engine starts) or dask-address (the same on the scheduler
ETLC_DASK_SCHEDULER names); JOB is q1, join or csv (throughput_bench.py has the
job definitions in words).  Each library is imported inside its function, so a process pays
for its own library only: the fixed overhead measured is that of a plain script.  Idiomatic
code for each library, no tuning: DuckDB and Polars keep decimals, pandas and Dask read with
the pyarrow backend and turn decimals into float64 before arithmetic.
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput_data import (
    DATE_COLUMNS,
    DECIMAL_COLUMNS,
    LINEITEM_TYPES,
    lineitem_csv,
    lineitem_dir,
)

CUTOFF = dt.date(1998, 9, 2)
Q1_KEYS = ["l_returnflag", "l_linestatus"]
Q1_COLUMNS = Q1_KEYS + ["l_quantity", "l_extendedprice", "l_discount", "l_tax", "l_shipdate"]
JOIN_KEYS = ["p_brand", "s_region"]

Q1_SQL = """
SELECT l_returnflag, l_linestatus,
       sum(l_quantity) AS sum_qty, sum(l_extendedprice) AS sum_base_price,
       sum(l_extendedprice * (1 - l_discount)) AS sum_disc_price,
       sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)) AS sum_charge,
       avg(l_quantity) AS avg_qty, avg(l_extendedprice) AS avg_price,
       avg(l_discount) AS avg_disc, count(*) AS count_order
FROM read_parquet('{files}')
WHERE l_shipdate <= DATE '1998-09-02'
GROUP BY l_returnflag, l_linestatus
ORDER BY l_returnflag, l_linestatus"""

JOIN_SQL = """
SELECT p_brand, s_region,
       sum(l_quantity) AS sum_qty, sum(l_extendedprice * (1 - l_discount)) AS revenue,
       avg(p_retailprice) AS avg_retailprice, count(*) AS lines
FROM read_parquet('{files}') JOIN read_parquet('{part}') ON l_partkey = p_partkey
     JOIN read_parquet('{supplier}') ON l_suppkey = s_suppkey
GROUP BY p_brand, s_region
ORDER BY p_brand, s_region"""

SQL_TYPES = {"int": "BIGINT", "decimal": "DECIMAL(15,2)", "string": "VARCHAR", "date": "DATE"}


def _paths(root: Path, rows: int) -> dict:
    data = root / "data"
    return {"dir": lineitem_dir(root, rows), "files": f"{lineitem_dir(root, rows)}/*.parquet",
            "part": data / "part.parquet", "supplier": data / "supplier.parquet",
            "csv": lineitem_csv(root, rows)}


# -- DuckDB ------------------------------------------------------------------------------

def duckdb_job(job: str, p: dict, out: Path) -> None:
    import duckdb
    if job == "csv":
        cols = ", ".join(f"'{c}': '{SQL_TYPES[t]}'" for c, t in LINEITEM_TYPES.items())
        query = f"SELECT * FROM read_csv('{p['csv']}', header = true, columns = {{{cols}}})"
    else:
        query = (Q1_SQL if job == "q1" else JOIN_SQL).format(**p)
    duckdb.connect().execute(f"COPY ({query}) TO '{out}' (FORMAT parquet)")


# -- Polars ------------------------------------------------------------------------------

def polars_job(job: str, p: dict, out: Path) -> None:
    import polars as pl
    c = pl.col
    if job == "csv":
        kinds = {"int": pl.Int64, "decimal": pl.Decimal(15, 2), "string": pl.String,
                 "date": pl.Date}
        schema = {name: kinds[t] for name, t in LINEITEM_TYPES.items()}
        pl.scan_csv(p["csv"], schema=schema).sink_parquet(out)
        return
    li = pl.scan_parquet(p["files"])
    if job == "q1":
        disc_price = c("l_extendedprice") * (1 - c("l_discount"))
        q = (li.filter(c("l_shipdate") <= CUTOFF)
             .with_columns(disc_price=disc_price)
             .with_columns(charge=c("disc_price") * (1 + c("l_tax")))
             .group_by(Q1_KEYS)
             .agg(sum_qty=c("l_quantity").sum(), sum_base_price=c("l_extendedprice").sum(),
                  sum_disc_price=c("disc_price").sum(), sum_charge=c("charge").sum(),
                  avg_qty=c("l_quantity").mean(), avg_price=c("l_extendedprice").mean(),
                  avg_disc=c("l_discount").mean(), count_order=pl.len())
             .sort(Q1_KEYS))
    else:
        q = (li.join(pl.scan_parquet(p["part"]), left_on="l_partkey", right_on="p_partkey")
             .join(pl.scan_parquet(p["supplier"]), left_on="l_suppkey", right_on="s_suppkey")
             .group_by(JOIN_KEYS)
             .agg(sum_qty=c("l_quantity").sum(),
                  revenue=(c("l_extendedprice") * (1 - c("l_discount"))).sum(),
                  avg_retailprice=c("p_retailprice").mean(), lines=pl.len())
             .sort(JOIN_KEYS))
    q.collect().write_parquet(out)


# -- pandas and Dask (the same code; Dask's frames are lazy until compute) ------------------

def _floats(df, columns):
    # through Arrow's cast: pandas' own decimal -> float64 goes by Python Decimal objects (10x)
    df = df.astype({name: "float64[pyarrow]" for name in columns})
    return df.astype({name: "float64" for name in columns})


def _q1_frame(df):
    df = _floats(df[df["l_shipdate"] <= CUTOFF], DECIMAL_COLUMNS)
    df = df.assign(disc_price=df["l_extendedprice"] * (1 - df["l_discount"]))
    df = df.assign(charge=df["disc_price"] * (1 + df["l_tax"]))
    return df.groupby(Q1_KEYS).agg(
        sum_qty=("l_quantity", "sum"), sum_base_price=("l_extendedprice", "sum"),
        sum_disc_price=("disc_price", "sum"), sum_charge=("charge", "sum"),
        avg_qty=("l_quantity", "mean"), avg_price=("l_extendedprice", "mean"),
        avg_disc=("l_discount", "mean"), count_order=("l_quantity", "count"))


def _join_frame(li, part, supplier):
    li = _floats(li, ["l_quantity", "l_extendedprice", "l_discount"])
    df = li.merge(_floats(part, ["p_retailprice"]), left_on="l_partkey", right_on="p_partkey")
    df = df.merge(supplier, left_on="l_suppkey", right_on="s_suppkey")
    df = df.assign(revenue=df["l_extendedprice"] * (1 - df["l_discount"]))
    return df.groupby(JOIN_KEYS).agg(
        sum_qty=("l_quantity", "sum"), revenue=("revenue", "sum"),
        avg_retailprice=("p_retailprice", "mean"), lines=("l_quantity", "count"))


LI_JOIN_COLUMNS = ["l_partkey", "l_suppkey", "l_quantity", "l_extendedprice", "l_discount"]
PART_COLUMNS = ["p_partkey", "p_brand", "p_retailprice"]
SUPPLIER_COLUMNS = ["s_suppkey", "s_region"]


def _csv_dtypes():
    import pandas as pd
    import pyarrow as pa
    kinds = {"int": pa.int64(), "decimal": pa.decimal128(15, 2), "string": pa.string(),
             "date": pa.date32()}
    return {name: pd.ArrowDtype(kinds[t]) for name, t in LINEITEM_TYPES.items()}


def pandas_job(job: str, p: dict, out: Path) -> None:
    import pandas as pd
    if job == "csv":
        df = pd.read_csv(p["csv"], engine="pyarrow", dtype=_csv_dtypes())
        df.to_parquet(out, index=False)
        return
    if job == "q1":
        result = _q1_frame(pd.read_parquet(p["dir"], columns=Q1_COLUMNS, dtype_backend="pyarrow"))
    else:
        result = _join_frame(
            pd.read_parquet(p["dir"], columns=LI_JOIN_COLUMNS, dtype_backend="pyarrow"),
            pd.read_parquet(p["part"], columns=PART_COLUMNS, dtype_backend="pyarrow"),
            pd.read_parquet(p["supplier"], columns=SUPPLIER_COLUMNS, dtype_backend="pyarrow"))
    result.reset_index().sort_values(list(result.index.names)).to_parquet(out, index=False)


def dask_job(job: str, p: dict, out: Path) -> None:
    import dask.dataframe as dd
    import pandas as pd
    if job == "csv":
        kinds = {"int": "int64", "decimal": "float64", "string": "string"}
        dtypes = {n: kinds[t] for n, t in LINEITEM_TYPES.items() if t != "date"}
        df = dd.read_csv(p["csv"], dtype=dtypes, parse_dates=list(DATE_COLUMNS))
        df.to_parquet(out, write_index=False)
        return
    if job == "q1":
        frame = _q1_frame(dd.read_parquet(p["dir"], columns=Q1_COLUMNS, dtype_backend="pyarrow"))
    else:
        frame = _join_frame(
            dd.read_parquet(p["dir"], columns=LI_JOIN_COLUMNS, dtype_backend="pyarrow"),
            pd.read_parquet(p["part"], columns=PART_COLUMNS, dtype_backend="pyarrow"),
            pd.read_parquet(p["supplier"], columns=SUPPLIER_COLUMNS, dtype_backend="pyarrow"))
    result = frame.compute()
    result.reset_index().sort_values(list(result.index.names)).to_parquet(out, index=False)


# -- etlc: the same jobs as specs --------------------------------------------------------

# the engines that hold decimals as doubles (exact to 15 significant digits; beyond is R041)
FLOAT_BACKED = ("pandas", "dask", "dask-cuda")


def _columns(types: dict, engine: str, indent: str = "      ") -> str:
    # decimals as the data holds them and the hand-written jobs declare them, decimal(15,2)
    # (without a precision etlc's decimal is decimal(38,2): 128-bit arithmetic, and in
    # Parquet a 16-byte value where DuckDB's script writes an int64). On the float-backed
    # engines the job is what the hand-written pandas and Dask scripts compute, doubles: q1's
    # sum(charge) at scale 6 has 17 digits from 2 M rows on, which those engines refuse (R041)
    # rather than round
    if engine in FLOAT_BACKED:
        return "\n".join(f"{indent}{name}: {{type: {'float' if t == 'decimal' else t}}}"
                          for name, t in types.items())
    dec = ", scale: 2, precision: 15"
    return "\n".join(f"{indent}{name}: {{type: {t}{dec if t == 'decimal' else ''}}}"
                      for name, t in types.items())


def etlc_spec(job: str, rows: int, engine: str, out: str) -> str:
    """The job as an etlc spec (paths relative to the bench folder, its project root)."""
    from throughput_data import PART_TYPES, SUPPLIER_TYPES
    pipeline = f"bench_{job}_{engine}_{rows}"
    head = (f"etlc: 1\npipeline: {pipeline}\nschedule: null\nstart_date: 2025-01-01\n"
            f"defaults: {{engine: {engine}}}\ndatasets:\n")
    result = f"  result:\n    format: parquet\n    path: {out}\n"
    save = "  save:\n    from: {}\n    write: result\n    mode: overwrite\n"
    if job == "csv":
        return (head + f"  lineitem:\n    format: csv\n    path: data/lineitem-{rows}.csv\n"
                f"    columns:\n{_columns(LINEITEM_TYPES, engine)}\n" + result
                + "steps:\n  lineitem:\n    read: lineitem\n" + save.format("lineitem"))
    datasets = (f"  lineitem:\n    format: parquet\n    path: data/lineitem-{rows}/\n"
                f"    columns:\n{_columns(LINEITEM_TYPES, engine)}\n")
    if job == "q1":
        return head + datasets + result + f"""steps:
  lineitem:
    read: lineitem
  q1:
    from: lineitem
    filter: "l_shipdate <= date '{CUTOFF}'"
    derive:
      disc_price: "l_extendedprice * (1 - l_discount)"
      charge: "disc_price * (1 + l_tax)"
    group_by: [{", ".join(Q1_KEYS)}]
    aggregate:
      sum_qty: "sum(l_quantity)"
      sum_base_price: "sum(l_extendedprice)"
      sum_disc_price: "sum(disc_price)"
      sum_charge: "sum(charge)"
      avg_qty: "mean(l_quantity)"
      avg_price: "mean(l_extendedprice)"
      avg_disc: "mean(l_discount)"
      count_order: "count(*)"
    sort: [{", ".join(Q1_KEYS)}]
""" + save.format("q1")
    return head + datasets + (
        f"  part:\n    format: parquet\n    path: data/part.parquet\n"
        f"    columns:\n{_columns(PART_TYPES, engine)}\n"
        f"  supplier:\n    format: parquet\n    path: data/supplier.parquet\n"
        f"    columns:\n{_columns(SUPPLIER_TYPES, engine)}\n") + result + f"""steps:
  lineitem:
    read: lineitem
  part:
    read: part
  supplier:
    read: supplier
  with_part:
    from: lineitem
    join: {{with: part, on: {{l_partkey: p_partkey}}}}
  by_brand_region:
    from: with_part
    join: {{with: supplier, on: {{l_suppkey: s_suppkey}}}}
    derive:
      line_revenue: "l_extendedprice * (1 - l_discount)"
    group_by: [{", ".join(JOIN_KEYS)}]
    aggregate:
      sum_qty: "sum(l_quantity)"
      revenue: "sum(line_revenue)"
      avg_retailprice: "mean(p_retailprice)"
      lines: "count(*)"
    sort: [{", ".join(JOIN_KEYS)}]
""" + save.format("by_brand_region")


def dask_cluster_job(job: str, p: dict, out: Path) -> None:
    """The Dask job on the cluster etlc's dask engine starts when no scheduler is named (a
    LocalCluster in this process, one worker, a thread per partition up to the CPUs), so
    that the engine is measured against hand-written Dask on the same cluster."""
    import os

    from distributed import Client, LocalCluster
    threads = min(8, os.cpu_count() or 1)  # etlc-dask runs 8 partitions
    with LocalCluster(processes=False, n_workers=1, threads_per_worker=threads,
                      dashboard_address=":0", worker_dashboard_address=":0") as cluster, \
            Client(cluster):
        dask_job(job, p, out)


def dask_address_job(job: str, p: dict, out: Path) -> None:
    """The Dask job on the running scheduler ETLC_DASK_SCHEDULER names (the one etlc's dask
    engine connects to; dask_scaling_bench.py starts it)."""
    import os

    from distributed import Client
    with Client(os.environ["ETLC_DASK_SCHEDULER"]):
        dask_job(job, p, out)


JOBS = {"duckdb": duckdb_job, "polars": polars_job, "pandas": pandas_job, "dask": dask_job,
        "dask-cluster": dask_cluster_job, "dask-address": dask_address_job}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("impl", choices=sorted(JOBS))
    ap.add_argument("job", choices=("q1", "join", "csv"))
    ap.add_argument("--root", type=Path, required=True)
    ap.add_argument("--rows", type=int, required=True)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    JOBS[args.impl](args.job, _paths(args.root, args.rows), args.out)


if __name__ == "__main__":
    main()
