"""Issue 10: fixed-width fields convert exactly or stop with R040 at their line, and what
``on_error: null | skip`` lets through is counted per column (``engine.read_errors``), the
same on every engine."""

from __future__ import annotations

import decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conformance_helpers import assert_same, context, make_project, read, read_error

FW_COLUMNS = {"rt": {"type": "string", "span": [1, 1]},
              "n": {"type": "int", "span": [2, 4]},
              "amt": {"type": "decimal", "scale": 2, "span": [5, 8]},
              "day": {"type": "date", "span": [9, 16], "format": "%Y%m%d"}}
# line 1 a header, 2-3 good records, 4 blank, 5 null forms, 6 a bad int, 7 a bad date
FW_TEXT = ("H header\n"
           "D001123420240102\n"
           "D002  1020240103\n"
           "\n"
           "D   ----        \n"
           "Dzz1000120240105\n"
           "D0050002XX240106\n")


@pytest.fixture
def root(tmp_path):
    return make_project(tmp_path / "proj")


def _fixed(root, options=None) -> dict:
    (root / "in.txt").write_text(FW_TEXT)
    return {"format": "fixed_width", "path": "in.txt", "columns": FW_COLUMNS,
            "options": {"skip_rows": 1, "null_value": "----", **(options or {})}}


def _read_counted(engine, root, dataset):
    rel = engine.read(dataset, context(root, dataset.get("columns")))
    tally = engine.read_errors(rel)
    return engine.to_arrow(rel), tally


def test_fixed_width_bad_field_is_r040_at_its_line(engine, root):
    err = read_error(engine, root, _fixed(root))
    assert (err.column, err.line, err.value) == ("n", 6, "zz1")
    assert err.file.endswith("in.txt")


def test_fixed_width_bad_date_is_r040_at_its_line(engine, root):
    ds = _fixed(root, {"record_types": ["D"]})
    (root / "in.txt").write_text(FW_TEXT.replace("Dzz1", "D004"))
    err = read_error(engine, root, ds)
    assert (err.column, err.line, err.value) == ("day", 7, "XX240106")


def test_fixed_width_only_declared_null_forms_are_null(engine, root):
    (root / "in.txt").write_text("D0011234 \nD   ----\nD0X0    \n")
    ds = {"format": "fixed_width", "path": "in.txt", "options": {"null_value": "----"},
          "columns": {"n": {"type": "int", "span": [2, 4]},
                      "amt": {"type": "decimal", "scale": 2, "span": [5, 8]}}}
    err = read_error(engine, root, ds)   # '0X0' is no int, nor a null form
    assert (err.column, err.line, err.value) == ("n", 3, "0X0")
    (root / "in.txt").write_text("D0011234 \nD   ----\nD0020   \n")
    assert_same(read(engine, root, ds), pa.table({
        "n": pa.array([1, None, 2], pa.int64()),
        "amt": pa.array([decimal.Decimal("12.34"), None, decimal.Decimal("0.00")],
                        pa.decimal128(38, 2))}))


def test_fixed_width_on_error_null_counts(engine, root):
    got, tally = _read_counted(engine, root, _fixed(root, {"on_error": "null"}))
    assert got.column("n").to_pylist() == [1, 2, None, None, 5]
    assert got.column("day").to_pylist()[4] is None
    assert tally == {"n": {"nulled": 1}, "day": {"nulled": 1}}


def test_fixed_width_on_error_skip_counts(engine, root):
    got, tally = _read_counted(engine, root, _fixed(root, {"on_error": "skip"}))
    assert got.column("n").to_pylist() == [1, 2, None]
    assert tally == {"n": {"skipped": 1}, "day": {"skipped": 1}}


CSV = "id,x\n1,10\nzz,20\n3,1.5\n4,\n5,x5\n"


def _csv(root, text, **options) -> dict:
    (root / "in.csv").write_text(text)
    return {"format": "csv", "path": "in.csv", "columns": {"id": "int", "x": "int"},
            "options": options}


@pytest.mark.parametrize("on_error", ["null", "skip"])
def test_csv_counts_per_column(engine, root, on_error):
    got, tally = _read_counted(engine, root, _csv(root, CSV, on_error=on_error))
    what = "nulled" if on_error == "null" else "skipped"
    assert tally == {"id": {what: 1}, "x": {what: 2}}
    assert got.num_rows == (5 if on_error == "null" else 2)


def test_csv_ragged_rows_skipped_are_counted(engine, root):
    got, tally = _read_counted(engine, root, _csv(root, "id,x\n1,2\n3,4,5\n6,7\n8\n",
                                                  on_error="skip"))
    assert got.column("id").to_pylist() == [1, 6]
    assert tally == {"*": {"skipped": 2}}


def test_nothing_counted_without_errors_or_with_fail(engine, root):
    assert _read_counted(engine, root, _csv(root, "id,x\n1,2\n", on_error="null"))[1] == {}
    assert _read_counted(engine, root, _csv(root, "id,x\n1,2\n"))[1] == {}


def test_parquet_counts(engine, root):
    pq.write_table(pa.table({"n": pa.array([1.0, 1.5, None, 2.5], pa.float64())}),
                   root / "in.parquet")
    ds = {"format": "parquet", "path": "in.parquet", "columns": {"n": "int"},
          "options": {"on_error": "null"}}
    got, tally = _read_counted(engine, root, ds)
    assert got.column("n").to_pylist() == [1, None, None, None]
    assert tally == {"n": {"nulled": 2}}


def test_fixed_width_implied_decimals_keep_every_digit(engine, root):
    (root / "in.txt").write_text("D" + "9" * 38 + "\nD-5\nD+0012\n")
    ds = {"format": "fixed_width", "path": "in.txt",
          "columns": {"amt": {"type": "decimal", "scale": 2, "span": [2, 39]}}}
    assert_same(read(engine, root, ds), pa.table({"amt": pa.array(
        [decimal.Decimal("9" * 36 + ".99"), decimal.Decimal("-0.05"), decimal.Decimal("0.12")],
        pa.decimal128(38, 2))}))


def test_duckdb_fixed_width_read_loads_neither_pandas_nor_pyarrow_compute(tmp_path):
    import json
    import subprocess
    import sys

    root = make_project(tmp_path / "proj")
    (root / "in.txt").write_text(FW_TEXT)
    ds = _fixed(root, {"on_error": "null"})
    script = (
        "import json, sys\nfrom pathlib import Path\n"
        "from etlc_runtime.engines import get_engine\n"
        "from etlc_runtime.engines.base import StepContext\n"
        f"ds = json.loads({json.dumps(json.dumps(ds))})\n"
        f"ctx = StepContext(root=Path({str(root)!r}), params={{}}, macros={{}})\n"
        "e = get_engine('duckdb')\nrel = e.read(ds, ctx)\n"
        "print(e.con.execute(rel.query('count(*)')).fetchall()[0][0], e.read_errors(rel),\n"
        "      'pandas' in sys.modules, 'pyarrow.compute' in sys.modules)\ne.close()\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split(maxsplit=1)[0] == "5"
    assert out.stdout.strip().endswith("False False"), out.stdout
