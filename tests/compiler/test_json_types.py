"""The json column type in the compiler: typed through steps, JSON paths checked where the
spec writes them (E421), the cast: step key refusing json to anything but string (E405)."""
from __future__ import annotations

from etlc_compiler.api import check_text

SPEC = """\
etlc: 1
pipeline: js
start_date: 2025-01-01
schedule: null
datasets:
  events:
    format: json
    path: data/events.jsonl
    columns:
      id: {{type: int}}
      ev: {{type: json}}
steps:
  raw:
    read: events
  flat:
    from: raw
    derive:
      url: "ev ->> '{path}'"
      n: "cast(ev -> 'n' as int) + 1"
    cast: {{ev: {cast}}}
"""


def diags(path: str = "$.page.url", cast: str = "string"):
    checked = check_text(SPEC.format(path=path, cast=cast), "s.yaml")
    return checked, [(d.code, d.line, d.col) for d in checked.diagnostics]


def test_json_columns_type_through_steps():
    checked, found = diags()
    assert found == []
    assert checked.step_types["raw"]["ev"] == {"type": "json"}
    assert checked.step_types["flat"] == {"id": {"type": "int"}, "url": {"type": "string"},
                                          "n": {"type": "int"}}  # ev changes type: left out


def test_a_bad_path_is_e421_at_the_path():
    # line 18 is `      url: "ev ->> '$.page[*]'"`; the path literal starts at column 20
    assert diags(path="$.page[*]")[1] == [("E421", 18, 20)]


def test_cast_step_key_takes_json_to_string_only():
    assert diags(cast="int")[1] == [("E405", 20, 16)]  # at the type of `    cast: {ev: int}`
