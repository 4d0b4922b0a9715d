"""Two compiler gaps: a `union` whose sides differ in a column's type (every engine casts the
other inputs to the step input's types, so the run would coerce silently) is E413 at the
input's entry in `union`, naming the column and both types, with no widening; a transform
step without `from` is E202 at the step's name (steps never chain by their order in the
file). Specs the checks accept run on pandas and duckdb and keep every value.
"""

from __future__ import annotations

import pytest

from .test_type_guarantees import _check, _codes, _out, _project, _run

UNION = """\
steps:
  raw:
    read: src
  other:
    from: raw
    cast: {{{col}: {to}}}
  both:
    from: raw
    union: [other]
  save:
    from: both
    write: out
    mode: overwrite
"""


def _union_at(spec) -> tuple[int, int]:
    lines = spec.read_text().splitlines()
    at = next(i for i, line in enumerate(lines, 1) if "union: [other]" in line)
    return at, lines[at - 1].index("other") + 1


@pytest.mark.parametrize("col,to", [
    ("id", "float"), ("id", "decimal"), ("id", "string"), ("price", "float"),
    ("price", "int"), ("day", "timestamp"), ("ts", "json")])
def test_a_union_column_of_another_type_is_e413_at_the_input(tmp_path, col, to):
    spec = _project(tmp_path, UNION.format(col=col, to=to))
    checked = _check(spec)
    assert _codes(checked) == [("E413", *_union_at(spec))]
    message = checked.diagnostics[0].message
    assert f"'{col}'" in message and f"'other'" in message and to in message


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_a_union_with_equal_types_keeps_every_row(tmp_path, engine):
    spec = _project(tmp_path, UNION.format(col="price", to="decimal")
                    .replace("cast: {price: decimal}", "filter: \"id > 1\""), engine)
    assert _codes(_check(spec)) == []
    _run(spec)
    rows = sorted((r["id"], r["price"]) for r in _out(spec))
    assert rows == [(1, 1.5), (2, 2.25), (2, 2.25), (3, 3.0), (3, 3.0)]


def test_a_cast_before_the_union_makes_it_valid(tmp_path):
    steps = UNION.format(col="price", to="float").replace(
        "    union: [other]", "    cast: {price: float}\n    union: [other]")
    spec = _project(tmp_path, steps.replace("  both:\n    from: raw\n    cast: {price: float}\n",
                                            "  as_float:\n    from: raw\n    cast: {price: float}\n"
                                            "  both:\n    from: as_float\n"))
    assert _codes(_check(spec)) == []


NO_FROM = """\
steps:
  raw:
    read: src
  late:
    {key}
  save:
    from: late
    write: out
    mode: overwrite
"""


@pytest.mark.parametrize("key", ['filter: "id > 1"', "union: [raw]", "select: [id]",
                                 "from: raw"])
def test_a_transform_step_names_its_input(tmp_path, key):
    spec = _project(tmp_path, NO_FROM.format(key=key))
    lines = spec.read_text().splitlines()
    at = lines.index("  late:") + 1
    assert _codes(_check(spec)) == ([] if key.startswith("from") else [("E202", at, 3)])
