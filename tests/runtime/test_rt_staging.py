"""Staged hand-off: parts, a manifest committed last, retries, killed writers."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from etlc_runtime import staging
from etlc_runtime.errors import StagingError


def df(n, start=0):
    return pd.DataFrame({"id": pd.array(range(start, start + n), dtype="Int64"),
                         "name": pd.array([f"n{i}" for i in range(n)], dtype="string")})


def test_parts_and_manifest(tmp_path):
    folder = staging.step_dir(tmp_path, "pipe", "manual__2025-01-02T00:00:00+00:00", "daily")
    assert folder.name == "daily" and ":" not in folder.parent.name
    m = staging.write_stage(df(10), folder, partitions=3, meta={"step": "daily"})
    on_disk = json.loads((folder / "_manifest.json").read_text())
    assert on_disk["rows"] == 10 and on_disk["part_rows"] == [4, 3, 3]
    assert on_disk["schema"] == {"id": "int", "name": "string"}
    assert sorted(p.name for p in folder.glob("part-*.parquet")) == sorted(on_disk["parts"])
    back = staging.read_stage(m["manifest"])
    assert back.equals(df(10))
    assert staging.read_stage(folder).equals(df(10))  # the folder works as an address too


def test_empty_frame_keeps_its_schema(tmp_path):
    m = staging.write_stage(df(0), tmp_path / "s", partitions=4)
    assert m["rows"] == 0 and len(m["parts"]) == 1
    back = staging.read_stage(m["manifest"])
    assert list(back.columns) == ["id", "name"] and len(back) == 0
    assert str(back["id"].dtype) == "Int64"


def test_retry_rewrites_only_its_own_output(tmp_path):
    base = tmp_path / "st"
    a = staging.step_dir(base, "p", "run1", "a")
    b = staging.step_dir(base, "p", "run1", "b")
    staging.write_stage(df(5), a, partitions=2)
    staging.write_stage(df(3), b)
    first_parts = {p.name for p in a.iterdir()}
    staging.write_stage(df(4, start=100), a, partitions=2)   # the retry of step a
    assert staging.read_stage(a)["id"].tolist() == [100, 101, 102, 103]
    assert not (first_parts - {"_manifest.json"}) & {p.name for p in a.iterdir()}
    assert staging.read_stage(b)["id"].tolist() == [0, 1, 2]


def test_killed_between_parts_and_manifest(tmp_path):
    folder = tmp_path / "s"

    def killed(folder, parts):
        raise KeyboardInterrupt("worker killed after the parts, before the manifest")

    # first attempt dies: nothing is committed, readers see no output at all
    with pytest.raises(KeyboardInterrupt):
        staging.write_stage(df(6), folder, partitions=3, before_commit=killed)
    assert list(folder.glob("part-*.parquet"))           # the orphan parts are there ...
    with pytest.raises(StagingError, match="no committed staging manifest"):
        staging.read_stage(folder)                         # ... but never read
    # a committed attempt, then a retry that dies: readers still see the committed one whole
    staging.write_stage(df(2), folder)
    with pytest.raises(KeyboardInterrupt):
        staging.write_stage(df(50, start=1000), folder, partitions=5, before_commit=killed)
    assert staging.read_stage(folder)["id"].tolist() == [0, 1]
    # the next successful attempt cleans every orphan up
    staging.write_stage(df(1, start=7), folder)
    assert staging.read_stage(folder)["id"].tolist() == [7]
    assert len(list(folder.glob("part-*.parquet"))) == 1


def test_missing_part_is_an_error(tmp_path):
    m = staging.write_stage(df(3), tmp_path / "s")
    (tmp_path / "s" / m["parts"][0]).unlink()
    with pytest.raises(StagingError, match="missing"):
        staging.read_stage(tmp_path / "s")


def test_staging_root(tmp_path):
    assert staging.staging_root({"path": "file:.etlc/staging"}, tmp_path) == \
        tmp_path / ".etlc" / "staging"
    assert staging.staging_root(None, tmp_path) == tmp_path / ".etlc" / "staging"
