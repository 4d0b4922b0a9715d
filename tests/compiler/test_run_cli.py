"""`etlc run` end to end on a temporary project: success, a failing step, parameters."""

from __future__ import annotations

import csv
import textwrap

import duckdb
import pytest

from .conftest import run_cli

SPEC = textwrap.dedent("""\
    etlc: 1
    pipeline: tiny
    params:
      min_qty: {type: integer, default: 2}
    datasets:
      src:
        format: csv
        path: in/items.csv
        columns: {item: {type: string}, qty: {type: int}, price: {type: float}}
      out:
        format: csv
        path: out/totals.csv
    steps:
      raw:
        read: src
      kept:
        from: raw
        filter: "qty >= $min_qty"
        derive: {value: "qty * price"}
        checks:
          expect: ["value < 1000"]
      totals:
        from: kept
        group_by: [item]
        aggregate: {value: "sum(value)", n: "count(*)"}
        sort: [item]
      save:
        from: totals
        write: out
        mode: overwrite
    """)


@pytest.fixture
def project(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (tmp_path / "in").mkdir()
    rows = [("a", 1, 2.0), ("a", 3, 2.5), ("b", 2, 10.0), ("b", 5, 1.0), ("c", 0, 3.0)]
    with open(tmp_path / "in" / "items.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["item", "qty", "price"])
        w.writerows(rows)
    (tmp_path / "tiny.yaml").write_text(SPEC)
    return tmp_path


def expected(project, min_qty):
    return duckdb.sql(
        f"select item, sum(qty * price) as value, count(*) as n from read_csv_auto('{project}/in/items.csv') "
        f"where qty >= {min_qty} group by item order by item").fetchall()


def read_out(project):
    """The written rows; a float's text must read back as exactly DuckDB's double (the
    prices and quantities are small binary fractions, so their sums are exact either way)."""
    with open(project / "out" / "totals.csv") as fh:
        return [(r["item"], float(r["value"]), int(r["n"])) for r in csv.DictReader(fh)]


def test_run_succeeds_and_matches_duckdb(project):
    r = run_cli("run", str(project / "tiny.yaml"), cwd=project)
    assert r.returncode == 0, r.stderr
    assert read_out(project) == expected(project, 2)
    assert "task" in r.stderr and "success" in r.stderr


def test_param_override(project):
    r = run_cli("run", str(project / "tiny.yaml"), "--param", "min_qty=3", cwd=project)
    assert r.returncode == 0, r.stderr
    assert read_out(project) == expected(project, 3)


@pytest.mark.parametrize("args", [["--param", "nope=1"], ["--param", "min_qty=x"], ["--param", "min_qty"]])
def test_bad_params_are_usage_errors(project, args):
    r = run_cli("run", str(project / "tiny.yaml"), *args, cwd=project)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr


def test_failing_check_points_at_the_step(project):
    (project / "tiny.yaml").write_text(SPEC.replace("value < 1000", "value < 5"))
    r = run_cli("run", str(project / "tiny.yaml"), "--color", "never", cwd=project)
    assert r.returncode == 1
    line = SPEC.splitlines().index("  kept:") + 1
    assert f"tiny.yaml:{line}:3: error[R001]: step 'kept' failed" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (project / "out" / "totals.csv").exists()


def test_missing_input_file_is_reported(project):
    (project / "in" / "items.csv").unlink()
    r = run_cli("run", str(project / "tiny.yaml"), "--color", "never", cwd=project)
    assert r.returncode == 1
    assert "error[R001]: step 'raw' failed" in r.stderr
    assert "Traceback" not in r.stderr


def test_invalid_spec_does_not_run(project):
    (project / "tiny.yaml").write_text(SPEC.replace("qty >= $min_qty", "qty >= $min_qt"))
    r = run_cli("run", str(project / "tiny.yaml"), cwd=project)
    assert r.returncode == 1
    assert "error[E404]" in r.stderr or "error[E311]" in r.stderr
    assert not (project / "out").exists()


DECIMAL_SPEC = textwrap.dedent("""\
    etlc: 1
    pipeline: money
    datasets:
      src:
        format: csv
        path: in/prices.csv
        columns: {item: {type: string}, price: {type: decimal, scale: 2}, day: {type: date}}
      out:
        format: csv
        path: out/prices.csv
    steps:
      raw:
        read: src
      shown:
        from: raw
        derive:
          price_text: "cast(price as string)"
          day_text: "cast(day as string)"
      save:
        from: shown
        write: out
        mode: overwrite
    """)


def test_declared_types_reach_the_evaluator(tmp_path):
    """A decimal keeps its scale and a date stays a date: the plan carries the declared types
    to the runtime's evaluator (a dtype alone cannot tell them)."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "prices.csv").write_text("item,price,day\na,1.5,2025-01-02\nb,2,2025-03-04\n")
    (tmp_path / "money.yaml").write_text(DECIMAL_SPEC)
    r = run_cli("run", str(tmp_path / "money.yaml"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    with open(tmp_path / "out" / "prices.csv") as fh:
        got = [(row["item"], row["price_text"], row["day_text"]) for row in csv.DictReader(fh)]
    want = duckdb.sql(
        f"select item, cast(cast(price as decimal(18, 2)) as varchar), cast(cast(day as date) as varchar) "
        f"from read_csv('{tmp_path}/in/prices.csv', all_varchar = true) order by item").fetchall()
    assert got == want == [("a", "1.50", "2025-01-02"), ("b", "2.00", "2025-03-04")]
