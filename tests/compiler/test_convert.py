"""`etlc convert dag-factory`: what converts becomes a valid etlc spec; what does not is named
with its file position, and the spec is still written without it."""

from __future__ import annotations

from pathlib import Path

from etlc_compiler.api import check_file
from etlc_compiler.convert import convert_file, dump

SOURCE = """\
default:
  default_args:
    owner: team
    start_date: 2024-01-01
    retry_delay_sec: 90
my-dag:
  schedule: "@daily"
  dagrun_timeout_sec: 7200
  params: {limit: 5, ratio: 0.5, flag: true, name: x}
  tasks:
    - task_id: a
      operator: airflow.providers.standard.operators.empty.EmptyOperator
    - task_id: b
      operator: airflow.providers.standard.operators.python.PythonOperator
      python_callable_name: fn
      python_callable_file: /opt/fn.py
      dependencies: [a]
      execution_timeout: {__type__: datetime.timedelta, hours: 1}
"""


def test_convert_reports_what_it_cannot_and_writes_a_valid_spec(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\nversion = '0'\n")
    src = tmp_path / "dags.yml"
    src.write_text(SOURCE)
    specs, notes = convert_file(src)
    assert list(specs) == ["my_dag"]
    spec = specs["my_dag"]
    assert spec["owner"] == "team" and spec["start_date"] == "2024-01-01"
    assert spec["defaults"] == {"retry_delay": "90s"} and spec["dagrun_timeout"] == "2h"
    assert spec["params"] == {"limit": {"type": "integer", "default": 5}, "ratio": {"type": "number", "default": 0.5},
                              "flag": {"type": "boolean", "default": True}, "name": {"type": "string", "default": "x"}}
    assert spec["steps"]["b"]["after"] == ["a"]
    where = sorted(n.split(": not converted")[0].removeprefix(str(src) + ":") for n in notes)
    # the renamed DAG (6:1), python_callable_name/file (15:29, 16:29); the Python object converts
    assert where == ["15:29", "16:29", "6:1"], notes
    assert spec["steps"]["b"]["args"]["execution_timeout"] == {"__type__": "datetime.timedelta", "hours": 1}
    out = tmp_path / "specs"
    out.mkdir()
    (out / "my_dag.yaml").write_text(dump(spec, "dags.yml"))
    checked = check_file(out / "my_dag.yaml")
    assert [d.code for d in checked.diagnostics if d.is_error] == []
