"""CSV and JSON Lines text, exactly: each type's text as docs/types.md ("Text forms") gives it,
written here by hand, CSV quoting for every reason a field is quoted, the header, empty
tables, the JSON of every kind of column, and the bytes of a compressed or re-encoded file.
Fast (no engine, no hypothesis): the test set `make mutation` runs against text_write.py."""

from __future__ import annotations

import datetime as dt
import decimal
import gzip
import json

import pyarrow as pa
import pytest
from etlc_runtime.errors import DataError, NotAvailable
from etlc_runtime.text_write import csv_lines, json_lines, value_text, write_text

D = decimal.Decimal


def csv_of(values, type_=None, fmt="csv"):
    return value_text(pa.array(values, type_), fmt).to_pylist()


def test_numbers():
    assert csv_of([2**63 - 1, -(2**63), None]) == ["9223372036854775807", "-9223372036854775808",
                                                   None]
    assert csv_of([D("1.10"), D("-0.01")], pa.decimal128(5, 2)) == ["1.10", "-0.01"]
    floats = [0.1, 1.0, 1e16, -0.0, float("nan"), float("inf"), float("-inf"), 2.5e-7, None]
    assert csv_of(floats) == ["0.1", "1.0", "1e+16", "-0.0", "nan", "inf", "-inf", "2.5e-7",
                              None]
    assert csv_of(floats, fmt="json") == ["0.1", "1.0", "1e+16", "-0.0", "NaN", "Infinity",
                                          "-Infinity", "2.5e-7", None]
    assert csv_of([0.5, 3.0], pa.float32()) == ["0.5", "3.0"]


def test_bools_dates_and_nulls():
    assert csv_of([True, False, None]) == ["true", "false", None]
    day = [dt.date(2025, 1, 16), None]
    assert csv_of(day) == ["2025-01-16", None]
    assert csv_of(day, fmt="json") == ['"2025-01-16"', None]
    assert csv_of(day, pa.date64()) == ["2025-01-16", None]
    assert csv_of([None, None]) == [None, None]


def test_timestamps():
    ts = [dt.datetime(2025, 1, 16), dt.datetime(2025, 1, 16, 9, 30, 0, 500000),
          dt.datetime(2025, 1, 16, 9, 30, 0, 123456), dt.datetime(2025, 1, 16, 9, 30, 1), None]
    want = ["2025-01-16 00:00:00", "2025-01-16 09:30:00.5", "2025-01-16 09:30:00.123456",
            "2025-01-16 09:30:01", None]
    assert csv_of(ts, pa.timestamp("us")) == want
    assert csv_of(ts, pa.timestamp("us"), fmt="json") == [None if w is None else f'"{w}"'
                                                          for w in want]
    assert csv_of(ts, pa.timestamp("ns")) == want
    nanos = pa.array([1_737_019_800_000_000_001], pa.timestamp("ns"))
    assert value_text(nanos, "csv").to_pylist() == ["2025-01-16 09:30:00.000000001"]
    utc = pa.array([dt.datetime(2025, 1, 16, 9, 30, tzinfo=dt.UTC)], pa.timestamp("us", "UTC"))
    assert value_text(utc, "csv").to_pylist() == ["2025-01-16 09:30:00+00"]


def test_strings_and_other_values():
    s = ["a", "", "ü\u2028x\x85", None]
    assert csv_of(s) == s
    assert csv_of(s, fmt="json") == ['"a"', '""', '"ü\\u2028x\\u0085"', None]
    assert csv_of(s, pa.large_string(), fmt="json")[0] == '"a"'
    dictionary = pa.array(["x", "y", "x"]).dictionary_encode()
    assert value_text(dictionary, "json").to_pylist() == ['"x"', '"y"', '"x"']
    vectors = [[1.0, 2.5], None]
    assert csv_of(vectors, pa.list_(pa.float64())) == ["[1.0, 2.5]", None]
    assert csv_of([[1.0, None]], pa.list_(pa.float32()), fmt="json") == ["[1.0,null]"]
    fixed = pa.array([[0.5, 1.0]], pa.list_(pa.float64(), 2))
    assert value_text(fixed, "json").to_pylist() == ["[0.5,1.0]"]
    assert value_text(fixed, "csv").to_pylist() == ["[0.5, 1.0]"]
    # values JSON has no type for are written as their text
    nested = pa.array([{"d": dt.date(2024, 1, 31), "x": [decimal.Decimal("-0.50"), None]}])
    assert value_text(nested, "csv").to_pylist() == ['{"d":"2024-01-31","x":["-0.50",null]}']
    assert csv_of([[1, 2]], pa.list_(pa.int64())) == ["[1,2]"]
    assert csv_of([{"k": "é", "n": 1}], fmt="json") == ['{"k":"é","n":1}']
    chunked = pa.chunked_array([[1], [2]])
    assert value_text(chunked, "csv").to_pylist() == ["1", "2"]


def lines(columns: dict, **opts) -> list[str]:
    return csv_lines(pa.table(columns), opts)


def test_csv_quotes_what_a_reader_would_change():
    got = lines({"s": ["a,b", 'q"q', "l\nb", "c\rr", "", None, "plain"], "n": [1] * 7})
    assert got == ["s,n", '"a,b",1', '"q""q",1', '"l\nb",1', '"c\rr",1', '"",1', ",1",
                   "plain,1"]


def test_csv_options():
    cols = {"s": ["a;b", "", None, "NA", 'x"y', "a^b]"], "n": [1, 2, 3, 4, 5, 6]}
    assert lines(cols, delimiter=";", null_value="NA", header=False) == [
        '"a;b";1', ";2", "NA;3", '"NA";4', '"x""y";5', "a^b];6"]
    assert lines(cols, delimiter="^", quote="'") == [
        "s^n", "a;b^1", "''^2", "^3", "NA^4", 'x"y^5', "'a^b]'^6"]
    assert lines({"s": ['x"y', "e\\", "e\\,"]}, escape="\\", header=False) == [
        '"x\\"y"', "e\\", '"e\\\\,"']
    assert lines({"s": ['x"y']}, escape='"', header=False) == ['"x""y"']


def test_a_lone_string_column_is_quoted_so_no_line_is_blank():
    assert lines({"s": ["", "a", None]}) == ["s", '""', "a", ""]
    assert lines({"s": ["", "a", None]}, null_value="NULL") == ["s", '""', '"a"', "NULL"]
    assert lines({"n": [1, None]}, null_value="NULL") == ["n", "1", "NULL"]


def test_csv_header_and_empty_tables():
    assert lines({"a,b": [1], "": [2], "c": [3]}) == ['"a,b",,c', "1,2,3"]
    assert lines({"a": pa.array([], pa.int64())}) == ["a"]
    assert csv_lines(pa.table({}), {}) == [""]
    assert csv_lines(pa.table({"a": [1]}), {"header": False}) == ["1"]


def test_json_lines():
    table = pa.table({"i": [1, None], "s": ["x", None], "f": [float("inf"), 0.5],
                      "j": ['{"a": [1, 2]}', None], 'q"k': [True, False]})
    assert json_lines(table, json_columns=("j",)) == [
        '{"i":1,"s":"x","f":Infinity,"j":{"a":[1,2]},"q\\"k":true}',
        '{"i":null,"s":null,"f":0.5,"j":null,"q\\"k":false}']
    assert json_lines(pa.table({"one": [1]})) == ['{"one":1}']
    assert json_lines(pa.table({"i": pa.array([], pa.int64())})) == []
    assert json_lines(pa.table({"x": [1, 2]}).drop_columns(["x"])) == ["{}", "{}"]


def test_write_text_files(tmp_path):
    table = pa.table({"s": ["é"], "n": [1]})
    plain = tmp_path / "a.csv"
    assert write_text(table, plain, "csv", {}) == plain.stat().st_size
    assert plain.read_bytes() == "s,n\né,1\n".encode()
    latin = tmp_path / "b.csv"
    assert write_text(table, latin, "csv", {"encoding": "latin-1"}) == 8
    assert latin.read_bytes() == "s,n\né,1\n".encode("latin-1")
    for comp in (None, "none", "infer"):
        p = tmp_path / f"c-{comp}.jsonl"
        write_text(table, p, "json", {"compression": comp})
        assert p.read_text(encoding="utf-8") == '{"s":"é","n":1}\n'
    packed = tmp_path / "d.csv.gz"
    size = write_text(table, packed, "csv", {"compression": "gzip"})
    assert size == packed.stat().st_size and gzip.decompress(packed.read_bytes()) == \
        "s,n\né,1\n".encode()
    with pytest.raises(NotAvailable):
        write_text(table, tmp_path / "e.csv", "csv", {"compression": "zip"})
    assert not (tmp_path / "e.csv").exists()
    assert json.loads((tmp_path / "c-None.jsonl").read_text(encoding="utf-8")) == {"s": "é",
                                                                                   "n": 1}


def test_zoned_timestamps_keep_their_zone():
    utc = pa.timestamp("us", "UTC")
    half = pa.array([dt.datetime(2025, 1, 16, 9, 30, 0, 500000, tzinfo=dt.UTC)], utc)
    assert value_text(half, "csv").to_pylist() == ["2025-01-16 09:30:00.5+00"]
    nanos = half.cast(pa.timestamp("ns", "UTC"))
    assert value_text(nanos, "csv").to_pylist() == ["2025-01-16 09:30:00.5+00"]


def test_text_is_always_a_string_column():
    for values in (pa.nulls(2), pa.array([None, None], pa.list_(pa.float64())),
                   pa.array([None], pa.struct([("a", pa.int64())])), pa.array([None], pa.string())):
        for fmt in ("csv", "json"):
            assert value_text(values, fmt).type == pa.string(), (values.type, fmt)


def test_x_is_an_ordinary_character():
    assert csv_of(["X", "aXb"], fmt="json") == ['"X"', '"aXb"']
    assert lines({"s": ["X"], "n": [1]}, header=False) == ["X,1"]


@pytest.mark.parametrize("delimiter", ["]", "-", "^", "\\", "["])
def test_delimiters_that_are_special_in_a_regex(delimiter):
    got = lines({"s": [f"a{delimiter}b", "ab", "a"], "n": [1, 2, 3]}, delimiter=delimiter,
                header=False)
    assert got == [f'"a{delimiter}b"{delimiter}1', f"ab{delimiter}2", f"a{delimiter}3"]


def test_every_kind_of_string_column_quotes_the_empty_string():
    for values in (pa.array(["", "a"], pa.large_string()), pa.array(["", "a"]).dictionary_encode()):
        assert csv_lines(pa.table({"s": values, "n": [1, 2]}), {}) == ["s,n", '"",1', "a,2"]


def test_rows_without_columns():
    assert csv_lines(pa.table({"x": [1, 2]}).drop_columns(["x"]), {}) == [""]


def test_json_keys_keep_their_characters():
    assert json_lines(pa.table({"é": [1]})) == ['{"é":1}']


def test_a_json_column_that_is_not_json_names_its_column(tmp_path):
    table = pa.table({"doc": ['{"a": 1}', "{oops"]})
    with pytest.raises(DataError) as info:
        write_text(table, tmp_path / "j.jsonl", "json", {}, json_columns=("doc",))
    assert (info.value.code, info.value.column) == ("R040", "doc")
    write_text(table.slice(0, 1), tmp_path / "k.jsonl", "json", {}, json_columns=("doc",))
    assert (tmp_path / "k.jsonl").read_text(encoding="utf-8") == '{"doc":{"a":1}}\n'
