"""A call step's `returns:` at run time: the frame its function returns is checked against the
declared columns and held in their types, so that a decimal computed after the step is
written as a decimal on pandas, duckdb and dask alike (without `returns`, pandas and dask
write it as a double); a frame that does not match stops the run with R042 naming the step,
column, row and value, never a silent cast."""

from __future__ import annotations

import decimal
import textwrap
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from etlc_compiler.api import check_text
from etlc_compiler.compile import plan_checked
from etlc_runtime.call_returns import conform_result
from etlc_runtime.errors import CallResultError
from etlc_runtime.local import run_pipeline
from exact_rows import assert_same

D = decimal.Decimal
ENGINES = ("pandas", "duckdb", "dask")

FNS = '''\
"""User functions of the call-returns tests."""
import pandas as pd


def score(df, factor):
    return df.assign(score=df["qty"] * factor)


def as_given(df, column, values):
    return score(df, 2).head(len(values)).assign(**{column: pd.Series(values)})


def drop(df, column):
    return score(df, 2).drop(columns=[column])
'''

SPEC = textwrap.dedent("""\
    etlc: 1
    pipeline: call_returns
    defaults: {engine: ENGINE}
    datasets:
      src:
        format: csv
        path: in.csv
        columns: {id: {type: int}, amount: {type: decimal, scale: 3}, qty: {type: int}}
      out: {format: parquet, path: out.parquet}
    steps:
      raw: {read: src}
      paid: {from: raw, derive: {net: "amount * qty"}}
      scored:
        from: paid
        call: fns:FUNC
        args: ARGS
        RETURNS
      after: {from: scored, derive: {twice: "net * 2"}}
      save: {from: after, write: out, mode: overwrite}
    """)
RETURNS = """returns:
        id: {type: int, nullable: false}
        amount: {type: decimal, scale: 3}
        qty: {type: int}
        net: {type: decimal, scale: 3}
        score: {type: decimal, scale: 1}"""
# net 25.333: the pandas and dask engines hold it as the double 25.333, which Arrow's own
# decimal-to-double cast turns into 25.333000000000002 (an exactness check through that cast
# would refuse the value; arrow_convert.nearest_doubles does not)
ROWS = "id,amount,qty\n1,1.25,2\n2,25.333,1\n3,,1\n4,0.001,4\n"


@pytest.fixture
def fns(tmp_path, monkeypatch):
    (tmp_path / "fns.py").write_text(FNS)
    monkeypatch.syspath_prepend(str(tmp_path))


def run(root: Path, engine: str, func: str = "score", args: str = "{factor: 2}",
        returns: str | None = RETURNS) -> dict:
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (root / "in.csv").write_text(ROWS)
    text = (SPEC.replace("ENGINE", engine).replace("FUNC", func).replace("ARGS", args)
            .replace("RETURNS", returns or ""))
    checked = check_text(text, str(root / "s.yaml"))
    assert checked.ok, checked.diagnostics
    return run_pipeline(plan_checked(checked, root).pipeline_payload(), project_root=str(root))


def want(twice: pa.DataType) -> pa.Table:
    dec = pa.decimal128(38, 3)
    return pa.table({
        "id": pa.array([1, 2, 3, 4], pa.int64()),
        "amount": pa.array([D("1.250"), D("25.333"), None, D("0.001")], dec),
        "qty": pa.array([2, 1, 1, 4], pa.int64()),
        "net": pa.array([D("2.500"), D("25.333"), None, D("0.004")], dec),
        "score": pa.array([D("4.0"), D("2.0"), D("2.0"), D("8.0")], pa.decimal128(38, 1)),
        "twice": pa.array([D("5.000"), D("50.666"), None, D("0.008")], twice),
    })


@pytest.mark.parametrize("engine", ENGINES)
def test_returns_types_the_chain_after_the_call(tmp_path, fns, engine):
    """The returned int64 score goes into its declared decimal exactly, and `twice`, computed
    after the call, is written as a decimal on every engine."""
    summary = run(tmp_path / engine, engine)
    assert summary["status"] == "success", summary["error"]
    got = pq.read_table(tmp_path / engine / "out.parquet")
    assert_same(got, want(pa.decimal128(38, 3)), ordered=True)
    # the declared types themselves, precision included (assert_same compares decimals by
    # scale); the duckdb engine computes `net * 2` in DuckDB's DECIMAL(18, 3) (docs/types.md)
    assert got.schema.field("score").type == pa.decimal128(38, 1)
    assert got.schema.field("net").type == pa.decimal128(38, 3)


@pytest.mark.parametrize("engine", ("pandas", "dask"))
def test_without_returns_the_computed_decimal_stays_a_double(tmp_path, fns, engine):
    """Behaviour as before where the step declares nothing: the types after it come from the
    frame, where a computed decimal is a double on these engines."""
    summary = run(tmp_path / engine, engine, returns=None)
    assert summary["status"] == "success", summary["error"]
    got = pq.read_table(tmp_path / engine / "out.parquet")
    assert got.schema.field("twice").type == pa.float64()
    assert got.column("twice").to_pylist() == [5.0, 50.666, None, 0.008]


def failure(tmp_path, engine, func, args) -> CallResultError:
    summary = run(tmp_path / engine, engine, func, args)
    assert summary["status"] == "failed"
    err = summary["error"]
    assert isinstance(err, CallResultError), repr(err)
    assert err.code == "R042" and err.step == "scored" and err.line == SPEC.splitlines().index("  scored:") + 1
    assert not (tmp_path / engine / "out.parquet").exists()
    return err


@pytest.mark.parametrize("engine", ("pandas", "duckdb"))
@pytest.mark.parametrize("func, args, column, row, value", [
    ("drop", "{column: qty}", "qty", None, None),                          # missing
    ("as_given", "{column: extra, values: [1]}", "extra", None, None),     # not declared
    ("as_given", "{column: qty, values: [1.0, 2.5]}", "qty", 1, 2.5),      # float into int
    ("as_given", "{column: net, values: [1.0, 1.0005]}", "net", 1, 1.0005),  # beyond the scale
    ("as_given", "{column: qty, values: ['1']}", "qty", 0, "1"),           # text is not parsed
    ("as_given", "{column: id, values: [1, null]}", "id", 1, None),        # nullable: false
])
def test_a_frame_that_does_not_match_is_r042(tmp_path, fns, engine, func, args, column, row,
                                             value):
    err = failure(tmp_path, engine, func, args)
    assert (err.column, err.row, err.value) == (column, row, value)


def test_dask_refuses_as_the_others(tmp_path, fns):
    err = failure(tmp_path, "dask", "as_given", "{column: qty, values: [1.0, 2.5]}")
    assert (err.column, err.row, err.value) == ("qty", 1, 2.5)


def test_r042_fields_of_each_refusal():
    """conform_result alone: the reason's subject per refusal, by fields."""
    returns = {"k": {"type": "int"}, "d": {"type": "decimal", "scale": 2, "precision": 4},
               "s": {"type": "string"}, "v": {"type": "vector", "size": 2}}
    import pandas as pd

    def frame(**over):
        base = {"k": pd.Series([1, 2], dtype="Int64"),
                "d": [D("1.50"), D("2.25")], "s": ["a", "b"], "v": [[1.0, 2.0], [3, 4]]}
        return pd.DataFrame(base | over)

    out = conform_result(frame(), returns, "st")
    assert out.schema == pa.schema([("k", pa.int64()), ("d", pa.decimal128(4, 2)),
                                    ("s", pa.string()), ("v", pa.list_(pa.float64()))])
    assert out.to_pylist()[1] == {"k": 2, "d": D("2.25"), "s": "b", "v": [3.0, 4.0]}
    cases = [
        (frame(d=[D("1.50"), D("123.45")]), "d", 1, D("123.45")),   # beyond the precision
        (frame(d=[D("1.50"), "x"]), "d", 1, "x"),                    # two kinds in one column
        (frame(s=[1, 2]), "s", 0, 1),                                # nothing becomes text
        (frame(v=[[1.0, 2.0], [1.0]]), "v", 1, [1.0]),               # vector size
    ]
    for df, column, row, value in cases:
        with pytest.raises(CallResultError) as caught:
            conform_result(df, returns, "st")
        err = caught.value
        assert (err.step, err.column, err.code) == ("st", column, "R042"), err
        if value is not None:
            assert (err.row, err.value) == (row, value), err
    dup = frame().rename(columns={"s": "k"})
    with pytest.raises(CallResultError) as caught:
        conform_result(dup, returns, "st")
    assert caught.value.column == "k"


def test_a_double_into_a_decimal_is_judged_by_its_nearest_double():
    """The rule `returns` shares with a typed Parquet read (arrow_convert.typed_to): a double
    goes into a decimal when it is the nearest double of that decimal, judged by the correctly
    rounded division (Arrow's decimal-to-double cast gives 25.333000000000002 for 25.333)."""
    from etlc_runtime.arrow_convert import typed_to
    from etlc_runtime.errors import DataError

    dec3 = {"type": "decimal", "scale": 3}
    got = typed_to(pa.array([25.333, 50.666, None, -0.001]), dec3, "x")
    assert got.to_pylist() == [D("25.333"), D("50.666"), None, D("-0.001")]
    with pytest.raises(DataError) as caught:
        typed_to(pa.array([25.333, 1.0005]), dec3, "x")
    assert (caught.value.column, caught.value.row, caught.value.value) == ("x", 2, 1.0005)
