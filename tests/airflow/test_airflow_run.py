"""Generated DAGs run for real under Airflow's `dag.test()`, and every output row matches an
independent answer computed by DuckDB SQL over the same input.

- specs/demo_sales.yaml on examples/data/sales.csv, in a temporary copy of the project
  (ETLC_PROJECT_ROOT points there, so outputs and staging land in tmp);
- a second pipeline written here into a temporary project: CSV -> filter/derive -> join ->
  call -> group_by -> Parquet with partitions + CSV + an appended Parquet log, then a
  BashOperator step; compiled with the real CLI.

Both are run twice for the same logical date, and one write task is run again inside the same
run (a retry): no output row may be duplicated.
"""

from __future__ import annotations

import datetime as dt
import random
import shutil
from pathlib import Path

import duckdb  # required (dev extra): a missing package fails the run
import pytest
from airflow_support import DAGS_FOLDER, ROOT, load_dagbag, run_etlc
from exact_rows import assert_same

LOGICAL = dt.datetime(2025, 3, 4, tzinfo=dt.UTC)


# ---------------------------------------------------------------------------------------------
# helpers

def compile_into_dags_folder(proj: Path, pipeline: str) -> Path:
    """Compile the project's specs with the real CLI, then place the one DAG file in the
    session's dags folder (the folder dag.test() syncs from)."""
    out = proj / "generated_dags"
    r = run_etlc("compile", "specs", "-o", str(out), cwd=proj)
    assert r.returncode == 0, r.stdout + r.stderr
    target = DAGS_FOLDER / f"{pipeline}.py"
    shutil.copyfile(out / f"{pipeline}.py", target)
    return target


def run_dag(pipeline: str, logical_date=LOGICAL):
    bag = load_dagbag(DAGS_FOLDER)
    assert not bag.import_errors, bag.import_errors
    dag = bag.dags[pipeline]
    dr = dag.test(logical_date=logical_date)
    states = {ti.task_id: str(getattr(ti.state, "value", ti.state)) for ti in dr.get_task_instances()}
    assert str(getattr(dr.state, "value", dr.state)) == "success", states
    assert set(states) == {t.task_id for t in dag.tasks}
    assert set(states.values()) == {"success"}, states
    return dag, dr


def rows(con, sql: str):
    """A query's result as Arrow (its exact types and values; never through pandas)."""
    return con.sql(sql).to_arrow_table()


def assert_rows_equal(got, want, what: str, ulps_of: dict | None = None) -> None:
    """The same columns, types and values in the same order (exact_rows.assert_same): floats
    the same bits unless ``ulps_of`` gives a column a bound, with its reason at the call."""
    try:
        assert_same(got, want, ordered=True, ulps_of=ulps_of)
    except AssertionError as exc:
        raise AssertionError(f"{what}: {exc}") from None


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------------------------------------
# demo_sales

@pytest.fixture
def demo_project(tmp_path, monkeypatch) -> Path:
    proj = tmp_path / "demo"
    (proj / "specs").mkdir(parents=True)
    (proj / "examples" / "data").mkdir(parents=True)
    shutil.copyfile(ROOT / "specs" / "demo_sales.yaml", proj / "specs" / "demo_sales.yaml")
    shutil.copyfile(ROOT / "examples" / "data" / "sales.csv", proj / "examples" / "data" / "sales.csv")
    (proj / "pyproject.toml").write_text("[project]\nname = 'demo-copy'\nversion = '0'\n")
    monkeypatch.setenv("ETLC_PROJECT_ROOT", str(proj))
    yield proj
    (DAGS_FOLDER / "demo_sales.py").unlink(missing_ok=True)


DEMO_VALID = """
    SELECT * REPLACE (coalesce(customer, 'anonymous') AS customer),
           round(quantity * unit_price * (1 - discount), 2) AS revenue,
           month(order_date) AS month
    FROM read_csv('{csv}', header = true, columns = {{
        'order_id': 'BIGINT', 'order_date': 'DATE', 'region': 'VARCHAR', 'channel': 'VARCHAR',
        'product': 'VARCHAR', 'category': 'VARCHAR', 'quantity': 'BIGINT', 'unit_price': 'DECIMAL(18,2)',
        'discount': 'DOUBLE', 'customer': 'VARCHAR'}})
    WHERE quantity >= 1 AND unit_price > 0
"""
# the spec's types (unit_price decimal(2)); a sum of ints is an int64 in etlc (an overflow is
# an error), where DuckDB's sum is a HUGEINT: the one deliberate difference, cast here
DEMO_BY_REGION = """
    SELECT region, month, count(*) AS orders, count(DISTINCT customer) AS customers,
           sum(quantity)::BIGINT AS units, round(sum(revenue), 2) AS revenue, avg(discount) AS mean_discount
    FROM valid GROUP BY region, month ORDER BY region, month
"""
DEMO_TOP = """
    SELECT product, category, sum(quantity)::BIGINT AS units, round(sum(revenue), 2) AS revenue
    FROM valid GROUP BY product, category HAVING count(*) >= 3
    ORDER BY revenue DESC, product LIMIT 5
"""


def demo_outputs(con, proj: Path):
    out = proj / "data" / "out"
    by_region = rows(con, f"""
        SELECT region, month, orders, customers, units, revenue, mean_discount
        FROM read_parquet('{out}/sales_by_region/**/*.parquet', hive_partitioning = true)
        ORDER BY region, month""")
    top = rows(con, f"SELECT product, category, units, revenue FROM read_csv('{out}/top_products.csv', header = true)")
    return by_region, top


def test_demo_sales_under_dag_test_matches_duckdb(demo_project, airflow_db):
    proj = demo_project
    compile_into_dags_folder(proj, "demo_sales")
    run_dag("demo_sales")

    con = duckdb.connect()
    con.execute("CREATE TABLE valid AS " + DEMO_VALID.format(csv=proj / "examples" / "data" / "sales.csv"))
    want_by_region = rows(con, DEMO_BY_REGION)
    want_top = rows(con, DEMO_TOP)
    got_by_region, got_top = demo_outputs(con, proj)
    assert want_by_region.num_rows and want_top.num_rows
    assert_rows_equal(got_by_region, want_by_region, "sales_by_region")
    assert_rows_equal(got_top, want_top, "top_products")
    # partitions are Hive folders region=<value>/, one per region
    regions = set(want_by_region.column("region").to_pylist())
    visible = {p.name for p in (proj / "data" / "out" / "sales_by_region").iterdir()
               if not p.name.startswith((".", "_"))}  # the commit protocol's marker is hidden
    assert visible == {f"region={r}" for r in regions}
    # staging under the project copy, keyed by the run id, committed by a manifest
    manifests = list((proj / ".etlc" / "staging" / "demo_sales").rglob("_manifest.json"))
    assert manifests, "no committed staging manifest under the project copy"

    # run again for the same logical date: the same rows, none duplicated
    run_dag("demo_sales")
    again = demo_outputs(con, proj)
    assert_rows_equal(again[0], got_by_region, "sales_by_region, run again")
    assert_rows_equal(again[1], got_top, "top_products, run again")


# ---------------------------------------------------------------------------------------------
# a second pipeline, written here

SHOP_SPEC = """\
etlc: 1
pipeline: shop_orders
description: |
  Paid orders joined with their customers, scored by a user function, aggregated by
  country and segment (Parquet, partitioned by country) and by segment (CSV); every paid
  order line is also appended to a Parquet log. A Bash step reports when both are written.
owner: qa
tags: [test, shop]
schedule: "@daily"
start_date: 2025-01-01
catchup: false
defaults:
  engine: pandas
  retries: 0
params:
  min_amount: {type: number, default: 5, description: "Smallest order amount kept."}
datasets:
  orders:
    format: csv
    path: data/in/orders.csv
    columns:
      order_id: {type: int, nullable: false}
      customer_id: {type: int}
      order_date: {type: date, format: "%Y-%m-%d"}
      status: {type: string}
      amount: {type: decimal, scale: 2}
      qty: {type: int}
  customers:
    format: csv
    path: data/in/customers.csv
    columns:
      customer_id: {type: int, nullable: false}
      country: {type: string}
      segment: {type: string}
  by_country:
    format: parquet
    path: data/out/by_country/
    partition_by: [country]
  segments:
    format: csv
    path: data/out/segments.csv
  order_log:
    format: parquet
    path: data/out/order_log/
steps:
  orders_raw:
    read: orders
  customers_raw:
    read: customers
  paid:
    from: orders_raw
    filter: "status == 'paid' and amount >= $min_amount"
    derive:
      net: "amount * qty"
      year: "year(order_date)"
  enriched:
    from: paid
    join: {with: customers_raw, on: [customer_id], how: inner}
  scored:
    from: enriched
    call: shop_fns:add_score
    args: {factor: 3}
    returns:
      order_id: {type: int, nullable: false}
      customer_id: {type: int}
      order_date: {type: date}
      status: {type: string}
      amount: {type: decimal, scale: 2}
      qty: {type: int}
      net: {type: decimal, scale: 2}
      year: {type: int}
      country: {type: string}
      segment: {type: string}
      score: {type: int}
  by_country:
    from: scored
    group_by: [country, segment]
    aggregate:
      orders: "count(*)"
      revenue: "sum(net)"
      score: "sum(score)"
  save_by_country:
    from: by_country
    write: by_country
    mode: overwrite_partitions
  seg:
    from: scored
    group_by: [segment]
    aggregate:
      customers: "count_distinct(customer_id)"
      mean_net: "mean(net)"
    sort: [segment]
  save_segments:
    from: seg
    write: segments
    mode: overwrite
  log:
    from: paid
    write: order_log
    mode: append
  notify:
    operator: airflow.providers.standard.operators.bash:BashOperator
    args:
      bash_command: "echo 'shop_orders {{ ds }} done' > \\"$ETLC_PROJECT_ROOT/data/out/notify.txt\\""
    after: [save_by_country, save_segments]
"""

SHOP_FNS = '''\
"""User code of the shop_orders test pipeline (a `call` step)."""


def add_score(df, factor):
    return df.assign(score=df["qty"] * factor)
'''


def make_shop_data(folder: Path, seed: int = 20250304) -> None:
    rnd = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    countries = ["br", "us", "de", "jp"]
    segments = ["retail", "smb", "enterprise"]
    with (folder / "customers.csv").open("w") as f:
        f.write("customer_id,country,segment\n")
        for cid in range(1, 41):          # customers 41..45 place orders but are unknown: the join drops them
            f.write(f"{cid},{rnd.choice(countries)},{rnd.choice(segments)}\n")
    with (folder / "orders.csv").open("w") as f:
        f.write("order_id,customer_id,order_date,status,amount,qty\n")
        for oid in range(1, 401):
            cid = rnd.randint(1, 45)
            day = dt.date(2025, 1, 1) + dt.timedelta(days=rnd.randint(0, 400))
            status = rnd.choice(["paid", "paid", "paid", "cancelled", "refunded", ""])
            amount = "" if rnd.random() < 0.05 else f"{rnd.randint(100, 20000) / 100:.2f}"
            f.write(f"{oid},{cid},{day.isoformat()},{status},{amount},{rnd.randint(1, 6)}\n")


SHOP_PAID = """
    SELECT *, amount * qty AS net, year(order_date) AS year
    FROM read_csv('{orders}', header = true, columns = {{
        'order_id': 'BIGINT', 'customer_id': 'BIGINT', 'order_date': 'DATE', 'status': 'VARCHAR',
        'amount': 'DECIMAL(18,2)', 'qty': 'BIGINT'}})
    WHERE status = 'paid' AND amount >= 5
"""
SHOP_SCORED = """
    SELECT p.*, c.country, c.segment, p.qty * 3 AS score
    FROM paid p JOIN read_csv('{customers}', header = true, columns = {{
        'customer_id': 'BIGINT', 'country': 'VARCHAR', 'segment': 'VARCHAR'}}) c USING (customer_id)
"""
# revenue is a decimal, as in a plain chain: sum(net) follows the call step, whose `returns:`
# gives the plan its types (without it, the pandas engine wrote a double: docs/types.md)
SHOP_BY_COUNTRY = """
    SELECT country, segment, count(*) AS orders, sum(net) AS revenue,
           sum(score)::BIGINT AS score
    FROM scored GROUP BY country, segment ORDER BY country, segment
"""
SHOP_SEGMENTS = """
    SELECT segment, count(DISTINCT customer_id) AS customers, avg(net)::DOUBLE AS mean_net
    FROM scored GROUP BY segment ORDER BY segment
"""


@pytest.fixture
def shop_project(tmp_path, monkeypatch) -> Path:
    proj = tmp_path / "shop"
    (proj / "specs").mkdir(parents=True)
    (proj / "specs" / "shop_orders.yaml").write_text(SHOP_SPEC)
    (proj / "pyproject.toml").write_text("[project]\nname = 'shop'\nversion = '0'\n")
    (proj / "shop_fns.py").write_text(SHOP_FNS)
    make_shop_data(proj / "data" / "in")
    monkeypatch.setenv("ETLC_PROJECT_ROOT", str(proj))
    monkeypatch.syspath_prepend(str(proj))
    yield proj
    (DAGS_FOLDER / "shop_orders.py").unlink(missing_ok=True)


def shop_outputs(con, proj: Path):
    out = proj / "data" / "out"
    by_country = rows(con, f"""
        SELECT country, segment, orders, revenue, score
        FROM read_parquet('{out}/by_country/**/*.parquet', hive_partitioning = true)
        ORDER BY country, segment""")
    segments = rows(con, f"SELECT segment, customers, mean_net FROM read_csv('{out}/segments.csv', header = true)")
    log = rows(con, f"""
        SELECT order_id, customer_id, order_date, status, amount, qty, net, year
        FROM read_parquet('{out}/order_log/**/*.parquet') ORDER BY order_id""")
    return by_country, segments, log


def test_second_pipeline_under_dag_test_matches_duckdb(shop_project, airflow_db):
    proj = shop_project
    dag_file = compile_into_dags_folder(proj, "shop_orders")
    dag, dr = run_dag("shop_orders")

    con = duckdb.connect()
    con.execute("CREATE TABLE paid AS " + SHOP_PAID.format(orders=proj / "data" / "in" / "orders.csv"))
    con.execute("CREATE TABLE scored AS " + SHOP_SCORED.format(customers=proj / "data" / "in" / "customers.csv"))
    want_by_country = rows(con, SHOP_BY_COUNTRY)
    want_segments = rows(con, SHOP_SEGMENTS)
    want_log = rows(con, """SELECT order_id, customer_id, order_date, status, amount, qty, net, year
                            FROM paid ORDER BY order_id""")
    assert want_log.num_rows > 100 and want_by_country.num_rows > 5

    got_by_country, got_segments, got_log = shop_outputs(con, proj)
    assert_rows_equal(got_by_country, want_by_country, "by_country")
    assert_rows_equal(got_segments, want_segments, "segments")
    assert_rows_equal(got_log, want_log, "order_log")
    assert {p.name for p in (proj / "data" / "out" / "by_country").iterdir()
            if not p.name.startswith((".", "_"))} == \
        {f"country={c}" for c in want_by_country.column("country").to_pylist()}
    # the operator step ran, after the writes, with the run's templates rendered
    assert (proj / "data" / "out" / "notify.txt").read_text().strip() == f"shop_orders {LOGICAL:%Y-%m-%d} done"

    # a retry of the append task inside the same run rewrites its own output and adds nothing
    from etlc_runtime.airflow import run_task

    log_plan = dag.get_task("log").task_plan
    log_files = snapshot(proj / "data" / "out" / "order_log")
    result = run_task(log_plan, run_id=dr.run_id, logical_date=dr.logical_date, params={"min_amount": 5},
                      dag=dag)
    assert result["rows"] == want_log.num_rows
    assert_rows_equal(shop_outputs(con, proj)[2], got_log, "order_log after the retry")
    assert set(snapshot(proj / "data" / "out" / "order_log")) == set(log_files)

    # the whole DAG again for the same logical date: overwrite sinks hold the same rows, none twice
    run_dag("shop_orders")
    again_by_country, again_segments, again_log = shop_outputs(con, proj)
    assert_rows_equal(again_by_country, got_by_country, "by_country, run again")
    assert_rows_equal(again_segments, got_segments, "segments, run again")
    assert dag_file.is_file()
    # the append log is keyed by the logical date: the rerun replaces that date's rows
    assert_rows_equal(again_log, got_log, "order_log, run again")


# ---------------------------------------------------------------------------------------------
# spec text with braces that is not a template

BRACES_SPEC = """\
etlc: 1
pipeline: braces
description: "Literal braces in text: {{ not_a_macro }}, {% raw %} and {# this #}."
start_date: 2025-01-01
defaults: {engine: pandas}
params:
  p: {type: string, default: x, description: "Refer to it as {{ p }} or {% p %} in SQL."}
datasets:
  src:
    format: csv
    path: data/in.csv
    description: "{% if %} is Jinja, not a template here"
    columns:
      k: {type: string, description: "may hold '{{ k }}' literally"}
      v: {type: int}
  dst: {format: csv, path: data/out.csv}
steps:
  raw:
    read: src
  keep:
    from: raw
    filter: "k != '{{ k }}'"
  save:
    from: keep
    write: dst
    mode: overwrite
"""


@pytest.fixture
def braces_project(tmp_path, monkeypatch) -> Path:
    proj = tmp_path / "braces"
    (proj / "specs").mkdir(parents=True)
    (proj / "data").mkdir()
    (proj / "specs" / "braces.yaml").write_text(BRACES_SPEC)
    (proj / "pyproject.toml").write_text("[project]\nname = 'braces'\nversion = '0'\n")
    (proj / "data" / "in.csv").write_text("k,v\na,1\n{{ k }},2\nb,3\n")
    monkeypatch.setenv("ETLC_PROJECT_ROOT", str(proj))
    yield proj
    (DAGS_FOLDER / "braces.py").unlink(missing_ok=True)


def test_braces_in_spec_text_under_etlc_run(braces_project):
    """Outside Airflow the runtime treats '{{ }}' in descriptions and expression literals as text."""
    r = run_etlc("run", "specs/braces.yaml", "--date", "2025-03-04", cwd=braces_project)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    con = duckdb.connect()
    got = rows(con, f"SELECT k, v FROM read_csv('{braces_project}/data/out.csv', header = true) ORDER BY v")
    assert got.to_pylist() == [{"k": "a", "v": 1}, {"k": "b", "v": 3}]


def test_braces_in_spec_text_under_dag_test(braces_project, airflow_db):
    compile_into_dags_folder(braces_project, "braces")
    run_dag("braces")
    con = duckdb.connect()
    got = rows(con, f"SELECT k, v FROM read_csv('{braces_project}/data/out.csv', header = true) ORDER BY v")
    assert got.to_pylist() == [{"k": "a", "v": 1}, {"k": "b", "v": 3}]
