"""Data for the throughput benchmark: a lineitem-like table, two dimensions, a CSV copy.

Deterministic (numpy seed per file), cached by size under the bench folder
(``$ETLC_BENCH_DIR``, default ``/tmp/etlc-bench``), never inside the repository:

    data/lineitem-<rows>/part-<i>.parquet   8 files, TPC-H lineitem columns and types
    data/lineitem-<rows>.csv                the same rows as one CSV file with a header
    data/part.parquet                       100,000 parts   (l_partkey's dimension)
    data/supplier.parquet                   1,000 suppliers (l_suppkey's dimension)

Distributions follow TPC-H where it is cheap (order dates 1992-01-01..1998-08-02, ship date
1-121 days later, return flag and line status from the 1995-06-17 cut-off, decimal(15,2)
prices derived from the part's retail price); comments come from a pool of 4,096 texts.
"""
from __future__ import annotations

import os
from pathlib import Path

FILES = 8
PARTS = 100_000
SUPPLIERS = 1_000
SEED = 20_260_901

DATE_COLUMNS = ("l_shipdate", "l_commitdate", "l_receiptdate")
DECIMAL_COLUMNS = ("l_quantity", "l_extendedprice", "l_discount", "l_tax")
LINEITEM_TYPES = {  # etlc column types, in file order
    "l_orderkey": "int", "l_partkey": "int", "l_suppkey": "int", "l_linenumber": "int",
    "l_quantity": "decimal", "l_extendedprice": "decimal", "l_discount": "decimal",
    "l_tax": "decimal", "l_returnflag": "string", "l_linestatus": "string",
    "l_shipdate": "date", "l_commitdate": "date", "l_receiptdate": "date",
    "l_shipinstruct": "string", "l_shipmode": "string", "l_comment": "string",
}
PART_TYPES = {"p_partkey": "int", "p_brand": "string", "p_type": "string", "p_size": "int",
              "p_retailprice": "decimal"}
SUPPLIER_TYPES = {"s_suppkey": "int", "s_name": "string", "s_nationkey": "int",
                  "s_region": "string", "s_acctbal": "decimal"}

SHIPINSTRUCT = ["DELIVER IN PERSON", "COLLECT COD", "NONE", "TAKE BACK RETURN"]
SHIPMODE = ["REG AIR", "AIR", "RAIL", "SHIP", "TRUCK", "MAIL", "FOB"]
REGIONS = ["AFRICA", "AMERICA", "ASIA", "EUROPE", "MIDDLE EAST"]
WORDS = [
    "furiously", "carefully", "quickly", "slyly", "blithely", "final", "regular", "special",
    "pending", "express", "ironic", "bold", "even", "silent", "unusual", "deposits", "requests",
    "accounts", "packages", "foxes", "ideas", "theodolites", "pinto", "beans", "instructions",
    "dependencies", "excuses", "platelets", "asymptotes", "courts", "dolphins", "sleep", "wake",
    "haggle", "nag", "use", "cajole", "detect", "integrate", "above", "after", "across",
    "against", "along", "among", "around",
]


def bench_dir() -> Path:
    return Path(os.environ.get("ETLC_BENCH_DIR", "/tmp/etlc-bench"))


def lineitem_dir(root: Path, rows: int) -> Path:
    return root / "data" / f"lineitem-{rows}"


def lineitem_csv(root: Path, rows: int) -> Path:
    return root / "data" / f"lineitem-{rows}.csv"


def _decimal(cents):
    """int64 hundredths -> decimal128(15, 2), exactly (no float on the way)."""
    import numpy as np
    import pyarrow as pa
    words = np.empty((len(cents), 2), dtype=np.int64)
    words[:, 0] = cents
    words[:, 1] = cents >> 63  # sign extension of the high word
    return pa.Array.from_buffers(pa.decimal128(15, 2), len(cents), [None, pa.py_buffer(words)])


def _pick(rng, values, n):
    import numpy as np
    import pyarrow as pa
    idx = pa.array(rng.integers(0, len(values), n).astype(np.int32))
    return pa.DictionaryArray.from_arrays(idx, pa.array(values)).cast(pa.string())


def _texts(rng, count, lo, hi):
    out = []
    for _ in range(count):
        words, length = [], int(rng.integers(lo, hi + 1))
        while sum(map(len, words)) + len(words) < length:
            words.append(WORDS[int(rng.integers(0, len(WORDS)))])
        out.append(" ".join(words)[:length])
    return out


def retail_cents(partkey):
    """TPC-H's p_retailprice, in hundredths."""
    return 90_000 + (partkey // 10) % 20_001 + 100 * (partkey % 1_000)


def lineitem_part(rows: int, index: int):
    """File ``index`` of 8 as an Arrow table (``rows`` rows); orders never span files."""
    import numpy as np
    import pyarrow as pa
    rng = np.random.default_rng([SEED, index])
    per_order = rng.integers(1, 8, rows)  # 1..7 lines per order, as TPC-H
    ends = np.cumsum(per_order)
    orders = int(np.searchsorted(ends, rows)) + 1
    order_of_line = np.repeat(np.arange(orders), per_order[:orders])[:rows]
    starts = ends[:orders] - per_order[:orders]
    linenumber = np.arange(rows) - starts[order_of_line] + 1
    orderkey = index * rows * 4 + order_of_line * 4 + 1  # sparse, as TPC-H's keys
    first, last = np.datetime64("1992-01-01"), np.datetime64("1998-08-02")
    orderdate = first + rng.integers(0, int((last - first).astype(int)) + 1, orders)[order_of_line]
    shipdate = orderdate + rng.integers(1, 122, rows)
    commitdate = orderdate + rng.integers(30, 91, rows)
    receiptdate = shipdate + rng.integers(1, 31, rows)
    cutoff = np.datetime64("1995-06-17")
    returnflag = np.where(receiptdate <= cutoff, np.where(rng.random(rows) < 0.5, "R", "A"), "N")
    partkey = rng.integers(1, PARTS + 1, rows)
    quantity = rng.integers(1, 51, rows)
    comments = _texts(rng, 4096, 10, 43)
    return pa.table({
        "l_orderkey": orderkey.astype(np.int64),
        "l_partkey": partkey,
        "l_suppkey": rng.integers(1, SUPPLIERS + 1, rows),
        "l_linenumber": linenumber.astype(np.int64),
        "l_quantity": _decimal(quantity * 100),
        "l_extendedprice": _decimal(quantity * retail_cents(partkey)),
        "l_discount": _decimal(rng.integers(0, 11, rows)),
        "l_tax": _decimal(rng.integers(0, 9, rows)),
        "l_returnflag": pa.array(returnflag, pa.string()),
        "l_linestatus": pa.array(np.where(shipdate > cutoff, "O", "F"), pa.string()),
        "l_shipdate": pa.array(shipdate.astype("datetime64[D]"), pa.date32()),
        "l_commitdate": pa.array(commitdate.astype("datetime64[D]"), pa.date32()),
        "l_receiptdate": pa.array(receiptdate.astype("datetime64[D]"), pa.date32()),
        "l_shipinstruct": _pick(rng, SHIPINSTRUCT, rows),
        "l_shipmode": _pick(rng, SHIPMODE, rows),
        "l_comment": _pick(rng, comments, rows),
    })


def dimensions():
    import numpy as np
    import pyarrow as pa
    rng = np.random.default_rng([SEED, 99])
    partkey = np.arange(1, PARTS + 1)
    brand = [f"Brand#{m}{n}" for m in range(1, 6) for n in range(1, 6)]
    types = [f"{a} {b} {c}" for a in ("STANDARD", "SMALL", "MEDIUM", "LARGE", "ECONOMY", "PROMO")
             for b in ("ANODIZED", "BURNISHED", "PLATED", "POLISHED", "BRUSHED")
             for c in ("TIN", "NICKEL", "BRASS", "STEEL", "COPPER")]
    part = pa.table({
        "p_partkey": partkey, "p_brand": _pick(rng, brand, PARTS),
        "p_type": _pick(rng, types, PARTS), "p_size": rng.integers(1, 51, PARTS),
        "p_retailprice": _decimal(retail_cents(partkey)),
    })
    suppkey = np.arange(1, SUPPLIERS + 1)
    nation = rng.integers(0, 25, SUPPLIERS)
    supplier = pa.table({
        "s_suppkey": suppkey,
        "s_name": pa.array([f"Supplier#{k:09d}" for k in suppkey], pa.string()),
        "s_nationkey": nation,
        "s_region": pa.array([REGIONS[n // 5] for n in nation], pa.string()),
        "s_acctbal": _decimal(rng.integers(-99_999, 999_999, SUPPLIERS)),
    })
    return part, supplier


def ensure_data(root: Path, rows: int, csv: bool, log=print) -> None:
    """Write whatever of this size is missing; a folder is renamed into place when complete."""
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    if not (data / "supplier.parquet").exists():
        part, supplier = dimensions()
        pq.write_table(part, data / "part.parquet")
        pq.write_table(supplier, data / ".supplier.tmp")
        os.replace(data / ".supplier.tmp", data / "supplier.parquet")
    target = lineitem_dir(root, rows)
    sizes = [rows // FILES + (1 if i < rows % FILES else 0) for i in range(FILES)]
    if not target.exists():
        log(f"generating lineitem, {rows:,} rows in {FILES} Parquet files ...")
        tmp = target.with_name(target.name + ".tmp")
        tmp.mkdir(exist_ok=True)
        for i, n in enumerate(sizes):
            pq.write_table(lineitem_part(n, i), tmp / f"part-{i}.parquet")
        os.replace(tmp, target)
    path = lineitem_csv(root, rows)
    if csv and not path.exists():
        log(f"writing {path.name} ...")
        tmp = path.with_name(path.name + ".tmp")
        with pcsv.CSVWriter(tmp, pq.read_schema(target / "part-0.parquet")) as out:
            for i in range(FILES):
                out.write_table(pq.read_table(target / f"part-{i}.parquet"))
        os.replace(tmp, path)


def main(argv=None) -> None:
    """Generate as a separate process, so the benchmark's own process stays small (a child's
    peak memory starts from its parent's resident size at fork)."""
    import argparse
    ap = argparse.ArgumentParser(description="write the throughput benchmark's data")
    ap.add_argument("--rows", type=int, nargs="+", required=True)
    ap.add_argument("--csv", action="store_true", help="also the CSV copy of the fact table")
    args = ap.parse_args(argv)
    for rows in args.rows:
        ensure_data(bench_dir(), rows, args.csv, log=lambda m: print(m, flush=True))


if __name__ == "__main__":
    main()
