"""Issue 10, compile-time guarantees of the typing pass, and their run-time side.

Findings: the plan's column types were wrong when an aggregate output reused an input's name
(`aggregate: {price: "count(*)"}` over a decimal `price` made a later `sum(price)` 3.0, not
3); a `derive` that redefined a column with a new type validated, then failed at run time on
pandas; join keys of different types failed at run time with a raw pandas message;
`partition_by`/`key` columns dropped upstream failed only at the write; `sort` with a
`distinct` on some columns silently did not choose the surviving row.  Each engine runs the
specs the pass accepts (pandas and duckdb).
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from etlc_compiler import api
from etlc_compiler.compile import plan_checked
from etlc_runtime.local import run_pipeline
from etlc_runtime.plan_types import step_types

from .conftest import run_cli

ENGINES = ["pandas", "duckdb"]
HEAD = """\
etlc: 1
pipeline: guarantees
schedule: null
start_date: 2025-01-01
defaults:
  engine: {engine}
datasets:
  src:
    format: csv
    path: data/in.csv
    columns:
      id: {{type: int}}
      price: {{type: decimal, scale: 2}}
      ts: {{type: string}}
      day: {{type: date}}
  out:
    format: json
    path: data/out.jsonl
"""
ROWS = ("id,price,ts,day\n1,1.50,2025-01-01 10:00:00,2025-01-01\n"
        "2,2.25,2025-01-02 11:00:00,2025-01-02\n3,3.00,2025-01-03 12:00:00,2025-01-03\n")


def _project(tmp_path: Path, steps: str, engine: str = "pandas") -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "in.csv").write_text(ROWS)
    spec = tmp_path / "spec.yaml"
    spec.write_text(HEAD.format(engine=engine) + textwrap.dedent(steps))
    return spec


def _check(spec: Path):
    return api.check_file(spec)


def _codes(checked) -> list[tuple[str, int, int]]:
    return [(d.code, d.line, d.col) for d in checked.diagnostics]


def _run(spec: Path) -> dict:
    checked = _check(spec)
    assert checked.ok, checked.diagnostics
    payload = plan_checked(checked, spec.parent).pipeline_payload()
    summary = run_pipeline(payload, project_root=str(spec.parent))
    assert summary["status"] == "success", summary["error"]
    return summary


def _types(spec: Path, step: str) -> dict:
    payload = plan_checked(_check(spec), spec.parent).pipeline_payload()
    for task in payload["tasks"]:
        if any(s.get("name") == step for s in task.get("steps", [])):
            return step_types(task, step)
    raise AssertionError(f"no task runs {step}")


def _out(spec: Path) -> list[dict]:
    text = (spec.parent / "data" / "out.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines()]


AGG = """\
steps:
  raw:
    read: src
  counted:
    from: raw
    aggregate:
      price: "count(*)"
    metrics:
      n: "sum(price)"
  later:
    from: counted
    derive:
      total: "price + 1"
    metrics:
      s: "sum(price)"
  save:
    from: later
    write: out
    mode: overwrite
"""


def test_aggregate_output_reusing_an_input_name_is_typed_as_the_output(tmp_path):
    spec = _project(tmp_path, AGG)
    assert "price" not in _types(spec, "counted")      # decimal in, int out: no one type
    assert _types(spec, "later")["price"] == {"type": "int"}


@pytest.mark.parametrize("engine", ENGINES)
def test_sum_over_a_reused_aggregate_name_is_an_int(tmp_path, engine):
    spec = _project(tmp_path, AGG, engine)
    summary = _run(spec)
    metrics = {k: v for t in summary["tasks"] for k, v in (t.get("metrics") or {}).items()}
    assert metrics["counted"]["n"] == 3 and isinstance(metrics["counted"]["n"], int)
    assert metrics["later"]["s"] == 3 and isinstance(metrics["later"]["s"], int)
    assert _out(spec) == [{"price": 3, "total": 4}]


REDEFINE = """\
steps:
  raw:
    read: src
  conv:
    from: raw
    filter: "ts <> ''"
    derive:
      ts: "to_timestamp(ts, '%Y-%m-%d %H:%M:%S')"
      later_than: "ts > timestamp '2025-01-01 12:00:00'"
    metrics:
      latest: "max(ts)"
  kept:
    from: conv
    filter: "ts > timestamp '2025-01-01 12:00:00'"
    derive:
      d: "to_date(ts)"
  save:
    from: kept
    write: out
    mode: overwrite
"""


def test_derive_redefining_a_column_validates_and_types_downstream(tmp_path):
    spec = _project(tmp_path, REDEFINE)
    checked = _check(spec)
    assert checked.ok and not checked.diagnostics
    assert "ts" not in _types(spec, "conv")             # string in, timestamp out
    kept = _types(spec, "kept")
    assert kept["ts"] == {"type": "timestamp"} and kept["d"] == {"type": "date"}
    assert _types(spec, "conv")["later_than"] == {"type": "bool"}


@pytest.mark.parametrize("engine", ENGINES)
def test_derive_redefining_a_column_runs_on_every_engine(tmp_path, engine):
    spec = _project(tmp_path, REDEFINE, engine)
    _run(spec)
    rows = sorted(_out(spec), key=lambda r: r["id"])
    assert [r["id"] for r in rows] == [2, 3]
    assert rows[0]["ts"] == "2025-01-02 11:00:00" and rows[0]["d"] == "2025-01-02"
    assert rows[0]["later_than"] is True


JOIN = """\
  dim:
    format: csv
    path: data/dim.csv
    columns:
      key: {{type: {key}}}
      label: {{type: string}}
steps:
  raw:
    read: src
  labels:
    read: dim
  joined:
    from: raw
    join: {{with: labels, on: {{{left}: key}}}}
  save:
    from: joined
    write: out
    mode: overwrite
"""


@pytest.mark.parametrize("left,key,ok", [
    ("id", "string", False), ("day", "timestamp", False), ("ts", "int", False),
    ("id", "decimal", True), ("id", "float", True), ("day", "date", True),
    ("ts", "string", True)])
def test_join_keys_of_different_types_are_e411_at_the_key(tmp_path, left, key, ok):
    spec = _project(tmp_path, JOIN.format(left=left, key=key))
    codes = _codes(_check(spec))
    lines = spec.read_text().splitlines()
    at = next(i for i, line in enumerate(lines, 1) if "join: {with: labels" in line)
    col = lines[at - 1].index(left + ":") + 1
    assert codes == ([] if ok else [("E411", at, col)])


@pytest.mark.parametrize("upstream,field", [
    ("select: [price, ts]", "partition_by: [id]"),
    ("drop: [id]", "partition_by: [id]"),
    ("rename: {id: ident}", "key: [id]"),
    ("group_by: [day]\n        aggregate: {n: \"count(*)\"}", "partition_by: [id]")])
def test_partition_and_key_columns_that_do_not_reach_the_write_are_e412(tmp_path, upstream,
                                                                          field):
    steps = f"""\
    steps:
      raw:
        read: src
      shaped:
        from: raw
        {upstream}
      save:
        from: shaped
        write: out
        mode: overwrite
    """
    text = HEAD.replace("    path: data/out.jsonl\n", "    path: data/out/\n    " + field + "\n")
    spec = _project(tmp_path, "")
    spec.write_text(text.format(engine="pandas") + textwrap.dedent(steps))
    checked = _check(spec)
    got = [d for d in checked.diagnostics if d.code == "E412"]
    assert len(got) == 1 and "'id'" in got[0].message
    line = next(i for i, t in enumerate(spec.read_text().splitlines(), 1) if "write: out" in t)
    assert (got[0].line, got[0].col) == (line, 12)


def test_partition_column_that_reaches_the_write_is_fine(tmp_path):
    text = HEAD.replace("    path: data/out.jsonl\n", "    path: data/out/\n    partition_by: [id]\n")
    spec = _project(tmp_path, "")
    spec.write_text(text.format(engine="pandas") + textwrap.dedent("""\
        steps:
          raw:
            read: src
          save:
            from: raw
            write: out
            mode: overwrite
        """))
    assert _codes(_check(spec)) == []


@pytest.mark.parametrize("distinct,sort,warned", [
    ("[id]", '["-ts"]', True), ("[id]", '["-id"]', False), ("true", '["-ts"]', False),
    ("[id, ts]", '["ts", "-id"]', False), ("[day]", "[id]", True)])
def test_sort_with_distinct_warns_which_one_decides(tmp_path, distinct, sort, warned):
    spec = _project(tmp_path, f"""\
        steps:
          raw:
            read: src
          one:
            from: raw
            sort: {sort}
            distinct: {distinct}
          save:
            from: one
            write: out
            mode: overwrite
        """)
    checked = _check(spec)
    assert checked.ok
    w = [d for d in checked.diagnostics if d.code == "W402"]
    assert len(w) == (1 if warned else 0)
    if warned:
        assert w[0].severity == "warning" and "distinct runs first" in w[0].message


def test_etlc_run_prints_each_steps_metrics(tmp_path):
    spec = _project(tmp_path, AGG)
    done = run_cli("run", str(spec), "--date", "2025-01-02", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "metrics:" in done.stderr
    assert "later/counted: n = 3" in done.stderr or "/counted: n = 3" in done.stderr
    assert "/later: s = 3" in done.stderr
