"""Issue 10, the read side: each finding is a named test, run on every engine.

A value comes in exactly as the file holds it, or the read stops with R040 naming the
column, the file, the line or row and the value (errors.DataError; on the duckdb engine the
error is raised in SQL and found again by DataError.from_exception).
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conformance_helpers import assert_same, make_project, read, read_error

I64_MAX, I64_MIN = 2**63 - 1, -(2**63)
D = decimal.Decimal


@pytest.fixture
def root(tmp_path):
    return make_project(tmp_path / "proj")


def _csv(root, text: str, columns=None, **options) -> dict:
    (root / "in.csv").write_text(text)
    ds = {"format": "csv", "path": "in.csv", "options": options}
    if columns:
        ds["columns"] = columns
    return ds


def _jsonl(root, lines: list[str], columns=None) -> dict:
    (root / "in.jsonl").write_text("".join(line + "\n" for line in lines))
    ds = {"format": "json", "path": "in.jsonl"}
    if columns:
        ds["columns"] = columns
    return ds


def _parquet(root, table: pa.Table, columns=None) -> dict:
    pq.write_table(table, root / "in.parquet")
    ds = {"format": "parquet", "path": "in.parquet"}
    if columns:
        ds["columns"] = columns
    return ds


# -- int64 exact ----------------------------------------------------------------------------

BIG = [I64_MAX, None, I64_MIN, 2**53 + 1]


def test_int64_exact_csv_with_nulls(engine, root):
    ds = _csv(root, "id\n9223372036854775807\n\n-9223372036854775808\n9007199254740993\n",
              {"id": "int"})
    assert read(engine, root, ds).column("id").to_pylist() == BIG


def test_int64_exact_csv_undeclared(engine, root):
    ds = _csv(root, "id,x\n9223372036854775807,a\n,b\n-9223372036854775808,c\n"
                    "9007199254740993,d\n")
    got = read(engine, root, ds)
    assert got.schema.field("id").type == pa.int64()
    assert got.column("id").to_pylist() == BIG


def test_int64_exact_json_with_nulls(engine, root):
    ds = _jsonl(root, [json.dumps({"id": v}) for v in BIG], {"id": "int"})
    assert read(engine, root, ds).column("id").to_pylist() == BIG


def test_int64_exact_parquet_with_nulls(engine, root):
    ds = _parquet(root, pa.table({"id": pa.array(BIG, pa.int64())}), {"id": "int"})
    assert read(engine, root, ds).column("id").to_pylist() == BIG
    undeclared = _parquet(root, pa.table({"id": pa.array(BIG, pa.int64())}))
    assert read(engine, root, undeclared).column("id").to_pylist() == BIG


# -- decimals exact -------------------------------------------------------------------------

DEC = {"d": {"type": "decimal", "scale": 2}}


def test_decimal_exact_csv(engine, root):
    ds = _csv(root, "d\n12345678901234567.89\n-0.01\n\n999999999999999999999999999999999999.99\n",
              DEC)
    got = read(engine, root, ds)
    assert got.schema.field("d").type == pa.decimal128(38, 2)
    assert got.column("d").to_pylist() == [D("12345678901234567.89"), D("-0.01"), None,
                                           D("999999999999999999999999999999999999.99")]


def test_decimal_exact_json(engine, root):
    ds = _jsonl(root, ['{"d": 12345678901234567.89}', '{"d": "0.10"}', '{"d": null}'], DEC)
    assert read(engine, root, ds).column("d").to_pylist() == [
        D("12345678901234567.89"), D("0.10"), None]


def test_decimal_precision_from_spec(engine, root):
    ds = _csv(root, "d\n123.45\n", {"d": {"type": "decimal", "scale": 2, "precision": 10}})
    assert read(engine, root, ds).schema.field("d").type == pa.decimal128(10, 2)


def test_decimal_overflow_is_an_error(engine, root):
    ds = _csv(root, "d\n1.00\n1234567890123456789012345678901234567.00\n", DEC)
    err = read_error(engine, root, ds)
    assert err.column == "d"
    assert "1234567890123456789012345678901234567.00" in str(err.value)


def test_decimal_extra_digits_are_an_error_not_rounded(engine, root):
    ds = _csv(root, "d\n1.239\n", DEC)
    err = read_error(engine, root, ds)
    assert (err.column, err.value) == ("d", "1.239")


# -- empty strings, nulls -------------------------------------------------------------------

STRINGS = ["", " ", "  \t", "NA", "None", "null", "N/A", "nan", "x", None]


def test_empty_and_whitespace_strings_parquet(engine, root):
    ds = _parquet(root, pa.table({"s": pa.array(STRINGS, pa.string())}), {"s": "string"})
    assert read(engine, root, ds).column("s").to_pylist() == STRINGS


def test_empty_and_whitespace_strings_json(engine, root):
    ds = _jsonl(root, [json.dumps({"s": v}) for v in STRINGS], {"s": "string"})
    assert read(engine, root, ds).column("s").to_pylist() == STRINGS


def test_empty_and_whitespace_strings_csv(engine, root):
    # a quoted "" is an empty string; only the unquoted empty field is null
    text = 's\n""\n" "\n"  \t"\nNA\nNone\nnull\nN/A\nnan\nx\n\n'
    ds = _csv(root, text, {"s": "string"})
    assert read(engine, root, ds).column("s").to_pylist() == STRINGS


def test_csv_null_value_is_the_only_null(engine, root):
    ds = _csv(root, 's,n\n"",1\nNULL,NULL\n,2\n', {"s": "string", "n": "int"},
              null_value="NULL")
    got = read(engine, root, ds)
    assert got.column("s").to_pylist() == ["", None, ""]
    assert got.column("n").to_pylist() == [1, None, 2]


def test_csv_undeclared_types_from_the_reader(engine, root):
    ds = _csv(root, "id,s,f\n1,a,1.5\n,,\n3,\"\",nan\n")
    got = read(engine, root, ds)
    assert got.column("id").to_pylist() == [1, None, 3]
    assert got.column("s").to_pylist() == ["a", None, ""]
    assert got.schema.field("f").type == pa.float64()


def test_json_undeclared_columns(engine, root):
    ds = _jsonl(root, ['{"a": 9223372036854775807, "s": ""}', '{"a": null, "s": "x"}'])
    got = read(engine, root, ds)
    assert got.column_names == ["a", "s"]
    assert got.column("a").to_pylist() == [I64_MAX, None]
    assert got.column("s").to_pylist() == ["", "x"]


def test_csv_undeclared_no_na_guessing(engine, root):
    ds = _csv(root, "s\nNA\nNone\nnull\nN/A\nnan\n\n")
    got = read(engine, root, ds)
    assert got.column("s").to_pylist() == ["NA", "None", "null", "N/A", "nan", None]


# -- ragged rows ----------------------------------------------------------------------------

@pytest.mark.parametrize("text, line", [("id,x\n1,2\n1,2,99\n", 3), ("id,x\n1,2\n3\n", 3),
                                        ("id,x\n1,2,99\n", 2)],
                         ids=["more-fields", "fewer-fields", "first-row"])
@pytest.mark.parametrize("declared", [True, False], ids=["declared", "undeclared"])
def test_ragged_csv_row_is_an_error(engine, root, text, line, declared):
    ds = _csv(root, text, {"id": "int", "x": "int"} if declared else None)
    err = read_error(engine, root, ds)
    assert err.line == line
    assert err.file and err.file.endswith("in.csv")


# -- missing columns, lossless conversions, NaN ---------------------------------------------

def test_declared_column_missing_from_parquet(engine, root):
    ds = _parquet(root, pa.table({"a": [1]}), {"a": "int", "b": "string"})
    err = read_error(engine, root, ds)
    assert err.column == "b" and err.file.endswith("in.parquet")


def test_declared_column_missing_from_json(engine, root):
    ds = _jsonl(root, ['{"a": 1}', '{"a": 2}'], {"a": "int", "b": "string"})
    err = read_error(engine, root, ds)
    assert err.column == "b" and err.file.endswith("in.jsonl")


def test_parquet_float_into_int_is_an_error(engine, root):
    ds = _parquet(root, pa.table({"n": pa.array([1.0, 1.5], pa.float64())}), {"n": "int"})
    err = read_error(engine, root, ds)
    assert err.column == "n"
    assert float(err.value) == 1.5


def test_parquet_whole_floats_into_int(engine, root):
    ds = _parquet(root, pa.table({"n": pa.array([1.0, None, -2.0], pa.float64())}),
                  {"n": "int"})
    assert read(engine, root, ds).column("n").to_pylist() == [1, None, -2]


def test_nan_kept_apart_from_null(engine, root):
    values = [float("nan"), None, -0.0, float("inf"), float("-inf"), 1.5]
    ds = _parquet(root, pa.table({"f": pa.array(values, pa.float64())}), {"f": "float"})
    got = read(engine, root, ds).column("f").to_pylist()
    assert math.isnan(got[0]) and got[1] is None
    assert math.copysign(1.0, got[2]) == -1.0 and got[3:] == values[3:]
    csv = _csv(root, "f\nnan\n\n-0.0\ninf\n-inf\n1.5\n", {"f": "float"})
    got = read(engine, root, csv).column("f").to_pylist()
    assert math.isnan(got[0]) and got[1] is None and got[3:] == values[3:]


# -- timestamps -----------------------------------------------------------------------------

TS = {"ts": "timestamp"}


def test_timestamps_with_zones_become_utc(engine, root):
    ds = _csv(root, "ts\n2024-01-01T00:00:00Z\n2024-01-01 02:00:00+02:00\n"
                    "2024-01-01T00:00:00.5-03:30\n2024-01-01T09:00:00\n", TS)
    assert read(engine, root, ds).column("ts").to_pylist() == [
        dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 1, 3, 30, 0,
                                                                       500000),
        dt.datetime(2024, 1, 1, 9)]


def test_zoned_parquet_timestamps_become_utc(engine, root):
    arr = pa.array([dt.datetime(2024, 1, 1, 12)], pa.timestamp("us")).cast(
        pa.timestamp("us", "UTC")).cast(pa.timestamp("us", "Europe/Berlin"))
    ds = _parquet(root, pa.table({"ts": arr}), TS)
    got = read(engine, root, ds)
    assert got.schema.field("ts").type == pa.timestamp("us")
    assert got.column("ts").to_pylist() == [dt.datetime(2024, 1, 1, 12)]


def test_timestamps_years_1_to_9999_with_microseconds(engine, root):
    ds = _csv(root, "ts\n0001-01-01 00:00:00.000001\n9999-12-31T23:59:59.999999\n"
                    "2300-06-01 12:00:00\n", TS)
    assert read(engine, root, ds).column("ts").to_pylist() == [
        dt.datetime(1, 1, 1, 0, 0, 0, 1), dt.datetime(9999, 12, 31, 23, 59, 59, 999999),
        dt.datetime(2300, 6, 1, 12)]


def test_one_nanosecond_value_is_its_own_error(engine, root):
    ok = _csv(root, "ts\n2300-06-01 12:00:00\n2024-01-01T00:00:00.123456000\n", TS)
    assert read(engine, root, ok).column("ts").to_pylist() == [
        dt.datetime(2300, 6, 1, 12), dt.datetime(2024, 1, 1, 0, 0, 0, 123456)]
    bad = _csv(root, "ts\n2300-06-01 12:00:00\n2024-01-01T00:00:00.123456789\n", TS)
    err = read_error(engine, root, bad)
    assert (err.column, err.value) == ("ts", "2024-01-01T00:00:00.123456789")


def test_timestamp_error_names_the_column(engine, root):
    ds = _csv(root, "a,ts\n1,2024-13-45\n", {"a": "int", "ts": "timestamp"})
    err = read_error(engine, root, ds)
    assert (err.column, err.value) == ("ts", "2024-13-45")


# -- nested JSON, dates ---------------------------------------------------------------------

def test_nested_json_into_string_is_json_text(engine, root):
    ds = _jsonl(root, ['{"p": {"page": null, "n": [1, 2.50]}}', '{"p": "plain"}'],
                {"p": "string"})
    got = read(engine, root, ds).column("p").to_pylist()
    assert json.loads(got[0]) == {"page": None, "n": [1, 2.5]}
    assert got[1] == "plain"


def test_dates_are_dates(engine, root):
    ds = _csv(root, "day\n0001-01-01\n9999-12-31\n2024-02-29\n\n", {"day": "date"})
    got = read(engine, root, ds)
    assert got.schema.field("day").type == pa.date32()
    assert got.column("day").to_pylist() == [dt.date(1, 1, 1), dt.date(9999, 12, 31),
                                             dt.date(2024, 2, 29), None]


def test_date_with_a_time_is_an_error(engine, root):
    err = read_error(engine, root, _csv(root, "day\n2024-01-01T10:00:00\n", {"day": "date"}))
    assert err.column == "day"


def test_int_error_names_file_and_value(engine, root):
    ds = _csv(root, "id\n1\nzz\n", {"id": "int"})
    err = read_error(engine, root, ds)
    assert (err.column, err.value) == ("id", "zz")
    assert err.file and err.file.endswith("in.csv")
    assert_same(read(engine, root, _csv(root, "id\n+5\n 7 \n1.0\n", {"id": "int"})),
                pa.table({"id": pa.array([5, 7, 1], pa.int64())}))


# -- on_error: null | skip | fail -----------------------------------------------------------

ON_ERROR_CSV = "id,x,ts\n1,10,2024-01-01 00:00:00\nzz,20,2024-01-02 00:00:00\n3,1.5,bad\n4,40,\n"


def test_on_error_null(engine, root):
    ds = _csv(root, ON_ERROR_CSV, {"id": "int", "x": "int", "ts": "timestamp"},
              on_error="null")
    got = read(engine, root, ds)
    assert got.column("id").to_pylist() == [1, None, 3, 4]
    assert got.column("x").to_pylist() == [10, 20, None, 40]
    assert got.column("ts").to_pylist() == [dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 2),
                                            None, None]


def test_on_error_skip(engine, root):
    ds = _csv(root, ON_ERROR_CSV + "5,50\n", {"id": "int", "x": "int", "ts": "timestamp"},
              on_error="skip")
    got = read(engine, root, ds)
    assert got.column("id").to_pylist() == [1, 4]
    assert got.column("x").to_pylist() == [10, 40]


def test_on_error_fail_is_the_default(engine, root):
    ds = _csv(root, ON_ERROR_CSV, {"id": "int", "x": "int", "ts": "timestamp"},
              on_error="fail")
    assert read_error(engine, root, ds).value == "zz"


def test_on_error_null_parquet(engine, root):
    ds = _parquet(root, pa.table({"n": pa.array([1.0, 1.5, None], pa.float64())}),
                  {"n": "int"})
    ds["options"] = {"on_error": "null"}
    assert read(engine, root, ds).column("n").to_pylist() == [1, None, None]
    ds["options"] = {"on_error": "skip"}
    assert read(engine, root, ds).column("n").to_pylist() == [1, None]
