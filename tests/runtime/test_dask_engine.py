"""The dask engine: the same outputs as the pandas engine, partition by partition.

- every case of the cross-engine suite (test_engine_conformance.CASES) on dask with 1 and 3
  partitions, written files compared with the pandas engine's (names, Arrow types, values);
- reads split into partitions (files, row slices), each partition writing its own part
  through the commit protocol, staging one part per partition, append retries;
- the executor running a whole chain (checks, metrics, a call step, a staged hand-off
  between dask and the other engines);
- where it runs (scheduler address from the environment or the ``dask_default``
  connection) and dask-cuda's refusal (R050) on a machine without a GPU.

The one test against a real ``dask scheduler`` with two ``dask worker`` processes is in
test_dask_engine_cluster.py.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import test_engine_conformance as conformance
from etlc_runtime import executor
from etlc_runtime.engines import check_engine, get_engine
from etlc_runtime.engines.base import StepContext, TaskResources
from etlc_runtime.engines.dask import cluster
from etlc_runtime.errors import CheckFailed, EngineNotAvailable
from rt_helpers import task_plan
from test_engine_boundary import CHAIN, DATASETS, EXPECTED, _engines_of, _output, src, typed  # noqa: F401

# dask runs per partition the pandas engine's code: every case, xfails of pandas vs duckdb
# included, must give the pandas engine's files
CASES = [pytest.param(p.values[0], id=p.id) for p in conformance.CASES]
SMALL = {"read-write-parquet", "aggregate", "join-left", "partitioned-csv", "check-unique",
         "metrics", "distinct", "union"}


@pytest.fixture
def partitions(monkeypatch):
    """Make the suite's engines with ``n`` partitions (the pandas engine ignores them)."""
    def use(n: int):
        monkeypatch.setattr(conformance, "_engine", lambda name, root: get_engine(
            name, TaskResources(partitions=n, spill_dir=root / ".etlc" / "spill")))
    return use


PART = re.compile(r"^(.*part-(?:.*-)?)(\d{5})(\.\w+)$")


def _joined(files):
    """The written files with each folder's numbered parts joined in part order, rows and
    text as one file would hold them: a sorted relation is written as one part per
    partition, in order (one part is the pandas engine's ``part-00000``)."""
    if not isinstance(files, dict):
        return files
    out: dict = {}
    for rel in sorted(files):
        match = PART.match(rel)
        name = f"{match[1]}00000{match[3]}" if match else rel
        value = files[rel]
        if name not in out:
            out[name] = value
        elif isinstance(value, tuple):
            assert value[0] == out[name][0], rel   # every part has the same schema
            out[name] = (value[0], out[name][1] + value[1])
        else:
            head, _, rest = value.partition("\n")
            first = out[name].partition("\n")[0]
            out[name] += rest if name.endswith(".csv") and head == first else value
    return out


@pytest.mark.parametrize("case", CASES)
def test_three_partitions_agree_with_pandas(case, tmp_path, partitions):
    partitions(3)
    want = conformance._run("pandas", tmp_path / "pandas", case)
    assert _joined(conformance._run("dask", tmp_path / "dask", case)) == want
    if "checks" not in case:
        assert want


@pytest.mark.parametrize("case", [c for c in CASES if c.id in SMALL])
def test_one_partition_agrees_with_pandas(case, tmp_path, partitions):
    partitions(1)
    assert _joined(conformance._run("dask", tmp_path / "dask", case)) == \
        conformance._run("pandas", tmp_path / "pandas", case)


# -- partitions -------------------------------------------------------------------------------

def _project(tmp_path: Path, files: int, rows: int = 4) -> tuple[Path, StepContext]:
    root = tmp_path / "p"
    (root / "in").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    for i in range(files):
        ids = list(range(i * rows, (i + 1) * rows))
        pq.write_table(pa.table({"id": pa.array(ids, pa.int64()),
                                 "g": pa.array([f"g{v % 3}" for v in ids])}),
                       root / "in" / f"f{i}.parquet")
    ctx = StepContext(root=root, params={}, macros={"ds": "2024-01-01"},
                      append_key="date_2024-01-01", step="s",
                      types={"id": {"type": "int"}, "g": {"type": "string"}})
    return root, ctx


IN = {"format": "parquet", "path": "in/",
      "columns": {"id": {"type": "int"}, "g": {"type": "string"}}}


@pytest.mark.parametrize("files,parts", [(4, 3), (1, 3), (2, 5)])
def test_reads_split_into_the_tasks_partitions(tmp_path, files, parts):
    root, ctx = _project(tmp_path, files)
    engine = get_engine("dask", TaskResources(partitions=parts))
    try:
        rel = engine.read(IN, ctx)
        assert rel.npartitions == parts
        got = engine.to_arrow(rel)
        assert sorted(got.column("id").to_pylist()) == list(range(files * 4))
        assert got.schema.field("id").type == pa.int64()
        # each partition writes its own part; the commit makes them the dataset at once
        out = {"format": "parquet", "path": "out/"}
        written = engine.write(rel, out, "overwrite", ctx)
    finally:
        engine.close()
    names = sorted(p.name for p in (root / "out").glob("*.parquet"))
    assert written["rows"] == files * 4 and written["partitions"] == 1
    assert names == [f"part-{i:05d}.parquet" for i in range(parts)]
    back = pq.read_table(root / "out")
    assert sorted(back.column("id").to_pylist()) == list(range(files * 4))


@pytest.mark.parametrize("files,parts,reads", [(4, 3, 3), (1, 3, 1), (2, 5, 2)])
def test_each_file_is_read_once(tmp_path, monkeypatch, files, parts, reads):
    """The read for the column types is the first partition's, and the pieces of a file cut
    by rows (one row group) are sliced from one read of it."""
    from etlc_runtime import io_read

    calls = []
    real = io_read.read_dataset
    monkeypatch.setattr(io_read, "read_dataset",
                        lambda *a, **k: calls.append(k.get("files")) or real(*a, **k))
    root, ctx = _project(tmp_path, files)
    engine = get_engine("dask", TaskResources(partitions=parts))   # threads in this process
    try:
        rel = engine.read(IN, ctx)
        written = engine.write(rel, {"format": "parquet", "path": "out/"}, "overwrite", ctx)
    finally:
        engine.close()
    assert written["rows"] == files * 4 and rel.npartitions == parts
    assert sorted(pq.read_table(root / "out").column("id").to_pylist()) == \
        list(range(files * 4))
    assert len(calls) == reads and sorted(str(f) for share in calls for f in share) == \
        sorted(str(root / "in" / f"f{i}.parquet") for i in range(files))


def test_a_second_task_reads_the_same_files(tmp_path):
    """The first partition's read is a Future its graph names by key; the same read in a
    later task of the process (etlc run runs tasks one after another, each engine with its
    own cluster) has the same key, and must find its rows on that task's cluster."""
    _root, ctx = _project(tmp_path, 4)
    for _task in range(2):
        engine = get_engine("dask", TaskResources(partitions=3))
        try:
            rel = engine.read(IN, ctx)
            rel = engine.transform({"filter": "id >= 0", "derive": {"u": "upper(g)"}},
                                   {"t": rel}, ctx, base=rel)
            got = engine.to_pandas(rel)
        finally:
            engine.close()
        assert sorted(got["id"].tolist()) == list(range(16))
        assert got["u"].tolist() == [f"G{v % 3}" for v in got["id"]]


def test_parts_of_empty_partitions_are_not_written(tmp_path):
    root, ctx = _project(tmp_path, 3)
    engine = get_engine("dask", TaskResources(partitions=3))
    try:
        rel = engine.transform({"filter": "id < 4"}, {}, ctx, base=engine.read(IN, ctx))
        assert engine.write(rel, {"format": "csv", "path": "out/"}, "overwrite", ctx)["rows"] == 4
        none = engine.transform({"filter": "id < 0"}, {}, ctx, base=engine.read(IN, ctx))
        assert engine.write(none, {"format": "parquet", "path": "empty/"}, "overwrite",
                            ctx)["rows"] == 0
    finally:
        engine.close()
    assert sorted(p.name for p in (root / "out").iterdir()) == [".etlc-dataset",
                                                                 "part-00000.csv"]
    assert (root / "out" / "part-00000.csv").read_text() == "id,g\n0,g0\n1,g1\n2,g2\n3,g0\n"
    empty = pq.read_table(root / "empty")
    assert empty.num_rows == 0 and empty.column_names == ["id", "g"]


def test_append_retry_replaces_its_own_parts(tmp_path):
    root, ctx = _project(tmp_path, 2)
    engine = get_engine("dask", TaskResources(partitions=2))
    out = {"format": "parquet", "path": "out/", "partition_by": ["g"]}
    try:
        rel = engine.read(IN, ctx)
        for _ in range(2):   # a retry of the same logical date
            engine.write(rel, out, "append", ctx)
        later = StepContext(root=root, params={}, macros={}, append_key="date_2024-01-02")
        engine.write(rel, out, "append", later)
    finally:
        engine.close()
    back = pq.read_table(root / "out")
    assert sorted(back.column("id").to_pylist()) == sorted(list(range(8)) * 2)
    names = sorted(p.relative_to(root / "out").as_posix()
                   for p in (root / "out").rglob("*.parquet"))
    assert names == sorted(f"g={g}/part-date_{d}-{i:05d}.parquet" for g in ("g0", "g1", "g2")
                           for d in ("2024-01-01", "2024-01-02") for i in range(2))


def test_stage_writes_one_part_per_partition(tmp_path):
    root, ctx = _project(tmp_path, 3)
    engine = get_engine("dask", TaskResources(partitions=3))
    try:
        rel = engine.read(IN, ctx)
        manifest = engine.stage(rel, root / "stage", partitions=1, meta={"step": "s"})
        assert len(manifest["parts"]) == 3 and manifest["part_rows"] == [4, 4, 4]
        assert manifest["schema"] == {"id": "int", "g": "string"}
        back = engine.read_staged(manifest["manifest"])
        assert back.npartitions == 3
        assert engine.to_arrow(back).column("id").to_pylist() == list(range(12))
    finally:
        engine.close()
    pandas = get_engine("pandas")
    assert pandas.read_staged(manifest["manifest"])["id"].tolist() == list(range(12))


def test_checks_name_the_failing_check_across_partitions(tmp_path):
    _root, ctx = _project(tmp_path, 3)
    engine = get_engine("dask", TaskResources(partitions=3))
    try:
        rel = engine.read(IN, ctx)
        engine.check(rel, {"not_null": ["id"], "unique": ["id"], "row_count": {"min": 12}}, ctx)
        with pytest.raises(CheckFailed) as info:   # duplicates in different partitions
            engine.check(rel, {"unique": ["g"]}, ctx)
        assert (info.value.check, info.value.failing) == ("unique(g)", 12)
        with pytest.raises(CheckFailed) as info:
            engine.check(rel, {"expect": ["id < 10"]}, ctx)
        assert (info.value.check, info.value.failing) == ("expect(id < 10)", 2)
        assert engine.metrics(rel, {"n": "count(*)", "s": "sum(id)", "g": "count_distinct(g)"},
                              ctx) == {"n": 12, "s": 66, "g": 3}
    finally:
        engine.close()


# -- the executor -----------------------------------------------------------------------------

@pytest.mark.parametrize("per_step", [{}, {"clean": "duckdb", "save": "pandas"}])
def test_a_chain_on_dask_gives_the_pandas_output(src, per_step):  # noqa: F811
    plan = typed(task_plan(_engines_of(CHAIN, per_step), DATASETS, engine="dask", partitions=2))
    result = executor.run_task(plan, {"run_id": "r1"})
    assert sorted(_output(src, with_tag=True)) == [(o, r, "x", t) for o, r, t in EXPECTED]
    assert result["metrics"] == {"by_region": {"regions": 3}}


def test_staged_hand_off_from_dask(src):  # noqa: F811
    ctx = {"run_id": "r1"}
    one = typed(task_plan(CHAIN[:2], DATASETS, engine="dask", output="clean", partitions=2))
    two = typed(task_plan([{"name": "by_region", **{k: v for k, v in CHAIN[2].items()
                                              if k != "name"}},
                     {"name": "save", "from": "by_region", "write": "out", "mode": "overwrite"}],
                    DATASETS, engine="duckdb", inputs={"clean": "clean"}))
    assert executor.run_task(one, ctx)["rows"] == 3
    assert executor.run_task(two, ctx)["rows"] == 3
    assert sorted(_output(src)) == EXPECTED


# -- where it runs ----------------------------------------------------------------------------

def test_scheduler_address(monkeypatch):
    monkeypatch.delenv(cluster.ENV, raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_DASK_DEFAULT", raising=False)
    assert cluster.scheduler_address() is None
    monkeypatch.setenv("AIRFLOW_CONN_DASK_DEFAULT", "tcp://10.0.0.5:9786")
    assert cluster.scheduler_address() == "tcp://10.0.0.5:9786"
    monkeypatch.setenv(cluster.ENV, "tcp://127.0.0.1:8786")
    assert cluster.scheduler_address() == "tcp://127.0.0.1:8786"
    assert cluster.scheduler_address("tls://h:1") == "tls://h:1"


def test_no_cluster_starts_until_work_is_asked_for(tmp_path):
    engine = get_engine("dask", TaskResources(partitions=2))
    assert engine.cluster._client is None
    engine.close()
    assert engine.cluster._client is None


def test_dask_cuda_without_a_gpu_fails_at_once(monkeypatch):
    import importlib.util

    assert check_engine("dask-cuda") == "dask-cuda"
    if importlib.util.find_spec("cudf") is None:   # this machine: no gpu extra
        with pytest.raises(EngineNotAvailable) as info:
            get_engine("dask-cuda", TaskResources(partitions=2))
        assert info.value.code == "R050"
        assert "etlc[gpu]" in str(info.value) and "cudf" in info.value.missing
        assert "cudf" not in sys.modules and "dask_cuda" not in sys.modules
    # with the packages present but no device, the device is what is missing
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: object())
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    with pytest.raises(EngineNotAvailable) as info:
        cluster.require_gpu()
    assert info.value.code == "R050" and "GPU" in info.value.missing
