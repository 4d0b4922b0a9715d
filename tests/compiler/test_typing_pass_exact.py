"""The typing pass's column diagnostics, exactly: every diagnostic of a spec (not only the
first, as the invalid corpus checks), each with its file, code, severity, start and end,
found independently by searching the spec's text, and the names its help suggests (the
quoted names, not the wording). Written
against the mutants mutmut found alive (docs/testing.md, "Mutation testing")."""

from __future__ import annotations

import re
import textwrap

import pytest
from etlc_compiler.api import check_text

HEAD = textwrap.dedent("""\
    etlc: 1
    pipeline: typing_exact
    datasets:
      a:
        format: csv
        path: data/a.csv
        columns: {id: {type: int}, name: {type: string}, amt: {type: float}}
      b:
        format: csv
        path: data/b.csv
        columns: {id: {type: int}, label: {type: string}, name: {type: string}}
      u:
        format: csv
        path: data/u.csv
    steps:
      ra:
        read: a
      rb:
        read: b
    """)


def at(text: str, line_text: str, needle: str, nth: int = 0) -> tuple[int, int, int]:
    """(line, col, end col) of the nth ``needle`` in the line holding ``line_text``; 1-based,
    the end exclusive."""
    lines = text.splitlines()
    line = next(i for i, t in enumerate(lines) if line_text in t)
    col = -1
    for _ in range(nth + 1):
        col = lines[line].index(needle, col + 1)
    return line + 1, col + 1, col + 1 + len(needle)


def found(steps: str) -> tuple[str, list[tuple]]:
    text = HEAD + textwrap.indent(textwrap.dedent(steps), "  ")
    diags = check_text(text, "specs/t.yaml").diagnostics
    assert {d.path for d in diags} <= {"specs/t.yaml"}
    assert all(isinstance(d.message, str) and d.message for d in diags)
    return text, [(d.code, d.severity, d.line, d.col, d.end_line, d.end_col, hint(d.help))
                  for d in diags]


def hint(help_text: str | None) -> tuple[str, ...] | bool:
    """The names a help suggests, or whether there is a help at all."""
    if help_text is None:
        return False
    return tuple(re.findall(r"'([^']*)'", help_text)) or True


def e(code, where, help=False, severity="error"):
    line, col, end = where
    return (code, severity, line, col, line, end, help)


def test_unknown_names_in_select_and_sort_are_at_the_name():
    text, diags = found("""\
          s1:
            read: a
            select: [id, nme]
          t:
            from: ra
            sort: [id, -nme]
            drop: [amt, amount]
        """)
    assert diags == [
        e("E402", at(text, "select: [id, nme]", "nme"), ("name",)),
        e("E402", at(text, "sort: [id, -nme]", "nme"), ("name",)),
        e("E402", at(text, "drop: [amt, amount]", "amount"), ("amt",)),
    ]


def test_join_keys_of_a_list():
    text, diags = found("""\
          t:
            from: ra
            join: {with: rb, on: [id, idd]}
        """)
    line = "join: {with: rb"
    assert diags == [
        e("E402", at(text, line, "rb"), ("id",)),      # idd is not in rb either
        e("E409", at(text, line, "rb"), True),
        e("E402", at(text, line, "idd"), ("id",)),
    ]


def test_join_keys_of_a_mapping_are_at_the_key():
    text, diags = found("""\
          t:
            from: ra
            join: {with: rb, on: {idd: id, name: lbl}}
        """)
    line = "join: {with: rb"
    assert [d[:6] for d in diags] == [
        e("E402", at(text, line, "rb"))[:6], e("E409", at(text, line, "rb"))[:6],
        e("E402", at(text, line, "idd"))[:6]]
    assert [d[6] for d in diags] == [("label",),
                                     True,
                                     ("id",)]


@pytest.mark.parametrize("how", ["semi", "anti"])
def test_a_semi_or_anti_join_keeps_the_left_columns_only(how):
    text, diags = found(f"""\
          t:
            from: ra
            join: {{with: rb, on: [id], how: {how}}}
          u:
            from: t
            select: [id, name, label]
        """)
    assert diags == [e("E402", at(text, "select: [id, name, label]", "label"))]


def test_joined_columns_carry_their_types():
    text, diags = found("""\
          t:
            from: ra
            join: {with: rb, on: [id, name]}
            filter: "label > 1"
        """)
    assert [d[:6] for d in diags] == [e("E405", at(text, 'filter: "label > 1"', "1"))[:6]]


def test_an_expression_error_is_at_its_operand():
    text, diags = found("""\
          t:
            from: ra
            filter: "amt > 'x'"
        """)
    assert diags == [e("E405", at(text, "filter: \"amt > 'x'\"", "'x'"))]
