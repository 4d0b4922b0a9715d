"""The engine boundary: the executor names no engine and imports no dataframe library; steps
run on their own engine with Arrow between engines; the registry answers without imports;
column types reach the engine explicitly; the task plan's version is checked (R030)."""

from __future__ import annotations

import contextvars
import json
import os
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import rt_engine_helpers as helpers
from etlc_runtime import _expr, engines, executor
from etlc_runtime.engines.base import ALL_CAPABILITIES, TaskResources
from etlc_runtime.errors import EngineNotAvailable, PlanVersionError, StepError
from exact_rows import kinds, rows
from rt_helpers import task_plan

HERE = Path(__file__).resolve().parent
ROWS = ("id,day,region,amount\n1,2025-01-02,north,10.50\n2,2025-01-03,south,3.25\n"
        "3,2025-01-03,north,\n4,2025-01-04,east,7.00\n5,2025-01-05,north,1.25\n")
COLUMNS = {"id": {"type": "int"}, "day": {"type": "date"}, "region": {"type": "string"},
           "amount": {"type": "decimal", "scale": 2}}
DATASETS = {"src": {"format": "csv", "path": "data/in.csv", "columns": COLUMNS},
            "out": {"format": "parquet", "path": "out/res/"}}
CHAIN = [
    {"name": "raw", "read": "src"},
    {"name": "clean", "from": "raw", "filter": "amount is not null and id >= 2",
     "derive": {"cents": "amount * 100"},
     "checks": {"not_null": ["id"], "unique": ["id"], "expect": ["cents > 0"]}},
    {"name": "by_region", "from": "clean", "group_by": ["region"],
     "aggregate": {"orders": "count(*)", "total": "sum(cents)"}, "sort": ["region"],
     "metrics": {"regions": "count(*)"}},
    {"name": "tagged", "from": "by_region", "call": "rt_engine_helpers:record_frame",
     "args": {"tag": "x"}, "sort": ["-region"]},
    {"name": "save", "from": "tagged", "write": "out", "mode": "overwrite"},
]

# (orders, region, total) of CHAIN's by_region, columns sorted by name: 1 and 3 filtered out;
# total is the sum of a decimal(2) times 100, a decimal of scale 2 on every engine
EXPECTED = [(1, "east", Decimal("700.00")), (1, "north", Decimal("125.00")),
            (1, "south", Decimal("325.00"))]
KINDS = {"orders": "int64", "region": "string", "total": "decimal(scale=2)"}
# the column types of CHAIN's steps, as the compiler puts them in the plan (plan_types):
# without them a pandas-held decimal (Float64) cannot be told from a double
BY_REGION_TYPES = {"region": {"type": "string"}, "orders": {"type": "int"},
                   "total": {"type": "decimal", "scale": 2}}
STEP_TYPES = {"raw": COLUMNS, "clean": {**COLUMNS, "cents": {"type": "decimal", "scale": 2}},
              "by_region": BY_REGION_TYPES,
              "tagged": {**BY_REGION_TYPES, "tag": {"type": "string"}}}


def typed(plan: dict) -> dict:
    """``plan`` with the column types of its steps, in version 2's compact table."""
    from etlc_runtime import plan_types
    names = [n for n in [*plan["inputs"], *(s["name"] for s in plan["steps"])]
             if n in STEP_TYPES]
    return {**plan, "types": plan_types.compact(names, STEP_TYPES)}


@pytest.fixture
def src(project):
    (project / "data").mkdir()
    (project / "data" / "in.csv").write_text(ROWS)
    helpers.SEEN.clear()
    return project


@pytest.fixture
def extra_engines(monkeypatch):
    """Two more engines in the registry: the recording one and a lazy (count-less) one."""
    caps = engines.capabilities("pandas")
    monkeypatch.setitem(engines.AVAILABLE, "recording",
                        ("rt_engine_helpers:RecordingEngine", caps))
    monkeypatch.setitem(engines.AVAILABLE, "lazy", ("rt_engine_helpers:LazyEngine", caps))


def _python(code: str, project: Path | None = None) -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(HERE), os.environ.get("PYTHONPATH", "")])}
    if project is not None:
        env["ETLC_PROJECT_ROOT"] = str(project)
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], check=False, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def _output(project: Path, with_tag: bool = False) -> list[tuple]:
    """The written rows, columns sorted by name, after checking the Parquet types exactly."""
    table = pq.read_table(project / "out" / "res")
    table = table.select(sorted(table.column_names))
    assert kinds(table) == dict(sorted({**KINDS, **({"tag": "string"} if with_tag else {})}
                                       .items())), table.schema
    return rows(table)


# -- no dataframe library on the executor's path ------------------------------------------

def test_executor_and_registry_import_no_dataframe_library():
    loaded = json.loads(_python("""
        import json, sys
        import etlc_runtime.executor, etlc_runtime.engines as E, etlc_runtime.engines.base
        E.capabilities("duckdb"), E.capabilities("pandas"), E.check_engine("pandas")
        E.check_engine("duckdb")
        print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in
              ("pandas", "duckdb", "pyarrow", "numpy", "dask", "polars")
              or m.startswith("etlc_runtime.engines."))))
    """))
    assert loaded == ["etlc_runtime.engines.base"]


def test_a_task_on_duckdb_imports_no_pandas(src):
    plan = task_plan([s for s in CHAIN if "call" not in s and s["name"] != "save"]
                     + [{"name": "save", "from": "by_region", "write": "out",
                         "mode": "overwrite"}], DATASETS, engine="duckdb")
    out = json.loads(_python(f"""
        import json, sys
        from etlc_runtime.executor import run_task
        result = run_task({plan!r}, {{"run_id": "r1"}})
        print(json.dumps({{"pandas": "pandas" in sys.modules, "rows": result["rows"],
                          "metrics": result["metrics"]}}))
    """, src))
    assert out == {"pandas": False, "rows": 3, "metrics": {"by_region": {"regions": 3}}}
    assert _output(src) == EXPECTED


# -- steps on their own engines, Arrow in between -------------------------------------------

def _engines_of(chain, mapping):
    return [{**s, "engine": mapping[s["name"]]} if s["name"] in mapping else dict(s)
            for s in chain]


@pytest.mark.parametrize("plan_engine,per_step", [
    ("pandas", {}),
    ("duckdb", {}),
    ("duckdb", {"clean": "pandas", "save": "pandas"}),
    ("pandas", {"raw": "duckdb", "by_region": "duckdb", "tagged": "duckdb"}),
])
def test_mixed_engines_give_the_same_output(src, plan_engine, per_step):
    plan = typed(task_plan(_engines_of(CHAIN, per_step), DATASETS, engine=plan_engine))
    result = executor.run_task(plan, {"run_id": "r1"})
    assert _output(src, with_tag=True) == [(o, r, "x", t) for o, r, t in EXPECTED]
    assert result["metrics"] == {"by_region": {"regions": 3}}
    # the call step got a pandas DataFrame whatever the chain's engine
    assert helpers.SEEN == [("call", "x", True)]
    stats = {s["step"]: s["rows"] for s in result["steps"]}
    assert stats["save"] == 3                               # a write always counts
    assert stats["clean"] in (None, 3) and stats["by_region"] in (None, 3)


@pytest.mark.parametrize("first,second", [("duckdb", "pandas"), ("pandas", "duckdb")])
def test_staged_hand_off_between_engines(src, first, second):
    ctx = {"run_id": "r1"}
    one = typed(task_plan(CHAIN[:2], DATASETS, engine=first, output="clean", partitions=2))
    two = typed(task_plan([{"name": "by_region", **{k: v for k, v in CHAIN[2].items()
                                                    if k != "name"}},
                           {"name": "save", "from": "by_region", "write": "out",
                            "mode": "overwrite"}],
                          DATASETS, engine=second, inputs={"clean": "clean"}))
    staged = executor.run_task(one, ctx)
    assert staged["rows"] == 3 and staged["partitions"] == 2
    assert executor.run_task(two, ctx)["rows"] == 3
    assert _output(src) == EXPECTED


def test_lazy_count_is_reported_as_none(src, extra_engines):
    plan = task_plan(CHAIN[:3] + [{"name": "save", "from": "by_region", "write": "out",
                                   "mode": "overwrite"}], DATASETS, engine="lazy")
    result = executor.run_task(plan, {"run_id": "r1"})
    assert [s["rows"] for s in result["steps"]] == [None, None, None, 3]
    assert result["rows"] == 3


# -- explicit state ---------------------------------------------------------------------------

def test_no_context_variable_carries_step_state():
    assert not [n for n, v in vars(_expr).items() if isinstance(v, contextvars.ContextVar)]
    assert not hasattr(_expr, "step_types")


TYPES_V1 = {"raw": COLUMNS, "clean": {**COLUMNS, "cents": {"type": "decimal", "scale": 2}}}


@pytest.mark.parametrize("version", [1, 2])
def test_column_types_reach_the_engine_per_step(src, extra_engines, version):
    chain = CHAIN[:2]
    plan = task_plan(chain, DATASETS, engine="recording")
    plan["etlc"] = version
    if version == 1:
        for step in plan["steps"]:
            step["types"] = TYPES_V1[step["name"]]
    else:
        from etlc_runtime import plan_types
        plan["types"] = plan_types.compact(["raw", "clean"], TYPES_V1)
    executor.run_task(plan, {"run_id": "r1"})
    assert helpers.SEEN == [("transform", "raw", TYPES_V1["raw"]),
                            ("transform", "clean", TYPES_V1["clean"]),
                            ("close", "recording")]


def test_engines_are_closed_when_a_step_fails(src, extra_engines):
    plan = task_plan([CHAIN[0], {"name": "bad", "from": "raw", "select": ["nope"]}],
                     DATASETS, engine="recording")
    with pytest.raises(StepError) as caught:
        executor.run_task(plan, {"run_id": "r1"})
    assert caught.value.step == "bad" and caught.value.line == 11
    assert helpers.SEEN[-1] == ("close", "recording")


# -- the registry -----------------------------------------------------------------------------

def test_registry_table_matches_the_engines():
    assert engines.DEFAULT in engines.AVAILABLE
    for name, (where, caps) in engines.AVAILABLE.items():
        assert caps <= ALL_CAPABILITIES and ":" in where
        if name in engines.installed():
            cls = engines.engine_class(name)
            assert cls.name == name and cls.capabilities == caps
            try:
                engine = engines.get_engine(name, TaskResources(partitions=3))
            except EngineNotAvailable as exc:   # dask-cuda without a GPU refuses at once
                assert (name, getattr(exc, "code", None)) == ("dask-cuda", "R050")
                continue
            try:
                assert engine.resources.partitions == 3
            finally:
                engine.close()
    assert engines.capabilities("spark") == frozenset()
    assert "duckdb" in engines.installed()   # the duckdb engine ships with the runtime


def test_engines_not_here_are_not_available(monkeypatch):
    assert engines.check_engine("dask", "daily") == "dask"   # tests/runtime/test_dask_engine.py
    with pytest.raises(EngineNotAvailable, match="unknown engine 'spark'"):
        engines.check_engine("spark")
    # a registered engine whose module is not installed reports like a later one
    monkeypatch.setitem(engines.AVAILABLE, "duckdb",
                        ("etlc_runtime.engines.no_such_engine:Nope", ALL_CAPABILITIES))
    with pytest.raises(EngineNotAvailable, match="'duckdb' \\(step 's'\\) arrives in a later"):
        engines.check_engine("duckdb", "s")
    assert "duckdb" not in engines.installed()


# -- the plan's version -----------------------------------------------------------------------

def test_the_compilers_plan_version_is_one_the_runtime_runs():
    from etlc_compiler.plan import PLAN_VERSION

    assert PLAN_VERSION in executor.PLAN_VERSIONS


@pytest.mark.parametrize("version", [0, 3, "1", True, None])
def test_an_unknown_plan_version_is_refused_before_any_work(src, version):
    plan = task_plan(CHAIN, DATASETS)
    plan["etlc"] = version
    before = sorted(p.relative_to(src) for p in src.rglob("*"))
    with pytest.raises(PlanVersionError) as caught:
        executor.run_task(plan, {"run_id": "r1"})
    assert caught.value.code == "R030" and caught.value.found == version
    assert str(caught.value).startswith(f"R030 task plan version {version!r} ")
    assert "plan versions 1, 2" in str(caught.value)
    assert sorted(p.relative_to(src) for p in src.rglob("*")) == before


def test_plans_without_data_steps_need_no_version():
    plan = {"steps": [{"name": "hello", "kind": "operator", "operator": "m:Op"}]}
    assert executor.check_plan_version(plan) is None
    assert executor.check_plan_version({**plan, "etlc": 2}) == 2
