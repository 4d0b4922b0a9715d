"""Issue 9: a decimal the pandas and Dask engines cannot hold exactly (16 or more digits
unscaled: a double would change it) stops `etlc run` with R041 at the expression's place in
the spec, naming the row and the value, never a changed value in the output; the duckdb
engine writes DuckDB's exact value (docs/types.md, "Computed decimals";
expr/pandas_decimal.py)."""

from __future__ import annotations

import re
import textwrap
from decimal import Decimal

import pyarrow.parquet as pq
import pytest

from .conftest import run_cli

SPEC = textwrap.dedent("""\
    etlc: 1
    pipeline: decimals
    defaults:
      engine: {engine}
    datasets:
      src:
        format: csv
        path: in.csv
        columns:
          id: {{type: int}}
          s: {{type: string}}
          i: {{type: int}}
          d: {{type: decimal, scale: 2}}
      out:
        format: parquet
        path: out/
    steps:
      raw:
        read: src
      t:
        from: raw
        derive:
          v: "{expr}"
      save:
        from: t
        write: out
        mode: overwrite
    """)
# rows 0 and 1 fit a double; row 2 holds a value of 16 to 18 digits in each column (the
# duckdb engine computes decimal expressions as DECIMAL(18, s), docs/types.md)
ROWS = ("id,s,i,d\n0,1.005,7,1.25\n1,2.5,-3,-0.50\n"
        "2,1234567890123456.78,9007199254740993,1234567890123456.78\n")
# (expression, the part R041 points at, the value it names, DuckDB's exact values)
CASES = [
    ("cast(s as decimal(38, 2))", "cast(s as decimal(38, 2))", "1234567890123456.78",
     ["1.01", "2.50", "1234567890123456.78"]),
    ("1 + cast(i as decimal(38, 0))", "cast(i as decimal(38, 0))", "9007199254740993",
     ["8", "-2", "9007199254740994"]),
    ("d * 2", "d", "1234567890123456.78", ["2.50", "-1.00", "2469135780246913.56"]),
]


def _place(text: str, fragment: str) -> tuple[int, int]:
    """1-based line and column of ``fragment`` on the `v:` line."""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("v:"):
            return number, line.index(fragment, line.index('"')) + 1
    raise AssertionError(fragment)


def _write(tmp_path, engine: str, expr: str) -> str:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (tmp_path / "in.csv").write_text(ROWS)
    text = SPEC.format(engine=engine, expr=expr)
    (tmp_path / "d.yaml").write_text(text)
    return text


@pytest.mark.parametrize("engine", ["pandas", "dask"])
@pytest.mark.parametrize("expr, at, value, exact", CASES, ids=[c[0] for c in CASES])
def test_a_decimal_a_double_cannot_hold_is_r041_at_its_place(tmp_path, engine, expr, at,
                                                              value, exact):
    text = _write(tmp_path, engine, expr)
    done = run_cli("run", str(tmp_path / "d.yaml"), cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    line, col = _place(text, at)
    head = re.search(r"d\.yaml:(\d+):(\d+): error\[(R\d+)\]: (.*)", done.stderr)
    assert head, done.stderr
    assert (int(head.group(1)), int(head.group(2)), head.group(3)) == (line, col, "R041")
    assert value in head.group(4) and "(row 2)" in head.group(4), head.group(4)
    carets = re.search(rf"\n\s*\| {' ' * (col - 1)}(\^+)\n", done.stderr)
    assert carets and len(carets.group(1)) == len(at), done.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("expr, at, value, exact", CASES, ids=[c[0] for c in CASES])
def test_the_duckdb_engine_writes_the_exact_value(tmp_path, expr, at, value, exact):
    _write(tmp_path, "duckdb", expr)
    done = run_cli("run", str(tmp_path / "d.yaml"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = pq.read_table(tmp_path / "out").sort_by("id").column("v").to_pylist()
    assert rows == [Decimal(v) for v in exact]


@pytest.mark.parametrize("engine", ["pandas", "dask"])
def test_values_a_double_holds_are_written_exactly(tmp_path, engine):
    """Without the wide row the pandas and Dask engines write DuckDB's values: '1.005' is
    1.01 (a double's rounding gave 1.00 until 2026-12-01)."""
    _write(tmp_path, engine, CASES[0][0])
    (tmp_path / "in.csv").write_text(ROWS.rsplit("\n2,", 1)[0] + "\n")
    done = run_cli("run", str(tmp_path / "d.yaml"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = pq.read_table(tmp_path / "out").sort_by("id").column("v").to_pylist()
    assert rows == [Decimal("1.01"), Decimal("2.50")]
