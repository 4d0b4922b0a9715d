"""Every expression case of tests/expr (cases.py) through the dask engine, 3 partitions,
against the pandas engine's transform of the same step: Arrow types and values exactly.

Row expressions go as one derive step with a column per case (one computation); filters and
aggregates one step each; and a property: any small table with nulls, any partitioning, a few
steps (aggregate, filter + derive, distinct, join + limit) give the pandas engine's table.  The pandas engine is checked against DuckDB by
test_engine_conformance.py and tests/expr; the dask engine must equal it.
"""

from __future__ import annotations

import pyarrow as pa
import pytest
from etlc_runtime.engines import get_engine
from etlc_runtime.engines.base import StepContext, TaskResources
from exact_rows import assert_same
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_engine_conformance import _cases, _expr_table, _exprdata

TYPES = {c: {"type": t.name, **({"scale": t.scale} if t.name == "decimal" else {})}
         for c, t in _exprdata.TYPES.items()}


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    root = tmp_path_factory.mktemp("dask-expr")
    ctx = StepContext(root=root, params=_exprdata.PARAMS, macros={}, types=TYPES)
    pandas, dask = get_engine("pandas"), get_engine("dask", TaskResources(partitions=3))
    table = _expr_table()
    yield ctx, (pandas, pandas.from_arrow(table)), (dask, dask.from_arrow(table))
    dask.close()


def _both(engines, step: dict) -> tuple[pa.Table, pa.Table]:
    ctx, (pandas, p_rel), (dask, d_rel) = engines
    want = pandas.to_arrow(pandas.transform(step, {"t": p_rel}, ctx))
    got = dask.to_arrow(dask.transform(step, {"t": d_rel}, ctx))
    return got, want


# windows need every row of their partition together: the dask engine shuffles for them
ROWS = [t for t in _cases.ROW_CASES if " over (" not in t and " over(" not in t]
WINDOWS = [t for t in _cases.ROW_CASES if t not in ROWS]


def _derive_agrees(engines, cases: list[str]) -> None:
    """One derive step with a column per case, on both engines: types and values exactly."""
    derive = {f"__v{i}": text for i, text in enumerate(cases)}
    got, want = _both(engines, {"from": ["t"], "derive": derive, "sort": ["id"]})
    assert got.num_rows == want.num_rows == 12
    for i, text in enumerate(cases):
        name = f"__v{i}"
        assert got.schema.field(name).type == want.schema.field(name).type, text
    assert_same(got, want, ordered=True)   # the rows are sorted by id on both


def test_row_expressions_agree(engines):
    assert len(ROWS) > 400
    _derive_agrees(engines, ROWS)


def test_windows_agree(engines):
    """A derive with windows runs after a shuffle that puts each window partition in one
    Dask partition (or gathers them all): the pandas engine's values."""
    assert len(WINDOWS) > 30
    _derive_agrees(engines, WINDOWS)


@pytest.mark.parametrize("derive", [{"w": "row_number() over (partition by k order by id)"},
                                    {"u": "upper(k)", "w": "rank() over (partition by u order by i)"}])
def test_window_partitions_shuffled_or_gathered(engines, derive):
    """Partitioned by an input column the rows are shuffled on it; by a column the step
    derives itself they are gathered: either way the pandas engine's answer."""
    got, want = _both(engines, {"from": ["t"], "derive": derive, "qualify": "w <= 2",
                                "sort": ["id"]})
    assert got.num_rows == want.num_rows > 0
    assert got.equals(want)


@pytest.mark.parametrize("text", _cases.FILTER_CASES)
def test_filters_agree(engines, text):
    got, want = _both(engines, {"from": ["t"], "filter": text, "sort": ["id"]})
    assert got.column("id").to_pylist() == want.column("id").to_pylist()
    assert got.equals(want)


@pytest.mark.parametrize("index", range(len(_cases.AGG_CASES)),
                         ids=[f"agg{i}" for i in range(len(_cases.AGG_CASES))])
def test_aggregates_agree(engines, index):
    group_by, aggs, having = _cases.AGG_CASES[index]
    step = {"from": ["t"], "group_by": group_by, "aggregate": aggs, "having": having,
            "sort": group_by}
    got, want = _both(engines, step)
    assert got.schema == want.schema
    # std/var combine per-partition partial sums where pandas makes one pass: the last bits
    # may differ (1 unit in the last place on this table); everything else is the same bits
    spread = {name: 2 for name, text in aggs.items() if text.startswith(("std(", "var("))}
    assert_same(got, want, ordered=True, ulps_of=spread)


# -- property: any small table, any partitioning, the pandas engine's answer --------------------

_ROWS = st.lists(st.tuples(st.sampled_from(["a", "b", "c", None]),
                           st.one_of(st.none(), st.integers(-2**62, 2**62)),
                           st.one_of(st.none(), st.text(max_size=3))), max_size=30)
STEPS = [
    {"group_by": ["k"], "aggregate": {"n": "count(*)", "c": "count(v)", "s": "sum(v)",
                                      "lo": "min(v)", "hi": "max(s)", "d": "count_distinct(s)",
                                      "f": "first(v)"}, "sort": ["k"]},
    {"filter": "v > 0 or s is null", "derive": {"w": "v % 7", "u": "upper(s) || k"},
     "sort": ["v", "s", "k"]},
    {"select": ["k", "s"], "distinct": True, "sort": ["k", "s"]},
    {"join": {"with": "t", "on": ["k"], "how": "left"}, "select": ["k", "v"],
     "sort": ["k", "v"], "limit": 20},
]


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=_ROWS, parts=st.integers(1, 4), step=st.sampled_from(STEPS))
def test_any_table_any_partitions_agree(engines, rows, parts, step):
    ctx, (pandas, _), (dask, _) = engines
    table = pa.table({"k": pa.array([r[0] for r in rows], pa.string()),
                      "v": pa.array([r[1] for r in rows], pa.int64()),
                      "s": pa.array([r[2] for r in rows], pa.string())})
    ctx = StepContext(root=ctx.root, params={}, macros={},
                      types={"k": {"type": "string"}, "v": {"type": "int"},
                             "s": {"type": "string"}})
    dask.partitions = parts
    p_rel, d_rel = pandas.from_arrow(table), dask.from_arrow(table)
    step = {"from": ["t"], **step}
    want = pandas.to_arrow(pandas.transform(step, {"t": p_rel}, ctx))
    got = dask.to_arrow(dask.transform(step, {"t": d_rel}, ctx))
    assert got.schema == want.schema
    assert got.to_pylist() == want.to_pylist()
