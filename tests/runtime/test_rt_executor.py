"""Whole task plans through the executor, the local runner and the Airflow entry point."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from etlc_runtime import executor, staging
from etlc_runtime.airflow import build_context
from etlc_runtime.airflow import run_task as airflow_run_task
from etlc_runtime.errors import CheckFailed, StepError
from etlc_runtime.local import run_pipeline
from exact_rows import assert_same, ulps
from rt_helpers import task_plan

REPO = Path(__file__).resolve().parents[2]
SALES_COLUMNS = {
    "order_id": {"type": "int", "nullable": False}, "order_date": {"type": "date"},
    "region": {"type": "string"}, "channel": {"type": "string"},
    "product": {"type": "string"}, "category": {"type": "string"},
    "quantity": {"type": "int"}, "unit_price": {"type": "decimal", "scale": 2},
    "discount": {"type": "float"}, "customer": {"type": "string"},
}
DATASETS = {
    "sales": {"format": "csv", "path": "data/sales.csv", "columns": SALES_COLUMNS},
    "by_region_lake": {"format": "parquet", "path": "out/by_region/",
                       "partition_by": ["region"]},
    "top_csv": {"format": "csv", "path": "out/top.csv"},
    "raw_lake": {"format": "parquet", "path": "out/raw/"},
}
VALID = {"name": "valid", "from": "raw", "filter": "quantity >= $min_quantity and unit_price > 0",
         "derive": {"revenue": "quantity * unit_price * (1 - discount)",
                    "month": "month(order_date)",
                    "customer": "coalesce(customer, 'anonymous')"},
         "checks": {"not_null": ["order_id", "region"], "unique": ["order_id"],
                    "expect": ["discount between 0 and 0.5", "revenue >= 0"]}}
BY_REGION = {"name": "by_region", "from": "valid", "group_by": ["region", "month"],
             "aggregate": {"orders": "count(*)", "customers": "count_distinct(customer)",
                           "units": "sum(quantity)", "revenue": "sum(revenue)",
                           "mean_discount": "mean(discount)"},
             "sort": ["region", "month"],
             "checks": {"unique": ["region", "month"], "row_count": {"min": 1}},
             "metrics": {"regions": "count_distinct(region)", "total": "sum(revenue)"}}
PARAMS = {"min_quantity": {"type": "integer", "default": 1}}
VALID_SQL = """
    select * replace (coalesce(customer, 'anonymous') as customer),
           quantity * unit_price * (1 - discount) as revenue,
           month(order_date)::bigint as month
    from read_csv('{path}', header=true, columns={{order_id: 'BIGINT', order_date: 'DATE',
        region: 'VARCHAR', channel: 'VARCHAR', product: 'VARCHAR', category: 'VARCHAR',
        quantity: 'BIGINT', unit_price: 'DECIMAL(18,2)', discount: 'DOUBLE',
        customer: 'VARCHAR'}})
    where quantity >= {minq} and unit_price > 0"""
BY_REGION_SQL = """
    select region, month, count(*) orders, count(distinct customer) customers,
           sum(quantity)::bigint units, sum(revenue) revenue, avg(discount) mean_discount
    from ({valid}) group by region, month order by region, month"""


@pytest.fixture
def sales(project):
    (project / "data").mkdir()
    target = project / "data" / "sales.csv"
    target.write_bytes((REPO / "examples" / "data" / "sales.csv").read_bytes())
    return target


def test_fused_chain_read_transform_aggregate_write(project, sales, duck, expr_backend):
    plan = task_plan([{"name": "raw", "read": "sales"}, VALID, BY_REGION,
                      {"name": "save", "from": "by_region", "write": "by_region_lake",
                       "mode": "overwrite_partitions"}], DATASETS, params=PARAMS)
    events = []
    result = executor.run_task(plan, {"run_id": "manual__1", "params": {"min_quantity": "2"}},
                               on_event=events.append)
    ref = duck.sql(BY_REGION_SQL.format(valid=VALID_SQL.format(path=sales, minq=2))
                   ).to_arrow_table()
    got = duck.sql(f"""select region, month, orders, customers, units, revenue, mean_discount
        from read_parquet('{project}/out/by_region/*/*.parquet', hive_partitioning=true)"""
                   ).to_arrow_table()
    # sums and means of doubles: the pandas engine adds in another order than DuckDB. Each
    # addition of non-negative values rounds by at most half a unit in the last place of the
    # final sum, so two orders of n values differ by at most n - 1 units (a mean: one more)
    n = max(ref["orders"].to_pylist())
    assert_same(got, ref, ulps_of={"revenue": n + 1, "mean_discount": n + 1})
    assert result["manifest"] is None and result["rows"] == len(ref)
    assert [s["step"] for s in result["steps"]] == ["raw", "valid", "by_region", "save"]
    assert result["metrics"]["by_region"]["regions"] == len(set(ref["region"].to_pylist()))
    total, rows = duck.sql(f"select sum(revenue), count(*) from "
                           f"({VALID_SQL.format(path=sales, minq=2)})").fetchall()[0]
    got_total = result["metrics"]["by_region"]["total"]
    assert type(got_total) is float and ulps(got_total, total) <= rows, (got_total, total)
    kinds = [(e["event"], e.get("step")) for e in events]
    assert kinds[:2] == [("step_started", "raw"), ("step_finished", "raw")]
    assert events[-1]["event"] == "step_finished" and events[-1]["partitions"] == \
        len(set(ref["region"].to_pylist()))


def test_staged_hand_off_between_tasks_and_retries(project, sales, duck, expr_backend):
    first = task_plan([{"name": "raw", "read": "sales"}, VALID], DATASETS, params=PARAMS,
                      output="valid", partitions=3)
    second = task_plan([{**BY_REGION, "from": ["valid"]}], DATASETS, params=PARAMS,
                       inputs={"valid": "valid"}, output=None)
    ctx = {"run_id": "scheduled__2025-01-02T06:00:00+00:00"}
    r1 = executor.run_task(first, ctx)
    manifest = json.loads(Path(r1["manifest"]).read_text())
    assert r1["partitions"] == 3 == len(manifest["parts"]) and r1["rows"] == manifest["rows"]
    assert Path(r1["manifest"]).parent == staging.step_dir(
        project / ".etlc/staging", "p", ctx["run_id"], "valid")
    r1_again = executor.run_task(first, ctx)          # a retry rewrites its own output
    assert r1_again["rows"] == r1["rows"]
    assert len(list(Path(r1["manifest"]).parent.glob("part-*"))) == 3
    second["steps"][0]["name"] = "by_region"
    r2 = executor.run_task(second, ctx)
    valid_ref = VALID_SQL.format(path=sales, minq=1)
    assert r2["rows"] == len(duck.sql(BY_REGION_SQL.format(valid=valid_ref)).fetchall())
    staged = staging.read_stage(r1["manifest"])
    assert_same(staged, duck.sql(valid_ref).to_arrow_table())
    # another run id cannot see this run's staging
    with pytest.raises(StepError, match="no committed staging manifest"):
        executor.run_task(second, {"run_id": "other"})


def test_killed_task_leaves_no_partial_output(project, sales, expr_backend):
    first = task_plan([{"name": "raw", "read": "sales"}], DATASETS, output="raw", partitions=4)
    second = task_plan([{"name": "save", "from": "raw", "write": "raw_lake", "mode": "overwrite"}],
                       DATASETS, inputs={"raw": "raw"})

    def killed(folder, parts):
        raise SystemExit("killed between parts and manifest")

    with pytest.raises(SystemExit):
        executor.run_task(first, {"run_id": "r1", "_before_commit": killed})
    with pytest.raises(StepError, match="no committed staging manifest"):
        executor.run_task(second, {"run_id": "r1"})
    assert not (project / "out" / "raw").exists()
    executor.run_task(first, {"run_id": "r1"})
    assert executor.run_task(second, {"run_id": "r1"})["rows"] == 200


def test_retried_write_task_does_not_duplicate(project, sales, duck):
    plan = task_plan([{"name": "raw", "read": "sales", "select": ["order_id", "region"]},
                      {"name": "save", "from": "raw", "write": "raw_lake", "mode": "append"}],
                     DATASETS)
    for _ in range(3):
        executor.run_task(plan, {"run_id": "scheduled__2025-01-02T06:00:00+00:00",
                                 "logical_date": "2025-01-02T06:00:00+00:00"})
    executor.run_task(plan, {"run_id": "scheduled__2025-01-03T06:00:00+00:00",
                             "logical_date": "2025-01-03T06:00:00+00:00"})
    n = duck.sql(f"select count(*), count(distinct order_id) from "
                 f"read_parquet('{project}/out/raw/*.parquet')").fetchall()[0]
    assert n == (400, 200)


def test_join_union_call_and_transforms_in_one_task(project, sales, duck, tmp_path,
                                                    monkeypatch, expr_backend):
    (tmp_path / "etlc_user_steps.py").write_text(textwrap.dedent("""
        def tag(df, label):
            out = df.copy()
            out["label"] = label
            return out
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    (project / "data" / "regions.csv").write_text(
        "region,manager\nnorth,ana\nsouth,bo\nwest,cy\n")
    datasets = {**DATASETS, "regions": {"format": "csv", "path": "data/regions.csv",
                                        "columns": {"region": {"type": "string"},
                                                    "manager": {"type": "string"}}}}
    plan = task_plan([
        {"name": "raw", "read": "sales", "filter": "quantity > 2",
         "select": ["order_id", "region", "quantity"]},
        {"name": "extra", "read": "sales", "filter": "quantity = 1",
         "select": ["order_id", "region", "quantity"]},
        {"name": "regions", "read": "regions"},
        {"name": "unioned", "from": ["raw"], "union": ["extra"]},
        {"name": "joined", "from": ["unioned"],
         "join": {"with": "regions", "on": ["region"], "how": "left"},
         "derive": {"big": "quantity * 10"}, "rename": {"manager": "boss"},
         "drop": ["quantity"], "cast": {"order_id": "string"}, "sort": ["-big", "order_id"],
         "limit": 25},
        {"name": "tagged", "from": ["joined"], "call": "etlc_user_steps:tag",
         "args": {"label": "{{ ds }}"}},
    ], datasets, output="tagged")
    result = executor.run_task(plan, {"run_id": "r", "logical_date": "2025-02-03"})
    got = staging.read_stage(result["manifest"])
    ref = duck.sql(f"""
        with s as (select * from read_csv('{sales}')),
             r as (select * from read_csv('{project}/data/regions.csv')),
             u as (select order_id, region, quantity from s where quantity > 2
                   union all select order_id, region, quantity from s where quantity = 1)
        select u.order_id::varchar order_id, u.region, r.manager boss,
               u.quantity * 10 big, '2025-02-03' label
        from u left join r using (region)
        order by big desc, order_id limit 25""").to_arrow_table()
    # ties on `big` are ordered by order_id as text, on both sides
    assert_same(got, ref, ordered=True)


def test_failing_check_names_step_spec_and_line(project, sales, expr_backend):
    plan = task_plan([{"name": "raw", "read": "sales"},
                      {"name": "strict", "from": "raw", "line": 42,
                       "checks": {"expect": ["quantity < 5"]}}], DATASETS)
    with pytest.raises(CheckFailed) as info:
        executor.run_task(plan, {"run_id": "r"})
    err = info.value
    assert (err.step, err.spec, err.line) == ("strict", "specs/p.yaml", 42)
    assert err.check == "expect(quantity < 5)" and err.failing > 0
    assert str(err).startswith("specs/p.yaml:42: step 'strict' failed: check expect")


def test_errors_carry_the_step(project, sales):
    plan = task_plan([{"name": "raw", "read": "sales", "engine": "spark", "line": 7}], DATASETS)
    with pytest.raises(StepError, match=r"specs/p.yaml:7: step 'raw' failed: unknown engine"):
        executor.run_task(plan, {})
    plan = task_plan([{"name": "raw", "read": "missing_ds"}], DATASETS)
    with pytest.raises(StepError, match="unknown dataset"):
        executor.run_task(plan, {})
    plan = task_plan([{"name": "raw", "read": "sales"},
                      {"name": "bad", "from": "raw", "select": ["nope"]}], DATASETS)
    with pytest.raises(StepError, match="step 'bad'.*unknown column"):
        executor.run_task(plan, {})
    nofile = {"sales": {**DATASETS["sales"], "path": "data/none_{{ ds_nodash }}.csv"}}
    plan = task_plan([{"name": "raw", "read": "sales"}], nofile)
    with pytest.raises(StepError, match="FileNotFoundError.*none_20250102.csv"):
        executor.run_task(plan, {"logical_date": "2025-01-02"})


def test_expression_error_names_the_step(project, sales, expr_backend):
    plan = task_plan([{"name": "raw", "read": "sales"},
                      {"name": "calc", "from": "raw", "derive": {"x": "nope + 1"}}], DATASETS)
    with pytest.raises(StepError) as info:
        executor.run_task(plan, {})
    assert info.value.step == "calc" and "nope" in str(info.value)


def bash():
    try:
        import airflow.providers.standard.operators.bash  # noqa: F401
        return "airflow.providers.standard.operators.bash:BashOperator"
    except ImportError:
        return "airflow.operators.bash:BashOperator"


def test_run_pipeline_local(project, sales, expr_backend):
    marker = project / "marker.txt"
    pipeline = {"pipeline": "p", "spec": "specs/p.yaml", "tasks": [
        {"kind": "operator", "operator": bash(), "task": "hello", "upstream": [],
         "args": {"bash_command": f"echo {{{{ params.min_quantity }}}} > {marker}"}},
        task_plan([{"name": "raw", "read": "sales"}, VALID], DATASETS, params=PARAMS,
                  output="valid") | {"upstream": ["hello"]},
        task_plan([{**BY_REGION, "from": ["valid"]},
                   {"name": "save", "from": "by_region", "write": "by_region_lake",
                    "mode": "overwrite"}], DATASETS, params=PARAMS, inputs={"valid": "valid"},
                  task="save") | {"upstream": ["valid"]},
    ]}
    events = []
    summary = run_pipeline(pipeline, params={"min_quantity": 2}, logical_date="2025-01-02",
                           on_event=events.append)
    assert summary["status"] == "success", summary["error"]
    assert summary["run_id"].startswith("local__")
    assert [t["task"] for t in summary["tasks"]] == ["hello", "valid", "save"]
    assert marker.read_text().strip() == "2"
    names = [e["event"] for e in events]
    assert names[0] == "run_started" and names[-1] == "run_finished"
    assert names.count("task_finished") == 3 and "step_finished" in names
    finished = [e for e in events if e["event"] == "task_finished"]
    assert finished[1]["rows"] > 0 and finished[1]["manifest"].endswith("_manifest.json")
    assert all(e["run_id"] == summary["run_id"] for e in events)


def test_run_pipeline_failure_skips_downstream(project, sales):
    pipeline = {"pipeline": "p", "spec": "specs/p.yaml", "tasks": [
        task_plan([{"name": "raw", "read": "sales", "line": 31,
                    "checks": {"row_count": {"max": 3}}}], DATASETS, output="raw")
        | {"upstream": []},
        task_plan([{"name": "save", "from": "raw", "write": "raw_lake"}], DATASETS,
                  inputs={"raw": "raw"}) | {"upstream": ["raw"]},
        {"kind": "operator", "operator": bash(), "task": "independent", "upstream": [],
         "args": {"bash_command": "true"}},
    ]}
    events = []
    summary = run_pipeline(pipeline, on_event=events.append)
    assert summary["status"] == "failed"
    assert [t["status"] for t in summary["tasks"]] == ["failed", "skipped", "success"]
    err = summary["error"]
    assert isinstance(err, CheckFailed) and (err.step, err.line) == ("raw", 31)
    failed = next(e for e in events if e["event"] == "task_failed")
    assert failed["task"] == "raw" and "row_count" in failed["message"]


def test_airflow_entry_point(project, sales):
    class Params(dict):
        def dump(self):
            return dict(self)

    class Dag:
        fileloc = str(project / "generated_dags" / "p.py")

    plan = task_plan([{"name": "raw", "read": "sales", "select": ["order_id"]},
                      {"name": "few", "from": "raw", "limit": 5}], DATASETS, output="few")
    ctx = {"run_id": "manual__2025-01-02T00:00:00+00:00", "logical_date": None,
           "params": Params(x=1), "dag": Dag(), "ti": object()}
    built = build_context(ctx)
    assert built["params"] == {"x": 1} and built["dag_file"].endswith("p.py")
    out = airflow_run_task(plan, **ctx)
    assert set(out) == {"manifest", "rows", "partitions", "seconds"}
    assert out["rows"] == 5 and "manual__2025-01-02T00_00_00+00_00" in out["manifest"]
    json.dumps(out)   # XCom-serialisable


def test_airflow_module_imports_light():
    code = ("import sys; import etlc_runtime.airflow; print(); "
            "print(sorted(m for m in ('pandas', 'pyarrow', 'jinja2', 'numpy', 'duckdb') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split("\n")
    assert out[1] == "[]"   # what it imports, not how long it takes (no timed assertions)
