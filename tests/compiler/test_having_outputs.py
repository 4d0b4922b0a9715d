"""`having` may name the step's aggregate outputs and group keys (as DuckDB, Snowflake,
BigQuery and MySQL allow); inside an aggregate function a name is an input column. An
unknown name's hint lists the outputs and keys before any source column."""

from __future__ import annotations

import textwrap

import pandas as pd
import pytest
from etlc_compiler.api import check_text
from etlc_runtime.expr import Type, check, parse
from etlc_runtime.expr import pandas_eval as P

SPEC = textwrap.dedent("""\
    etlc: 1
    pipeline: having_outputs
    datasets:
      src:
        format: csv
        path: data/in/src.csv
        columns:
          region: {type: string}
          amount: {type: float}
          orders: {type: string}
    steps:
      raw:
        read: src
      agg:
        from: raw
        group_by: [region]
        aggregate: {orders: "count(*)", total: "sum(amount)"}
        having: "HAVING"
    """)


def diagnostics(having: str, tmp_path):
    text = SPEC.replace("HAVING", having)
    path = tmp_path / "h.yaml"
    path.write_text(text, encoding="utf-8")
    return text, check_text(text, str(path)).diagnostics


@pytest.mark.parametrize("having", ["orders >= 2", "total > 0 and region != 'x'", "orders >= 2 and sum(amount) > 1",
                                    "count(orders) > 1 and orders > 1"])
def test_outputs_and_keys_are_names_in_having(having, tmp_path):
    _, diags = diagnostics(having, tmp_path)
    assert diags == ()


def test_inside_an_aggregate_a_name_is_the_input_column(tmp_path):
    # orders, the input, is a string: sum() of it is refused, though the output orders is an int
    text, diags = diagnostics("sum(orders) > 1", tmp_path)
    assert [d.code for d in diags] == ["E405"]
    assert (diags[0].line, diags[0].col) == (len(text.splitlines()), text.splitlines()[-1].index("orders") + 1)


def test_an_unknown_name_lists_outputs_and_keys_first(tmp_path):
    text, diags = diagnostics("ordrs >= 2", tmp_path)
    (d,) = diags
    assert (d.code, d.line, d.col, d.end_col) == ("E402", len(text.splitlines()), 14, 19)
    assert d.help.startswith("did you mean 'orders'?")
    listing = d.help.split("group keys: ", 1)[1]
    assert listing.split(";")[0] == "orders, total, region"
    assert "amount" not in listing.split(";")[0]


def test_source_columns_come_after_outputs_and_keys(tmp_path):
    _, diags = diagnostics("amout > 2", tmp_path)   # a bare source column could not be named anyway
    (d,) = diags
    assert d.code == "E402" and not d.help.startswith("did you mean")
    assert d.help.index("orders, total, region") < d.help.index("amount")


def test_a_bare_input_column_is_still_e408(tmp_path):
    _, diags = diagnostics("amount > 2", tmp_path)
    assert [d.code for d in diags] == ["E408"]
    assert "orders, total, region" in diags[0].help


def test_outputs_are_only_for_having():
    cols = {"x": Type("int")}
    _, errors = check(parse("n > 1"), cols, {}, "filter", outputs={"n": Type("int")})
    assert [e.code for e in errors] == ["E402"]
    t, errors = check(parse("n > 1"), cols, {}, "having", outputs={"n": Type("int")})
    assert (t.name, errors) == ("bool", [])


def test_the_pandas_evaluator_keeps_the_groups_having_names():
    df = pd.DataFrame({"region": ["a", "a", "b", "c", "c", "c"], "amount": [1.0, 2.0, 3.0, 4.0, 5.0, -20.0],
                       "orders": ["p", "q", "r", "s", "t", "u"]})
    aggs = {"orders": parse("count(*)"), "total": parse("sum(amount)")}
    out = P.aggregate(df, ["region"], aggs, {}, having=parse("orders >= 2 and count(orders) >= 2"))
    assert out.to_dict("list") == {"region": ["a", "c"], "orders": [2, 3], "total": [3.0, -11.0]}
    out = P.aggregate(df, ["region"], aggs, {}, having=parse("total > 0 and region != 'b'"))
    assert out["region"].tolist() == ["a"]
    out = P.aggregate(df, [], {"n": parse("count(*)")}, {}, having=parse("n > 6"))
    assert len(out) == 0 and list(out.columns) == ["n"]
