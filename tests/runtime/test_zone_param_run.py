"""A `$param` whose run-time value is time text with a UTC offset, read as a zone-less
timestamp or date (expr/zone_text.py): R041 at the `$name` in the spec, before any step runs,
on every engine; without an offset (or with a zero one) every engine writes the same rows."""

from __future__ import annotations

import textwrap

import pyarrow.parquet as pq
import pytest
from etlc_runtime.errors import StepError
from etlc_runtime.expr.errors import EvalError
from exact_rows import assert_same
from rt_helpers import run_spec

SPEC = textwrap.dedent("""\
    etlc: 1
    pipeline: zoned_param
    defaults: {engine: ENGINE}
    params:
      start: {type: string, default: "2020-01-02 00:00:00"}
    datasets:
      src: {format: csv, path: in.csv, columns: {id: {type: int}, ts: {type: timestamp}}}
      out: {format: parquet, path: out.parquet}
    steps:
      raw:
        read: src
      kept:
        from: raw
        filter: "ts >= cast($start as timestamp)"
        derive:
          day: "to_date($start)"
      save: {from: kept, write: out, mode: overwrite}
    """)
ROWS = "id,ts\n0,2020-01-01 23:00:00\n1,2020-01-02 03:04:05\n2,2020-01-02 05:04:05\n"
ENGINES = ["pandas", "duckdb", "dask"]


def _run(folder, engine: str, start: str) -> dict:
    return run_spec(folder, SPEC.replace("ENGINE", engine), ROWS, {"start": start})


@pytest.mark.parametrize("engine", ENGINES)
def test_an_offset_in_the_value_is_r041_at_the_param(tmp_path, engine):
    summary = _run(tmp_path, engine, "2020-01-02 05:04:05+02")
    err = summary["error"]
    assert summary["status"] == "failed" and isinstance(err, StepError), summary
    cause = err.cause
    assert isinstance(cause, EvalError)
    # line 14 is `    filter: "ts >= cast($start as timestamp)"`: `$start` at columns 25-31
    assert (cause.code, cause.line, cause.column, cause.end_column, cause.row, cause.value) \
        == ("R041", 14, 25, 31, None, "2020-01-02 05:04:05+02")
    assert (err.step, err.line) == ("kept", 14)
    assert not (tmp_path / "out.parquet").exists()


@pytest.mark.parametrize("start", ["2020-01-02 03:04:05", "2020-01-02T03:04:05Z",
                                   "2020-01-02 03:04:05+00:00"])
def test_without_an_offset_every_engine_writes_the_same_rows(tmp_path, start):
    tables = []
    for engine in ENGINES:
        folder = tmp_path / engine
        folder.mkdir()
        summary = _run(folder, engine, start)
        assert summary["status"] == "success", summary
        tables.append(pq.read_table(folder / "out.parquet"))
    assert tables[0].column("id").to_pylist() == [1, 2]
    for other in tables[1:]:
        assert_same(other, tables[0])
