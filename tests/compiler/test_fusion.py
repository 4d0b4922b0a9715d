"""Fusion of trees: a step with several inputs (join, union) joins the tasks of the inputs it
alone consumes, so a fact-and-dimensions job is one task (one DuckDB query), and the fused
run writes exactly what the unfused one (each input its own task, staged) and a hand-written
DuckDB query write, on every engine."""

from __future__ import annotations

import textwrap
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from etlc_compiler.api import check_text
from etlc_compiler.compile import plan_checked
from etlc_runtime.local import run_pipeline

ENGINES = ("pandas", "duckdb")

SPEC = textwrap.dedent("""\
    etlc: 1
    pipeline: star
    defaults: {engine: ENGINE}
    datasets:
      sales: {format: parquet, path: in/sales.parquet,
              columns: {id: {type: int}, store: {type: int}, item: {type: int}, qty: {type: int},
                        price: {type: decimal, scale: 2}}}
      stores: {format: parquet, path: in/stores.parquet,
               columns: {store: {type: int}, region: {type: string}}}
      items: {format: csv, path: in/items.csv,
              columns: {item: {type: int}, category: {type: string}, active: {type: bool}}}
      extra: {format: parquet, path: in/extra.parquet,
              columns: {id: {type: int}, store: {type: int}, item: {type: int}, qty: {type: int},
                        price: {type: decimal, scale: 2}}}
      out: {format: parquet, path: out/by_region.parquet}
    steps:
      fact:
        read: sales
      more:
        read: extra
      all_sales:
        from: fact
        union: [more]
        filter: "qty > 0"
      store_dim:
        read: stores
        OWN_STORES
      item_dim:
        read: items
        filter: "active"
      with_store:
        from: all_sales
        join: {with: store_dim, on: [store], how: inner}
      joined:
        from: with_store
        join: {with: item_dim, on: [item], how: left}
      by_region:
        from: joined
        group_by: [region, category]
        aggregate: {n: "count(*)", qty: "sum(qty)", revenue: "sum(qty * price)"}
        sort: [region, category]
      save:
        from: by_region
        write: out
        mode: overwrite
    """)


def spec_text(engine: str, own_stores: bool = False) -> str:
    return SPEC.replace("ENGINE", engine).replace("OWN_STORES", "task: own" if own_stores else "")


def plan_of(text: str, root: Path):
    path = root / "star.yaml"
    path.write_text(text, encoding="utf-8")
    checked = check_text(text, str(path))
    assert checked.ok, checked.diagnostics
    return plan_checked(checked, root)


@pytest.fixture
def project(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (tmp_path / "in").mkdir()
    n = 500
    sales = pa.table({"id": list(range(n)), "store": [i % 7 for i in range(n)],
                      "item": [i % 11 for i in range(n)], "qty": [(i % 5) - 1 for i in range(n)],
                      "price": pa.array([f"{i % 13}.{i % 100:02d}" for i in range(n)]).cast(pa.decimal128(9, 2))})
    pq.write_table(sales, tmp_path / "in" / "sales.parquet")
    pq.write_table(sales.slice(0, 50), tmp_path / "in" / "extra.parquet")
    pq.write_table(pa.table({"store": list(range(6)), "region": [f"r{s % 3}" for s in range(6)]}),
                   tmp_path / "in" / "stores.parquet")
    lines = ["item,category,active"] + [f"{i},c{i % 4},{'true' if i % 3 else 'false'}" for i in range(11)]
    (tmp_path / "in" / "items.csv").write_text("\n".join(lines) + "\n")
    return tmp_path


def test_a_star_join_is_one_task(tmp_path):
    (tmp_path / "pyproject.toml").write_text("")
    plan = plan_of(spec_text("duckdb"), tmp_path)
    assert [t.task_id for t in plan.tasks] == ["save"]
    (task,) = plan.tasks
    steps = [s["name"] for s in task.payload["steps"]]
    assert set(steps) == {"fact", "more", "all_sales", "store_dim", "item_dim", "with_store", "joined",
                          "by_region", "save"}
    # execution order is topological: every input runs before its consumer
    for consumer, inputs in {"all_sales": ("fact", "more"), "with_store": ("all_sales", "store_dim"),
                             "joined": ("with_store", "item_dim"),
                             "by_region": ("joined",), "save": ("by_region",)}.items():
        assert all(steps.index(i) < steps.index(consumer) for i in inputs), steps
    assert task.payload["inputs"] == {} and task.payload["output"] is None


def test_what_does_not_fuse(tmp_path):
    (tmp_path / "pyproject.toml").write_text("")
    plan = plan_of(spec_text("duckdb", own_stores=True), tmp_path)
    by_id = {t.task_id: t for t in plan.tasks}
    assert set(by_id) == {"store_dim", "save"}
    assert by_id["save"].payload["inputs"] == {"store_dim": "store_dim"}
    assert by_id["save"].upstream == ("store_dim",)
    # an input another step also reads stays its own task (fan-out), and so does a step on
    # another engine
    text = spec_text("duckdb").replace("  save:\n", "  dims_out:\n    from: item_dim\n"
                                       "    write: out\n    mode: overwrite\n  save:\n")
    text = text.replace("    read: extra\n", "    read: extra\n    engine: pandas\n")
    by_id = {t.task_id: t for t in plan_of(text, tmp_path).tasks}
    assert set(by_id) == {"item_dim", "more", "dims_out", "save"}
    assert set(by_id["save"].upstream) == {"item_dim", "more"}


def expected(project: Path) -> list[tuple]:
    con = duckdb.connect()
    return con.sql(f"""
        WITH s AS (SELECT * FROM read_parquet('{project}/in/sales.parquet')
                   UNION ALL BY NAME SELECT * FROM read_parquet('{project}/in/extra.parquet')),
             i AS (SELECT * FROM read_csv('{project}/in/items.csv', header = true,
                   columns = {{'item': 'BIGINT', 'category': 'VARCHAR', 'active': 'BOOLEAN'}}) WHERE active)
        SELECT region, category, count(*)::BIGINT AS n, sum(qty)::BIGINT AS qty,
               sum(qty * price) AS revenue
        FROM s JOIN read_parquet('{project}/in/stores.parquet') USING (store) LEFT JOIN i USING (item)
        WHERE qty > 0 GROUP BY ALL ORDER BY region, category NULLS LAST""").fetchall()


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("own_stores", [False, True], ids=["fused", "staged"])
def test_fused_run_equals_duckdb(project, engine, own_stores):
    plan = plan_of(spec_text(engine, own_stores), project)
    summary = run_pipeline(plan.pipeline_payload() | {"project_root": str(project)},
                           project_root=str(project))
    assert summary["status"] == "success", summary.get("error")
    got = pq.read_table(project / "out" / "by_region.parquet")
    rows = [tuple(r.values()) for r in got.to_pylist()]
    want = expected(project)
    assert [r[:4] for r in rows] == [r[:4] for r in want]
    assert [float(r[4]) for r in rows] == [float(r[4]) for r in want]
