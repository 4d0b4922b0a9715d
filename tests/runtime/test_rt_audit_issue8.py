"""Gaps found by the end-to-end audit of issue 8, each reproduced with a real `etlc run`
process on a small project under tmp_path, asserting codes and that nothing outside was
touched (the trees around the project are listed before and after).

- a partition value containing '.etlc-' was taken for a commit leftover and dropped by the
  next overwrite_partitions of another partition;
- options.file_name with '../', an absolute path or a leading '.' wrote outside the dataset
  (anywhere on disk) or invisibly;
- partition_by columns starting with '_' or '.' gave folders every reader skips (rows lost);
- an integer param beyond 64 bits passed the param check and failed the step as an
  OverflowError instead of R011.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from etlc_runtime.errors import UnsafePath
from etlc_runtime.io_write import write_dataset
from etlc_runtime.templating import macros


def etlc(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETLC_")}
    env["ETLC_CACHE_DIR"] = str(project.parent / "cache")   # the check cache stays out of the trees
    return subprocess.run([sys.executable, "-m", "etlc_compiler.cli", *args], check=False,
                          capture_output=True, text=True, cwd=project, env=env, timeout=300)


def tree(folder: Path) -> list:
    return sorted((p.relative_to(folder).as_posix(), p.read_bytes() if p.is_file() else None)
                  for p in folder.rglob("*") if "cache" not in p.relative_to(folder).parts[:1])


@pytest.fixture
def proj(tmp_path) -> Path:
    root = tmp_path / "proj"
    (root / "specs").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n[tool.etlc]\n")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "keep.txt").write_text("precious")
    return root


def spec(proj: Path, text: str, name: str = "s") -> str:
    path = proj / "specs" / f"{name}.yaml"
    path.write_text(textwrap.dedent(text))
    return str(path.relative_to(proj))


def rows(proj: Path, folder: str) -> list:
    import duckdb

    con = duckdb.connect()
    try:
        return sorted(con.sql(f"select id, g from read_parquet('{proj / folder}/*/*.parquet', "
                              f"hive_partitioning=true)").fetchall())
    finally:
        con.close()


PARTITIONED = """\
    etlc: 1
    pipeline: s
    params:
      only: {type: integer, default: 0}
    datasets:
      src:
        format: csv
        path: data/in.csv
        columns: {id: {type: int}, g: {type: string}}
      byg:
        format: parquet
        path: out/byg/
        partition_by: [g]
    steps:
      r:
        read: src
      f:
        from: r
        filter: "$only == 0 or id == $only"
      w:
        from: f
        write: byg
        mode: overwrite_partitions
    """


def test_partition_value_containing_etlc_survives_overwrite_partitions(proj):
    (proj / "data" / "in.csv").write_text("id,g\n1,x.etlc-tmp-1\n2,.etlc-old-2\n3,plain\n")
    path = spec(proj, PARTITIONED)
    assert etlc(proj, "run", path).returncode == 0
    first = rows(proj, "out/byg")
    assert [r[0] for r in first] == [1, 2, 3]
    r = etlc(proj, "run", path, "--param", "only=3")    # rewrites only g=plain
    assert r.returncode == 0, r.stderr
    assert rows(proj, "out/byg") == first


@pytest.mark.parametrize("file_name", ["../../../outside/esc-{i}.csv", "{outside}/abs-{i}.csv",
                                       ".hidden-{i}.csv", "_hidden-{i}.csv", "a/b-{i}.csv",
                                       "x.etlc-tmp-{i}.csv"])
def test_file_name_leaving_the_dataset_is_refused_and_touches_nothing(proj, file_name):
    outside = proj.parent / "outside"
    (proj / "data" / "in.csv").write_text("id,g\n1,a\n")
    path = spec(proj, f"""\
        etlc: 1
        pipeline: s
        datasets:
          src: {{format: csv, path: data/in.csv}}
          dst:
            format: csv
            path: out/dst/
            options: {{file_name: "{file_name.replace('{outside}', str(outside))}"}}
        steps:
          r:
            read: src
          w:
            from: r
            write: dst
            mode: overwrite
        """)
    before, around = tree(proj), tree(proj.parent)
    r = etlc(proj, "run", path)
    assert r.returncode == 1 and "error[E205]" in r.stderr and ":8:" in r.stderr, r.stderr
    assert tree(proj) == before and tree(proj.parent) == around


def test_a_plan_with_an_unsafe_file_name_is_refused_at_run_time(proj):
    """A plan compiled before the schema check (or written by hand) meets R010 before any
    file or folder is made."""
    outside = proj.parent / "outside"
    around = tree(proj.parent)
    df = pd.DataFrame({"id": pd.array([1], dtype="Int64")})
    for name in ("../../outside/x-{i}.csv", f"{outside}/x-{{i}}.csv", ".x-{i}.csv"):
        ds = {"format": "csv", "path": "out/dst/", "options": {"file_name": name}}
        with pytest.raises(UnsafePath) as err:
            write_dataset(df, ds, "overwrite", macros("r", "2025-01-02", {}), proj, "k")
        assert err.value.code == "R010"
    assert tree(proj.parent) == around


def test_partition_column_readers_skip_is_refused(proj):
    (proj / "data" / "in.csv").write_text("_g,id\n1,1\n2,2\n")
    path = spec(proj, """\
        etlc: 1
        pipeline: s
        datasets:
          src: {format: csv, path: data/in.csv}
          dst:
            format: parquet
            path: out/dst/
            partition_by: [_g]
        steps:
          r:
            read: src
          w:
            from: r
            write: dst
            mode: overwrite
        """)
    r = etlc(proj, "run", path)
    assert r.returncode == 1 and "error[R001]" in r.stderr and "_g" in r.stderr, r.stderr
    assert not (proj / "out").exists()


def test_integer_param_beyond_64_bits_is_r011_and_touches_nothing(proj):
    (proj / "data" / "in.csv").write_text("id,g\n1,a\n")
    path = spec(proj, PARTITIONED)
    around = tree(proj.parent)
    r = etlc(proj, "run", path, "--param", "only=99999999999999999999999")
    assert r.returncode == 2 and "R011" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert tree(proj.parent) == around
    assert etlc(proj, "run", path, "--param", f"only={2**63 - 1}").returncode == 0


@pytest.mark.parametrize("where", ["/", "homes"])
def test_clean_refuses_to_search_the_machine(proj, where):
    """`etlc clean /` searched the whole file system for specs (reading every *.yaml)."""
    homes = proj.parent / "homes"
    (homes / "u").mkdir(parents=True)
    (homes / "u" / "x.yaml").write_text("etlc: 1\nstaging: {path: /}\n")
    around = tree(proj.parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETLC_")}
    env["HOME"] = str(homes / "u")
    r = subprocess.run([sys.executable, "-m", "etlc_compiler.cli", "clean",
                        "/" if where == "/" else str(homes)], check=False, capture_output=True,
                       text=True, cwd=proj, env=env, timeout=300)
    assert r.returncode == 2 and "etlc clean:" in r.stderr and "Traceback" not in r.stderr
    assert tree(proj.parent) == around


OVERWRITE = """\
    etlc: 1
    pipeline: s
    params:
      factor: {type: integer, default: 1}
    datasets:
      src:
        format: csv
        path: data/in.csv
        columns: {id: {type: int}, g: {type: string}}
      dst:
        format: parquet
        path: out/dst/
        partition_by: [g]
    steps:
      r:
        read: src
      d:
        from: r
        derive: {id: "id * $factor"}
      w:
        from: d
        write: dst
        mode: overwrite
    """


@pytest.mark.parametrize("point, factor", [("journal_written", 1), ("journal_committed", 2)])
def test_clean_removes_leftovers_beside_a_dataset_not_written_again(proj, point, factor):
    """A killed write left `.dst.etlc-tmp-*` beside the dataset; only a later write of that
    dataset removed it, `etlc clean` looked under the staging roots only.  Now clean takes
    them through the commit protocol's recovery: rolled back before the commit point, rolled
    forward after it."""
    (proj / "data" / "in.csv").write_text("id,g\n1,a\n2,b\n")
    path = spec(proj, OVERWRITE)
    assert etlc(proj, "run", path).returncode == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETLC_")}
    env |= {"ETLC_CACHE_DIR": str(proj.parent / "cache"), "ETLC_FAULT_AT": point}
    killed = subprocess.run([sys.executable, "-m", "etlc_compiler.cli", "run", path, "--param",
                             "factor=2"], check=False, capture_output=True, cwd=proj, env=env,
                            timeout=300)
    assert killed.returncode == -9
    assert any(".dst.etlc-tmp-" in n for n in os.listdir(proj / "out"))
    r = etlc(proj, "clean")
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(proj / "out")) == ["dst"]
    assert rows(proj, "out/dst") == [(1 * factor, "a"), (2 * factor, "b")]
