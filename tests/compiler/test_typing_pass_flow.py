"""How the typing pass carries column types through a step, exactly: unknown columns (a
source without declared columns, a failed expression), `group_by` without `aggregate`,
`union` and `join` beside an unknown side, the column lists of E409 and E410, the step
types handed to the plan, W301's severity and which expression error is reported. Each
test was written against a mutant that survived the complete mutmut run of 2026-12-01
(docs/testing.md, "Mutation testing"); diagnostics are compared by code, severity,
position and the names they quote, never by wording."""

from __future__ import annotations

import re

import pytest
from etlc_compiler import typing_pass
from etlc_compiler.api import check_text

from .test_typing_pass_exact import HEAD, at, e, found

INT, STRING, FLOAT = {"type": "int"}, {"type": "string"}, {"type": "float"}
RA = {"id": INT, "name": STRING, "amt": FLOAT}


def w401(text: str) -> tuple:
    """The one W401 of reading the undeclared dataset `u`: at its name."""
    return e("W401", at(text, "read: u", "u"), True, severity="warning")


def checked(steps: str):
    text, _ = found(steps)   # the same spec, with found()'s checks of every diagnostic
    return text, check_text(text, "specs/t.yaml")


def quoted(message: str) -> tuple[str, ...]:
    """The names a message quotes (the column and the step), not its wording."""
    return tuple(re.findall(r"'([^']*)'", message))


def listed(message: str) -> list[str]:
    """The column names a message lists after its last colon (E409, E410)."""
    return re.findall(r"[a-z_]+", message.rsplit(":", 1)[1])


# specs with exactly one E402: (steps, the line it is on, the name it is at, the names its help suggests)
ONE_E402 = {
    "only the first error of an expression is reported": ("""\
          t:
            from: ra
            filter: "nme > 1 and lbl > 2"
        """, 'filter: "nme', "nme", ("name",)),
    "an aggregate that fails is unknown downstream (no error of n + 1, no crash casting it)": ("""\
          t:
            from: ra
            group_by: [name]
            aggregate: {n: "sum(nme)", nm: "upper(name)"}
            cast: {n: int}
          u:
            from: t
            filter: "n + 1 > 0"
        """, 'aggregate: {n: "sum(nme)"', "nme", ("name",)),
    "group_by alone keeps the keys only": ("""\
          t:
            from: ra
            group_by: [name]
            select: [id]
        """, "select: [id]", "id", False),
    "a name with a minus is a name outside sort": ("""\
          t:
            from: ra
            select: [id, -amt]
        """, "select: [id, -amt]", "-amt", ("amt",)),
    "expect of checks is typed against the output": ("""\
          t:
            from: ra
            select: [id]
            checks: {expect: ["id > 0", "amt > 0"]}
        """, '"amt > 0"', "amt", False),
}


@pytest.mark.parametrize("case", ONE_E402.values(), ids=list(ONE_E402))
def test_one_e402(case):
    steps, line, name, suggested = case
    text, diags = found(steps)
    assert diags == [e("E402", at(text, line, name), suggested)]


def test_a_column_whose_expression_fails_is_unknown_downstream():
    text, result = checked("""\
          t:
            from: ra
            derive: {x: "sum(amt)", y: "nme + 1"}
            cast: {y: int}
          u:
            from: t
            filter: "x + 1 > 0"
        """)
    # sum(amt) outside an aggregate is E407 but would type as float: the column is unknown
    assert [(d.code, d.line, d.col) for d in result.diagnostics] == [
        ("E407", *at(text, "derive: {x:", "sum")[:2]), ("E402", *at(text, "derive: {x:", "nme")[:2])]
    assert result.step_types["u"] == RA | {"y": INT}          # x: unknown, left out


def test_an_unknown_group_by_key_is_at_its_name():
    text, result = checked("""\
          t:
            from: ra
            group_by: [id, nme]
            aggregate: {n: "count(*)"}
        """)
    (d,) = result.diagnostics
    assert (d.code, d.line, d.col, d.end_line, d.end_col) == ("E402", *at(text, "group_by: [id, nme]", "nme")[:2],
                                                             *at(text, "group_by: [id, nme]", "nme")[::2])
    assert quoted(d.message) == ("nme", "t") and quoted(d.help) == ("name",)


def test_union_and_join_beside_an_unknown_side_are_unknown():
    text, result = checked("""\
          ru:
            read: u
          t:
            from: ru
            union: [ra]
          v:
            from: ra
            union: [ru]
          w:
            from: ru
            join: {with: rb, on: [id]}
          x:
            from: ra
            join: {with: ru, on: [id]}
            filter: "anything > 1"
        """)
    assert [(d.code, d.severity, d.line, d.col, d.end_line, d.end_col)
            for d in result.diagnostics] == [w401(text)[:6]]
    # the columns of the left input are noted before the join made them unknown
    assert result.step_types["x"] == RA and "w" not in result.step_types


def test_e410_lists_the_columns_that_differ():
    text, result = checked("""\
          t:
            from: ra
            union: [ra, rb]
        """)
    (d,) = result.diagnostics
    assert (d.code, d.line, d.col, d.end_col) == ("E410", *at(text, "union: [ra, rb]", "rb"))
    assert quoted(d.message) == ("rb",) and listed(d.message) == ["amt", "label"]


def test_e409_lists_the_clashing_columns_and_a_mapping_shares_no_key():
    text, result = checked("""\
          t:
            from: ra
            join: {with: rb, on: {id: id}}
          s:
            from: ra
            join: {with: rb, on: [id]}
        """)
    first, second = result.diagnostics
    assert (first.code, first.line, first.col) == ("E409", *at(text, "on: {id: id}", "rb")[:2])
    assert quoted(first.message) == ("rb",) and listed(first.message) == ["id", "name"]
    assert (second.code, second.line) == ("E409", at(text, "on: [id]", "rb")[0])
    assert listed(second.message) == ["name"]


def test_an_unknown_key_of_the_joined_step_names_that_step():
    text, result = checked("""\
          t:
            from: ra
            join: {with: rb, on: {id: idd, name: name}}
        """)
    (d,) = [d for d in result.diagnostics if d.code == "E402"]
    assert (d.line, d.col, d.end_col) == at(text, "join: {with: rb", "rb")
    assert quoted(d.message) == ("idd", "rb") and quoted(d.help) == ("id",)


def test_step_types_leave_out_a_column_retyped_inside_the_step():
    _, result = checked("""\
          t:
            from: ra
            join: {with: rb, on: [id, name]}
            derive: {label: "amt > 1", x: "amt > 1"}
            cast: {x: int}
        """)
    assert result.diagnostics == ()
    # label: string from the join, then bool; x: bool from derive, then int
    assert result.step_types["t"] == RA


def test_w301_is_a_warning_at_the_first_window_even_after_an_error():
    text, diags = found("""\
          t:
            from: ra
            derive: {w: "row_number() over (order by id)"}
          u:
            from: ra
            parallelism: airflow
            derive: {bad: "id +", w: "row_number() over (order by id)", v: "row_number() over (order by id)"}
        """)
    line = 'derive: {bad: "id +"'
    end = at(text, line, '+"')     # the end of the text: one column, the closing quote
    assert [d[:6] for d in diags] == [e("E401", (end[0], end[1] + 1, end[2]))[:6],
                                      e("W301", at(text, line, "w"), severity="warning")[:6]]


def test_an_error_across_lines_has_no_end():
    text, diags = found("""\
          t:
            from: ra
            filter: |-
              amt
              + 1
        """)
    line, col, _ = at(text, "      amt", "amt")
    assert [d[:6] for d in diags] == [("E405", "error", line, col, None, None)]


def test_a_transform_without_an_input_has_unknown_columns():
    result = check_text(HEAD + "  t:\n    filter: \"id > 1\"\n", "specs/t.yaml")
    diags, types = typing_pass.check(result.loaded, result.spec, graph_ok=True)
    assert diags == [] and set(types) == {"ra", "rb"}


def test_parameters_have_the_types_of_their_json_types():
    params = ("params:\n  n: {type: number, default: 1.5}\n  i: {type: integer, default: 1}\n"
              "  s: {type: string, default: x}\n  b: {type: boolean, default: true}\n"
              "  arr: {type: array, default: [1]}\n")
    text = HEAD.replace("datasets:\n", params + "datasets:\n", 1) + (
        '  t:\n    from: ra\n    derive: {a: "$n", b: "$i", c: "$s", d: "$b", e: "$arr"}\n'
        "  u:\n    from: ra\n    filter: \"amt > $s\"\n")
    result = check_text(text, "specs/t.yaml")
    assert [(d.code, d.line, d.col, d.end_col) for d in result.diagnostics] == [
        ("E405", *at(text, 'filter: "amt > $s"', "$s"))]
    # an array parameter is unknown: left out
    assert result.step_types["t"] == RA | {"a": FLOAT, "b": INT, "c": STRING, "d": {"type": "bool"}}


def test_a_read_step_filters_its_declared_columns():
    text, diags = found("""\
          r:
            read: a
            filter: "nme > 1"
          q:
            read: a
            filter: "amt + 1"
          s:
            read: nope
            filter: "zz > 1"
          t:
            from: s
            filter: "yy > 1"
        """)
    assert [d[:6] for d in diags] == [e("E402", at(text, 'filter: "nme > 1"', "nme"))[:6],
                                      e("E405", at(text, 'filter: "amt + 1"', "amt + 1"))[:6],
                                      e("E302", at(text, "read: nope", "nope"))[:6]]


def test_a_read_step_selects_its_columns():
    text, result = checked("""\
          r:
            read: a
            select: [id, nme]
          t:
            from: r
            filter: "amt > 1"
        """)
    first, second = result.diagnostics
    assert (first.code, first.line, first.col) == ("E402", *at(text, "select: [id, nme]", "nme")[:2])
    assert quoted(first.message) == ("nme", "r")
    assert (second.code, second.line, second.col) == ("E402", *at(text, 'filter: "amt > 1"', "amt")[:2])
    assert result.step_types["r"] == {"id": INT}


def test_one_w401_per_dataset_however_often_it_is_read():
    text, diags = found("""\
          ru:
            read: u
          rv:
            read: u
          t:
            from: rv
            filter: "anything > 1"
        """)
    assert diags == [w401(text)]


def test_unknown_columns_of_checks_name_the_step():
    text, result = checked("""\
          t:
            from: ra
            checks: {not_null: [nme], unique: [id, amtt]}
        """)
    line = "checks: {not_null"
    assert [(d.code, d.line, d.col, d.end_col, quoted(d.message), quoted(d.help))
            for d in result.diagnostics] == [("E402", *at(text, line, "nme"), ("nme", "t"), ("name",)),
                                             ("E402", *at(text, line, "amtt"), ("amtt", "t"), ("amt",))]


def test_e412_names_the_dataset_and_the_step():
    text = HEAD.replace("steps:\n", "  p:\n    format: parquet\n    path: data/p/\n"
                        "    partition_by: [region]\nsteps:\n", 1) + (
        "  w:\n    from: ra\n    write: p\n    mode: overwrite\n")
    (d,) = check_text(text, "specs/t.yaml").diagnostics
    assert (d.code, d.line, d.col, d.end_col) == ("E412", *at(text, "write: p", "p"))
    assert quoted(d.message)[:3] == ("region", "p", "w")


def test_a_write_without_an_input_writes_unknown_columns():
    text, diags = found("""\
          w:
            write: a
            mode: overwrite
        """)
    assert [d[:4] for d in diags] == [("E202", "error", *at(text, "  w:", "w")[:2])]


def test_the_output_of_an_operator_step_is_unknown():
    text, diags = found("""\
          op:
            operator: airflow.providers.standard.operators.empty:EmptyOperator
          t:
            from: op
            filter: "anything > 1"
        """)
    # nothing is read from an operator step: its E313, and no E402 of unknown columns
    assert [d[:4] for d in diags] == [("E313", "error", *at(text, "from: op", "op")[:2])]


def test_step_types_carry_scale_and_size_and_leave_out_null():
    text = HEAD.replace("steps:\n", "  v:\n    format: parquet\n    path: data/v/\n    columns: "
                        "{d: {type: decimal, scale: 2}, e: {type: vector, size: 3}}\nsteps:\n", 1) + (
        '  t:\n    read: v\n  s:\n    from: t\n    derive: {z: "null", n: "d + 1"}\n')
    result = check_text(text, "specs/t.yaml")
    assert result.diagnostics == ()
    v = {"d": {"type": "decimal", "scale": 2}, "e": {"type": "vector", "size": 3}}
    assert result.step_types["t"] == v
    assert result.step_types["s"] == v | {"n": {"type": "decimal", "scale": 2}}


def test_unknown_names_of_column_lists_name_the_key_and_the_step():
    text, result = checked("""\
          t:
            from: ra
            select: [id, name, amt, nm]
            rename: {nme: n2, amt: amount}
            drop: [amtt]
            cast: {idd: int, id: string}
            distinct: [nam]
            sort: [-ide]
          u:
            from: t
            select: [id, name, amount]
        """)
    assert [(d.code, d.line, d.col, d.end_col, quoted(d.message)) for d in result.diagnostics
            if d.code == "E402"] == [
        ("E402", *at(text, "select: [id, name, amt, nm]", "nm"), ("nm", "t")),
        ("E402", *at(text, "rename: {nme", "nme"), ("nme", "t")),
        ("E402", *at(text, "drop: [amtt]", "amtt"), ("amtt", "t")),
        ("E402", *at(text, "cast: {idd", "idd"), ("idd", "t")),
        ("E402", *at(text, "distinct: [nam]", "nam"), ("nam", "t")),
        ("E402", *at(text, "sort: [-ide]", "ide"), ("ide", "t"))]
    # amt renamed (only it), id cast to string: left out, as it changed inside the step
    assert result.step_types["t"] == {"name": STRING, "amt": FLOAT, "amount": FLOAT}
    assert result.step_types["u"] == {"id": STRING, "name": STRING, "amount": FLOAT}


def test_a_json_column_casts_to_json_or_string_only():
    text = HEAD.replace("steps:\n", "  j:\n    format: json\n    path: data/j.jsonl\n"
                        "    columns: {ev: {type: json}}\nsteps:\n", 1) + (
        "  rj:\n    read: j\n  t:\n    from: rj\n    cast: {ev: json}\n"
        "  s:\n    from: rj\n    cast: {ev: string}\n  r:\n    from: rj\n    cast: {ev: int}\n")
    (d,) = check_text(text, "specs/t.yaml").diagnostics
    assert (d.code, d.line, d.col, d.end_col) == ("E405", *at(text, "cast: {ev: int}", "int"))
    assert d.message and quoted(d.help) == ("$.field",)
