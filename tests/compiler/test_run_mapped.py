"""`etlc run` of mapped operator steps: every instance runs, in map-index order, over static
lists, `expand_kwargs` and an upstream step's return value; what cannot map fails the step."""

from __future__ import annotations

import json
import textwrap

from .conftest import run_cli

OPS = textwrap.dedent("""\
    import json


    def make():
        return [{"x": 1}, {"x": 2}, {"x": 3}]


    def nothing():
        return None


    def record(x=None, y=None):
        with open("calls.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps([x, y]) + "\\n")
        return x
    """)
PY = "airflow.providers.standard.operators.python:PythonOperator"
SPEC = textwrap.dedent(f"""\
    etlc: 1
    pipeline: mapped
    start_date: 2025-01-01
    steps:
      make:
        python: mapops:{{source}}
      each:
        operator: {PY}
        args: {{{{python_callable: "mapops:record"}}}}
        expand: {{{{op_kwargs: {{{{from: make}}}}}}}}
      grid:
        operator: {PY}
        args: {{{{python_callable: "mapops:record"}}}}
        expand_kwargs: [{{{{op_args: [10, a]}}}}, {{{{op_args: [20, b]}}}}]
        after: [each]
      cross:
        operator: {PY}
        args: {{{{python_callable: "mapops:record"}}}}
        expand: {{{{op_args: [[1], [2]], op_kwargs: [{{{{y: a}}}}, {{{{y: b}}}}]}}}}
        after: [grid]
    """)


def project(tmp_path, source: str):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (tmp_path / "mapops.py").write_text(OPS)
    (tmp_path / "mapped.yaml").write_text(SPEC.format(source=source))
    return tmp_path


def test_each_instance_runs_in_order(tmp_path):
    root = project(tmp_path, "make")
    result = run_cli("run", "mapped.yaml", cwd=root)
    assert result.returncode == 0, result.stderr
    calls = [json.loads(line) for line in (root / "calls.jsonl").read_text().splitlines()]
    assert calls == [[1, None], [2, None], [3, None],           # over make's return value
                     [10, "a"], [20, "b"],                       # expand_kwargs
                     [1, "a"], [1, "b"], [2, "a"], [2, "b"]]     # cross product, as Airflow


def test_mapping_over_a_return_value_that_is_no_list_fails_the_step(tmp_path):
    root = project(tmp_path, "nothing")
    result = run_cli("run", "mapped.yaml", cwd=root)
    assert result.returncode == 1
    assert "R001" in result.stderr and "step 'each' failed" in result.stderr and "NoneType" in result.stderr
    assert not (root / "calls.jsonl").exists()
