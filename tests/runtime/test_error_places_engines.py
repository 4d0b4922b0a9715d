"""Issue 9 (data fidelity): bad data stops the run with the same error, fields and place in
the spec on the pandas, duckdb and dask engines, where the duckdb engine used to lose them:

- an int ``sum`` beyond 64 bits (aggregate, window, metric) is R041 at the ``sum`` call
  naming the group's position or the row and the exact sum (DuckDB's bare INT128 -> INT64
  ConversionException before; engines/duckdb/int_sum_rows.py finds them again);
- a value a ``cast:`` step refuses is R040 at the step's ``cast:`` entry for the column,
  naming the column, the row (1-based, in the relation cast) and the value (the duckdb
  engine named no row and pointed at the dataset's declaration; pandas and dask gave an
  R001 at the step, without the row for ints; engines/duckdb/cast_rows.py);
- a CSV row with more or fewer fields than the header is R040 at the read step naming the
  dataset, file, line and row (the duckdb engine named neither dataset nor row and was at
  the step whose query ran; engines/duckdb/read_rows.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from etlc_runtime.errors import DataError, StepError
from etlc_runtime.expr.errors import EvalError
from rt_helpers import run_spec

ENGINES = ["pandas", "duckdb", "dask"]
BIG = 9223372036854775000   # two of them are beyond 64 bits
SPEC = textwrap.dedent("""\
    etlc: 1
    pipeline: places
    defaults: {{engine: {engine}}}
    datasets:
      src:
        format: csv
        path: in.csv{options}
        columns: {{g: {{type: string}}, x: {{type: string}}}}
      out: {{format: parquet, path: out/}}
    steps:
      raw:
        read: src
    {steps}
      save: {{from: {last}, write: out, mode: overwrite}}
    """)
TYPED = "  typed:\n    from: raw\n    cast: {x: int}\n"


def _where(text: str, fragment: str, after: str) -> tuple[int, int]:
    """1-based line and column of ``fragment`` on the first line holding ``after``."""
    for number, line in enumerate(text.splitlines(), start=1):
        if after in line:
            return number, line.index(fragment, line.index(after)) + 1
    raise AssertionError(after)


def _failed(project, engine: str, steps: str, last: str, rows: str, options: str = ""):
    text = SPEC.format(engine=engine, steps=steps.rstrip("\n"),
                       last=last, options=f"\n    options: {options}" if options else "")
    summary = run_spec(project, text, rows)
    err = summary["error"]
    assert summary["status"] == "failed" and isinstance(err, StepError), summary
    return text, err, err.cause


SUMS = [  # (steps, the last step, the failing sum as written, rows, row, exact sum)
    (TYPED + "  agg:\n    from: typed\n    group_by: [g]\n"
             "    aggregate:\n      n: \"count(*)\"\n      t: \"sum(x) + 1\"\n",
     "agg", "sum(x)", f"g,x\na,1\nb,{BIG}\nc,2\nb,{BIG}\n", 1, 2 * BIG),
    (TYPED + "  agg:\n    from: typed\n    aggregate:\n      t: \"sum(x)\"\n",
     "agg", "sum(x)", f"g,x\na,{BIG}\nb,{BIG}\n", 0, 2 * BIG),
    (TYPED + "  win:\n    from: typed\n    derive:\n      t: \"sum(x) over (partition by g)\"\n",
     "win", "sum(x) over (partition by g)", f"g,x\na,1\nb,{BIG}\nb,{BIG}\n", 1, 2 * BIG),
    (TYPED + "    metrics:\n      t: \"sum(x)\"\n",
     "typed", "sum(x)", f"g,x\na,{BIG}\nb,{BIG}\n", 0, 2 * BIG),
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("steps, last, fragment, rows, row, value", SUMS,
                         ids=["grouped", "whole", "window", "metric"])
def test_an_int_sum_beyond_64_bits_is_r041_at_the_sum(project, engine, steps, last, fragment,
                                                      rows, row, value):
    text, err, cause = _failed(project, engine, steps, last, rows)
    assert isinstance(cause, EvalError), repr(cause)
    line, col = _where(text, fragment, f't: "{fragment}')
    assert (cause.code, cause.line, cause.column, cause.end_column) == (
        "R041", line, col, col + len(fragment))
    assert (err.line, err.col) == (line, col)
    assert (cause.row, cause.value) == (row, value)


CASTS = [  # (steps, the last step, the cast entry's line, rows, row, value)
    (TYPED, "typed", "cast: {x: int}", "g,x\na,1\nb,2\nc,x3\nd,4\n", 3, "x3"),
    (("  f:\n    from: raw\n    cast: {x: float}\n"
      "  i:\n    from: f\n    cast: {x: int}\n"), "i", "cast: {x: int}",
     "g,x\na,1\nb,1e300\nc,3\n", 2, 1e300),
    ("  d:\n    from: raw\n    filter: \"g <> 'a'\"\n    cast: {x: date}\n", "d",
     "cast: {x: date}", "g,x\na,bad\nb,2020-01-01\nc,2020-13-01\n", 2, "2020-13-01"),
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("steps, last, entry, rows, row, value", CASTS,
                         ids=["text-int", "float-int", "text-date-filtered"])
def test_a_refused_cast_is_r040_at_the_cast_entry(project, engine, steps, last, entry, rows,
                                                  row, value):
    text, err, cause = _failed(project, engine, steps, last, rows)
    assert isinstance(cause, DataError), repr(cause)
    assert (err.line, err.col) == _where(text, "x:", entry)
    fields = cause.fields()
    assert {k: fields[k] for k in ("code", "column", "row", "value", "dataset", "file")} == {
        "code": "R040", "column": "x", "row": row, "value": value, "dataset": None,
        "file": None}
    assert cause.step == err.step


RAGGED = [  # (rows, options, line, row, value)
    ("g,x\na,1\nb,2,3\nc,3\n", "", 3, 2, "b,2,3"),
    # a quoted value spanning lines is one row, blank lines are none, skipped lines are
    # not counted: the line is the first data line + the row - 1 (docs/codes.md, R040)
    ('junk\ng,x\na,"1\n2"\n\nb,2\nc\n', "{skip_rows: 1}", 5, 3, "c"),
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("rows, options, line, row, value", RAGGED, ids=["short", "shifted"])
def test_a_ragged_csv_row_is_r040_at_the_read_naming_dataset_line_and_row(
        project, engine, rows, options, line, row, value):
    steps = "  copy:\n    from: raw\n    derive: {y: \"upper(x)\"}\n"
    text, err, cause = _failed(project, engine, steps, "copy", rows, options)
    assert isinstance(cause, DataError), repr(cause)
    fields = cause.fields()
    assert {k: fields[k] for k in ("code", "dataset", "column", "line", "row", "value")} == {
        "code": "R040", "dataset": "src", "column": None, "line": line, "row": row,
        "value": value}
    assert fields["file"].endswith("in.csv")
    assert (err.step, err.line, err.col) == ("raw", _where(text, "raw:", "raw:")[0], None)


def test_etlc_run_prints_a_ragged_row_on_duckdb_as_r040_at_the_read(project):
    text = SPEC.format(engine="duckdb", steps="", last="raw", options="")
    (project / "s.yaml").write_text(text)
    (project / "in.csv").write_text("g,x\na,1\nb,2,3\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETLC_")}
    done = subprocess.run([sys.executable, "-m", "etlc_compiler.cli", "run",
                           str(project / "s.yaml"), "--color", "never"], capture_output=True,
                          check=False, text=True, cwd=project, timeout=120, env=env)
    assert done.returncode == 1
    line = _where(text, "raw:", "raw:")[0]
    assert f"s.yaml:{line}:3: error[R040]:" in done.stderr, done.stderr


@pytest.mark.parametrize("engine", ENGINES)
def test_a_write_r040_of_a_cast_column_stays_at_the_written_declaration(project, engine):
    """A value the cast accepts but the written column cannot hold is the write's R040, at
    the output dataset's declaration, not at the cast."""
    text = SPEC.format(engine=engine, steps="  f:\n    from: raw\n    cast: {x: float}",
                       last="f", options="").replace(
        "out: {format: parquet, path: out/}",
        "out: {format: parquet, path: out/, columns: {g: {type: string}, x: {type: int}}}")
    summary = run_spec(project, text, "g,x\na,1\nb,2.5\n")
    err = summary["error"]
    assert summary["status"] == "failed" and isinstance(err, StepError), summary
    assert isinstance(err.cause, DataError) and err.cause.column == "x", repr(err.cause)
    assert (err.line, err.col) == _where(text, "x:", "out:")
