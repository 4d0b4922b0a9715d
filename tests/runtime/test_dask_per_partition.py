"""`per_partition: true` call steps on the dask engine: the function runs on the workers of the
engine's LocalCluster, once per partition, and the chain goes on with a Dask frame; the written
rows equal the pandas engine's (one call on the whole frame) with 1, 3 and 8 partitions, with
and without `returns:`.  The task process never holds the whole frame: the function saw only
partition-sized frames, and the engine's to_pandas/to_arrow (which gather it) are never asked.
A partition that does not match is R042 (with `returns`) or R043 (without), naming the
partition; several inputs are E319 at compile time and R043 for a plan that has them.  One
test runs the call on a `dask scheduler` with two `dask worker` processes."""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import test_call_returns as call_returns
from etlc_compiler.api import check_text
from etlc_compiler.compile import plan_checked
from etlc_runtime.engines.dask import cluster
from etlc_runtime.engines.dask_engine import DaskEngine
from etlc_runtime.errors import CallResultError, PartitionCallError
from etlc_runtime.local import run_pipeline
from exact_rows import assert_same
from test_dask_engine_cluster import dask_cluster  # noqa: F401 - the two-process cluster

FNS = '''\
"""User functions of the per-partition tests."""
import pandas as pd

SEEN = []   # the number of rows of each frame a function was given


def score(df, factor):
    SEEN.append(len(df))
    return df.assign(score=df["qty"] * factor)


def labels(df):
    SEEN.append(len(df))   # on no rows, map gives Int64 here; on rows, strings
    return df.assign(label=df["id"].map(lambda i: f"r{i}"))


def later(df, what):
    """score's frame, changed in the second of three partitions only (ids 5 to 8)."""
    out = score(df, 2)
    if df["id"].min() != 5:
        return out
    if what == "reorder":
        return out[list(reversed(out.columns))]
    if what == "drop":
        return out.drop(columns=["qty"])
    if what == "float":
        return out.assign(qty=out["qty"].astype("float64"))
    if what == "fraction":   # 2.5 in the row of id 6 only
        return out.assign(qty=out["qty"].astype("Float64").where(out["id"] != 6, 2.5))
    raise ValueError(what)
'''

# test_call_returns's chain (read, derive, call, derive, write), the call per partition
SPEC = (call_returns.SPEC.replace("{engine: ENGINE}", "{engine: ENGINE, partitions: PARTS}")
        .replace("    args: ARGS\n", "    args: ARGS\n    per_partition: true\n"))
RETURNS = call_returns.RETURNS
assert "per_partition: true" in SPEC and "PARTS" in SPEC
ROWS = "id,amount,qty\n" + "".join(
    f"{i},{'' if i == 3 else f'{i * 1.25 + 0.001:.3f}'},{i % 5}\n" for i in range(1, 13))
WHOLE = 12


@pytest.fixture
def fns(tmp_path, monkeypatch):
    (tmp_path / "fns.py").write_text(FNS)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("fns", None)
    yield
    sys.modules.pop("fns", None)


def seen() -> list[int]:
    import fns
    return fns.SEEN


def run(root: Path, engine: str, parts: int = 1, func: str = "score",
        args: str = "{factor: 2}", returns: str | None = RETURNS) -> dict:
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (root / "in.csv").write_text(ROWS)
    text = (SPEC.replace("ENGINE", engine).replace("PARTS", str(parts)).replace("FUNC", func)
            .replace("ARGS", args).replace("RETURNS", returns or ""))
    checked = check_text(text, str(root / "s.yaml"))
    assert checked.ok, checked.diagnostics
    return run_pipeline(plan_checked(checked, root).pipeline_payload(), project_root=str(root))


@pytest.fixture
def no_gather(monkeypatch):
    """The dask engine's ways of bringing a whole relation to the task process refuse."""
    def refuse(self, rel):
        raise AssertionError("the whole frame was gathered on the task process")
    monkeypatch.setattr(DaskEngine, "to_pandas", refuse)
    monkeypatch.setattr(DaskEngine, "to_arrow", refuse)


@pytest.mark.parametrize("returns", [RETURNS, None], ids=["returns", "no-returns"])
@pytest.mark.parametrize("parts", [1, 3, 8])
def test_each_partition_on_the_workers_gives_the_pandas_rows(tmp_path, fns, no_gather, parts,
                                                              returns):
    want = run(tmp_path / "pandas", "pandas", returns=returns)
    assert want["status"] == "success", want["error"]
    assert seen() == [WHOLE]   # pandas: one call, on the whole frame
    seen().clear()
    got = run(tmp_path / "dask", "dask", parts, returns=returns)
    assert got["status"] == "success", got["error"]
    assert_same(pq.read_table(tmp_path / "dask" / "out.parquet"),
                pq.read_table(tmp_path / "pandas" / "out.parquet"), ordered=True)
    # once per partition, each row once: never the whole frame where there are partitions
    assert len(seen()) == parts and sum(seen()) == WHOLE
    assert max(seen()) == (WHOLE if parts == 1 else -(-WHOLE // parts))


def failed(tmp_path, func_args: str, returns: str | None, root: str = "dask"):
    summary = run(tmp_path / root, "dask", 3, "later", func_args, returns)
    assert summary["status"] == "failed"
    assert not (tmp_path / root / "out.parquet").exists()
    err = summary["error"]
    assert err.step == "scored" and err.line == SPEC.splitlines().index("  scored:") + 1
    return err


def test_a_later_partition_that_does_not_fit_returns_is_r042(tmp_path, fns):
    """Partition 1 holds ids 5-8; the row of id 6 is its second."""
    err = failed(tmp_path, "{what: fraction}", RETURNS)
    assert isinstance(err, CallResultError), repr(err)
    assert (err.code, err.column, err.partition, err.row, err.value) == ("R042", "qty", 1, 1,
                                                                         2.5)


@pytest.mark.parametrize("what, column", [("reorder", "score"), ("drop", "qty"),
                                          ("float", "qty")])
def test_a_partition_unlike_the_first_is_r043(tmp_path, fns, what, column):
    err = failed(tmp_path, f"{{what: {what}}}", None)
    assert isinstance(err, PartitionCallError), repr(err)
    assert (err.code, err.partition, err.column) == ("R043", 1, column)


def test_on_two_worker_processes(tmp_path, fns, dask_cluster, monkeypatch):  # noqa: F811
    """The function imported and run by `dask worker` processes (the user module on their
    path), the rows the pandas engine's; an R042 raised in a worker process comes back with
    its fields."""
    monkeypatch.setenv(cluster.ENV, dask_cluster)
    for engine in ("pandas", "dask"):
        summary = run(tmp_path / engine, engine, 3)
        assert summary["status"] == "success", summary["error"]
    assert_same(pq.read_table(tmp_path / "dask" / "out.parquet"),
                pq.read_table(tmp_path / "pandas" / "out.parquet"), ordered=True)
    assert seen() == [WHOLE]   # here only the pandas engine's call: dask's ran in the workers
    err = failed(tmp_path, "{what: fraction}", RETURNS, root="refused")
    assert isinstance(err, CallResultError), repr(err)
    assert (err.column, err.partition, err.row, err.value) == ("qty", 1, 1, 2.5)


def test_the_columns_come_from_the_first_result_with_rows(fns):
    """Partitions 0 and 1 hold no row after the filter: the function's result on no rows
    has other dtypes than on rows, so the meta is that of partition 2's result, and the empty
    results take its dtypes (no value changes); the function ran once per partition."""
    import pandas as pd
    from etlc_runtime.engines.base import TaskResources

    df = pd.DataFrame({"id": pd.array(range(1, 13), dtype="Int64")})
    import fns as user
    want = user.labels(df[df["id"] > 6].reset_index(drop=True))
    seen().clear()
    engine = DaskEngine(TaskResources(partitions=4))
    try:
        rel = engine.from_pandas(df)
        out = engine.call_partitions([rel[rel["id"] > 6]], {"name": "lab", "call": "fns:labels"},
                                     {})
        assert out._meta.dtypes.to_dict() == want.dtypes.to_dict()
        parts = engine.compute(*out.to_delayed())
    finally:
        engine.close()
    assert [len(p) for p in parts] == [0, 0, 3, 3] and sorted(seen()) == [0, 0, 3, 3]
    assert all(p.dtypes.to_dict() == want.dtypes.to_dict() for p in parts)
    assert_same(pd.concat(parts, ignore_index=True), want, ordered=True)


def test_several_inputs_in_a_plan_are_r043():
    """The compiler refuses them (E319, tests/invalid); a plan from elsewhere stops before any
    work."""
    from etlc_runtime.engines.dask.partition_call import map_call

    with pytest.raises(PartitionCallError) as caught:
        map_call(None, [object(), object()], {"name": "both", "call": "fns:score"}, {},
                 hold=lambda future: None)
    assert (caught.value.code, caught.value.step, caught.value.partition) == ("R043", "both",
                                                                              None)
