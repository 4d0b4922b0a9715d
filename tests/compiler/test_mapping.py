"""Dynamic task mapping: expand / expand_kwargs / map_index_template on operator steps only,
over non-empty lists or an upstream operator step's XCom (E333 at the key or name); a step
mapped over another's XCom runs after it."""

from __future__ import annotations

import pytest
from etlc_compiler.api import check_text

SPEC = """\
etlc: 1
pipeline: mapped
start_date: 2025-01-01
datasets:
  a: {{format: csv, path: data/a.csv, columns: {{x: {{type: int}}}}}}
steps:
  ra:
    read: a
  lister:
    operator: airflow.providers.standard.operators.empty:EmptyOperator
  echo:
    operator: airflow.providers.standard.operators.bash:BashOperator
{echo}
"""


def diags(echo: str) -> list[tuple[str, int, int]]:
    checked = check_text(SPEC.format(echo=echo), "m.yaml")
    return [(d.code, d.line, d.col) for d in checked.diagnostics]


def test_valid_mappings_pass_and_xcom_sources_become_upstream():
    assert diags('    expand: {bash_command: ["echo 1"]}\n    map_index_template: "{{ task.bash_command }}"') == []
    checked = check_text(SPEC.format(echo="    expand: {bash_command: {from: lister}}"), "m.yaml")
    assert list(checked.diagnostics) == []
    assert checked.spec.steps["echo"].upstream == ("lister",)


@pytest.mark.parametrize(("echo", "where"), [
    ("    expand: {bash_command: {from: ra}}", (13, 35)),             # a data step's XCom
    ("    expand: {bash_command: {from: nope}}", (13, 35)),           # no such step
    ('    args: {bash_command: "x"}\n    expand: {bash_command: ["a"]}', (14, 14)),  # both
    ("    expand: {bash_command: []}", (13, 28)),                      # empty list
    ('    expand: {x: [1]}\n    expand_kwargs: [{x: 1}]', (14, 5)),     # both forms
    ('    map_index_template: "{{ task.x }}"', (13, 5)),                # nothing to map
])
def test_mapping_mistakes_are_e333(echo, where):
    assert ("E333", *where) in diags(echo)


def test_mapping_a_data_step_is_e333():
    text = SPEC.format(echo="").replace("    read: a\n", "    read: a\n    expand: {x: [1]}\n")
    found = [(d.code, d.line, d.col) for d in check_text(text, "m.yaml").diagnostics]
    assert ("E333", 9, 5) in found
