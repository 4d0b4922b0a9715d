"""The duckdb engine reads a CSV file's declared dates and decimals through pyarrow's typed
reader (engines/duckdb/csv_typed.py, csv_arrow.typed_columns) and falls back to the text path
when that reader refuses anything.  That is only sound if every value the typed reader
accepts is the value the text path gives.  Differential: one file read by the engine with the
typed scan and by an engine held to the text path alone; same rows and values, or the same
error with the same fields (code, column, value, file, row, line)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from decimal import Decimal
from pathlib import Path

import pytest
from etlc_runtime.engines.base import StepContext
from etlc_runtime.engines.duckdb import csv_typed
from etlc_runtime.engines.duckdb_engine import DuckDBEngine
from hypothesis import example, given, settings
from hypothesis import strategies as st

COLUMNS = {"d": {"type": "date"}, "p": {"type": "decimal", "scale": 2, "precision": 15},
           "z": {"type": "decimal", "scale": 0, "precision": 5},
           "w": {"type": "decimal", "scale": 10}, "i": {"type": "int"}, "s": {"type": "string"},
           "f": {"type": "float"}}
PIECES = ["0", "1", "9", "-", "+", ".", "_", " ", "\t", "e", "E", ":", "T", "x", "0x1", "inf",
          "nan", "infinity", "epoch", " (BC)", "00", "2020-01-02", "2020-1-2", "0000-01-01",
          "1998-08-12 00:00:00", "2020-02-30", "99-01-02", "9999-12-31", "12345678901234",
          "1.005", "1e3", "1.5e-1", "1E+2", ".5", "5.", "99999", "100000", "-0", "NA", "",
          "nan", "-inf", "Infinity", "1e400", "4.9e-324", "-0.0",
          # exponents that crash Arrow's decimal parser (8 digits and more)
          "1e-10000000", "e-324999991", "1e-99999", "1e-100000"]

piece_text = st.lists(st.sampled_from(PIECES), min_size=0, max_size=3).map("".join)
clean = {
    "d": st.dates().map(str),
    "p": st.decimals(min_value=-10**12, max_value=10**12, places=2,
                     allow_nan=False).map(lambda v: f"{v:f}"),
    "z": st.integers(-99999, 99999).map(str),
    "w": st.decimals(min_value=-10**6, max_value=10**6, places=10,
                     allow_nan=False).map(lambda v: f"{v:f}"),
    "i": st.integers(-2**63, 2**63 - 1).map(str),
    "s": st.text(max_size=6),
    "f": st.one_of(st.floats().map(repr), st.floats().map(str), st.integers().map(str)),
}


@pytest.fixture(autouse=True, scope="module")
def _typed_scan_for_small_files():
    """The files here are small: below csv_typed.MIN_BYTES the engine takes the text path."""
    with pytest.MonkeyPatch.context() as m:
        m.setattr(csv_typed, "MIN_BYTES", 0)
        yield


def _row():
    return st.fixed_dictionaries({c: st.one_of(gen, piece_text) for c, gen in clean.items()})


def _write(path: Path, rows: list[dict], quoting: int) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, quoting=quoting, lineterminator="\n")
    writer.writerow(list(COLUMNS))
    for r in rows:
        writer.writerow([r[c] for c in COLUMNS])
    path.write_text(buf.getvalue(), encoding="utf-8")


def _outcome(path: Path, null_value: str, typed: bool, options: dict | None = None):
    engine = DuckDBEngine()
    if not typed:
        engine._csv_text = None   # read.read then takes the text path alone
    dataset = {"name": "t", "format": "csv", "path": str(path), "columns": COLUMNS,
               "options": {"null_value": null_value, **(options or {})}}
    ctx = StepContext(root=path.parent, params={}, macros={})
    try:
        rel = engine.read(dataset, ctx)
        used = bool(engine._csv_text)
        table = engine.to_arrow(rel)
        rows = [{k: "NaN" if isinstance(v, float) and math.isnan(v) else v
                 for k, v in r.items()} for r in table.to_pylist()]
        return ("rows", rows), used and bool(engine._csv_text)
    except Exception as exc:  # noqa: BLE001 - the error's fields are compared
        fields = tuple(getattr(exc, k, None) for k in ("code", "column", "value", "file",
                                                       "row", "line"))
        return ("error", type(exc).__name__, fields), False
    finally:
        engine.close()


@settings(max_examples=80, deadline=None)
@given(rows=st.lists(_row(), min_size=0, max_size=8),
       quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]),
       null_value=st.sampled_from(["", "NA"]))
@example(rows=[{"d": "0000-01-01", "p": "1", "z": "1", "w": "1", "i": "1", "s": "a", "f": "1"}],
         quoting=csv.QUOTE_MINIMAL, null_value="")
@example(rows=[{"d": " 2020-01-02\t", "p": "1.005", "z": "1e3", "w": ".5", "i": "0x10",
                "s": "", "f": " 1e400"}], quoting=csv.QUOTE_MINIMAL, null_value="")
@example(rows=[{"d": "2020-01-02", "p": "1.5e-1", "z": "100000", "w": "5.", "i": "+1",
                "s": "NA", "f": "nan"}], quoting=csv.QUOTE_ALL, null_value="NA")
def test_typed_scan_gives_the_text_paths_result(tmp_path_factory, rows, quoting, null_value):
    path = tmp_path_factory.mktemp("csv") / "t.csv"
    _write(path, rows, quoting)
    typed, _ = _outcome(path, null_value, typed=True)
    text, _ = _outcome(path, null_value, typed=False)
    assert typed == text


def test_clean_file_is_read_by_the_typed_scan(tmp_path):
    path = tmp_path / "t.csv"
    _write(path, [{"d": "2020-01-02", "p": "37061.18", "z": "-7", "w": "0.0000000001",
                   "i": "42", "s": "x", "f": "0.5"}] * 3, csv.QUOTE_MINIMAL)
    (kind, rows), typed_used = _outcome(path, "", typed=True)
    assert typed_used   # no fallback: the Arrow scan gave the rows
    assert kind == "rows" and len(rows) == 3 and str(rows[0]["p"]) == "37061.18"


def test_small_reads_take_the_text_path(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_typed, "MIN_BYTES", 10**9)
    path = tmp_path / "t.csv"
    _write(path, [{"d": "2020-01-02", "p": "1.00", "z": "1", "w": "1", "i": "1", "s": "x",
                   "f": "2"}], csv.QUOTE_MINIMAL)
    (kind, _rows), typed_used = _outcome(path, "", typed=True)
    assert kind == "rows" and not typed_used


@pytest.mark.parametrize("bad", [{"d": "2020-1-2"}, {"d": "0000-01-01"}, {"p": "1.005"},
                                 {"z": "100000"}])
def test_a_refused_value_is_the_text_paths_r040(tmp_path, bad):
    path = tmp_path / "t.csv"
    good = {"d": "2020-01-02", "p": "1.00", "z": "1", "w": "1", "i": "1", "s": "x", "f": "1"}
    _write(path, [good, {**good, **bad}], csv.QUOTE_MINIMAL)
    (kind, _name, fields), _ = _outcome(path, "", typed=True)
    code, column, value, file, row, line = fields
    assert (kind, code, column, value, row, line) == ("error", "R040", *bad, *bad.values(),
                                                      2, 3)
    assert file == str(path)


# -- the pandas engine: the same typed read (io_read._typed_read), the same property ---------

def _pandas_outcome(path: Path, null_value: str, typed: bool):
    from etlc_runtime import io_read
    dataset = {"name": "t", "format": "csv", "path": str(path), "columns": COLUMNS,
               "options": {"null_value": null_value}}
    with pytest.MonkeyPatch.context() as m:
        if not typed:
            m.setattr(io_read, "_typed_read", lambda *a, **k: None)
        try:
            frame = io_read.read_dataset(dataset, {}, path.parent)
        except Exception as exc:  # noqa: BLE001 - the error's fields are compared
            return ("error", type(exc).__name__,
                    tuple(getattr(exc, k, None) for k in ("code", "column", "value", "file",
                                                          "row", "line")))
    return ("rows", [str(t) for t in frame.dtypes], frame.astype(object).where(
        frame.notna(), None).to_dict("records"))


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(_row(), min_size=0, max_size=8),
       quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
       null_value=st.sampled_from(["", "NA"]))
@example(rows=[{"d": "0000-01-01", "p": "1", "z": "1", "w": "1", "i": "1", "s": "a", "f": "1"}],
         quoting=csv.QUOTE_MINIMAL, null_value="")
@example(rows=[{"d": " 2020-01-02\t", "p": "1.005", "z": "1e3", "w": ".5", "i": "0x10",
                "s": "", "f": " 1e400"}], quoting=csv.QUOTE_MINIMAL, null_value="")
def test_pandas_typed_read_gives_the_text_paths_result(tmp_path_factory, rows, quoting,
                                                       null_value):
    path = tmp_path_factory.mktemp("csv") / "t.csv"
    _write(path, rows, quoting)
    assert _pandas_outcome(path, null_value, True) == _pandas_outcome(path, null_value, False)


def test_pandas_clean_file_is_read_typed(tmp_path):
    import pyarrow as pa
    from etlc_runtime import io_read
    path = tmp_path / "t.csv"
    _write(path, [{"d": "2020-01-02", "p": "37061.18", "z": "-7", "w": "0.5", "i": "42",
                   "s": "x", "f": "-0.0"}], csv.QUOTE_MINIMAL)
    header = list(COLUMNS)
    table = io_read._typed_read(str(path), {}, header, COLUMNS, "utf-8")
    assert table is not None and table.schema.field("d").type == pa.date32()
    assert table.schema.field("p").type == pa.string()   # decimals: arrow_convert's rules
    assert table.schema.field("f").type == pa.float64()


# -- whole tasks: the fallback serves every query of the task (csv_typed's view replaced) ---

def _task(project, monkeypatch, min_bytes: int):
    import pyarrow.parquet as pq
    from etlc_runtime import executor
    from rt_helpers import task_plan

    monkeypatch.setattr(csv_typed, "MIN_BYTES", min_bytes)
    cols = {"id": {"type": "int"}, "d": {"type": "date"},
            "amount": {"type": "decimal", "scale": 2, "precision": 15}}
    datasets = {"src": {"format": "csv", "path": "in/*.csv", "columns": cols},
                "out": {"format": "parquet", "path": "out/res/"}}
    steps = [
        {"name": "a", "read": "src"},
        {"name": "b", "read": "src"},
        {"name": "u", "from": "a", "union": ["b"], "filter": "amount > 0",
         "checks": {"not_null": ["d"], "expect": ["d >= date '2020-01-01'"]},
         "metrics": {"n": "count(*)", "total": "sum(amount)"}},
        {"name": "save", "from": "u", "write": "out", "mode": "overwrite"},
    ]
    result = executor.run_task(task_plan(steps, datasets, engine="duckdb"), {"run_id": "r"})
    table = pq.read_table(project / "out" / "res").sort_by([("id", "ascending")])
    return table.to_pylist(), result["metrics"], result["rows"]


@pytest.mark.parametrize("late", ["2020-01-09 00:00:00", "2020-01-09"])
def test_a_task_reads_the_same_rows_typed_and_as_text(project, monkeypatch, late):
    """Two files, one dataset read twice and unioned, checks, metrics and a write: the
    typed scan's result is the text path's, also where a good value it refuses ('late',
    a date at midnight written with its time) sits in the last row of the second file."""
    (project / "in").mkdir()
    (project / "in" / "f1.csv").write_text(
        "id,d,amount\n" + "".join(f"{i},2020-01-0{i},{i}.50\n" for i in range(1, 6)))
    # past pyarrow's first block (1 MiB), so that the refusal comes while a query runs
    filler = "".join(f"{i},-1.00,2020-01-06\n" for i in range(10**6, 10**6 + 60_000))
    (project / "in" / "f2.csv").write_text(f"id,amount,d\n{filler}"
                                           f"7,7.25,2020-01-07\n8,0.01,{late}\n")
    calls: list = []
    real = csv_typed.fall_back
    monkeypatch.setattr(csv_typed, "fall_back", lambda *a: calls.append(1) or real(*a))
    typed = _task(project, monkeypatch, 0)
    assert calls == ([] if late == "2020-01-09" else [1])   # the typed scan, then the text
    text = _task(project, monkeypatch, 10**12)
    assert typed == text
    rows, metrics, _ = typed
    assert metrics == {"u": {"n": 14, "total": 49.52}}
    assert len(rows) == 14 and {r["id"] for r in rows} == {1, 2, 3, 4, 5, 7, 8}
    # the written dates and amounts against Python's own reading of the files' text
    expect = {i: (dt.date(2020, 1, i), Decimal(f"{i}.50")) for i in range(1, 6)}
    expect |= {7: (dt.date(2020, 1, 7), Decimal("7.25")), 8: (dt.date(2020, 1, 9),
                                                            Decimal("0.01"))}
    assert {r["id"]: (r["d"], r["amount"]) for r in rows} == expect


@pytest.mark.parametrize("options, text", [
    ({"header": False}, "2020-01-02,1.50,7,0.5,1,x,2\n1999-12-31,,8,1e-3,2,,nan\n"),
    ({"delimiter": ";", "skip_rows": 2}, ("junk\nmore junk\nd;p;z;w;i;s;f\n"
                                          "2020-01-02;1.5;7;0.5;1;\"a;b\";2\n")),
    ({"quote": "'"}, "d,p,z,w,i,s,f\n2020-01-02,'1.50',7,0.5,1,'x,y',2\n"),
    ({"escape": "\\"}, "d,p,z,w,i,s,f\n2020-01-02,1.50,7,0.5,1,\"a\\\"b\",2\n"),
    ({}, "d,p,z,w,i,s,f\n2020-01-02,1.50,7,0.5,1,\"two\nlines\",2\n\n"),
])
def test_csv_options_read_the_same_typed_and_as_text(tmp_path, options, text):
    path = tmp_path / "t.csv"
    path.write_text(text, encoding="utf-8")
    typed, used = _outcome(path, "", True, options)
    assert typed == _outcome(path, "", False, options)[0]
    assert typed[0] == "rows" and used   # read by the typed scan, no fallback


@pytest.mark.parametrize("engine", ["duckdb", "pandas"])
@pytest.mark.parametrize("value", ["4.9e-324999991", "1e-10000000", "0e-99999999", "1e+100000"])
def test_a_huge_decimal_exponent_is_r040_not_a_crash(tmp_path, engine, value):
    """Arrow's decimal parser crashes the process on an exponent of 8 digits; the text rules
    refuse such a value (R040 at its row) on both engines, typed scan or not."""
    path = tmp_path / "t.csv"
    good = {"d": "2020-01-02", "p": "1.00", "z": "1", "w": "1", "i": "1", "s": "x", "f": "1"}
    _write(path, [good, {**good, "p": value}], csv.QUOTE_MINIMAL)
    out = _outcome(path, "", True)[0] if engine == "duckdb" else _pandas_outcome(path, "", True)
    kind, _name, (code, column, shown, _file, row, _line) = out
    assert (kind, code, column, shown, row) == ("error", "R040", "p", value, 2)
