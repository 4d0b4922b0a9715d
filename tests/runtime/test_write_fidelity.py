"""Issue 10, the write side: every value a writer is handed comes out as it went in, on the
pandas and the duckdb engine, in Parquet, CSV and JSON Lines.

Each engine writes the same extremes (int64 bounds, 2**53 + 1, shortest-repr floats, -0.0,
±inf, NaN apart from null, decimals at full precision, empty and null-like strings, dates
0001-01-01 and 9999-12-31, microsecond timestamps, a midnight timestamp); the files are read
back by references that are not etlc's readers (pyarrow for Parquet, Python's csv and json
modules with per-type parsing) and compared value for value with what went in.  Named
regression tests cover each finding of the issue (JSON floats cut to 10 digits, timestamps
to milliseconds, dates written as timestamps, inf as null; CSV midnight timestamps written
as dates; decimals written as floats; empty strings written as null).
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
import math
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from etlc_runtime.engines import get_engine
from etlc_runtime.engines.base import StepContext, TaskResources
from etlc_runtime.file_layout import WriteTarget, write_target

I64 = 2**63 - 1
D = decimal.Decimal
COLUMNS = {"i": {"type": "int"}, "f": {"type": "float"},
           "d": {"type": "decimal", "scale": 2, "precision": 38}, "s": {"type": "string"},
           "b": {"type": "bool"}, "day": {"type": "date"}, "ts": {"type": "timestamp"}}
VALUES = {
    "i": [I64, -I64 - 1, 2**53 + 1, 0, -1, None, 7, 8, 9, 10],
    "f": [0.1, 1 / 3, 1e16, -0.0, 5e-324, 1.7976931348623157e308, math.inf, -math.inf,
          math.nan, None],
    "d": [D("12345678901234567.89"), D("-0.01"), D("0.00"),
          D("999999999999999999999999999999999999.99"), None, D("1.10"), D("-5.00"),
          D("3.14"), D("100.00"), D("0.50")],
    "s": ["", " ", "NA", "null", "a,b", 'q"q', "line\nbreak", None, "ünï ☃", "None"],
    "b": [True, False, None, True, False, True, False, True, False, True],
    "day": [dt.date(1, 1, 1), dt.date(9999, 12, 31), None, dt.date(2025, 1, 16),
            dt.date(2024, 2, 29), dt.date(1970, 1, 1), dt.date(2000, 1, 1),
            dt.date(1999, 12, 31), dt.date(2025, 1, 1), dt.date(2025, 6, 30)],
    "ts": [dt.datetime(2025, 1, 16), dt.datetime(2025, 1, 16, 9, 30, 0, 123456),
           dt.datetime(1, 1, 1, 0, 0, 0, 1), dt.datetime(9999, 12, 31, 23, 59, 59, 999999),
           None, dt.datetime(2025, 1, 1, 0, 0, 0, 500000), dt.datetime(1970, 1, 1),
           dt.datetime(2000, 2, 29, 12), dt.datetime(2025, 1, 1, 0, 0, 1),
           dt.datetime(2025, 1, 1)],
}
ARROW = {"i": pa.int64(), "f": pa.float64(), "d": pa.decimal128(38, 2), "s": pa.string(),
         "b": pa.bool_(), "day": pa.date32(), "ts": pa.timestamp("us")}
ENGINES = ["pandas", "duckdb"]


def _table(names=None) -> pa.Table:
    names = names or list(VALUES)
    return pa.table({n: pa.array(VALUES[n], ARROW[n]) for n in names})


def _pandas_frame(table: pa.Table) -> pd.DataFrame:
    """The pandas engine's representation (docs/types.md): Int64, Float64 with NaN apart
    from null, Arrow decimals and dates, datetime64[us], string, boolean."""
    out = {}
    for name in table.column_names:
        col = table.column(name).combine_chunks()
        t = col.type
        if pa.types.is_integer(t):
            out[name] = pd.array(col.to_pylist(), dtype="Int64")
        elif pa.types.is_floating(t):
            mask = col.is_null().to_numpy(zero_copy_only=False)
            data = col.fill_null(0.0).to_numpy(zero_copy_only=False).copy()
            out[name] = pd.arrays.FloatingArray(data, mask.copy())
        elif pa.types.is_decimal(t) or pa.types.is_date(t):
            out[name] = pd.arrays.ArrowExtensionArray(col)
        elif pa.types.is_timestamp(t):
            out[name] = pd.Series(col.to_pylist(), dtype="datetime64[us]").array
        elif pa.types.is_boolean(t):
            out[name] = pd.array(col.to_pylist(), dtype="boolean")
        else:
            out[name] = pd.array(col.to_pylist(), dtype="string")
    return pd.DataFrame(out)


def _write(engine_name: str, table: pa.Table, root: Path, dataset: dict, mode="overwrite"):
    engine = get_engine(engine_name, TaskResources(spill_dir=root / ".spill"))
    try:
        rel = (engine.from_pandas(_pandas_frame(table)) if engine_name == "pandas"
               else engine.from_arrow(table))
        ctx = StepContext(root=root, params={}, macros={}, append_key="2025-01-01", step="out",
                          types={c: COLUMNS[c] for c in table.column_names if c in COLUMNS})
        return engine.write(rel, dataset, mode, ctx)
    finally:
        engine.close()


def _parse(name: str, text: str | None):
    """A reference parse of one text field of column ``name`` (not etlc's reader)."""
    if text is None:
        return None
    kind = COLUMNS[name]["type"]
    if kind == "int":
        return int(text)
    if kind == "float":
        return float({"NaN": "nan", "Infinity": "inf", "-Infinity": "-inf"}.get(text, text))
    if kind == "decimal":
        return D(text)
    if kind == "bool":
        return {"true": True, "false": False}[text]
    if kind == "date":
        return dt.date.fromisoformat(text)
    if kind == "timestamp":
        return dt.datetime.fromisoformat(text)
    return text


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, D) and isinstance(b, D):
        return a == b and str(a) == str(b)
    return type(a) is type(b) and a == b


def _assert_columns(got: dict[str, list], names) -> None:
    for n in names:
        want = VALUES[n]
        assert len(got[n]) == len(want), n
        for row, (g, w) in enumerate(zip(got[n], want)):
            assert _same(g, w), f"column {n} row {row}: wrote {w!r}, read back {g!r}"


def _read_csv(path: Path, null_value: str = "") -> dict[str, list]:
    """Python's csv module; a field is null only when it is ``null_value`` unquoted."""
    text = path.read_text(encoding="utf-8")
    header, *lines = _split_records(text)
    out = {h: [] for h in header}
    for fields in lines:
        assert len(fields) == len(header)
        for h, (value, quoted) in zip(header, fields):
            out[h].append(None if (value == null_value and not quoted) else _parse(h, value))
    return out


def _split_records(text: str):
    """CSV records as [(value, was_quoted)] (the csv module cannot tell ``""`` from empty)."""
    records, field, fields, quoted, in_q, i = [], [], [], False, False, 0
    while i < len(text):
        c = text[i]
        if in_q:
            if c == '"' and text[i + 1:i + 2] == '"':
                field.append('"')
                i += 1
            elif c == '"':
                in_q = False
            else:
                field.append(c)
        elif c == '"':
            in_q = quoted = True
        elif c == ",":
            fields.append(("".join(field), quoted))
            field, quoted = [], False
        elif c == "\n":
            fields.append(("".join(field), quoted))
            records.append(fields)
            field, fields, quoted = [], [], False
        else:
            field.append(c)
        i += 1
    return [[v for v, _ in records[0]]] + records[1:]


def _read_json(path: Path) -> dict[str, list]:
    out: dict[str, list] = {}
    for line in path.read_text(encoding="utf-8").split("\n")[:-1]:
        row = json.loads(line, parse_float=str, parse_int=str,
                         parse_constant=lambda c: c)
        for k, v in row.items():
            if isinstance(v, bool):
                v = "true" if v else "false"
            out.setdefault(k, []).append(v)
    return {k: [_parse(k, v) for v in vs] for k, vs in out.items()}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("declared", [True, False], ids=["declared", "undeclared"])
def test_csv_round_trip_exact(tmp_path, engine, declared):
    ds = {"format": "csv", "path": "out.csv"} | ({"columns": COLUMNS} if declared else {})
    _write(engine, _table(), tmp_path, ds)
    _assert_columns(_read_csv(tmp_path / "out.csv"), VALUES)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("declared", [True, False], ids=["declared", "undeclared"])
def test_json_round_trip_exact(tmp_path, engine, declared):
    ds = {"format": "json", "path": "out.jsonl"} | ({"columns": COLUMNS} if declared else {})
    _write(engine, _table(), tmp_path, ds)
    _assert_columns(_read_json(tmp_path / "out.jsonl"), VALUES)


@pytest.mark.parametrize("engine", ENGINES)
def test_parquet_round_trip_exact(tmp_path, engine):
    _write(engine, _table(), tmp_path, {"format": "parquet", "path": "out.parquet",
                                        "columns": COLUMNS})
    got = pq.read_table(tmp_path / "out.parquet")
    assert got.schema.field("d").type == pa.decimal128(38, 2)
    assert got.schema.field("day").type == pa.date32()
    _assert_columns({n: got.column(n).to_pylist() for n in got.column_names}, VALUES)


@pytest.mark.parametrize("engine", ENGINES)
def test_json_floats_not_cut_to_ten_digits(tmp_path, engine):
    _write(engine, _table(["f"]), tmp_path, {"format": "json", "path": "o.jsonl"})
    lines = (tmp_path / "o.jsonl").read_text().splitlines()
    assert json.loads(lines[1])["f"] == 1 / 3           # 0.3333333333333333, not 0.3333333333
    assert lines[6] == '{"f":Infinity}' and lines[7] == '{"f":-Infinity}'
    assert lines[8] == '{"f":NaN}' and lines[9] == '{"f":null}'  # inf/NaN are not null


@pytest.mark.parametrize("engine", ENGINES)
def test_json_timestamps_keep_microseconds_and_dates_stay_dates(tmp_path, engine):
    _write(engine, _table(["day", "ts"]), tmp_path, {"format": "json", "path": "o.jsonl"})
    rows = [json.loads(x) for x in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert rows[1]["ts"].endswith("09:30:00.123456")
    assert rows[0]["day"] == "0001-01-01"               # a date, not "0001-01-01T00:00:00"


@pytest.mark.parametrize("engine", ENGINES)
def test_csv_midnight_timestamp_written_as_timestamp(tmp_path, engine):
    table = pa.table({"ts": pa.array([dt.datetime(2025, 1, 16)] * 2, pa.timestamp("us"))})
    _write(engine, table, tmp_path, {"format": "csv", "path": "o.csv"})
    assert (tmp_path / "o.csv").read_text() == "ts\n2025-01-16 00:00:00\n2025-01-16 00:00:00\n"


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_decimals_exact_in_text(tmp_path, engine, fmt):
    _write(engine, _table(["d"]), tmp_path, {"format": fmt, "path": f"o.{fmt}",
                                             "columns": {"d": COLUMNS["d"]}})
    text = (tmp_path / f"o.{fmt}").read_text()
    assert "12345678901234567.89" in text and "e+" not in text


@pytest.mark.parametrize("engine", ENGINES)
def test_csv_empty_string_is_not_null(tmp_path, engine):
    table = pa.table({"s": pa.array(["", None, "x"], pa.string()),
                      "n": pa.array([1, 2, 3], pa.int64())})
    _write(engine, table, tmp_path, {"format": "csv", "path": "o.csv",
                                     "columns": {"s": {"type": "string"}}})
    assert (tmp_path / "o.csv").read_text() == 's,n\n"",1\n,2\nx,3\n'


@pytest.mark.parametrize("engine", ENGINES)
def test_csv_null_value_option_and_a_string_equal_to_it(tmp_path, engine):
    table = pa.table({"s": pa.array(["NULL", None, ""], pa.string())})
    _write(engine, table, tmp_path, {"format": "csv", "path": "o.csv",
                                     "options": {"null_value": "NULL"}})
    text = (tmp_path / "o.csv").read_text()
    assert text.splitlines()[1:] == ['"NULL"', "NULL", '""']
    assert list(csv.reader(io.StringIO(text)))[3] == [""]   # the empty string is a row


@pytest.mark.parametrize("engine", ENGINES)
def test_int64_exact_with_nulls(tmp_path, engine):
    table = pa.table({"i": pa.array([I64, None, 2**53 + 1], pa.int64())})
    for fmt in ("csv", "json"):
        _write(engine, table, tmp_path, {"format": fmt, "path": f"o.{fmt}"})
        text = (tmp_path / f"o.{fmt}").read_text()
        assert "9223372036854775807" in text and "9007199254740993" in text


@pytest.mark.parametrize("engine", ENGINES)
def test_decimal_beyond_its_precision_is_an_error_not_a_silent_fallback(tmp_path, engine):
    table = pa.table({"d": pa.array([D("1.50"), D("123456789012.50")], pa.decimal128(38, 2))})
    with pytest.raises(Exception) as info:
        _write(engine, table, tmp_path, {"format": "parquet", "path": "o.parquet", "columns": {
            "d": {"type": "decimal", "scale": 2, "precision": 10}}})
    assert "123456789012.5" in str(info.value)         # the value is named
    assert not (tmp_path / "o.parquet").exists()      # no file written with other types


def test_write_target_is_one_frozen_check(tmp_path):
    spot = write_target({"format": "csv", "path": "out/", "partition_by": ["k"]}, None, {},
                        tmp_path, "2025-01-01", ["k", "v"])
    assert isinstance(spot, WriteTarget) and spot.mode == "append" and not spot.single
    assert spot.partition_by == ("k",) and spot.run_key and spot.path == tmp_path / "out"
    with pytest.raises(AttributeError):
        spot.mode = "overwrite"  # frozen
    from etlc_runtime.errors import StepError
    with pytest.raises(StepError, match="not in the data"):
        write_target({"format": "csv", "path": "out/", "partition_by": ["k"]}, None, {},
                      tmp_path, "k", ["v"])
    assert write_target({"format": "postgres", "table": "t"}, "upsert", {}, tmp_path, None,
                        []).path is None


@pytest.mark.parametrize("via", ["from_arrow", "staging"])
def test_hand_off_to_the_pandas_engine_keeps_ints_and_nan(tmp_path, via):
    """A duckdb step's rows reaching a pandas write (across engines through Arrow, or staged
    between tasks) keep int64 with nulls exact and NaN apart from null."""
    import math as _m

    from etlc_runtime.staging import read_stage

    table = pa.table({"i": pa.array([I64, None, 2**53 + 1], pa.int64()),
                      "f": pa.array([_m.nan, None, 0.1], pa.float64())})
    pandas = get_engine("pandas", TaskResources())
    if via == "from_arrow":
        frame = pandas.from_arrow(table)
    else:
        duck = get_engine("duckdb", TaskResources(spill_dir=tmp_path / ".spill"))
        try:
            done = duck.stage(duck.from_arrow(table), tmp_path / "stage", partitions=1, meta={})
        finally:
            duck.close()
        frame = read_stage(done["manifest"])
    ctx = StepContext(root=tmp_path, params={}, macros={}, append_key="k")
    pandas.write(frame, {"format": "csv", "path": "o.csv"}, "overwrite", ctx)
    assert (tmp_path / "o.csv").read_text() == \
        "i,f\n9223372036854775807,nan\n,\n9007199254740993,0.1\n"


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("arrow,declared,bad", [
    (pa.array([2.0, 1.5]), {"type": "int"}, "1.5"),
    (pa.array([D("1.230"), D("1.234")], pa.decimal128(10, 3)),
     {"type": "decimal", "scale": 2}, "1.234"),
    (pa.array([0.1, 1.005]), {"type": "decimal", "scale": 2}, "1.005"),
], ids=["float-int", "decimal-scale", "float-decimal"])
def test_a_declared_sink_never_rounds_a_value_away(tmp_path, engine, arrow, declared, bad):
    from etlc_runtime.errors import DataError

    with pytest.raises(Exception) as info:
        _write(engine, pa.table({"x": arrow}), tmp_path, {
            "format": "csv", "path": "o.csv", "columns": {"x": declared}})
    err = DataError.from_exception(info.value)
    assert err is not None and err.column == "x" and str(err.value) == bad
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("engine", ENGINES)
def test_a_declared_sink_takes_values_it_holds_exactly(tmp_path, engine):
    table = pa.table({"i": pa.array([2.0, None, -7.0]), "d": pa.array([0.1, 2.25, None])})
    _write(engine, table, tmp_path, {"format": "csv", "path": "o.csv", "columns": {
        "i": {"type": "int"}, "d": {"type": "decimal", "scale": 2}}})
    assert (tmp_path / "o.csv").read_text() == "i,d\n2,0.10\n,2.25\n-7,\n"
