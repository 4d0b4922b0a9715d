"""Reading a decimal column declared ``float`` (issue #11): a decimal of at most 15 digits
skips the value-by-value round-trip check (arrow_convert._float_round_trips), so this proves,
against pyarrow's own casts, that the check it skips could not have fired; wider decimals
keep the check (R040 names the column, row and value)."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from etlc_runtime.arrow_convert import FLOAT64_DIGITS, _float_round_trips, typed_to
from etlc_runtime.errors import DataError
from hypothesis import given, settings
from hypothesis import strategies as st


@st.composite
def decimals(draw):
    precision = draw(st.integers(1, FLOAT64_DIGITS))
    scale = draw(st.integers(0, precision))
    limit = 10 ** precision - 1
    edge = st.sampled_from([0, 1, -1, limit, -limit, limit // 2, 10 ** (precision - 1)])
    units = draw(st.lists(st.one_of(edge, st.integers(-limit, limit)), min_size=1, max_size=50))
    return pa.decimal128(precision, scale), [Decimal(u).scaleb(-scale) for u in units]


@settings(max_examples=300, deadline=None)
@given(decimals())
def test_short_decimals_round_trip_through_float64(case):
    dtype, values = case
    source = pa.array(values, dtype)
    assert _float_round_trips(dtype)
    out = typed_to(source, {"type": "float"}, "price")
    assert out.type == pa.float64()
    # the check typed_to skips: back to the decimal, every value unchanged
    assert pc.all(pc.equal(pc.cast(out, dtype, safe=False), source)).as_py()
    # and independently of pyarrow's decimal casts: each double is the nearest one, bit for
    # bit (Python's float(Decimal) rounds correctly; pyarrow's cast does not always: 49.9 ->
    # 49.900000000000006), and rounds back to the value at its scale
    step = Decimal(1).scaleb(-dtype.scale)
    for value, got in zip(values, out.to_pylist()):
        assert got.hex() == float(value).hex(), (value, got)
        assert Decimal(got).quantize(step) == value


@pytest.mark.parametrize("dtype", [pa.decimal128(3, 1), pa.decimal256(15, 1)])
def test_short_decimals_read_as_the_nearest_double(dtype):
    """49.9 through pyarrow's cast is 49.900000000000006; etlc's read gives 49.9 (as DuckDB's
    cast does), nulls kept, a sliced array's offset honoured."""
    source = pa.array([Decimal("1.0"), None, Decimal("49.9"), Decimal("-49.9")], dtype)
    out = typed_to(source.slice(1), {"type": "float"}, "price")
    assert out.to_pylist() == [None, 49.9, -49.9]
    assert [v.hex() if v is not None else None for v in out.to_pylist()] == [
        None, (49.9).hex(), (-49.9).hex()]


def test_wide_decimals_keep_the_check():
    dtype = pa.decimal128(17, 0)
    assert not _float_round_trips(dtype)
    source = pa.array([Decimal(1), Decimal(2 ** 53 + 1)], dtype)
    with pytest.raises(DataError) as err:
        typed_to(source, {"type": "float"}, "price")
    assert (err.value.code, err.value.column, err.value.row) == ("R040", "price", 2)  # rows count from 1
    assert err.value.value == Decimal(2 ** 53 + 1)


@pytest.mark.parametrize("dtype", [pa.decimal128(15, -2), pa.int64(), pa.decimal256(16, 2)])
def test_only_short_decimals_skip_the_check(dtype):
    assert not _float_round_trips(dtype)


@pytest.mark.parametrize("engine", ["pandas", "dask", "duckdb"])
def test_a_parquet_decimal_read_as_float_is_the_nearest_double_on_every_engine(tmp_path, engine):
    """End to end: a Parquet file written by pyarrow with decimal(5, 1) values, declared
    ``float``, read and written back by ``etlc run`` on each engine; pyarrow reads the output
    and every double is the one Python's float(Decimal) gives, bit for bit."""
    import pyarrow.parquet as pq
    from etlc_compiler.api import check_text
    from etlc_compiler.compile import plan_checked
    from etlc_runtime.local import run_pipeline

    values = [Decimal("49.9"), None, Decimal("-0.3"), Decimal("1234.5"), Decimal("0.1")]
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    pq.write_table(pa.table({"v": pa.array(values, pa.decimal128(5, 1))}), tmp_path / "in.parquet")
    text = (f"etlc: 1\npipeline: dec_float\ndefaults: {{engine: {engine}}}\ndatasets:\n"
            "  src: {format: parquet, path: in.parquet, columns: {v: {type: float}}}\n"
            "  out: {format: parquet, path: out.parquet}\n"
            "steps:\n  raw: {read: src}\n  save: {from: raw, write: out, mode: overwrite}\n")
    checked = check_text(text, str(tmp_path / "s.yaml"))
    assert checked.ok, checked.diagnostics
    summary = run_pipeline(plan_checked(checked, tmp_path).pipeline_payload(),
                           project_root=str(tmp_path))
    assert summary["status"] == "success", summary.get("error")
    got = pq.read_table(tmp_path / "out.parquet").column("v")
    assert got.type == pa.float64()
    assert [None if v is None else v.hex() for v in got.to_pylist()] == [
        None if v is None else float(v).hex() for v in values]
