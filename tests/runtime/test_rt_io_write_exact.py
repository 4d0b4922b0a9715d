"""write_dataset exactly, beside test_rt_io_exact.py: the result it returns, what an
overwrite leaves of a folder's earlier files, the fault points a write passes (which the
SIGKILL tests address by name), a templated path, a frame's index (never written), an
integer beyond 2**53 into a decimal, and how :func:`naming` and :func:`dataset_name` name
the dataset of an R040. Written against the mutants mutmut found alive (docs/testing.md,
"Mutation testing")."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from etlc_runtime.commit import FAULT_ENV, FAULT_LOG_ENV
from etlc_runtime.errors import DataError
from etlc_runtime.io_write import dataset_name, naming, write_dataset
from etlc_runtime.templating import macros

M = macros("manual__2025-01-02", dt.date(2025, 1, 2), {})
DF = pd.DataFrame({"id": pd.array([1, 2, 3], dtype="Int64"), "r": ["a", "b", "a"]})


def _files(folder) -> list[str]:
    """Every data file below ``folder``, relative, less the commit protocol's own."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                  if p.is_file() and ".etlc-" not in str(p.relative_to(folder)))


@pytest.mark.parametrize("dataset,partitions", [
    ({"format": "parquet", "path": "out/one.parquet"}, 1),
    ({"format": "csv", "path": "out/f/"}, 1),
    ({"format": "json", "path": "out/p/", "partition_by": ["r"]}, 2),
], ids=["file", "folder", "partitioned"])
def test_the_result_of_a_write(project, dataset, partitions):
    info = write_dataset(DF, dataset, "overwrite", M, project, "r1")
    target = project / dataset["path"]
    size = target.stat().st_size if target.is_file() else sum(
        (target / f).stat().st_size for f in _files(target))
    assert info == {"path": str(target).rstrip("/"), "rows": 3, "bytes": size,
                    "partitions": partitions}


def test_an_overwrite_replaces_every_earlier_file(project):
    """An overwrite leaves only its own files: appended parts and the partition folders of
    an earlier partitioned write are gone, not kept beside the new data."""
    folder = project / "out" / "o"
    write_dataset(DF, {"format": "parquet", "path": "out/o/"}, "append", M, project, "k1")
    write_dataset(DF, {"format": "parquet", "path": "out/o/", "partition_by": ["r"]},
                  "append", M, project, "k2")
    assert _files(folder) == ["part-k1-00000.parquet", "r=a/part-k2-00000.parquet",
                              "r=b/part-k2-00000.parquet"]
    write_dataset(DF.iloc[:1], {"format": "parquet", "path": "out/o/"}, "overwrite", M,
                  project, "k3")
    assert _files(folder) == ["part-00000.parquet"]
    assert pq.read_table(folder / "part-00000.parquet").to_pydict() == {"id": [1], "r": ["a"]}


@pytest.mark.parametrize("dataset,parts", [
    ({"format": "csv", "path": "out/one.csv"}, 1),
    ({"format": "csv", "path": "out/f/"}, 1),
    ({"format": "csv", "path": "out/p/", "partition_by": ["r"]}, 2),
], ids=["file", "folder", "partitioned"])
def test_a_write_passes_part_written_once_a_part(project, tmp_path, monkeypatch, dataset,
                                                  parts):
    """The fault points before the commit: one ``part_written`` per part file, then
    ``synced`` (the SIGKILL tests of test_rt_commit.py kill a write at these names)."""
    log = tmp_path / "points.log"
    monkeypatch.setenv(FAULT_ENV, "never")
    monkeypatch.setenv(FAULT_LOG_ENV, str(log))
    write_dataset(DF, dataset, "overwrite", M, project, "r1")
    points = [line.split()[1] for line in log.read_text(encoding="utf-8").splitlines()]
    assert points[:parts + 1] == ["part_written"] * parts + ["synced"]
    assert points.count("part_written") == parts


def test_an_append_retried_with_fewer_partitions_leaves_none_of_its_first_try(project):
    """A retry of the same run replaces every part file of that run's key, in every partition
    (also those the retry no longer writes), and keeps the other runs' parts."""
    ds = {"format": "csv", "path": "out/a/", "partition_by": ["r"]}
    write_dataset(DF, ds, "append", M, project, "k1")
    write_dataset(DF, ds, "append", M, project, "k2")
    write_dataset(DF.iloc[:1], ds, "append", M, project, "k2")  # the retry: r=a only
    assert _files(project / "out" / "a") == ["r=a/part-k1-00000.csv", "r=a/part-k2-00000.csv",
                                             "r=b/part-k1-00000.csv"]


DMY = {"type": "date", "format": "%d/%m/%Y"}


def test_a_date_in_its_declared_format_is_written_as_a_date(project):
    """Text in the column's declared format is converted before the file is written (an
    Arrow cast alone reads ISO dates only); a value not in that format is R040 naming the
    dataset, column and row."""
    df = pd.DataFrame({"d": ["31/01/2024", None]})
    write_dataset(df, {"format": "parquet", "path": "out/d.parquet", "columns": {"d": DMY}},
                  "overwrite", M, project, "r1")
    table = pq.read_table(project / "out" / "d.parquet")
    assert table.schema.field("d").type == pa.date32()
    assert table.column("d").to_pylist() == [dt.date(2024, 1, 31), None]
    with pytest.raises(DataError) as info:
        write_dataset(pd.DataFrame({"d": ["31/01/2024", "2024-02-01"]}),
                      {"name": "sink", "format": "parquet", "path": "out/e.parquet",
                       "columns": {"d": DMY}}, "overwrite", M, project, "r1")
    err = info.value
    assert (err.code, err.dataset, err.column, err.row) == ("R040", "sink", "d", 2)
    assert not (project / "out" / "e.parquet").exists()


def test_a_templated_path_is_rendered_with_the_run_macros(project):
    info = write_dataset(DF, {"format": "csv", "path": "out/{{ ds_nodash }}/"}, "append", M,
                         project, "k")
    assert info["path"] == str(project / "out" / "20250102")
    assert _files(project / "out") == ["20250102/part-k-00000.csv"]


@pytest.mark.parametrize("dataset,part", [
    ({"format": "parquet", "path": "out/i/"}, "part-00000.parquet"),
    ({"format": "parquet", "path": "out/i/", "partition_by": ["r"]}, "r=a/part-00000.parquet"),
], ids=["folder", "partitioned"])
def test_the_index_of_a_frame_is_never_written(project, dataset, part):
    """A filtered frame keeps its index (5, 7, ...); the files hold the columns only."""
    df = DF.set_axis([5, 7, 9])
    write_dataset(df, dataset, "overwrite", M, project, "r1")
    table = pq.read_table(project / "out" / "i" / part)
    assert table.schema.names == [c for c in DF.columns if c not in dataset.get("partition_by",
                                                                                   [])]


BIG = Decimal("-52056008765800885796.31417829")  # Arrow's double of it is not the nearest


@pytest.mark.parametrize("values,dtype,scale", [
    ([2**53 + 1, None, -7], "Int64", 2),
    ([BIG, None, Decimal("0.1")], pd.ArrowDtype(pa.decimal128(38, 10)), 12),
], ids=["int", "decimal"])
def test_ints_and_decimals_keep_every_digit_as_a_decimal(project, values, dtype, scale):
    """Only a float going to a decimal is checked through doubles: an int (2**53 + 1) or a
    decimal of another scale (whose double Arrow rounds wrongly) arrives digit for digit."""
    df = pd.DataFrame({"x": pd.array(values, dtype=dtype)})
    write_dataset(df, {"format": "parquet", "path": "out/d.parquet",
                       "columns": {"x": {"type": "decimal", "scale": scale}}}, "overwrite", M,
                  project, "r1")
    table = pq.read_table(project / "out" / "d.parquet")
    assert table.schema.field("x").type == pa.decimal128(38, scale)
    assert table.column("x").to_pylist() == [None if v is None else Decimal(v) for v in values]


@pytest.mark.parametrize("dataset", [
    {"format": "parquet", "path": "out/c.parquet", "name": "sink"},
    {"format": "parquet", "path": "out/c/", "name": "sink"},
], ids=["file", "folder"])
def test_a_value_the_file_refuses_names_the_dataset(project, dataset):
    """An R040 raised while the file is written (the Arrow cast) names the dataset too."""
    df = pd.DataFrame({"n": [1.5, 1.005]})
    with pytest.raises(DataError) as info:
        write_dataset(df, {**dataset, "columns": {"n": {"type": "decimal", "scale": 2}}},
                      "overwrite", M, project, "r1")
    err = info.value
    assert (err.code, err.dataset, err.column, err.row, err.value) == ("R040", "sink", "n", 2,
                                                                        1.005)


def _raised(exc: DataError, dataset, file=None) -> DataError:
    with pytest.raises(DataError) as info, naming(dataset, file):
        raise exc
    return info.value


def test_naming_fills_in_what_the_error_lacks():
    bare = DataError("r", column="c", line=4, row=3, value="v")
    err = _raised(bare, "sink", "part-1.csv")
    assert err.fields() == {"code": "R040", "reason": "r", "dataset": "sink", "column": "c",
                            "file": "part-1.csv", "line": 4, "row": 3, "value": "v"}
    assert err.__cause__ is bare
    assert _raised(bare, "sink").fields() == {**err.fields(), "file": None}
    file_only = DataError("r", row=1, file="f.csv")
    assert _raised(file_only, "sink").fields() == {**file_only.fields(), "dataset": "sink"}
    assert _raised(file_only, None, "g.csv") is file_only


def test_naming_keeps_what_the_error_says():
    named = DataError("r", dataset="own", file="own.csv", row=1)
    assert _raised(named, "sink", "part-1.csv") is named
    assert _raised(named, None) is named
    assert _raised(DataError("r", dataset="own"), "sink").fields()["dataset"] == "own"
    with pytest.raises(ValueError) as info, naming("sink"):
        raise ValueError("not an R040")
    assert not isinstance(info.value, DataError)


@pytest.mark.parametrize("dataset,named", [
    ({"name": "n", "table": "s.t", "path": "p/"}, "n"), ({"table": "s.t", "path": "p/"}, "s.t"),
    ({"path": "p/"}, "p/"), ({}, None)], ids=["name", "table", "path", "none"])
def test_dataset_name(dataset, named):
    assert dataset_name(dataset) == named
