"""Writers, exactly: which dtypes are written as they are, the row, column and value an R040
names, the bytes a write reports, part file names, null partition values, and declared json
columns in a folder. Written against the mutants mutmut found alive (docs/testing.md,
"Mutation testing")."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from etlc_runtime.errors import DataError, StepError
from etlc_runtime.hive import HIVE_NULL
from etlc_runtime.io_write import _holds, write_dataset
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
