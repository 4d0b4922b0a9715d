"""Every transform, on typed frames, against the same SQL in DuckDB."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
import pytest
from etlc_runtime import steps
from etlc_runtime.errors import DataError, StepError
from exact_rows import assert_same

D = pd.ArrowDtype(pa.date32())


@pytest.fixture
def orders():
    return pd.DataFrame({
        "order_id": pd.array([1, 2, 3, 4, 5, 6], dtype="Int64"),
        "cust": pd.array(["a", "b", "a", None, "c", "b"], dtype="string"),
        "amount": pd.array([10.0, 5.5, None, 3.0, 7.25, 5.5], dtype="Float64"),
        "day": pd.Series([dt.date(2025, 1, d) for d in (3, 1, 2, 2, 5, 1)], dtype=D),
    })


@pytest.fixture
def customers():
    return pd.DataFrame({
        "cust": pd.array(["a", "b", "d", None], dtype="string"),
        "region": pd.array(["north", "south", "east", "nowhere"], dtype="string"),
    })


@pytest.mark.parametrize("how,sql", [
    ("inner", "select * from o inner join c using (cust)"),
    ("left", "select * from o left join c using (cust)"),
    ("right", ("select o.order_id, coalesce(o.cust, c.cust) cust, o.amount, o.day, c.region "
              "from o right join c on o.cust = c.cust")),
    ("outer", ("select o.order_id, coalesce(o.cust, c.cust) cust, o.amount, o.day, c.region "
              "from o full outer join c on o.cust = c.cust")),
    ("semi", "select * from o semi join c using (cust)"),
    ("anti", "select * from o anti join c using (cust)"),
])
def test_join(orders, customers, duck, how, sql):
    o, c = orders, customers  # noqa: F841 - DuckDB reads the frames by name
    ours = steps.join(orders, customers, ["cust"], how)
    assert_same(ours, duck.sql(sql).to_arrow_table())


def test_join_on_mapping_keeps_both_columns(orders, customers, duck):
    o, c = orders, customers.rename(columns={"cust": "code"})
    ours = steps.join(o, c, {"cust": "code"}, "left")
    assert_same(ours, duck.sql("select * from o left join c on o.cust = c.code").to_arrow_table())


def test_join_unknown_column(orders, customers):
    with pytest.raises(StepError, match="unknown column"):
        steps.join(orders, customers, ["nope"], "inner")


def test_union_all_by_name(orders, duck):
    a, b = orders, orders[list(reversed(orders.columns))].head(2)
    ours = steps.union(a, [b])
    assert_same(ours, duck.sql("select * from a union all by name select * from b").to_arrow_table())
    with pytest.raises(StepError, match="different columns"):
        steps.union(a, [b.drop(columns=["day"])])


def test_select_rename_drop(orders):
    assert list(steps.select(orders, ["day", "cust"]).columns) == ["day", "cust"]
    assert list(steps.rename(orders, {"cust": "customer"}).columns) == \
        ["order_id", "customer", "amount", "day"]
    assert list(steps.drop(orders, ["amount"]).columns) == ["order_id", "cust", "day"]
    for fn, arg in ((steps.select, ["x"]), (steps.rename, {"x": "y"}), (steps.drop, ["x"])):
        with pytest.raises(StepError, match="unknown column"):
            fn(orders, arg)


def test_cast(orders, duck):
    o = orders  # noqa: F841
    ours = steps.cast(orders, {"order_id": "string", "amount": "int", "day": "timestamp"})
    ref = duck.sql("select order_id::varchar order_id, cust, amount::bigint amount, "
                   "day::timestamp \"day\" from o").to_arrow_table()
    assert_same(ours, ref)
    texts = pd.DataFrame({"v": pd.array(["1", "2.50", None], dtype="string"),
                          "d": pd.array(["2025-01-02", None, "2025-12-31"], dtype="string"),
                          "b": pd.array(["true", "false", None], dtype="string")})
    got = steps.cast(texts, {"v": {"type": "decimal", "scale": 1}, "d": "date", "b": "bool"})
    assert got["v"].tolist()[:2] == [1.0, 2.5] and got["d"].tolist()[0] == dt.date(2025, 1, 2)
    assert got["b"].tolist()[:2] == [True, False]
    with pytest.raises(DataError) as refused:   # R040 naming the column, row and value
        steps.cast(pd.DataFrame({"v": pd.array(["1", "x"], dtype="string")}), {"v": "int"})
    assert (refused.value.column, refused.value.row, refused.value.value) == ("v", 2, "x")


def test_distinct(orders, duck):
    o = orders[["cust", "amount"]]
    assert_same(steps.distinct(o, True), duck.sql("select distinct * from o").to_arrow_table())
    firsts = steps.distinct(orders, ["cust"])
    assert firsts["order_id"].tolist() == [1, 2, 4, 5]


def test_sort_nulls_last_and_limit(orders, duck):
    o = orders  # noqa: F841
    ours = steps.limit(steps.sort(orders, ["-amount", "order_id"]), 4)
    ref = duck.sql("select * from o order by amount desc nulls last, order_id limit 4").to_arrow_table()
    assert_same(ours, ref, ordered=True)
    ours = steps.sort(orders, ["cust", "-day"])
    ref = duck.sql("select * from o order by cust nulls last, day desc").to_arrow_table()
    assert_same(ours, ref, ordered=True)
    assert len(steps.limit(orders, 0)) == 0


def test_apply_transform_order_without_expressions(orders, customers, duck):
    more = steps.join(orders.head(1), customers, ["cust"])
    frames = {"orders": orders, "customers": customers, "more": more}
    step = {"name": "t", "from": ["orders"], "union": ["more"],
            "join": {"with": "customers", "on": ["cust"], "how": "inner"},
            "select": ["order_id", "region", "amount"], "rename": {"region": "area"},
            "drop": ["amount"], "cast": {"order_id": "string"}, "distinct": True,
            "sort": ["-order_id"], "limit": 3}
    seen = []
    ours = steps.apply_transform(step, frames, {}, on_stage=seen.append)
    assert seen == ["join", "union", "select", "rename", "drop", "cast", "distinct", "sort",
                    "limit"]
    o, c, m = orders, customers, more  # noqa: F841
    ref = duck.sql("""
        with j as (select * from o join c using (cust)),
             u as (select * from j union all by name select * from m)
        select distinct order_id::varchar order_id, region as area from u
        order by order_id desc limit 3""").to_arrow_table()
    assert_same(ours, ref, ordered=True)
