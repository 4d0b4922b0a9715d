"""Where each character of a decoded YAML string sits in the file (string_positions.py),
against the file itself: YAML that PyYAML's emitter writes in every scalar style (plain,
single- and double-quoted with escapes, literal and folded blocks, lines folded at a narrow
width) is loaded, and every character of the value must be found at its mapped position.
The oracle is the text: a visible character maps to itself, an escaped one to the backslash
that starts its escape, a doubled quote to its first quote; whitespace a fold produced has no
character of its own and only has to keep the positions in file order."""

from __future__ import annotations

import pytest
import yaml
from etlc_compiler.loader import load
from etlc_compiler.string_positions import offset_map
from hypothesis import example, given
from hypothesis import strategies as st

STYLES = [None, "'", '"', "|", ">"]
ALPHABET = "ab z'\"\\\té\n#:-X"  # X: a letter the mutants of " \t" add
ESCAPE_WIDTH = {"x": 4, "u": 6, "U": 10}


def _dump(value: str, style: str | None, width: int) -> str:
    return yaml.dump({"f": value}, default_style=style, width=width, allow_unicode=True,
                     sort_keys=False)


def _check(text: str) -> None:
    spec, diags = load(text)
    assert spec is not None and not diags, diags
    value = spec.data["f"]
    pos = spec.values[("f",)]
    mapping = offset_map(text, pos, value)
    assert len(mapping) >= len(value), (text, value, mapping)
    lines = text.split("\n")
    last = (0, 0)
    for k, ch in enumerate(value):
        line, col = mapping[k]
        assert (line, col) >= last, (text, k, mapping)
        last = (line, col)
        assert spec.position_in_string(("f",), k) == (line, col)
        if ch in " \t\n":
            continue
        found = lines[line - 1][col - 1:]
        if found[:1] == ch:
            continue
        assert pos.style == '"' and found[:1] == "\\", (text, k, ch, (line, col))
        escape = found[:ESCAPE_WIDTH.get(found[1:2], 2)]
        assert yaml.safe_load(f'"{escape}"') == ch, (text, k, escape)


@given(st.text(alphabet=ALPHABET, min_size=1, max_size=40), st.sampled_from(STYLES),
       st.sampled_from([8, 20, 80]))
@example("a and tickr > 1", "|", 80)
@example("x > 1 and\ntickr > 1", ">", 80)
@example("it's é\ttab\\ and \"q\"", '"', 8)
@example("aaaX bbbX Xccc", "'", 8)              # a line that ends or starts with X at a fold
@example("aaaX bbbX Xccc", '"', 8)
@example("aaaX bbbX Xccc", None, 8)
@example("a\n\nb c\n  d\ne", ">", 80)       # folded: blank lines, a more-indented line
@example(" :\n x", "|", 80)                   # an indentation indicator (|2)
@example("  a b\n\nc", ">", 8)
@example("\n", "|", 8)                        # no text line: "|2+" and a blank line
def test_every_character_is_where_the_file_has_it(value, style, width):
    _check(_dump(value, style, width))


@pytest.mark.parametrize("text, expected", [
    # the value, then each character's (line, col): hand-checked against the file
    ("f: ab\n", [(1, 4), (1, 5)]),
    ("f: 'a''b'\n", [(1, 5), (1, 6), (1, 8)]),
    ('f: "a\\tb"\n', [(1, 5), (1, 6), (1, 8)]),
    ('f: "\\x41\\u00e9\\U0001F600z"\n', [(1, 5), (1, 9), (1, 15), (1, 25)]),
    ("f: a\n  b\n", [(1, 4), (1, 5), (2, 3)]),            # folded: the space at the break
    ("f: a\n\n  b\n", [(1, 4), (2, 1), (3, 3)]),          # a blank line: a newline
    ("f: 'a  \n   b'\n", [(1, 5), (1, 8), (2, 4)]),       # trailing spaces before a fold go
    ('f: "a\\\n   b"\n', [(1, 5), (2, 4)]),               # an escaped line break: nothing
    ("f: |\n  a\n   b\n", [(2, 3), (2, 4), (3, 3), (3, 4), (3, 5)]),
    ("f: >\n  a\n  b\n", [(2, 3), (2, 4), (3, 3), (3, 4)]),   # folded: the break is a space
    ("f: |\n\n  a\n", [(2, 1), (3, 3), (3, 4)]),           # indentation from the first text
    ("f: |\n", []),
])
def test_positions_by_hand(text, expected):
    spec, diags = load(text)
    assert not diags, diags
    mapping = offset_map(text, spec.values[("f",)])
    assert mapping[:len(spec.data["f"])] == expected, (spec.data["f"], mapping)
    assert len(spec.data["f"]) == len(expected)



@pytest.mark.parametrize("text, value, offset, expected", [
    # a folded break followed by a blank line vanishes: the blank line is the newline
    ("f: >\n  a\n\n  b\n", "a\nb\n", 1, (3, 1)),
    ("f: >\n  a\n\n  b\n", "a\nb\n", 2, (4, 3)),
    # an indentation indicator: the value starts with a space that the indicator keeps
    ("f: |2-\n   :\n", " :", 0, (2, 3)),
    ("f: |2-\n   :\n", " :", 1, (2, 4)),
    ("f:\n  g: >1\n     x\n", None, 0, (3, 4)),
])
def test_block_scalar_regressions(text, value, offset, expected):
    """Once open bugs: folded blank lines and indentation indicators placed a character early."""
    spec, diags = load(text)
    assert not diags, diags
    path = ("f",) if value is not None else ("f", "g")
    if value is not None:
        assert spec.data["f"] == value
    assert spec.position_in_string(path, offset) == expected
