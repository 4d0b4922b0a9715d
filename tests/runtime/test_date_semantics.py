"""Dates and timestamps in the pandas evaluator compare like DuckDB whatever their storage.

Each storage a date or timestamp column can arrive in (Arrow date32, Arrow timestamp with and
without a zone, numpy datetime64[ns]/[us], pandas zoned datetime64, objects holding
``datetime.date``/``datetime.datetime``, and what ``io_read.read_dataset`` makes of a CSV or a
Parquet file) is compared, operator by operator and with nulls in the column, against
``date``/``timestamp`` literals and ``to_date``; the reference is hand-written DuckDB SQL over
the same values (TimeZone UTC: zoned values compare as their UTC time)."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from etlc_runtime import executor
from etlc_runtime.expr import pandas_eval as pe
from etlc_runtime.expr.types import DATE, TIMESTAMP
from etlc_runtime.io_read import read_dataset
from exact_rows import assert_same, rows
from rt_helpers import task_plan

D = dt.date
TS = dt.datetime
DAYS = [D(2025, 1, 1), D(2025, 1, 3), None, D(2025, 1, 5), D(2025, 1, 2), D(2025, 1, 4)]
STAMPS = [TS(2025, 1, 3), TS(2025, 1, 3, 12, 30), None, TS(2025, 1, 2, 23, 59, 59),
          TS(2025, 1, 4), TS(2025, 1, 2, 0, 0, 1)]

# (etlc literal, the same value in DuckDB SQL), written by hand
LITERALS = [
    ("date '2025-01-03'", "DATE '2025-01-03'"),
    ("timestamp '2025-01-03 00:00:00'", "TIMESTAMP '2025-01-03 00:00:00'"),
    ("timestamp '2025-01-03 12:30:00'", "TIMESTAMP '2025-01-03 12:30:00'"),
    ("to_date('2025-01-03')", "DATE '2025-01-03'"),
]
# (etlc condition, DuckDB condition) with {v} the column and {x} the literal
OPERATORS = [
    ("v = {x}", "v = {x}"), ("v <> {x}", "v <> {x}"), ("v < {x}", "v < {x}"),
    ("v <= {x}", "v <= {x}"), ("v > {x}", "v > {x}"), ("v >= {x}", "v >= {x}"),
    ("v between date '2025-01-02' and {x}", "v BETWEEN DATE '2025-01-02' AND {x}"),
    ("v not between date '2025-01-02' and {x}", "v NOT BETWEEN DATE '2025-01-02' AND {x}"),
    ("v in ({x}, date '2025-01-05')", "v IN ({x}, DATE '2025-01-05')"),
    ("v not in ({x}, timestamp '2025-01-04 00:00:00')",
     "v NOT IN ({x}, TIMESTAMP '2025-01-04 00:00:00')"),
]
CASES = [(e.format(x=x), s.format(x=y)) for e, s in OPERATORS for x, y in LITERALS]


def _utc(values, zone):
    return [None if v is None else v.replace(tzinfo=dt.UTC).astimezone(zone)
            for v in values]


def _midnights(days):
    return [None if d is None else TS(d.year, d.month, d.day) for d in days]


def _arrow(values, typ) -> pd.Series:
    return pd.Series(pd.arrays.ArrowExtensionArray(pa.array(values, typ)))


NEW_YORK = dt.timezone(dt.timedelta(hours=-5))

DATE_STORAGES = {
    "arrow_date32": lambda: _arrow(DAYS, pa.date32()),
    "arrow_date64": lambda: _arrow(DAYS, pa.date64()),
    "arrow_timestamp": lambda: _arrow(_midnights(DAYS), pa.timestamp("us")),
    "numpy_ns": lambda: pd.Series(pd.to_datetime(_midnights(DAYS))).astype("datetime64[ns]"),
    "numpy_us": lambda: pd.Series(pd.to_datetime(_midnights(DAYS))).astype("datetime64[us]"),
    "object_date": lambda: pd.Series(DAYS, dtype=object),
}
STAMP_STORAGES = {
    "arrow_timestamp_us": lambda: _arrow(STAMPS, pa.timestamp("us")),
    "arrow_timestamp_ns": lambda: _arrow(STAMPS, pa.timestamp("ns")),
    "arrow_timestamp_utc": lambda: _arrow(_utc(STAMPS, dt.UTC),
                                          pa.timestamp("us", tz="UTC")),
    "arrow_timestamp_zoned": lambda: _arrow(_utc(STAMPS, NEW_YORK),
                                            pa.timestamp("us", tz="-05:00")),
    "numpy_ns": lambda: pd.Series(pd.to_datetime(STAMPS)).astype("datetime64[ns]"),
    "numpy_us": lambda: pd.Series(pd.to_datetime(STAMPS)).astype("datetime64[us]"),
    "pandas_zoned": lambda: pd.Series(pd.to_datetime(STAMPS)).dt.tz_localize("UTC")
                                                             .dt.tz_convert("Asia/Tokyo"),
    "object_datetime": lambda: pd.Series(STAMPS, dtype=object),
}


@pytest.fixture(scope="module")
def reference():
    """DuckDB's answer for each case over the date and the timestamp values."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("dates", pa.table({"i": list(range(len(DAYS))),
                                    "v": pa.array(DAYS, pa.date32())}))
    con.register("stamps", pa.table({"i": list(range(len(STAMPS))),
                                     "v": pa.array(STAMPS, pa.timestamp("us"))}))
    con.register("zoned", pa.table({"i": list(range(len(STAMPS))),
                                    "v": pa.array(_utc(STAMPS, dt.UTC),
                                                  pa.timestamp("us", tz="UTC"))}))
    out = {}
    for table in ("dates", "stamps", "zoned"):
        for etlc, sql in CASES:
            rows = con.execute(f"SELECT {sql} FROM {table} ORDER BY i").fetchall()
            out[table, etlc] = [r[0] for r in rows]
    con.close()
    return out


def _ours(expr: str, column: pd.Series, declared) -> list:
    df = pd.DataFrame({"v": column})
    got = pe.evaluate(expr, df, types={"v": declared} if declared is not None else None)
    assert len(got) == len(column)
    return [None if v is pd.NA else bool(v) for v in got]


def _check_all(reference, table: str, column: pd.Series, declared) -> None:
    wrong = []
    for etlc, _sql in CASES:
        got = _ours(etlc, column, declared)
        if got != reference[table, etlc]:
            wrong.append((etlc, got, reference[table, etlc]))
    assert not wrong, "\n".join(map(str, wrong))
    # a filter keeps exactly the rows DuckDB's WHERE keeps (null drops)
    etlc = "v >= date '2025-01-03'"
    kept = pe.apply_filter(etlc, pd.DataFrame({"v": column}),
                           types={"v": declared} if declared is not None else None)
    assert list(kept.index) == [k for k, r in enumerate(reference[table, etlc]) if r is True]


@pytest.mark.parametrize("storage", sorted(DATE_STORAGES))
def test_date_column_compares_like_duckdb(reference, storage):
    _check_all(reference, "dates", DATE_STORAGES[storage](), DATE)


@pytest.mark.parametrize("storage", ["arrow_date32", "arrow_date64", "object_date"])
def test_date_storage_is_a_date_without_declared_types(reference, storage):
    _check_all(reference, "dates", DATE_STORAGES[storage](), None)


@pytest.mark.parametrize("storage", sorted(STAMP_STORAGES))
@pytest.mark.parametrize("declared", [TIMESTAMP, None], ids=["declared", "undeclared"])
def test_timestamp_column_compares_like_duckdb(reference, storage, declared):
    table = "zoned" if "utc" in storage or "zoned" in storage else "stamps"
    _check_all(reference, table, STAMP_STORAGES[storage](), declared)


# -- through a real file read -----------------------------------------------------------

COLUMNS = {"i": {"type": "int"}, "v": {"type": "date"}, "t": {"type": "timestamp"}}


def _write(tmp_path, fmt: str) -> dict:
    if fmt == "csv":
        lines = ["i,v,t"] + [
            f"{i},{'' if d is None else d.isoformat()},{'' if s is None else s.isoformat(' ')}"
            for i, (d, s) in enumerate(zip(DAYS, STAMPS))]
        (tmp_path / "in.csv").write_text("\n".join(lines) + "\n")
    else:
        pq.write_table(pa.table({"i": pa.array(range(len(DAYS)), pa.int64()),
                                 "v": pa.array(DAYS, pa.date32()),
                                 "t": pa.array(STAMPS, pa.timestamp("us"))}),
                       tmp_path / "in.parquet")
    return {"format": fmt, "path": str(tmp_path / f"in.{fmt}"), "columns": COLUMNS}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_columns_read_from_a_file_compare_like_duckdb(reference, tmp_path, fmt):
    frame = read_dataset(_write(tmp_path, fmt), {}, tmp_path)
    assert frame["i"].tolist() == list(range(len(DAYS)))
    _check_all(reference, "dates", frame["v"], DATE)
    _check_all(reference, "stamps", frame["t"], TIMESTAMP)


# -- dates stay dates --------------------------------------------------------------------

@pytest.mark.parametrize("storage", sorted(DATE_STORAGES))
def test_date_arithmetic_stays_a_date(storage):
    df = pd.DataFrame({"v": DATE_STORAGES[storage]()})
    types = {"v": DATE}
    con = duckdb.connect()
    con.register("dates", pa.table({"i": list(range(len(DAYS))),
                                    "v": pa.array(DAYS, pa.date32())}))
    want = con.execute("SELECT v + 1, v - 1, typeof(v + 1), v - DATE '2025-01-01' "
                       "FROM dates ORDER BY i").fetchall()
    con.close()
    assert {r[2] for r in want} == {"DATE"}
    plus = pe.evaluate("v + 1", df, types=types)
    minus = pe.evaluate("v - 1", df, types=types)
    diff = pe.evaluate("v - date '2025-01-01'", df, types=types)
    # a date is held as a naive midnight datetime64 (the evaluator's representation of date)
    for got in (plus, minus):
        assert isinstance(got.dtype, np.dtype) and got.dtype.kind == "M"
        assert (got.dropna() == got.dropna().dt.normalize()).all()
    assert [None if pd.isna(v) else v.date() for v in plus] == [r[0] for r in want]
    assert [None if pd.isna(v) else v.date() for v in minus] == [r[1] for r in want]
    assert [None if pd.isna(v) else int(v) for v in diff] == [r[3] for r in want]
    stored = pe.evaluate("v + 1", df, types=types, dates_as_dates=True)
    assert stored.dtype == pd.ArrowDtype(pa.date32())
    assert [None if pd.isna(v) else v for v in stored] == [r[0] for r in want]
    assert pe.evaluate("v + 1 = date '2025-01-04'", df, types=types).tolist()[1] is True


# -- a whole task ---------------------------------------------------------------------------

def _task(engine: str):
    steps = [
        {"name": "raw", "read": "src"},
        {"name": "recent", "from": "raw", "filter": "v >= date '2025-01-03' and v <> "
         "to_date('2025-01-05')", "derive": {"after": "v + 1"}},
        {"name": "save", "from": "recent", "write": "out", "mode": "overwrite"},
    ]
    datasets = {"src": {"format": "csv", "path": "data/in.csv", "columns": COLUMNS},
                "out": {"format": "parquet", "path": f"out/{engine}/"}}
    return task_plan(steps, datasets, engine=engine)


def _engines():
    from etlc_runtime import engines
    return [e for e in ("pandas", "duckdb") if e in engines.AVAILABLE]


def test_run_task_filters_a_date_column_read_from_csv(project):
    (project / "data").mkdir()
    _write(project / "data", "csv")
    outputs = {}
    for engine in _engines():
        result = executor.run_task(_task(engine), {"run_id": f"r-{engine}"})
        assert result["rows"] == 2, engine
        table = pq.read_table(project / "out" / engine)
        for column in ("v", "after"):   # a date, and a date plus days, are dates
            assert pa.types.is_date(table.schema.field(column).type), (engine, table.schema)
        outputs[engine] = table.select(["i", "v", "after"])
    assert rows(outputs["pandas"]) == [(1, D(2025, 1, 3), D(2025, 1, 4)),
                                       (5, D(2025, 1, 4), D(2025, 1, 5))]
    for table in outputs.values():
        assert_same(table, outputs["pandas"])
