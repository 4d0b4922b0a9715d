"""regexp_extract with a constant pattern runs on Arrow's RE2 over the whole column (the
string replaced by the group of its first match): any text, DuckDB's answer."""
from __future__ import annotations

import duckdb
import pandas as pd
import pytest
from etlc_runtime.expr import Type, check, parse
from etlc_runtime.expr.pandas_eval import evaluate
from hypothesis import given, settings
from hypothesis import strategies as st

PATTERNS = [("([a-z]+)-([0-9]+)", 2), ("([a-z]+)-([0-9]+)", 0), ("[0-9]+", 0), ("(x)?-", 1),
            ("(a)(b)?", 2), ("^a", 0), ("b$", 0), ("(?i)A(B)", 1), ("(a)", 3)]
TEXT = st.one_of(st.none(), st.text(alphabet="abxAB-01\nÇ ", max_size=8))


@pytest.mark.parametrize("pattern, group", PATTERNS)
@settings(max_examples=12, deadline=None)
@given(values=st.lists(TEXT, min_size=1, max_size=12))
def test_regexp_extract_is_duckdbs(pattern, group, values):
    df = pd.DataFrame({"s": pd.array(values, dtype=pd.StringDtype())})
    expr = f"regexp_extract(s, '{pattern}', {group})"
    ours = [None if v is pd.NA else v
            for v in evaluate(expr, df, {}, types={"s": Type("string")}).tolist()]
    con = duckdb.connect()
    con.register("t", df)
    ref = [r[0] for r in con.execute(f"SELECT {expr} FROM t").fetchall()]
    assert ours == ref


@pytest.mark.parametrize("by, ok", [("\\1", True), ("x\\2", False), ("\\\\2", True), ("#", True)])
def test_a_replacement_naming_a_missing_group_is_a_compile_time_error(by, ok):
    """DuckDB refuses it at run time (Invalid replacement string): etlc says so at compile
    time, pointing at the replacement."""
    _, errors = check(parse(f"regexp_replace(s, '(a)', '{by}')"), {"s": Type("string")}, {})
    assert (not errors) == ok
    if not ok:
        assert (errors[0].code, errors[0].start) == ("E405", 25)
