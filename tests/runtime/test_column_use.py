"""Projection pruning (column_use.py): a read reads only the declared columns its task uses,
and the task's output is the same as when every column is read, on the pandas and dask
engines; a join passes on the columns its steps name; where pruning is not sure (a union,
a call, a write or the staged output before the columns are fixed, distinct over all
columns, Hive folders, nothing declared) it reads everything."""

from __future__ import annotations

import decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from etlc_runtime import column_use
from etlc_runtime.executor import run_task
from exact_rows import assert_same
from rt_helpers import task_plan

COLUMNS = {"id": {"type": "int"}, "grp": {"type": "string"}, "amount": {"type": "decimal", "scale": 2},
           "qty": {"type": "int"}, "note": {"type": "string"}, "grp_code": {"type": "string"}}
DATASETS = {"src": {"format": "parquet", "path": "in/", "columns": COLUMNS}}
READ = {"name": "src", "read": "src"}

CHAINS = {  # (steps after the read, the columns the read must keep)
    "aggregate": ([{"name": "t", "from": "src", "filter": "qty > 1", "derive": {"x": "amount * 2"},
                    "group_by": ["grp"], "aggregate": {"n": "count(*)", "s": "sum(x)"}, "sort": ["grp"]}],
                  ["grp", "amount", "qty"]),
    "select_later": ([{"name": "a", "from": "src", "derive": {"y": "id + 1"}},
                      {"name": "b", "from": "a", "select": ["y", "grp"], "rename": {"y": "z"}}],
                     ["id", "grp"]),
    "window": ([{"name": "w", "from": "src", "derive": {"r": "row_number() over (partition by grp order by id)"},
                 "select": ["r", "amount"]}], ["id", "grp", "amount"]),
    "having": ([{"name": "h", "from": "src", "group_by": ["grp"], "aggregate": {"m": "max(qty)"},
                      "having": "m > 1", "sort": ["grp"]}], ["grp", "qty"]),
}


@pytest.fixture
def project(tmp_path):
    (tmp_path / "in").mkdir()
    pq.write_table(pa.table({
        "id": pa.array(range(12), pa.int64()),
        "grp": pa.array([None if i == 5 else f"g{i % 3}" for i in range(12)]),
        "amount": pa.array([decimal.Decimal(f"{i}.{i % 10}5") for i in range(12)], pa.decimal128(9, 2)),
        "qty": pa.array([i % 4 for i in range(12)], pa.int64()),
        "note": pa.array([f"n{i}" for i in range(12)]),
        "grp_code": pa.array([f"c{i}" for i in range(12)]),
    }), tmp_path / "in" / "part-0.parquet")
    return tmp_path


def _output(project, steps, engine, monkeypatch, prune: bool):
    if not prune:
        monkeypatch.setattr(column_use, "used_columns", lambda *a, **k: None)
    plan = task_plan([READ, *steps], DATASETS, output=steps[-1]["name"], engine=engine,
                     pipeline=f"p_{prune}")
    result = run_task(plan, {"project_root": project, "run_id": f"r_{engine}_{prune}"})
    monkeypatch.undo()
    from etlc_runtime.staging import read_stage
    return read_stage(result["manifest"])


@pytest.mark.parametrize("engine", ["pandas", "dask"])
@pytest.mark.parametrize("chain", sorted(CHAINS))
def test_pruned_reads_give_the_same_output(project, monkeypatch, engine, chain):
    steps, kept = CHAINS[chain]
    plan_steps = task_plan([READ, *steps], DATASETS, output=steps[-1]["name"])["steps"]
    assert column_use.used_columns(plan_steps, "src", DATASETS["src"], steps[-1]["name"]) == \
        [c for c in COLUMNS if c in kept]
    assert_same(_output(project, steps, engine, monkeypatch, True),
              _output(project, steps, engine, monkeypatch, False))


AGG = {"name": "t", "from": "src", "group_by": ["grp"], "aggregate": {"n": "count(*)"}}


@pytest.mark.parametrize("steps, dataset, output", [
    ([{"name": "c", "from": "src", "call": "m:f"}, {**AGG, "from": "c"}], COLUMNS, None),
    ([{"name": "d", "from": "src", "distinct": True}, {**AGG, "from": "d"}], COLUMNS, None),
    ([{"name": "a", "from": "src", "derive": {"x": "1"}}, {**AGG, "from": "a"}], COLUMNS, "a"),
    ([{"name": "w", "from": "src", "write": "out", "kind": "write"}], COLUMNS, None),
    ([{"name": "x", "from": "src", "filter": "qty > 1"}], COLUMNS, None),   # no step fixes columns
    ([{**AGG, "from": "src"}, {"name": "u", "from": "x", "union": ["src"]}], COLUMNS, None),  # a second consumer
    ([AGG], None, None),
    ([{"name": "s", "from": "src", "select": ["*"]}], COLUMNS, None),
])
def test_no_pruning_where_it_is_not_sure(steps, dataset, output):
    ds = {"format": "parquet", "path": "in/", "columns": dataset} if dataset else {"format": "parquet"}
    plan_steps = task_plan([READ, *steps], {})["steps"]
    assert column_use.used_columns(plan_steps, "src", ds, output) is None
    ds_hive = {**ds, "partition_by": ["grp"]}
    assert column_use.used_columns(task_plan([READ, AGG], {})["steps"], "src", ds_hive, None) is None


def test_a_join_passes_the_columns_it_names_on():
    steps = task_plan([READ, {"name": "o", "read": "other"},
                       {"name": "j", "from": "o", "join": {"with": "src", "on": {"oid": "id"}}},
                       {"name": "t", "from": "j", "group_by": ["grp"], "aggregate": {"s": "sum(qty)"}}], {})["steps"]
    assert column_use.used_columns(steps, "src", DATASETS["src"], None) == ["id", "grp", "qty"]


def test_a_read_that_fixes_its_own_columns_asks_for_exactly_the_names_it_uses():
    """The one rule of every read (files, PostgreSQL, Qdrant): a read step with its own
    select asks for the columns its filter and select name, declared or not; the substring
    rule of longer chains would also keep 'grp' (inside 'grp_code')."""
    steps = task_plan([{**READ, "filter": "grp_code != 'x'", "select": ["id", "note"]},
                       AGG | {"from": "src", "group_by": ["note"]}], {})["steps"]
    for ds in (DATASETS["src"], {"format": "postgres", "table": "t"},
               {**DATASETS["src"], "partition_by": ["grp"]}):
        assert column_use.used_columns(steps, "src", ds, "src") == ["grp_code", "id", "note"]
    pg_chain = task_plan([READ, {**AGG, "from": "src"}], {})["steps"]
    assert column_use.used_columns(pg_chain, "src", {"format": "postgres", "columns": COLUMNS},
                                   None) == ["grp"]
    assert column_use.used_columns(pg_chain, "src", {"format": "postgres"}, None) is None
