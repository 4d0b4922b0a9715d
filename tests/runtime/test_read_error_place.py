"""R040 from a read names the same place on every engine: the dataset (the spec's name, not
the path), the file, the column, the data row in that file (1-based, a CSV header not
counted), a CSV's or fixed-width file's line, and the value as the file holds it.  The
duckdb engine raises the error in SQL and finds the row after the failure
(engines/duckdb/read_rows.py); the pandas and dask engines count rows as they convert."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from etlc_runtime import executor
from etlc_runtime.errors import DataError, StepError
from rt_helpers import task_plan

ENGINES = ["pandas", "duckdb", "dask"]
FIELDS = ("code", "dataset", "column", "line", "row", "value")


def _place(project, engine: str, dataset: dict) -> dict:
    datasets = {"src": dataset, "out": {"format": "parquet", "path": "out/"}}
    steps = [{"name": "r", "read": "src"}, {"name": "w", "write": "out", "from": "r"}]
    with pytest.raises(StepError) as info:
        executor.run_task(task_plan(steps, datasets, engine=engine), {"run_id": "r1"})
    err = DataError.from_exception(info.value.cause)
    assert err is not None, repr(info.value)
    fields = err.fields()
    return {**{k: fields[k] for k in FIELDS}, "file": fields["file"].rsplit("/", 1)[-1]}


def _csv(project, texts: list[str], **options) -> dict:
    (project / "in").mkdir()
    for i, text in enumerate(texts):
        (project / "in" / f"p{i}.csv").write_text(text)
    return {"format": "csv", "path": "in/", "options": options,
            "columns": {"id": "int", "x": "string"}}


@pytest.mark.parametrize("engine", ENGINES)
def test_csv_bad_value_in_the_second_file_quoted(project, engine):
    ds = _csv(project, ["id,x\n1,a\n2,b\n", 'id,x\n1,a\n" 2x",b\n3,c\n'])
    assert _place(project, engine, ds) == {
        "code": "R040", "dataset": "src", "column": "id", "line": 3, "row": 2,
        "value": " 2x", "file": "p1.csv"}


@pytest.mark.parametrize("engine", ENGINES)
def test_csv_bad_value_in_the_last_row_after_skipped_lines(project, engine):
    ds = _csv(project, ["junk\nid,x\n1,a\n2,b\n3.5,c"], skip_rows=1)
    assert _place(project, engine, ds) == {
        "code": "R040", "dataset": "src", "column": "id", "line": 5, "row": 3,
        "value": "3.5", "file": "p0.csv"}


@pytest.mark.parametrize("engine", ENGINES)
def test_csv_row_deep_in_a_large_file(project, engine):
    """The row DuckDB finds again is the file's own order past many vectors and chunks."""
    rows = [f"{i},v{i}" for i in range(150_000)]
    rows[123_456] = "12x,bad"
    ds = _csv(project, ["id,x\n" + "\n".join(rows) + "\n"])
    assert _place(project, engine, ds) == {
        "code": "R040", "dataset": "src", "column": "id", "line": 123_458, "row": 123_457,
        "value": "12x", "file": "p0.csv"}


@pytest.mark.parametrize("engine", ENGINES)
def test_json_bad_value_in_the_second_file(project, engine):
    (project / "in").mkdir()
    (project / "in" / "a.jsonl").write_text('{"id": 1}\n')
    (project / "in" / "b.jsonl").write_text(
        "\n".join(json.dumps({"id": v}) for v in [1, 2, 3, "4y"]) + "\n")
    ds = {"format": "json", "path": "in/", "columns": {"id": "int"}}
    assert _place(project, engine, ds) == {
        "code": "R040", "dataset": "src", "column": "id", "line": None, "row": 4,
        "value": "4y", "file": "b.jsonl"}


@pytest.mark.parametrize("engine", ENGINES)
def test_parquet_float_into_int_names_its_row(project, engine):
    (project / "in").mkdir()
    pq.write_table(pa.table({"id": [1.0, 2.0]}), project / "in" / "a.parquet")
    pq.write_table(pa.table({"id": [1.0, 2.0, 2.5]}), project / "in" / "b.parquet")
    ds = {"format": "parquet", "path": "in/", "columns": {"id": "int"}}
    assert _place(project, engine, ds) == {
        "code": "R040", "dataset": "src", "column": "id", "line": None, "row": 3,
        "value": 2.5, "file": "b.parquet"}


@pytest.mark.parametrize("engine", ENGINES)
def test_parquet_decimal_beyond_its_scale_names_its_row(project, engine):
    import decimal
    (project / "in").mkdir()
    values = [decimal.Decimal("1.10"), decimal.Decimal("2.25"), decimal.Decimal("3.00")]
    pq.write_table(pa.table({"d": pa.array(values, pa.decimal128(5, 2))}),
                   project / "in" / "a.parquet")
    ds = {"format": "parquet", "path": "in/", "columns": {"d": {"type": "decimal",
                                                                "scale": 1}}}
    assert _place(project, engine, ds) == {
        "code": "R040", "dataset": "src", "column": "d", "line": None, "row": 2,
        "value": decimal.Decimal("2.25"), "file": "a.parquet"}


@pytest.mark.parametrize("engine", ENGINES)
def test_fixed_width_row_leaves_blank_lines_out(project, engine):
    (project / "in.txt").write_text("  1ab\n\n  2cd\n x3ef\n")
    ds = {"format": "fixed_width", "path": "in.txt",
          "columns": {"id": {"type": "int", "span": [1, 3]},
                      "x": {"type": "string", "span": [4, 5]}}}
    assert _place(project, engine, ds) == {
        "code": "R040", "dataset": "src", "column": "id", "line": 4, "row": 3,
        "value": " x3", "file": "in.txt"}
