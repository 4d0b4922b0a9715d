"""Parquet row groups as partitions (engines/dask/read.py): with fewer files than partitions,
a file with a row group per piece or more is split by runs of row groups, each piece reading
only its own; the pieces together are the file's rows in order, each once, for any partition
count; an R040 inside a later row group names the row of the file, as a whole read does."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from etlc_runtime.engines.dask import read as dask_read
from etlc_runtime.errors import DataError
from etlc_runtime.io_read import read_dataset
from hypothesis import given, settings
from hypothesis import strategies as st

ROWS = 23


def _write(folder, rows=ROWS, group=5, amounts=None):
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.table({"id": pa.array(range(rows), pa.int64()),
                      "amount": pa.array(amounts or [i * 1.0 for i in range(rows)], pa.float64())})
    pq.write_table(table, folder / "part-0.parquet", row_group_size=group)
    return {"format": "parquet", "path": str(folder), "columns": {"id": {"type": "int"},
                                                                  "amount": {"type": "float"}}}


@settings(max_examples=25, deadline=None)
@given(partitions=st.integers(2, 9), group=st.sampled_from([1, 3, 5, 23]))
def test_pieces_are_the_file_once_in_order(tmp_path_factory, partitions, group):
    folder = tmp_path_factory.mktemp("rg")
    dataset = _write(folder / "in", group=group)
    files = sorted((folder / "in").glob("*.parquet"))
    shares = dask_read.shares(files, partitions)
    assert len(shares) == partitions
    frames = [dask_read.read_share(s, dataset, {}, str(folder), None) for s in shares]
    ids = [int(v) for f in frames for v in f["id"]]
    assert ids == list(range(ROWS))
    groups = [dask_read._row_groups(s, dataset) for s in shares]
    if -(-ROWS // group) >= partitions:  # a row group per piece or more: no piece reads another's
        assert all(g is not None for g in groups)
        meta = pq.ParquetFile(files[0]).metadata
        for f, g in zip(frames, groups):
            assert len(f) == sum(meta.row_group(i).num_rows for i in g)
    else:
        assert all(g is None for g in groups)


def test_an_error_in_a_later_row_group_names_the_files_row(tmp_path):
    dataset = _write(tmp_path / "in")
    # an int column holding a fraction at file row 18 (index 17): R040 on either read
    table = pa.table({"id": pa.array(range(ROWS), pa.int64()),
                      "amount": pa.array([1.5 if i == 17 else float(i) for i in range(ROWS)])})
    pq.write_table(table, tmp_path / "in" / "part-0.parquet", row_group_size=5)
    dataset["columns"]["amount"] = {"type": "int"}
    with pytest.raises(DataError) as whole:
        read_dataset(dataset, {}, tmp_path)
    shares = dask_read.shares(sorted((tmp_path / "in").glob("*.parquet")), 4)
    assert dask_read._row_groups(shares[2], dataset) == range(3, 4)  # rows 16-20 of the file
    with pytest.raises(DataError) as piece:
        dask_read.read_share(shares[2], dataset, {}, str(tmp_path), None)
    assert whole.value.row == piece.value.row == 18
    assert piece.value.column == "amount"
