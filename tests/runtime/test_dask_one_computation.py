"""The dask engine computes a task's checks, metrics and its write (or staging hand-off) in
one computation (issue 11; engines/dask/waiting.py, step_quality.py).

- each source partition is read once: a counter on the read (io_read.read_dataset, which each
  partition's share goes through) while a chain with checks and metrics writes, or stages;
- a failed check (of the writing step or of an earlier one) leaves the target exactly as it
  was and no hidden folder or part of the attempt, and points at the check's own step;
- checks that pass write each part once and commit once.
- what waits is judged before a call step's function runs (with and without
  ``per_partition``), and a checked step after the last write still fails the task.

The engine runs on its own LocalCluster (threads in this process), as in test_dask_engine.py,
so the counters see the workers' calls.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from etlc_runtime import executor, io_read, io_write
from etlc_runtime.errors import CheckFailed
from etlc_runtime.staging import MANIFEST
from rt_helpers import task_plan
from test_dask_engine import _project

FILES, ROWS = 3, 4   # three files of four rows: one partition each
COLUMNS = {"id": {"type": "int"}, "g": {"type": "string"}}
DATASETS = {"src": {"format": "parquet", "path": "in/", "columns": COLUMNS},
            "out": {"format": "parquet", "path": "out/res/"}}


def _chain(expect: str = "id >= 0", save_checks: dict | None = None) -> list[dict]:
    return [
        {"name": "raw", "read": "src"},
        {"name": "clean", "from": "raw", "derive": {"twice": "id * 2"},
         "checks": {"not_null": ["id"], "unique": ["id"], "expect": [expect],
                    "row_count": {"min": 1}},
         "metrics": {"n": "count(*)", "total": "sum(twice)"}},
        {"name": "save", "from": "clean", "write": "out", "mode": "overwrite",
         "checks": save_checks or {"expect": ["twice >= 0"]}, "metrics": {"top": "max(id)"}},
    ]


@pytest.fixture
def root(tmp_path) -> Path:
    return _project(tmp_path, FILES, ROWS)[0]   # in/f<i>.parquet: id, g


@pytest.fixture
def calls(monkeypatch) -> dict[str, list]:
    """What each partition read (the files of its share) and each part written."""
    seen: dict[str, list] = {"read": [], "write": []}
    read, write = io_read.read_dataset, io_write._write_file
    monkeypatch.setattr(io_read, "read_dataset",
                        lambda *a, **k: seen["read"].append(k.get("files")) or read(*a, **k))
    monkeypatch.setattr(io_write, "_write_file",
                        lambda part, path, *a: seen["write"].append(Path(path).name)
                        or write(part, path, *a))
    return seen


def _run(root: Path, steps: list[dict], output: str | None = None) -> dict:
    plan = task_plan(steps, DATASETS, engine="dask", partitions=FILES, output=output)
    return executor.run_task(plan, {"run_id": "r1", "project_root": str(root)})


def _tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones included) and its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _reads_once_each(seen: dict) -> None:
    shares = [str(f) for share in seen["read"] for f in share]
    assert len(seen["read"]) == FILES and sorted(shares) == sorted(
        str(f) for f in (Path(shares[0]).parent.glob("f*.parquet")))


def test_checks_metrics_and_write_read_each_partition_once(root, calls):
    result = _run(root, _chain())
    _reads_once_each(calls)
    assert sorted(pq.read_table(root / "out" / "res").column("twice").to_pylist()) == \
        [2 * i for i in range(FILES * ROWS)]
    assert result["metrics"] == {"clean": {"n": 12, "total": 132}, "save": {"top": 11}}
    save = next(s for s in result["steps"] if s["step"] == "save")
    assert save["rows"] == FILES * ROWS


def test_checks_and_the_staging_hand_off_read_each_partition_once(root, calls):
    result = _run(root, _chain()[:2], output="clean")
    _reads_once_each(calls)
    assert result["rows"] == FILES * ROWS and result["partitions"] == FILES
    assert result["metrics"] == {"clean": {"n": 12, "total": 132}}


def test_passing_checks_write_each_part_once(root, calls):
    _run(root, _chain())
    names = sorted(p.name for p in (root / "out" / "res").glob("*.parquet"))
    assert names == [f"part-{i:05d}.parquet" for i in range(FILES)]
    assert sorted(calls["write"]) == names   # one write of each part, none again


# a failed unique computes the rows of its duplicated keys once more (after the failure,
# nothing written): every partition read a second time; row_count's examples come with the pass
@pytest.mark.parametrize("failing,step,check,count,reads", [
    ({"expect": "id < 10"}, "clean", "expect(id < 10)", 2, 1),   # an earlier step's check
    ({"save_checks": {"row_count": {"max": 5}}}, "save", "row_count", 12, 1),   # the writer's
    ({"save_checks": {"unique": ["g"]}}, "save", "unique(g)", 12, 2),
])
def test_a_failed_check_leaves_the_target_as_it_was(root, calls, failing, step, check, count,
                                                    reads):
    _run(root, _chain())   # the target's current version
    before = _tree(root / "out")
    calls["read"].clear()
    with pytest.raises(CheckFailed) as info:
        _run(root, _chain(**failing))
    assert (info.value.step, info.value.check, info.value.failing) == (step, check, count)
    assert info.value.line == (11 if step == "clean" else 12)   # its own step's line
    if check == "row_count":   # the first rows, in partition order
        assert [e["id"] for e in info.value.examples] == [0, 1, 2, 3, 4]
    assert _tree(root / "out") == before   # no hidden folder, no part left
    # the failed run's parts were written (in the one computation) and went with its folder
    assert len(calls["write"]) == 2 * FILES
    _reads_once_each({"read": calls["read"][:FILES]})
    assert len(calls["read"]) == FILES * reads


def test_a_failed_check_stages_nothing(root, calls):
    steps = _chain("id < 10")[:2]
    with pytest.raises(CheckFailed) as info:
        _run(root, steps, output="clean")
    assert (info.value.step, info.value.check, info.value.failing) == \
        ("clean", "expect(id < 10)", 2)
    staged = [p for p in (root / ".etlc" / "staging").rglob("*") if p.is_file()]
    assert [p for p in staged if p.suffix == ".parquet" or p.name == MANIFEST] == []
    _reads_once_each(calls)


@pytest.mark.parametrize("per_partition", [False, True])
def test_a_call_step_runs_only_after_the_checks_before_it_pass(root, per_partition):
    """A call's function may act on the world: what waits is settled before it runs."""
    import rt_engine_helpers as helpers

    helpers.SEEN.clear()
    steps = [*_chain("id < 10")[:2],
             {"name": "tagged", "from": "clean", "call": "rt_engine_helpers:record_frame",
              "args": {"tag": "x"}, **({"per_partition": True} if per_partition else {})}]
    with pytest.raises(CheckFailed) as info:
        _run(root, steps, output="tagged")
    assert (info.value.step, info.value.check) == ("clean", "expect(id < 10)")
    assert [s for s in helpers.SEEN if s[0] == "call"] == []


def test_a_check_after_the_last_write_still_fails_the_task(root):
    steps = [*_chain()[:2], {**_chain()[2], "checks": {}, "metrics": {}},
             {"name": "late", "from": "raw", "checks": {"row_count": {"max": 3}}}]
    with pytest.raises(CheckFailed) as info:
        _run(root, steps)
    assert (info.value.step, info.value.check, info.value.line) == ("late", "row_count", 13)
    assert pq.read_table(root / "out" / "res").num_rows == FILES * ROWS   # written before
