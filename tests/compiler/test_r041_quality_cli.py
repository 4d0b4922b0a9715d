"""Issue 13: a run-time expression failure (R041) inside a step's checks (`expect`) or
`metrics` names the failing sub-expression's place in the spec, the row and the value on every
engine (the duckdb engine finds them again after DuckDB's conversion error), and `etlc run`
prints it as an R041 diagnostic at that place, not as the step's R001."""

from __future__ import annotations

import re
import textwrap

import pytest

from .conftest import run_cli

SPEC = textwrap.dedent("""\
    etlc: 1
    pipeline: quality
    defaults:
      engine: {engine}
    datasets:
      src:
        format: csv
        path: in.csv
        columns:
          id: {{type: int}}
          s: {{type: string}}
      out:
        format: parquet
        path: out/
    steps:
      raw:
        read: src
    {quality}
      save:
        from: raw
        write: out
        mode: overwrite
    """)
CHECKS = ('    checks:\n      expect: ["id >= 0", "cast(s as int) > 0"]', "cast(s as int)")
METRICS = ('    metrics:\n      total: "sum(id)"\n      bad: "sum(cast(s as int)) * 2"', "cast(s as int)")
FIXED = ('  t:\n    from: raw\n    derive:\n      n: "cast(s as int) + 1"', "cast(s as int)")


def _place(text: str, fragment: str, after: str) -> tuple[int, int]:
    """1-based line and column of ``fragment`` on the first line holding ``after``."""
    for number, line in enumerate(text.splitlines(), start=1):
        if after in line:
            return number, line.index(fragment, line.index(after)) + 1
    raise AssertionError(after)


@pytest.mark.parametrize("engine", ["pandas", "duckdb", "dask"])
@pytest.mark.parametrize("quality, after", [(CHECKS, '"cast('), (METRICS, "bad:")],
                         ids=["expect", "metrics"])
def test_a_failing_check_or_metric_expression_is_r041_at_its_place(tmp_path, engine, quality, after):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (tmp_path / "in.csv").write_text("id,s\n0,5\n1,7\n2,x9\n3,4\n")
    text = SPEC.format(engine=engine, quality=quality[0])
    (tmp_path / "q.yaml").write_text(text)
    done = run_cli("run", str(tmp_path / "q.yaml"), cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    line, col = _place(text, quality[1], after)
    head = re.search(r"q\.yaml:(\d+):(\d+): error\[(R\d+)\]: (.*)", done.stderr)
    assert head, done.stderr
    assert (int(head.group(1)), int(head.group(2)), head.group(3)) == (line, col, "R041")
    assert "'x9'" in head.group(4) and "(row 2)" in head.group(4)
    # the caret line underlines exactly the failing cast
    carets = re.search(rf"\n\s*\| {' ' * (col - 1)}(\^+)\n", done.stderr)
    assert carets and len(carets.group(1)) == len(quality[1]), done.stderr
    assert not (tmp_path / "out").exists()
    # nothing of the failed attempt is left (dask: parts still being written are waited for)
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.")]


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_a_failing_derive_is_r041_at_its_place_in_the_cli(tmp_path, engine):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (tmp_path / "in.csv").write_text("id,s\n0,5\n1,x\n")
    text = SPEC.format(engine=engine, quality=FIXED[0]).replace("from: raw\n    write", "from: t\n    write")
    (tmp_path / "q.yaml").write_text(text)
    done = run_cli("run", str(tmp_path / "q.yaml"), cwd=tmp_path)
    line, col = _place(text, FIXED[1], "n:")
    assert done.returncode == 1
    assert f"q.yaml:{line}:{col}: error[R041]" in done.stderr, done.stderr
