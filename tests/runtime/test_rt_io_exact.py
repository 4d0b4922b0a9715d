"""Writers, exactly: which dtypes are written as they are, the row, column and value an R040
names, the bytes a write reports, part file names, null partition values, declared json
columns in a folder and json columns of the plan, dates with a time of day, the staging
hand-off table, Parquet compression and row groups, how an error names the dataset. Written
against the mutants mutmut found alive (docs/testing.md, "Mutation testing")."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from etlc_runtime.errors import DataError, StepError
from etlc_runtime.hive import HIVE_NULL
from etlc_runtime.io_write import _holds, typed_table, write_dataset
from etlc_runtime.templating import macros

M = macros("manual__2025-01-02", dt.date(2025, 1, 2), {})

HOLDS = [  # (dtype, declared type, written without a conversion first)
    (np.dtype("float64"), "int", True), (pd.Float64Dtype(), "int", True),
    (pd.ArrowDtype(pa.float64()), "int", True), (pd.ArrowDtype(pa.decimal128(38, 2)), "int", True),
    (pd.ArrowDtype(pa.decimal128(38, 4)), {"type": "decimal", "scale": 2}, True),
    (pd.Int64Dtype(), "int", True), (pd.StringDtype(), "string", True),
    (pd.ArrowDtype(pa.string()), "string", True), (pd.ArrowDtype(pa.int64()), "int", True),
    (pd.StringDtype(), "int", False), (np.dtype("O"), "string", False),
    (np.dtype("int64"), "int", False), (pd.ArrowDtype(pa.large_string()), "string", False),
    (np.dtype("O"), "vector", False), (np.dtype("float64"), "string", False),
]


@pytest.mark.parametrize("dtype,declared,holds", HOLDS, ids=[f"{d}-{c}" for d, c, _ in HOLDS])
def test_which_dtypes_are_written_as_they_are(dtype, declared, holds):
    assert _holds(dtype, declared if isinstance(declared, dict) else {"type": declared}) is holds


def _r040(project, df, columns, path="out/t.parquet") -> DataError:
    with pytest.raises(DataError) as info:
        write_dataset(df, {"format": "parquet", "path": path, "columns": columns}, "overwrite",
                      M, project, "r1")
    assert not (project / path).exists()
    return info.value


def test_a_float_the_decimal_cannot_hold_names_its_row(project):
    df = pd.DataFrame({"x": [1.5, None, 1.005, 2.25]})
    err = _r040(project, df, {"x": {"type": "decimal", "scale": 2}})
    assert (err.code, err.column, err.row, err.value) == ("R040", "x", 3, 1.005)


def test_a_value_the_declared_type_refuses_names_its_row(project):
    df = pd.DataFrame({"n": [1.0, 2.0, 2.5, 3.5]})
    err = _r040(project, df, {"n": {"type": "int"}})
    assert (err.code, err.column, err.row, err.value) == ("R040", "n", 3, 2.5)


DAYS = ["2024-01-31", None, "2024-02-29 00:00:01", "2024-03-01 12:00"]


@pytest.mark.parametrize("declared,types", [
    ({"n": {"type": "int"}, "txt": {"type": "date"}, "d": {"type": "date"}}, None),
    ({"n": {"type": "int"}}, {"txt": {"type": "date"}, "d": {"type": "date"}}),
], ids=["declared", "plan types"])
def test_a_date_with_a_time_of_day_names_its_first_row(project, declared, types):
    """A column written as a date (declared, or a computed date of the plan) that holds a
    time of day: R040 naming dataset, column, the first such row and its value; the columns
    before it (an int, dates held as text) are passed over, and nothing is written."""
    df = pd.DataFrame({"n": [1, 2, 3, 4], "txt": ["2024-01-31", None, "2024-02-29", None],
                       "d": pd.to_datetime(DAYS, format="ISO8601")})
    with pytest.raises(DataError) as info:
        write_dataset(df, {"name": "sink", "format": "parquet", "path": "out/d.parquet",
                           "columns": declared}, "overwrite", M, project, "r1", types=types)
    err = info.value
    assert (err.code, err.dataset, err.column, err.row, err.value) == (
        "R040", "sink", "d", 3, "2024-02-29 00:00:01")
    assert not (project / "out").exists()


def test_a_hand_off_table_holds_the_plan_types():
    """typed_table (what a staging hand-off writes): computed decimals and dates in their
    plan types, the other columns as they are; a lost digit is R040 naming the dataset."""
    df = pd.DataFrame({"n": pd.array([1, None], dtype="Int64"), "x": [1.25, None],
                       "day": pd.to_datetime(["2024-01-31", None])})
    extra = {"x": {"type": "decimal", "scale": 2}, "day": {"type": "date"}}
    table = typed_table(df, extra, "mid")
    assert table.schema.names == ["n", "x", "day"]
    assert [f.type for f in table.schema] == [pa.int64(), pa.decimal128(38, 2), pa.date32()]
    assert table.to_pydict() == {"x": [Decimal("1.25"), None], "day": [dt.date(2024, 1, 31), None],
                                 "n": [1, None]}
    with pytest.raises(DataError) as info:
        typed_table(pd.DataFrame({"x": [1.5, 1.005]}), {"x": extra["x"]}, "mid")
    err = info.value
    assert (err.code, err.dataset, err.column, err.row, err.value) == ("R040", "mid", "x", 2,
                                                                        1.005)
    timed = pd.DataFrame({"day": pd.to_datetime(DAYS, format="ISO8601")})
    with pytest.raises(DataError) as info:
        typed_table(timed, {"day": extra["day"]}, "mid")
    err = info.value
    assert (err.code, err.dataset, err.column, err.row, err.value) == (
        "R040", "mid", "day", 3, "2024-02-29 00:00:01")


@pytest.mark.parametrize("options,codec", [({}, "SNAPPY"), ({"compression": "zstd"}, "ZSTD"),
                                           ({"compression": "none"}, "UNCOMPRESSED")])
def test_parquet_compression(project, options, codec):
    """Parquet is written with snappy unless ``compression`` says otherwise."""
    write_dataset(pd.DataFrame({"id": [1, 2]}), {"format": "parquet", "path": "out/c.parquet",
                                                 "options": options}, "overwrite", M, project, "r1")
    meta = pq.ParquetFile(project / "out" / "c.parquet").metadata
    assert meta.row_group(0).column(0).compression == codec


def test_parquet_row_groups(project):
    write_dataset(pd.DataFrame({"id": [1, 2, 3, 4, 5]}),
                  {"format": "parquet", "path": "out/g.parquet", "options": {"row_group_size": 2}},
                  "overwrite", M, project, "r1")
    meta = pq.ParquetFile(project / "out" / "g.parquet").metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [2, 2, 1]


@pytest.mark.parametrize("dataset,named", [
    ({"name": "sink", "table": "t", "path": "out/n.parquet"}, "sink"),
    ({"path": "out/n.parquet"}, "out/n.parquet"),
], ids=["by name", "by path"])
def test_an_error_names_the_dataset(project, dataset, named):
    """An R040 names the dataset by its name, else by its place."""
    df = pd.DataFrame({"d": pd.to_datetime(["2024-01-31 08:00"])})
    with pytest.raises(DataError) as info:
        write_dataset(df, {**dataset, "format": "parquet", "columns": {"d": {"type": "date"}}},
                      "overwrite", M, project, "r1")
    assert (info.value.code, info.value.dataset) == ("R040", named)


@pytest.mark.parametrize("columns", [None, {"id": {"type": "int"}}], ids=["none", "declared"])
def test_json_columns_of_the_plan_are_written_nested(project, columns):
    """A column the plan types json, not declared by the dataset, is written nested in a JSON
    Lines file, beside the declared columns."""
    df = pd.DataFrame({"id": [1], "doc": ['{"a": [1, null]}']})
    write_dataset(df, {"format": "json", "path": "out/pj/", "columns": columns}, "overwrite",
                  M, project, "r1", json=["doc"])
    (part,) = _data(project / "out" / "pj")
    assert json.loads(part.read_text(encoding="utf-8")) == {"id": 1, "doc": {"a": [1, None]}}


def _data(folder) -> list:
    """The dataset's files and folders, less the commit protocol's marker (.etlc-dataset)."""
    return sorted(p for p in folder.iterdir() if not p.name.startswith(".etlc-"))


def _sizes(folder) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*")
               if p.is_file() and not p.name.startswith(".etlc-"))


def test_the_bytes_a_write_reports_are_those_on_disk(project):
    df = pd.DataFrame({"id": [1, 2, 3], "r": ["a", "b", "a"]})
    flat = write_dataset(df, {"format": "parquet", "path": "out/f/"}, "overwrite", M, project, "r1")
    assert flat["bytes"] == _sizes(project / "out" / "f") > 0
    parted = write_dataset(df, {"format": "csv", "path": "out/p/", "partition_by": ["r"]},
                           "overwrite", M, project, "r1")
    assert parted["bytes"] == _sizes(project / "out" / "p") > 0 and parted["partitions"] == 2


def test_part_file_names(project):
    df = pd.DataFrame({"id": [1]})
    write_dataset(df, {"format": "parquet", "path": "out/o/"}, "overwrite", M, project, "r1")
    assert [p.name for p in _data(project / "out" / "o")] == ["part-00000.parquet"]
    write_dataset(df, {"format": "csv", "path": "out/a/"}, "append", M, project, "date_2025")
    assert [p.name for p in _data(project / "out" / "a")] == ["part-date_2025-00000.csv"]


def test_null_partition_values_keep_their_rows(project):
    df = pd.DataFrame({"id": [1, 2, 3], "r": pd.array(["a", None, "a"], dtype="string")})
    info = write_dataset(df, {"format": "parquet", "path": "out/n/", "partition_by": ["r"]},
                         "overwrite", M, project, "r1")
    assert info["partitions"] == 2 and info["rows"] == 3
    folder = project / "out" / "n"
    assert [p.name for p in _data(folder)] == [f"r={HIVE_NULL}", "r=a"]
    assert [p.name for p in _data(folder / "r=a")] == ["part-00000.parquet"]
    assert pq.read_table(folder / f"r={HIVE_NULL}").column("id").to_pylist() == [2]
    assert sorted(pq.read_table(folder / "r=a").column("id").to_pylist()) == [1, 3]


def test_partition_values_that_share_a_folder_are_an_error(project):
    df = pd.DataFrame({"id": [1, 2], "k": pd.Series([1, "1"], dtype=object)})
    with pytest.raises(StepError) as info:
        write_dataset(df, {"format": "csv", "path": "out/k/", "partition_by": ["k"]},
                      "overwrite", M, project, "r1")
    assert "k=1" in info.value.message
    assert not (project / "out" / "k").exists()


def test_declared_json_columns_of_a_folder_are_written_nested(project):
    df = pd.DataFrame({"id": [1], "doc": ['{"a": [1, 2]}']})
    write_dataset(df, {"format": "json", "path": "out/j/",
                       "columns": {"id": {"type": "int"}, "doc": {"type": "json"}}},
                  "overwrite", M, project, "r1")
    (part,) = _data(project / "out" / "j")
    assert json.loads(part.read_text(encoding="utf-8")) == {"id": 1, "doc": {"a": [1, 2]}}


def test_declared_json_columns_of_a_partition_are_written_nested(project):
    df = pd.DataFrame({"r": ["x"], "doc": ['{"a": 1}']})
    write_dataset(df, {"format": "json", "path": "out/jp/", "partition_by": ["r"],
                       "columns": {"r": {"type": "string"}, "doc": {"type": "json"}}},
                  "overwrite", M, project, "r1")
    (part,) = _data(project / "out" / "jp" / "r=x")
    assert part.name == "part-00000.jsonl"
    assert json.loads(part.read_text(encoding="utf-8")) == {"doc": {"a": 1}}
