"""`union` at run time never coerces: where the compiler cannot type a column (Parquet sources
without declared columns, W401), a column whose etlc type differs between the union's inputs
stops the run with R044 naming the step, the input, the column and both types, the same on
pandas, duckdb and dask (no widening: not int into float, not one decimal scale into
another, not date into timestamp; DuckDB's UNION ALL would pick a common supertype).
Representation alone may differ (int32 and int64, string and large_string, an all-null or
empty string column, an Arrow null column): those union, every value and type kept."""

from __future__ import annotations

import datetime
import decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from etlc_compiler.api import check_text
from etlc_compiler.compile import plan_checked
from etlc_runtime.errors import UnionTypeError
from etlc_runtime.expr.types import FLOAT, INT, STRING, Type
from etlc_runtime.expr.types import decimal as dec
from etlc_runtime.local import run_pipeline
from etlc_runtime.union_types import check_union_types, same_type, target_types

D = decimal.Decimal
ENGINES = ("pandas", "duckdb", "dask")
SPEC = """\
etlc: 1
pipeline: u
defaults: {engine: ENGINE}
datasets:
  a: {format: parquet, path: a.parquet}
  b: {format: parquet, path: b.parquet}
  out: {format: parquet, path: out.parquet}
steps:
  ra: {read: a}
  rb: {read: b}
  both:
    from: ra
    union: [rb]
    sort: [id]
  save: {from: both, write: out, mode: overwrite}
"""
BOTH_LINE = SPEC.splitlines().index("  both:") + 1


def run(root: Path, engine: str, a: pa.Array, b: pa.Array) -> dict:
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    pq.write_table(pa.table({"id": pa.array(range(len(a)), pa.int64()), "v": a}),
                   root / "a.parquet")
    pq.write_table(pa.table({"id": pa.array(range(10, 10 + len(b)), pa.int64()), "v": b}),
                   root / "b.parquet")
    checked = check_text(SPEC.replace("ENGINE", engine), str(root / "s.yaml"))
    assert checked.ok and {d.code for d in checked.diagnostics} == {"W401"}
    return run_pipeline(plan_checked(checked, root).pipeline_payload(), project_root=str(root))


DIFFERENT = [
    pytest.param(pa.array([1.5, None]), pa.array(["x", None]), "float", "string",
                 id="float-string"),
    pytest.param(pa.array(["x"]), pa.array([1.5]), "string", "float", id="string-float"),
    pytest.param(pa.array([1, 2]), pa.array([2.5, None]), "int", "float", id="int-float"),
    pytest.param(pa.array([1.5]), pa.array([3]), "float", "int", id="float-int"),
    pytest.param(pa.array([D("1.25")], pa.decimal128(10, 2)),
                 pa.array([D("1.125")], pa.decimal128(10, 3)), "decimal(2)", "decimal(3)",
                 id="decimal-scales"),
    pytest.param(pa.array([D("1")], pa.decimal128(10, 0)), pa.array([2]), "decimal(0)", "int",
                 id="decimal-int"),
    pytest.param(pa.array([datetime.date(2020, 1, 2)]),
                 pa.array([datetime.datetime(2020, 1, 2, 3)], pa.timestamp("us")),
                 "date", "timestamp", id="date-timestamp"),
]


@pytest.mark.parametrize("a, b, base_type, other_type", DIFFERENT)
@pytest.mark.parametrize("engine", ENGINES)
def test_a_column_of_another_type_is_r044_on_every_engine(tmp_path, engine, a, b, base_type,
                                                          other_type):
    summary = run(tmp_path / engine, engine, a, b)
    assert summary["status"] == "failed"
    err = summary["error"]
    assert isinstance(err, UnionTypeError), repr(err)
    got = err.to_dict()
    assert (got["code"], got["step"], got["line"], got["input"], got["column"],
            got["base_type"], got["other_type"]) == (
        "R044", "both", BOTH_LINE, "rb", "v", base_type, other_type)
    assert not (tmp_path / engine / "out.parquet").exists()


SAME = [
    pytest.param(pa.array([1, None], pa.int64()), pa.array([2], pa.int32()),
                 pa.int64(), [1, None, 2], id="int64-int32"),
    pytest.param(pa.array(["a", None]), pa.array(["b"], pa.large_string()),
                 pa.string(), ["a", None, "b"], id="string-large_string"),
    pytest.param(pa.array([D("1.25")], pa.decimal128(10, 2)),
                 pa.array([D("123456.75")], pa.decimal128(18, 2)),
                 pa.decimal128(18, 2), [D("1.25"), D("123456.75")], id="decimal-precisions"),
    pytest.param(pa.array([0.1, None]), pa.array([2.0 ** 60]), pa.float64(),
                 [0.1, None, 2.0 ** 60], id="float"),
    # no real type on one side: only nulls, nothing to convert
    pytest.param(pa.array([None, None], pa.null()), pa.array([2 ** 62 + 1]), pa.int64(),
                 [None, None, 2 ** 62 + 1], id="null-int"),
    pytest.param(pa.array([7]), pa.array([None], pa.null()), pa.int64(), [7, None],
                 id="int-null"),
    pytest.param(pa.array([None], pa.string()), pa.array([1.5]), pa.float64(), [None, 1.5],
                 id="all-null-string-float"),
    pytest.param(pa.array([], pa.string()), pa.array([D("2.50")], pa.decimal128(9, 2)),
                 pa.decimal128(9, 2), [D("2.50")], id="empty-string-decimal"),
]


@pytest.mark.parametrize("a, b, arrow_type, values", SAME)
@pytest.mark.parametrize("engine", ENGINES)
def test_equal_types_union_exactly(tmp_path, engine, a, b, arrow_type, values):
    summary = run(tmp_path / engine, engine, a, b)
    assert summary["status"] == "success", summary["error"]
    got = pq.read_table(tmp_path / engine / "out.parquet")
    assert got.column("v").to_pylist() == values
    t = got.schema.field("v").type
    if pa.types.is_decimal(arrow_type):   # precision is each engine's; the scale is not
        assert pa.types.is_decimal(t) and t.scale == arrow_type.scale
    elif pa.types.is_string(arrow_type):
        assert pa.types.is_string(t) or pa.types.is_large_string(t)
    else:
        assert t == arrow_type


def test_the_rule_compares_logical_types_only():
    assert same_type(dec(2), dec(2)) and not same_type(dec(2), dec(3))
    assert same_type(Type("vector", None, 3), Type("vector")) and not same_type(
        Type("vector", None, 3), Type("vector", None, 4))
    assert not same_type(INT, FLOAT)
    # null and unknown are no real type: not compared
    check_union_types({"v": Type("null"), "w": INT},
                      [("x", {"v": STRING, "w": INT}), ("y", {"v": FLOAT, "w": None})])
    with pytest.raises(UnionTypeError) as caught:
        check_union_types({"v": INT, "w": FLOAT}, [("x", {"v": INT, "w": dec(1)})])
    assert (caught.value.input, caught.value.column, caught.value.base_type,
            caught.value.other_type) == ("x", "w", "float", "decimal(1)")
    # the representation kept: the step input's, else the first input with a real type
    assert target_types({"v": None, "w": INT, "z": None},
                        [{"v": None, "w": INT, "z": None}, {"v": STRING, "w": INT}]) == {
        "v": 2, "w": 0, "z": None}


def test_pandas_object_text_and_string_are_one_type():
    import pandas as pd
    from etlc_runtime import steps

    base = pd.DataFrame({"s": pd.Series(["a", None], dtype="string")})
    texts = pd.DataFrame({"s": pd.Series(["b"], dtype=object)})
    out = steps.union(base, [texts], ["t"])
    assert out["s"].dtype == base["s"].dtype and out["s"].tolist() == ["a", pd.NA, "b"]
    floats = pd.DataFrame({"s": pd.Series([1.5], dtype=object)})
    with pytest.raises(UnionTypeError) as caught:
        steps.union(base, [texts, floats], ["t", "f"])
    assert (caught.value.input, caught.value.column, caught.value.base_type,
            caught.value.other_type) == ("f", "s", "string", "float")


def test_dask_object_columns_are_judged_per_partition():
    """Dask's meta of an ``object`` column holds no values: each partition of the input is
    judged by its values when computed."""
    import dask
    import dask.dataframe as dd
    import pandas as pd
    from etlc_runtime.engines.dask.transform import union

    with dask.config.set({"dataframe.convert-string": False}):   # as the dask engine
        base = dd.from_pandas(pd.DataFrame({"s": pd.Series(["a"], dtype="string")}),
                              npartitions=1)
        mixed = pd.DataFrame({"s": pd.Series(["b", "c", 2.5, None], dtype=object)})
        other = dd.from_pandas(mixed, npartitions=2, sort=False)
        with pytest.raises(UnionTypeError) as caught:
            dask.compute(union(base, [other], ["o"]), scheduler="sync")
        texts = dd.from_pandas(mixed.iloc[:2], npartitions=1, sort=False)
        (out,) = dask.compute(union(base, [texts], ["t"]), scheduler="sync")
    assert (caught.value.input, caught.value.column, caught.value.other_type) == (
        "o", "s", "float")
    assert out["s"].tolist() == ["a", "b", "c"] and out["s"].dtype == "string"
