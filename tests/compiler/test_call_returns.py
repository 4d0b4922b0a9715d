"""A call step's `returns:` at compile time: the typing pass knows the step's output columns and
types (an unknown column after it is a positioned E402, as after any step; the plan carries the
types), a `returns:` is checked by the schema as a dataset's `columns:` is, and belongs to call
steps only; without it the columns after the call stay unknown, as before."""

from __future__ import annotations

import textwrap
from pathlib import Path

from etlc_compiler.api import check_text
from etlc_compiler.compile import plan_checked, render_checked
from etlc_runtime.plan_types import step_types

HEAD = textwrap.dedent("""\
    etlc: 1
    pipeline: call_types
    datasets:
      src:
        format: csv
        path: data/in.csv
        columns: {id: {type: int}, amount: {type: decimal, scale: 2}}
      out: {format: parquet, path: data/out/}
    steps:
      raw: {read: src}
      scored:
        from: raw
        call: fns:score
    """)
RETURNS = """\
    returns:
      id: {type: int}
      amount: {type: decimal, scale: 2}
      score: {type: decimal, scale: 1, precision: 10}
"""
AFTER = """\
  later:
    from: scored
    derive: {twice: "amount * 2", s: "score + 1"}
    filter: "scor > 0"
  save: {from: later, write: out, mode: overwrite}
"""


def at(text: str, line_text: str, needle: str) -> tuple[int, int, int]:
    """(line, col, end col) of ``needle`` in the line holding ``line_text``, 1-based."""
    lines = text.splitlines()
    line = next(i for i, t in enumerate(lines) if line_text in t)
    col = lines[line].index(needle)
    return line + 1, col + 1, col + 1 + len(needle)


def diags(text: str) -> list[tuple]:
    return [(d.code, d.line, d.col, d.end_col) for d in check_text(text, "specs/t.yaml").diagnostics]


def test_unknown_column_after_a_call_with_returns_is_e402_at_the_name():
    text = HEAD + RETURNS + AFTER
    assert diags(text) == [("E402", *at(text, 'filter: "scor > 0"', "scor"))]
    [d] = check_text(text, "specs/t.yaml").diagnostics
    assert "'score'" in d.help


def test_without_returns_the_columns_after_a_call_are_unknown():
    assert diags(HEAD + AFTER) == []


def test_a_call_steps_own_checks_see_its_returns():
    text = HEAD + RETURNS + "    checks: {not_null: [id, scor]}\n"
    assert diags(text) == [("E402", *at(text, "not_null: [id, scor]", "scor"))]


def test_returns_is_checked_as_columns_are():
    bad_type = HEAD + "    returns: {id: {type: integer}}\n"
    line, col, _ = at(bad_type, "returns: {id: {type: integer}}", "integer")
    assert [(c, ln, co) for c, ln, co, _ in diags(bad_type)] == [("E204", line, col)]
    bad_key = HEAD + "    returns: {id: {type: int, sclae: 2}}\n"
    line, col, _ = at(bad_key, "sclae", "sclae")
    assert [(c, ln, co) for c, ln, co, _ in diags(bad_key)] == [("E201", line, col)]


def test_returns_belongs_to_call_steps_only():
    text = HEAD + "  other:\n    from: raw\n    returns: {id: {type: int}}\n"
    line, col, _ = at(text, "returns: {id: {type: int}}", "returns")
    assert [(c, ln, co) for c, ln, co, _ in diags(text)] == [("E310", line, col)]


def test_the_plan_types_after_the_call_come_from_returns(tmp_path: Path):
    text = HEAD + RETURNS + AFTER.replace("scor > 0", "score > 0")
    checked = check_text(text, str(tmp_path / "t.yaml"))
    assert checked.ok, checked.diagnostics
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    [task] = [t.payload for t in plan_checked(checked, tmp_path).tasks]
    dec2 = {"type": "decimal", "scale": 2}
    assert step_types(task, "scored") == {"id": {"type": "int"}, "amount": dec2,
                                          "score": {"type": "decimal", "scale": 1}}
    assert step_types(task, "later") == {"id": {"type": "int"}, "amount": dec2,
                                         "score": {"type": "decimal", "scale": 1},
                                         "twice": dec2, "s": {"type": "decimal", "scale": 1}}
    [scored] = [s for s in task["steps"] if s["name"] == "scored"]
    assert scored["returns"]["score"] == {"type": "decimal", "scale": 1, "precision": 10}
    # the same spec gives the same DAG file, byte for byte
    assert render_checked(checked, tmp_path) == render_checked(
        check_text(text, str(tmp_path / "t.yaml")), tmp_path)


def test_etlc_run_prints_r042_at_the_declared_column(tmp_path: Path):
    """A frame that does not match `returns:` stops `etlc run` with R042 at the column's entry
    under `returns:`; nothing is written."""
    from .conftest import run_cli

    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "in.csv").write_text("id,amount\n1,2.50\n2,1.25\n")
    (tmp_path / "fns.py").write_text("def score(df):\n    return df.assign(score=df['id'] * 0.25)\n")
    text = (HEAD + RETURNS.replace("{type: decimal, scale: 1, precision: 10}", "{type: int}")
            + "  save: {from: scored, write: out, mode: overwrite}\n")
    (tmp_path / "t.yaml").write_text(text)
    r = run_cli("run", str(tmp_path / "t.yaml"), "--color", "never", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    line, col, _ = at(text, "score: {type: int}", "score")
    assert f"t.yaml:{line}:{col}: error[R042]: step 'scored' failed" in r.stderr, r.stderr
    assert all(s in r.stderr for s in ("'score'", "row 0", "0.25"))   # column, row, value
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "data" / "out").exists()
