"""The parallelism sweep's data and pipeline: CSV files in, a three-stage spec per configuration.

Data (deterministic, numpy seed per file, cached by size under the sweep's project folder):

    data/r<rows>/in/part-<i>.csv   FILES files, a header and the columns of COLUMNS

The pipeline has one stage per letter of the research question's extract x transform x load,
each a task of its own (a read of the stage's input, a write of its output; `after:` orders
them), so each stage's partition count is its own `partitions:` setting:

    extract    read the CSV files (typed: dates, decimals)     -> write data/r<rows>/<id>/extracted/ (Parquet)
    transform  read extracted, filter + derive (revenue)       -> write .../transformed/ (Parquet)
    load       read transformed                                -> write .../loaded/ (CSV parts)

`mode` is `dask` (engine: dask, parallelism: dask: each stage one task, its partitions a Dask
LocalCluster's partitions) or `airflow` (engine: pandas, parallelism: airflow: each stage a
mapped task of `partitions` instances plus its commit task; the dask engine transforms each
partition with the pandas engine's code, so both modes run the same per-partition work).
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

FILES = 12  # input CSV files: 1, 2, 3, 4 and 6 partitions get equal runs of files
SEED = 20_261_201
REGIONS = ("north", "south", "east", "west", "centre")
COLUMNS = {"id": "int", "day": "date", "region": "string", "quantity": "int",
           "unit_price": "decimal", "discount": "decimal"}
FILTER = "quantity > 0 and discount < 0.04"
REVENUE = "quantity * unit_price * (1 - discount)"
STAGES = ("extract", "transform", "load")
MODES = ("dask", "airflow")
ENGINE = {"dask": "dask", "airflow": "pandas"}


def data_dir(project: Path, rows: int) -> Path:
    return project / "data" / f"r{rows}"


def input_dir(project: Path, rows: int) -> Path:
    return data_dir(project, rows) / "in"


def generate(project: Path, rows: int, files: int = FILES) -> Path:
    """Write ``rows`` rows as ``files`` CSV files (once: kept while their marker is there)."""
    import numpy as np
    import pandas as pd

    folder = input_dir(project, rows)
    marker = folder / ".complete"
    if marker.is_file():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for f in range(files):
        lo, hi = f * rows // files, (f + 1) * rows // files
        rng = np.random.default_rng(SEED + f)
        n = hi - lo
        days = np.datetime64("2025-01-01") + rng.integers(0, 365, n).astype("timedelta64[D]")
        cents = rng.integers(100, 100_000, n)
        frame = pd.DataFrame({
            "id": np.arange(lo, hi, dtype="int64"),
            "day": days.astype(str),
            "region": np.array(REGIONS)[rng.integers(0, len(REGIONS), n)],
            "quantity": rng.integers(0, 20, n),
            "unit_price": [f"{c // 100}.{c % 100:02d}" for c in cents],
            "discount": [f"0.0{d}" for d in rng.integers(0, 8, n)],
        })
        frame.to_csv(folder / f"part-{f:02d}.csv", index=False)
    marker.write_text(str(rows))
    return folder


def pipeline_id(mode: str, rows: int, e: int, t: int, l: int) -> str:
    return f"sweep_{mode}_r{rows}_e{e}_t{t}_l{l}"


def _columns(names) -> str:
    return "{" + ", ".join(f"{c}: {{type: {COLUMNS[c]}{', scale: 2' if COLUMNS[c] == 'decimal' else ''}}}"
                           for c in names) + "}"


def spec_text(mode: str, rows: int, e: int, t: int, l: int) -> str:
    """The spec of one configuration: ``e``, ``t``, ``l`` partitions for its three stages."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    pid = pipeline_id(mode, rows, e, t, l)
    base = f"data/r{rows}"
    out = f"{base}/{pid}"
    cols = _columns(COLUMNS)
    return f"""\
etlc: 1
pipeline: {pid}
schedule: null
start_date: 2025-01-01
tags: [parallelism-sweep]
defaults: {{engine: {ENGINE[mode]}, parallelism: {mode}, retries: 0}}
datasets:
  raw: {{format: csv, path: {base}/in/, columns: {cols}}}
  extracted: {{format: parquet, path: {out}/extracted/, columns: {cols}}}
  transformed:
    format: parquet
    path: {out}/transformed/
    columns: {cols[:-1]}, revenue: {{type: float}}}}
  loaded: {{format: csv, path: {out}/loaded/}}
steps:
  extract_read: {{read: raw}}
  extract: {{from: extract_read, write: extracted, mode: overwrite, partitions: {e}}}
  transform_read: {{read: extracted, after: [extract]}}
  transform_rows:
    from: transform_read
    filter: "{FILTER}"
    derive: {{revenue: "{REVENUE}"}}
  transform: {{from: transform_rows, write: transformed, mode: overwrite, partitions: {t}}}
  load_read: {{read: transformed, after: [transform]}}
  load: {{from: load_read, write: loaded, mode: overwrite, partitions: {l}}}
"""


def output_dir(project: Path, mode: str, rows: int, e: int, t: int, l: int) -> Path:
    return data_dir(project, rows) / pipeline_id(mode, rows, e, t, l) / "loaded"


def expected_rows(project: Path, rows: int) -> int:
    """How many rows the pipeline keeps, counted from the CSV files by pyarrow (not etlc)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pv

    kept = 0
    for path in sorted(input_dir(project, rows).glob("*.csv")):
        table = pv.read_csv(path, convert_options=pv.ConvertOptions(
            column_types={"discount": pa.decimal128(5, 2)}))
        keep = pc.and_(pc.greater(table["quantity"], 0),
                       pc.less(table["discount"], pa.scalar(Decimal("0.04"), pa.decimal128(5, 2))))
        kept += pc.sum(pc.cast(keep, "int64")).as_py() or 0
    return kept
