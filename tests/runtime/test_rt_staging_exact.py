"""Staging, exactly: the manifest's every field (attempt, bytes, dtypes), how many parts a
frame becomes, which folders count as a run of the staging layout, what the pre-commit hook
sees, parts whose Arrow types differ, a manifest without parts, a frame's index (never
staged) and computed decimals and dates staged in their plan types. Written against the
mutants mutmut found alive (docs/testing.md, "Mutation testing")."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from etlc_runtime import retention, staging
from etlc_runtime.errors import DataError, StagingError, UnsafePath


def frame(n: int) -> pd.DataFrame:
    return pd.DataFrame({"id": pd.array(range(n), dtype="Int64")})


def test_staging_root_reads_the_path_of_a_staging_mapping(tmp_path):
    assert staging.staging_root({"path": "work/st"}, tmp_path) == tmp_path / "work" / "st"
    assert staging.staging_root("work/st2", tmp_path) == tmp_path / "work" / "st2"
    assert staging.staging_root({}, tmp_path) == tmp_path / ".etlc" / "staging"


def test_a_staging_root_outside_the_project_is_refused_as_staging(tmp_path):
    (tmp_path / "proj").mkdir()
    with pytest.raises(UnsafePath) as info:
        staging.staging_root({"path": str(tmp_path / "elsewhere")}, tmp_path / "proj")
    assert (info.value.code, info.value.what, info.value.access) == ("R010", "staging", "write")


@pytest.mark.parametrize("partitions", [0, None, 1])
def test_no_partition_count_means_one_part(tmp_path, partitions):
    m = staging.write_stage(frame(4), tmp_path / "s", partitions=partitions)
    assert m["part_rows"] == [4]
    assert staging.write_stage(frame(3), tmp_path / "d")["part_rows"] == [3]  # the default


def test_more_partitions_than_rows_gives_one_row_per_part(tmp_path):
    assert staging.write_stage(frame(2), tmp_path / "s", partitions=5)["part_rows"] == [1, 1]


def test_manifest_fields_describe_the_parts_on_disk(tmp_path):
    folder = tmp_path / "s"
    m = staging.write_stage(frame(7), folder, partitions=2)
    on_disk = json.loads((folder / staging.MANIFEST).read_text(encoding="utf-8"))
    assert {k: v for k, v in m.items() if k != "manifest"} == on_disk
    assert len(on_disk["attempt"]) == 12 and all(on_disk["attempt"] in p for p in on_disk["parts"])
    assert on_disk["bytes"] == sum((folder / p).stat().st_size for p in on_disk["parts"])
    assert on_disk["rows"] == 7 and on_disk["etlc"] == 1


def test_manifest_records_the_frames_own_pandas_dtypes(tmp_path):
    df = pd.DataFrame({"n": [1, 2], "x": [0.5, 1.5], "b": pd.array([True, None], dtype="boolean")})
    m = staging.write_stage(df, tmp_path / "s")
    assert m["dtypes"] == {"n": "int64", "x": "float64", "b": "boolean"}
    assert m["schema"] == {"n": "int", "x": "float", "b": "bool"}


def test_an_engine_without_pandas_dtypes_gets_those_of_its_etlc_types(tmp_path):
    def write_parts(folder: Path, attempt: str):
        name = f"part-00000-{attempt}.parquet"
        pq.write_table(pa.table({"a": [1]}), folder / name)
        return [name], [1], {"a": "int", "s": "string", "v": "vector", "z": "not-a-type"}

    m = staging.commit_parts(tmp_path / "s", write_parts)
    assert m["dtypes"] == {"a": "Int64", "s": "string", "v": "object", "z": "object"}
    given = staging.commit_parts(tmp_path / "t", write_parts, dtypes={"a": "int64"})
    assert given["dtypes"] == {"a": "int64"}


def test_the_pre_commit_hook_sees_the_folder_and_the_new_parts(tmp_path):
    seen = []
    m = staging.write_stage(frame(3), tmp_path / "s", partitions=3,
                            before_commit=lambda folder, names: seen.append((folder, list(names))))
    assert seen == [(tmp_path / "s", m["parts"])] and len(m["parts"]) == 3


def _marker(run_dir: Path) -> bool:
    return (run_dir / retention.RUN_MARKER).is_file()


def test_only_a_folder_of_the_staging_layout_is_marked_as_a_run(tmp_path):
    meta = {"pipeline": "p", "run_id": "r", "step": "s"}
    staging.write_stage(frame(1), tmp_path / "p" / "r" / "s", meta=meta)
    assert _marker(tmp_path / "p" / "r")
    staging.write_stage(frame(1), tmp_path / "p" / "other" / "s", meta=meta)   # pipeline only
    assert not _marker(tmp_path / "p" / "other")
    staging.write_stage(frame(1), tmp_path / "q" / "r2" / "s",
                        meta={"pipeline": "p", "run_id": "r2"})                 # run only
    assert not _marker(tmp_path / "q" / "r2")
    staging.write_stage(frame(1), tmp_path / "p" / "r3" / "s", meta={"pipeline": "p"})
    assert not _marker(tmp_path / "p" / "r3")


def test_an_unreadable_manifest_is_an_error_naming_it(tmp_path):
    folder = tmp_path / "s"
    staging.write_stage(frame(1), folder)
    (folder / staging.MANIFEST).write_text("{not json", encoding="utf-8")
    with pytest.raises(StagingError) as info:
        staging.read_stage(folder)
    assert str(folder / staging.MANIFEST) in str(info.value)


def test_parts_whose_arrow_types_differ_read_back_as_one_frame(tmp_path):
    """Each part of a dask stage is converted on its own: an object column that is all null
    in one part is Arrow's null type there, a string in the next. The parts are concatenated
    with type promotion."""
    df = pd.DataFrame({"id": pd.array([1, 2, 3, 4], dtype="Int64"),
                       "s": pd.Series([None, None, "a", "b"], dtype=object)})

    def write_parts(folder, attempt):
        names = [f"part-{i:05d}-{attempt}.parquet" for i in range(2)]
        for name, half in zip(names, (df.iloc[:2], df.iloc[2:])):
            pq.write_table(pa.Table.from_pandas(half, preserve_index=False), folder / name)
        return names, [2, 2], {"id": "int", "s": "string"}

    staging.commit_parts(tmp_path / "s", write_parts)
    assert pq.read_schema(next((tmp_path / "s").glob("part-00000-*"))).field("s").type == \
        pa.null()
    back = staging.read_stage(tmp_path / "s")
    assert back["id"].tolist() == [1, 2, 3, 4]
    assert [None if pd.isna(v) else v for v in back["s"]] == [None, None, "a", "b"]


def test_a_manifest_that_lists_no_parts_is_an_empty_stage(tmp_path):
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / staging.MANIFEST).write_text(json.dumps({"etlc": 1, "rows": 0}), encoding="utf-8")
    assert staging.manifest_parts(folder) == []
    back = staging.read_stage(folder)
    assert back.shape == (0, 0)


def test_the_index_of_a_frame_is_never_staged(tmp_path):
    """A filtered frame keeps its index (5, 7, 9): the parts hold the columns only, in
    order, with or without plan types."""
    df = pd.DataFrame({"id": pd.array([1, 2, 3], dtype="Int64"), "x": [1.25, 2.5, None]},
                      index=[5, 7, 9])
    for n, types in enumerate([None, {"x": {"type": "decimal", "scale": 2}}]):
        m = staging.write_stage(df, tmp_path / f"s{n}", partitions=2, types=types)
        for part in m["parts"]:
            assert pq.read_schema(tmp_path / f"s{n}" / part).names == ["id", "x"]
        back = staging.read_stage(tmp_path / f"s{n}")
        assert list(back.columns) == ["id", "x"] and back["id"].tolist() == [1, 2, 3]
        assert list(back.index) == [0, 1, 2]


def test_computed_decimals_and_dates_are_staged_in_their_plan_types(tmp_path):
    """The plan types of computed decimals and dates (a pandas frame holds Float64 and
    datetime64) decide the parts' Arrow types and the manifest's schema and dtypes; the
    other columns keep the frame's; a lost digit is R040 naming the step's staged output."""
    df = pd.DataFrame({"n": pd.array([1, None], dtype="Int64"),
                       "x": pd.array([1.25, None], dtype="Float64"),
                       "d": pd.to_datetime(["2024-01-31", None])})
    types = {"n": {"type": "int"}, "x": {"type": "decimal", "scale": 2}, "d": {"type": "date"},
             "gone": {"type": "date"}}
    m = staging.write_stage(df, tmp_path / "s", meta={"step": "s1"}, types=types)
    (part,) = m["parts"]
    schema = pq.read_schema(tmp_path / "s" / part)
    assert [schema.field(c).type for c in ("n", "x", "d")] == [
        pa.int64(), pa.decimal128(38, 2), pa.date32()]
    assert m["schema"] == {"n": "int", "x": "decimal", "d": "date"}
    assert m["dtypes"] == {"n": "Int64", "x": "decimal128(38, 2)[pyarrow]",
                           "d": "date32[day][pyarrow]"}
    back = staging.read_stage(tmp_path / "s")
    assert back["x"].tolist()[0] == Decimal("1.25") and back["d"].tolist()[0] == dt.date(
        2024, 1, 31)
    with pytest.raises(DataError) as info:
        staging.write_stage(pd.DataFrame({"x": [1.5, 1.005]}), tmp_path / "t",
                            meta={"step": "s1"}, types={"x": types["x"]})
    err = info.value
    assert (err.code, err.dataset, err.column, err.row, err.value) == (
        "R040", "the staged output of step s1", "x", 2, 1.005)


def test_manifest_parts_and_summary(tmp_path):
    folder = tmp_path / "s"
    m = staging.write_stage(frame(5), folder, partitions=2)
    assert staging.manifest_parts(folder) == [folder / p for p in m["parts"]]
    assert staging.manifest_parts(m["manifest"]) == [folder / p for p in m["parts"]]
    assert staging.manifest_summary(m) == {"manifest": str(folder / staging.MANIFEST), "rows": 5,
                                           "partitions": 2}
    assert staging.manifest_summary({}) == {"manifest": None, "rows": None, "partitions": 0}
    (folder / m["parts"][1]).unlink()
    with pytest.raises(StagingError) as info:
        staging.manifest_parts(folder)
    assert str(folder / m["parts"][1]) in str(info.value)
