"""Shared test data for the expression tests: a fixed table with nulls in every column,
loaded identically into pandas (etlc's dtypes) and DuckDB (SQL types), and the strict helpers
that compare etlc's results with DuckDB's (types exactly, values exactly)."""
from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal

import duckdb
import numpy as np
import pandas as pd
from etlc_runtime.expr import Type
from etlc_runtime.expr.pandas_columns import coerce_frame
from exact_rows import same_value

D = dt.date
TS = dt.datetime
N = None

# name: (etlc type, DuckDB type, values)
COLUMNS = {
    "id": (Type("int"), "BIGINT", list(range(12))),
    "i": (Type("int"), "BIGINT", [3, -7, N, 0, 12, 5, -1, 100, N, 7, 2, -12]),
    "j": (Type("int"), "BIGINT", [2, 0, 4, N, -3, 5, 0, 7, 1, N, 3, -5]),
    "f": (Type("float"), "DOUBLE", [1.5, -2.25, N, 0.0, 3.75, 10.5, -0.5, N, 2.0, 7.125, -3.5,
                                    0.1]),
    "g": (Type("float"), "DOUBLE", [0.5, 0.0, 2.0, -1.5, N, 4.0, 2.5, 1.0, N, -2.0, 0.25, 3.0]),
    "d": (Type("decimal", 2), "DECIMAL(18, 2)",
          [Decimal(x) if x is not None else None for x in
           ["1.25", "-3.50", None, "0.00", "10.10", "2.55", "-0.05", "99.99", "0.35", None,
            "1.00", "-7.45"]]),
    "e": (Type("decimal", 1), "DECIMAL(18, 1)",
          [Decimal(x) if x is not None else None for x in
           ["0.5", "1.5", "-2.5", None, "3.0", "0.0", "2.5", "-0.5", None, "4.5", "1.0", "7.5"]]),
    "s": (Type("string"), "VARCHAR", ["Ab", " x ", N, "abc", "B", "", "ção", "hello world", "x",
                                      "ABC", "a'b", "zz"]),
    "t": (Type("string"), "VARCHAR", ["b", "x", "a", N, "B", "", "ç", "o", "x", "BC", "'", "z"]),
    "b": (Type("bool"), "BOOLEAN", [True, False, N, True, False, N, True, False, True, N, False,
                                    True]),
    "c": (Type("bool"), "BOOLEAN", [False, N, True, True, N, False, False, True, True, False,
                                    N, True]),
    "dt": (Type("date"), "DATE", [D(2020, 1, 2), D(2021, 12, 31), N, D(2020, 2, 29),
                                  D(2019, 7, 15), D(2024, 3, 1), D(2020, 1, 2), N, D(2000, 1, 1),
                                  D(2023, 6, 30), D(2022, 11, 11), D(2020, 6, 1)]),
    "ts": (Type("timestamp"), "TIMESTAMP",
           [TS(2020, 1, 2, 3, 4, 5), N, TS(2021, 5, 6, 23, 59, 59), TS(2020, 1, 2),
            TS(1999, 12, 31, 12, 0, 0), TS(2024, 2, 29, 6, 30), N, TS(2020, 6, 1, 0, 0, 1),
            TS(2010, 10, 10, 10, 10, 10), TS(2023, 1, 1, 1, 1, 1), TS(2022, 7, 4, 16, 0),
            TS(2020, 1, 1)]),
    "ds": (Type("string"), "VARCHAR", ["2020-01-05", N, "2023-11-30", "1999-02-28",
                                       "2020-02-29", "2024-12-31", N, "2001-01-01",
                                       "2010-10-10", "2020-06-01", "2015-03-15", "2021-07-04"]),
    "dn": (Type("string"), "VARCHAR", ["20200105", "19991231", N, "20240229", "20000101",
                                       "20111111", "20200601", N, "20220202", "20230303",
                                       "20190909", "20050505"]),
    "ns": (Type("string"), "VARCHAR", ["12", " 7 ", "-3", N, "0", "42", "1000", "-15", N, "8",
                                       "3", "99"]),
    "k": (Type("string"), "VARCHAR", ["a", "b", N, "a", "b", "c", N, "a", "c", "b", "a", "a"]),
    "m": (Type("int"), "BIGINT", [1, 1, 2, 2, 1, 2, 1, 2, 1, 1, 2, 2]),
}

TYPES = {name: t for name, (t, _, _) in COLUMNS.items()}
PARAMS = {"p_int": 5, "p_float": 2.5, "p_str": "abc", "p_date": D(2020, 6, 1),
          "p_null": None, "p_dec": Decimal("1.25"), "p_bool": True}


def pandas_frame() -> pd.DataFrame:
    raw = pd.DataFrame({name: pd.Series(vals, dtype=object) for name, (_, _, vals)
                        in COLUMNS.items()})
    return coerce_frame(raw, TYPES)


def duckdb_con(name: str = "t", rows: list | None = None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET threads = 1")
    con.execute("SET TimeZone = 'UTC'")  # to_timestamp(number) is UTC in both
    cols = ", ".join(f'"{n}" {sqlt}' for n, (_, sqlt, _) in COLUMNS.items())
    con.execute(f"CREATE TABLE {name} ({cols})")
    values = list(zip(*[vals for (_, _, vals) in COLUMNS.values()])) if rows is None else rows
    ph = ", ".join("?" for _ in COLUMNS)
    con.executemany(f"INSERT INTO {name} VALUES ({ph})", [list(r) for r in values])
    return con


# -- strict comparison (docs/testing.md): types exactly, values exactly -----------------------

DUCK_TYPES = {"int": "BIGINT", "float": "DOUBLE", "string": "VARCHAR", "bool": "BOOLEAN",
              "date": "DATE", "timestamp": "TIMESTAMP", "null": '"NULL"'}


def duck_type_of(t: Type) -> str:
    """The DuckDB type an etlc type is (a decimal's precision is DuckDB's business: `*`)."""
    return f"DECIMAL(*,{t.scale or 0})" if t.name == "decimal" else DUCK_TYPES[t.name]


def same_type(t: Type, duck: str) -> bool:
    want = duck_type_of(t)
    if want.startswith("DECIMAL(*,"):
        return re.fullmatch(rf"DECIMAL\([0-9]+,{t.scale or 0}\)", duck) is not None
    return duck == want


def etlc_value(v, t: Type):
    """One value of an etlc result as the Python value of type t, with no rounding and no
    conversion between kinds: a date must be a midnight timestamp (how the pandas engine holds
    dates), a decimal a float that has no digit past its scale; anything else is an error."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if t.name == "null":
        assert isinstance(v, float) and math.isnan(v), f"a null-typed value {v!r}"
        return None
    if t.name in ("date", "timestamp"):
        assert isinstance(v, pd.Timestamp) and v.tz is None, f"{t.name} held as {v!r}"
        if t.name == "date":
            assert v == v.normalize(), f"a date with a time: {v!r}"
            return v.date()
        return v.to_pydatetime()
    if isinstance(v, np.generic):
        v = v.item()
    kind = {"int": int, "float": float, "decimal": float, "string": str, "bool": bool}[t.name]
    assert type(v) is kind, f"{t.name} held as {type(v).__name__} {v!r}"
    if t.name == "decimal":
        exact = Decimal(repr(v))
        scaled = exact.quantize(Decimal(1).scaleb(-(t.scale or 0)))
        assert exact == scaled, f"decimal({t.scale}) {v!r} has digits past its scale"
        return scaled
    return v


def etlc_values(result, t: Type, n: int) -> list:
    values = result.tolist() if isinstance(result, pd.Series) else [result] * n
    return [etlc_value(v, t) for v in values]


def duck_value(v, t: Type):
    """A value DuckDB returned, for a column of etlc type t: only decimals change form
    (quantized to the scale, which DuckDB's Decimal already has)."""
    if v is None:
        return None
    if t.name == "decimal":
        assert isinstance(v, Decimal), v
        return v.quantize(Decimal(1).scaleb(-(t.scale or 0)))
    return v


def assert_same_lists(ours: list, ref: list, what: str, max_ulps: int = 0):
    assert len(ours) == len(ref), f"{what}: {len(ours)} rows vs {len(ref)}"
    bad = [(k, x, y) for k, (x, y) in enumerate(zip(ours, ref)) if not same_value(x, y, max_ulps)]
    assert not bad, f"{what}: rows differ (row, etlc, oracle): {bad[:5]}"
