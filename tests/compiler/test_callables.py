"""Functions a spec names (callbacks on the DAG, defaults and steps) must import as callables
where the project lives (E332, at the name); task settings at dag-factory's level validate on
data steps and operator steps alike."""

from __future__ import annotations

from pathlib import Path

import pytest
from etlc_compiler.api import check_file

SPEC = """\
etlc: 1
pipeline: cb
start_date: 2025-01-01
{top}
defaults:
  retries: 1
{defaults}
datasets:
  src: {{format: csv, path: data/in.csv, columns: {{x: {{type: int}}}}}}
  dst: {{format: csv, path: data/out.csv}}
steps:
  raw:
    read: src
  save:
    from: raw
    write: dst
    mode: overwrite
{step}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\nversion = '0'\n")
    (tmp_path / "myhooks").mkdir()
    (tmp_path / "myhooks" / "__init__.py").write_text("")
    (tmp_path / "myhooks" / "cb.py").write_text("def ok(context):\n    return None\n\nVALUE = 1\n")
    (tmp_path / "specs").mkdir()
    return tmp_path


def codes(project: Path, top: str = "", defaults: str = "", step: str = "") -> list[tuple[str, int, int]]:
    spec = project / "specs" / "cb.yaml"
    spec.write_text(SPEC.format(top=top, defaults=defaults, step=step))
    return [(d.code, d.line, d.col) for d in check_file(spec).diagnostics]


def test_callbacks_that_import_pass(project):
    assert codes(project, top="on_failure_callback: myhooks.cb:ok",
                 defaults="  on_retry_callback: {function: myhooks.cb:ok, args: {a: 1}}",
                 step="    on_success_callback: [myhooks.cb:ok]\n    trigger_rule: all_done") == []


@pytest.mark.parametrize(("top", "defaults", "step", "where"), [
    ("on_failure_callback: myhooks.cb:VALUE", "", "", (4, 22)),          # not callable
    ("", "  on_retry_callback: myhooks.missing:ok", "", (7, 22)),       # no such module
    ("", "", "    on_success_callback: [myhooks.cb:ok, myhooks.cb:nope]", (18, 42)),  # no such function
    ("", "", "    on_execute_callback: os:system", (18, 26)),           # standard library
])
def test_callbacks_that_do_not_import_are_e332_at_the_name(project, top, defaults, step, where):
    assert codes(project, top, defaults, step) == [("E332", *where)]


def test_task_settings_validate_on_data_steps(project):
    step = ("    owner: loader\n    depends_on_past: true\n    email: [a@example.com]\n"
            "    email_on_failure: false\n    max_active_tis_per_dag: 2\n    pool_slots: 2\n"
            "    retry_exponential_backoff: true\n    max_retry_delay: 1h")
    assert codes(project, step=step) == []


def test_an_unknown_trigger_rule_is_e204(project):
    assert codes(project, step="    trigger_rule: all_sucess") == [("E204", 18, 19)]


def test_python_steps_import_check_their_function(project):
    ok = "  hello:\n    python: myhooks.cb:ok\n    args: {context: 1}"
    assert codes(project, step=ok) == []
    assert codes(project, step="  hello:\n    python: myhooks.cb:gone") == [("E332", 19, 13)]
    legacy = ("  hello:\n    operator: airflow.providers.standard.operators.python:PythonOperator\n"
              "    args: {python_callable: myhooks.cb:VALUE}")
    assert codes(project, step=legacy) == [("E332", 20, 29)]


def test_python_on_a_data_step_is_e304(project):
    assert codes(project, step="    python: myhooks.cb:ok")[0][0] == "E304"


def test_user_macros_and_filters_are_import_checked_and_usable_in_operator_templates(project):
    top = "macros: {twice: myhooks.cb:ok}\nfilters: {loud: myhooks.cb:ok}"
    step = ("  hello:\n    operator: airflow.providers.standard.operators.bash:BashOperator\n"
            "    args: {bash_command: \"{{ twice(ds) }} {{ ds | loud }} {{ var.value.x }}\"}")
    assert codes(project, top=top, step=step) == []
    assert [c for c, *_ in codes(project, step=step)] == ["E312", "E312"]  # undeclared: twice, loud
    assert codes(project, top="macros: {twice: myhooks.cb:VALUE}") == [("E332", 4, 17)]


def test_typed_objects_are_safe_constructors_or_import_checked(project):
    step = "  wait:\n    operator: airflow.providers.standard.operators.empty:EmptyOperator\n    args: {executor_config: %s}"
    assert codes(project, step=step % "{__type__: datetime.timedelta, hours: 1}") == []
    assert codes(project, step=step % "{__type__: myhooks.cb.ok}") == []
    assert codes(project, step=step % "{__type__: os.system}") == [("E332", 20, 40)]
    assert codes(project, step=step % "{__type__: myhooks.cb.VALUE}") == [("E332", 20, 40)]
